// The sigstore-conformance bundle-verify cases (../shared/fixtures/sigstore-conformance), run through
// the airlock CLI exactly as the conformance protocol runs a client: once with the artifact file, once
// with only `sha256:<hex>`, and all of it again inside a network namespace with no interfaces.
// Pass cases must exit 0; `_fail` cases must exit 1 with a verification error code, never crash.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/errors.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { canUnshareNet, UNSHARE_NET } from '../helpers/netns.ts';
import { CONFORMANCE_DIR, sharedMissing } from '../helpers/shared.ts';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/' +
  '.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const CASES_DIR = join(CONFORMANCE_DIR, 'bundle-verify');

/** Codes that are verdicts about the evidence (exit 1), as opposed to usage or I/O problems. */
const VERDICT_CODES = Object.entries(ERROR_CODES)
  .filter(([, spec]) => spec.exit === 1)
  .map(([code]) => code);

/** Where the failure reason is unambiguous, the code must name it (not just "some verdict"). */
const EXPECTED_CODES: Record<string, string> = {
  'bundle-with-root-cert_fail': 'E_CERT_CHAIN',
  'checkpoint-bad-keyhint_fail': 'E_TLOG_CHECKPOINT',
  'rekor2-checkpoint-missing-log-signature_fail': 'E_TLOG_CHECKPOINT',
  'inclusion-proof-corrupted-hash_fail': 'E_TLOG_INCLUSION',
  'integrated-time-in-future_fail': 'E_CERT_VALIDITY',
  'invalid-ct-key_fail': 'E_SCT',
  'managed-key-no-key_fail': 'E_KEY_MISMATCH',
  'message-digest-mismatch_fail': 'E_ARTIFACT_MISMATCH',
  'rekor2-timestamp-payload-mismatch_fail': 'E_TIMESTAMP',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'E_TIMESTAMP',
};

function caseArgs(name: string, mode: 'path' | 'digest'): string[] {
  const dir = join(CASES_DIR, name);
  const file = (f: string) => join(dir, f);
  const artifact = existsSync(file('artifact')) ? file('artifact') : join(CASES_DIR, 'a.txt');
  const subject =
    mode === 'path' ? artifact : `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`;
  const trustedRoot = existsSync(file('trusted_root.json'))
    ? file('trusted_root.json')
    : join(CONFORMANCE_DIR, 'production-trusted_root.json');
  const trust = existsSync(file('key.pub'))
    ? ['--key', file('key.pub')]
    : [
        '--certificate-identity',
        existsSync(file('identity')) ? readFileSync(file('identity'), 'utf8').trim() : DEFAULT_IDENTITY,
        '--certificate-oidc-issuer',
        existsSync(file('issuer')) ? readFileSync(file('issuer'), 'utf8').trim() : DEFAULT_ISSUER,
      ];
  return [
    'verify-blob',
    subject,
    '--bundle',
    file('bundle.sigstore.json'),
    ...trust,
    '--trusted-root',
    trustedRoot,
    '--json',
  ];
}

const missing = sharedMissing(CASES_DIR);
const cases = missing
  ? []
  : readdirSync(CASES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();

for (const netns of [false, true]) {
  describe(`sigstore-conformance bundle-verify${netns ? ' under unshare -n' : ''}`, { concurrency: 4 }, () => {
    if (missing) {
      it('skipped', (t) => t.skip(missing));
      return;
    }
    it('has the 35 cases the suite promises', () => assert.equal(cases.length, 35));
    for (const name of cases) {
      for (const mode of ['path', 'digest'] as const) {
        it(`${name} (${mode})`, async (t) => {
          if (netns && !canUnshareNet()) return t.skip('unshare -n is not permitted here (needs root)');
          const r = await runCliProcess(caseArgs(name, mode), netns ? { prefix: UNSHARE_NET } : {});
          const doc = r.stdout ? JSON.parse(r.stdout) : {};
          if (name.endsWith('_fail')) {
            assert.equal(r.code, 1, `expected a verdict (exit 1), got ${r.code}: ${r.stderr}`);
            assert.ok(VERDICT_CODES.includes(doc.error?.code), `a verification code, got ${doc.error?.code}`);
            if (EXPECTED_CODES[name]) assert.equal(doc.error.code, EXPECTED_CODES[name]);
          } else {
            assert.equal(r.code, 0, `expected success: ${r.stderr}`);
            assert.equal(doc.ok, true);
          }
        });
      }
    }
  });
}
