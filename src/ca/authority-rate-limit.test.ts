// The rate limit is per identity: what a certificate certifies (the issuer and the SAN), so one identity
// cannot use up another's quota. An email issuer's tokens need not carry `sub` (Fulcio makes it optional
// for that type, and the principal then has an empty subject), so a limit keyed on the token's subject
// puts every such user of an IdP in one bucket: one busy user (or one leaked token) locks out the rest.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeTestCa, testPrincipal } from '../../test/helpers/airlock-ca.ts';
import { CertificateAuthority } from './authority.ts';
import type { Principal } from './identity.ts';
import { RateLimiter } from './rate-limit.ts';

const NOW = new Date('2026-12-07T12:00:00Z');

/** An email principal as principals.ts maps a token without `sub`: the subject is empty. */
function emailWithoutSub(email: string): Principal {
  const p = testPrincipal({ kind: 'email', value: email });
  return { ...p, subject: '', challenge: email, extensions: p.extensions.filter((e) => e.value !== 'dev-subject') };
}

function keyRequest(token: string, challenge: string) {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return {
    token,
    kind: 'public-key' as const,
    publicKey: createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string,
    proofOfPossession: sign('sha256', Buffer.from(challenge), key),
  };
}

describe('the CA rate limit counts per certified identity', () => {
  it('two email identities of one issuer, tokens without sub, have a quota each', async () => {
    const ca = await makeTestCa({ now: new Date('2026-12-01T00:00:00Z') });
    const principals: Record<string, Principal> = {
      alice: emailWithoutSub('alice@corp.test'),
      bob: emailWithoutSub('bob@corp.test'),
    };
    const authority = new CertificateAuthority({
      ca,
      verifier: { verify: async (token) => principals[token] as Principal },
      now: () => NOW,
      random: () => new Uint8Array(20).fill(7),
      validitySeconds: 600,
      rateLimit: new RateLimiter({ perWindow: 1, windowMs: 3600_000 }),
      record: async () => undefined,
    });
    await authority.issue(keyRequest('alice', 'alice@corp.test'));
    await assert.rejects(authority.issue(keyRequest('alice', 'alice@corp.test')), { code: 'E_RATE_LIMITED' });
    const bob = await authority.issue(keyRequest('bob', 'bob@corp.test'));
    assert.equal(bob.principal.san.value, 'bob@corp.test');
  });
});
