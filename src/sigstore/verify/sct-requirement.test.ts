// checkSctRequirement: SCTs required under a root with no CT log is refused by name; a threshold of 0,
// a root listing a CT log, or no root at all passes through.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { createTrustedRoot } from '../../trust/create-trusted-root.ts';
import { parseTrustedRoot } from '../trusted-root.ts';
import { checkSctRequirement } from './sct-requirement.ts';

const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
const log = (baseUrl: string) => ({ publicKeyPem: key().toString(), baseUrl, validFor: { start: new Date(0) } });
const rootWith = (ctlogs: number) =>
  parseTrustedRoot(
    Buffer.from(
      JSON.stringify(
        createTrustedRoot({
          tlogs: [log('https://rekor.internal')],
          ctlogs: Array.from({ length: ctlogs }, (_, i) => log(`https://ct${i}.internal`)),
        }),
      ),
    ),
    'corp.json',
  );

describe('checkSctRequirement', () => {
  it('refuses SCTs required under a root without a CT log, naming the root and --ctlog-threshold 0', () => {
    assert.throws(
      () => checkSctRequirement(rootWith(0), 2),
      (err: unknown) =>
        isAirlockError(err, 'E_TRUST_ROOT') &&
        /corp\.json has no Certificate Transparency log.*2 SCT\(s\) that --ctlog-threshold 2/.test(err.message) &&
        /--ctlog-threshold 0/.test(err.hint ?? ''),
    );
  });

  it('passes with the requirement dropped, a CT log in the root, or no root', () => {
    assert.doesNotThrow(() => checkSctRequirement(rootWith(0), 0));
    assert.doesNotThrow(() => checkSctRequirement(rootWith(1), 1));
    assert.doesNotThrow(() => checkSctRequirement(undefined, 1));
  });
});
