// verifiedReferrers: which referrers an import logs, and under what — the certificate of a keyless
// signature, the key (of --key or of a policy) whose fingerprint verified it; never a guess.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { keyFingerprint } from '../crypto/keys.ts';
import type { SignatureResult } from '../oci/verify-image.ts';
import type { ImagePolicy } from '../policy/image-policy.ts';
import type { SignerSummary, VerificationReport } from '../sigstore/verify/report.ts';
import type { ImageTrust } from './image-trust.ts';
import { verifiedReferrers } from './log-imported.ts';

const team = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const now = new Date('2026-12-07T00:00:00Z');
const result = (where: string, signer: SignerSummary | undefined, ok = true, source = 'referrer'): SignatureResult =>
  ({ where, ok, source, report: { signer } as VerificationReport }) as SignatureResult;
const byKey = (key = team): SignerSummary => ({ type: 'key', fingerprint: keyFingerprint(key) });
const byCert: SignerSummary = { type: 'certificate', subjectAlternativeName: 'https://ci/app', issuer: 'https://t' };
const policyTrust: ImageTrust = { policy: {} as ImagePolicy, keys: new Map([['team.pub', team]]), base: { now } };

describe('verifiedReferrers', () => {
  it('keyless trust: each verified referrer once, under its certificate; failures and legacy tags are not', () => {
    const trust: ImageTrust = { trust: { kind: 'identity', policy: {} as never }, now };
    const got = verifiedReferrers(
      [
        result('sha256:a', byCert),
        result('sha256:a', byCert),
        result('sha256:b', byCert, false),
        result('tag#0', byCert, true, 'legacy-sig'),
      ],
      trust,
    );
    assert.deepEqual(got, [{ referrer: 'sha256:a', verifiedBy: { kind: 'certificate', identity: 'https://ci/app' } }]);
  });

  it('a policy: the key whose fingerprint verified, or the certificate, per referrer', () => {
    const got = verifiedReferrers([result('sha256:k', byKey()), result('sha256:c', byCert)], policyTrust);
    assert.deepEqual(
      got.map((r) => [r.referrer, r.verifiedBy.kind, 'publicKey' in r.verifiedBy && r.verifiedBy.publicKey === team]),
      [
        ['sha256:k', 'key', true],
        ['sha256:c', 'certificate', false],
      ],
    );
  });

  it('a key this import does not hold, or no signer at all, is E_INTERNAL: never logged under a guess', () => {
    for (const r of [result('sha256:x', byKey(other)), result('sha256:y', undefined)])
      assert.throws(() => verifiedReferrers([r], policyTrust), { code: 'E_INTERNAL' });
  });
});
