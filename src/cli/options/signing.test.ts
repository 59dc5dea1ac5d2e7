import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { KEY_FLAGS } from './key.ts';
import { planSigning, SIGNING_FLAGS } from './signing.ts';

const plan = (...argv: string[]) => planSigning(testContext(argv, { ...KEY_FLAGS, ...SIGNING_FLAGS }).ctx.flags);

describe('planSigning', () => {
  it('by default uploads to the public-good Rekor (API v1), with no timestamp', () => {
    assert.deepEqual(plan('--key', 'k.key'), {
      keyRef: 'k.key',
      signingAlgorithm: undefined,
      witnesses: { tlog: { url: 'https://rekor.sigstore.dev', apiVersion: 1 } },
    });
  });

  it('--rekor-url, --rekor-api-version 2, --tsa-url and --signing-algorithm are carried over', () => {
    const p = plan(
      '--key',
      'k.key',
      '--rekor-url',
      'https://rekor.internal/',
      '--rekor-api-version',
      '2',
      '--tsa-url',
      'https://tsa.internal/tsr',
      '--signing-algorithm',
      'ecdsa-sha2-256-nistp256',
    );
    assert.deepEqual(p, {
      keyRef: 'k.key',
      signingAlgorithm: 'ecdsa-sha2-256-nistp256',
      witnesses: { tlog: { url: 'https://rekor.internal', apiVersion: 2 }, tsaUrl: 'https://tsa.internal/tsr' },
    });
  });

  it('--tlog-upload=false signs offline: no log at all', () => {
    assert.deepEqual(plan('--key', 'k.key', '--tlog-upload=false').witnesses, {});
  });

  it('refuses what cannot work, before any key is read', () => {
    assert.throws(() => plan('--tlog-upload=false'), { code: 'E_USAGE' });
    assert.throws(() => plan(), { code: 'E_UNSUPPORTED' });
    assert.throws(() => plan('--key', 'k', '--tlog-upload=false', '--rekor-url', 'https://r'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--rekor-api-version', '3'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--signing-algorithm', 'md5'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--rekor-url', 'ftp://rekor'), { code: 'E_USAGE' });
  });
});
