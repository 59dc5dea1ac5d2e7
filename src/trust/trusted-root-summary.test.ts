// summariseTrustedRoot on the real Sigstore roots: every log ID recomputed from its key matches one of
// the two rules (RFC 6962 for Rekor v1 and CT, the C2SP checkpoint key ID for Rekor v2).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sharedMissing, TUF_FIXTURES_DIR } from '../../test/helpers/shared.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { summariseTrustedRoot } from './trusted-root-summary.ts';

describe('summariseTrustedRoot on the real Sigstore roots', () => {
  for (const [name, dir] of [
    ['production', `${TUF_FIXTURES_DIR}targets/`],
    ['staging', `${TUF_FIXTURES_DIR}staging/targets/`],
  ] as const) {
    it(`recomputes every log ID of the ${name} root`, (t) => {
      const missing = sharedMissing(dir);
      if (missing) return t.skip(missing);
      const file = readdirSync(dir).find((f) => f.endsWith('.trusted_root.json'));
      assert.ok(file);
      const summary = summariseTrustedRoot(parseTrustedRoot(readFileSync(`${dir}${file}`), name).root);
      assert.deepEqual(summary.problems, []);
      assert.ok(
        summary.tlogs.some((l) => l.logIdRule === 'c2sp-checkpoint' && l.keyType === 'Ed25519'),
        'a Rekor v2 log',
      );
      assert.ok(
        summary.tlogs.some((l) => l.logIdRule === 'rfc6962' && l.keyType === 'ECDSA P-256'),
        'a Rekor v1 log',
      );
      assert.ok(summary.ctlogs.every((l) => l.logIdRule === 'rfc6962'));
    });
  }
});
