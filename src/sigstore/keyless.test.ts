// The keyless exchange through @sigstore/sign's FulcioSigner against a stand-in CA (test/helpers/
// stand-in-fulcio.ts: it checks the proof of possession but verifies no token). Tokens are real JWTs
// signed with jose by a throw-away issuer key.
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { type ErrorCode, isAirlockError } from '../errors.ts';
import { startStandInFulcio, type StandInFulcio } from '../../test/helpers/stand-in-fulcio.ts';
import { challengeClaim, obtainSigningCertificate } from './keyless.ts';

const ISSUER = 'https://issuer.corp.internal';
const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const NOW = new Date();

async function token(claims: Record<string, unknown>, expiresIn = '5m'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'test' })
    .setIssuer(ISSUER)
    .setAudience('sigstore')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(issuerKey);
}

/** The error, checked to carry none of the token: not in message, hint, or any cause. */
function refusal(code: ErrorCode, secret: string) {
  return (err: unknown) => {
    assert.ok(isAirlockError(err, code), `${code} expected, got ${String(err)}`);
    const text = JSON.stringify({ m: err.message, h: err.hint, c: String(err.cause ?? '') });
    assert.ok(!text.includes(secret), `token leaked: ${text}`);
    return true;
  };
}

describe('keyless: a certificate for an in-memory key from a Fulcio-compatible CA', () => {
  let fulcio: StandInFulcio;
  before(async () => {
    fulcio = await startStandInFulcio();
  });
  after(() => fulcio.stop());
  const obtain = (identityToken: string, fulcioUrl = fulcio.url) =>
    obtainSigningCertificate({ fulcioUrl, identityToken, now: new Date() });

  it('certifies the sub of a workload token; the key signs and the certificate verifies it', async () => {
    const sub = 'https://kubernetes.io/namespaces/ci/serviceaccounts/release';
    const t = await token({ sub });
    const got = await obtain(t);
    assert.equal(got.identity, `URI:${sub}`);
    assert.equal(fulcio.requests.at(-1)?.token, t);
    const data = Buffer.from('artifact');
    const signature = await got.signer.sign(data);
    assert.ok(verify('sha256', data, got.certificate.publicKey, signature));
    assert.equal(got.signer.algorithm, 'ecdsa-sha2-256-nistp256');
  });

  it('certifies a verified email, signing the email as the challenge (the stand-in checks it)', async () => {
    const got = await obtain(await token({ sub: '1234', email: 'dev@corp.internal', email_verified: true }));
    assert.equal(got.identity, 'email:dev@corp.internal');
  });

  it('refuses an unverified email, and a non-JWT, before any request', async () => {
    const before = fulcio.requests.length;
    const unverified = await token({ sub: '1', email: 'dev@corp.internal', email_verified: false });
    await assert.rejects(obtain(unverified), refusal('E_OIDC_TOKEN', unverified));
    const noClaim = await token({ sub: '1', email: 'dev@corp.internal' });
    await assert.rejects(obtain(noClaim), /email_verified is not true/);
    await assert.rejects(obtain('not-a-jwt-secret'), refusal('E_USAGE', 'not-a-jwt-secret'));
    const expired = await token({ sub: 'x' }, '-1m');
    await assert.rejects(obtain(expired), refusal('E_OIDC_TOKEN', expired));
    assert.equal(fulcio.requests.length, before);
  });

  it('passes on the CA status and message, without the token even when the CA echoes it', async () => {
    const t = await token({ sub: 'https://ci.corp/job' });
    fulcio.refuseWith = (req) => ({
      status: 400,
      message: `There was an error processing the identity token ${req.token}`,
    });
    try {
      await assert.rejects(obtain(t), (err: unknown) => {
        refusal('E_FULCIO', t)(err);
        assert.match((err as Error).message, /HTTP 400: There was an error processing the identity token \[token\]/);
        assert.equal((err as Error).cause, undefined);
        return true;
      });
      fulcio.refuseWith = () => ({ status: 429, message: 'rate limited' });
      await assert.rejects(obtain(t), refusal('E_RATE_LIMITED', t));
    } finally {
      fulcio.refuseWith = undefined;
    }
  });

  it('a certificate for another key than the one sent is refused: no bundle could verify', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    fulcio.certifyInstead = other.export({ type: 'spki', format: 'pem' }).toString();
    try {
      await assert.rejects(obtain(await token({ sub: 'x' })), { code: 'E_FULCIO', message: /certified another key/ });
    } finally {
      fulcio.certifyInstead = undefined;
    }
  });

  it('an unreachable CA is E_FULCIO naming it', async () => {
    const t = await token({ sub: 'x' });
    await assert.rejects(obtain(t, 'http://127.0.0.1:1'), (err: unknown) => {
      refusal('E_FULCIO', t)(err);
      assert.match(
        (err as Error).message,
        /could not reach the certificate authority http:\/\/127\.0\.0\.1:1: ECONNREFUSED/,
      );
      return true;
    });
  });
});

describe('challengeClaim', () => {
  it('is the email when present and verified (also "true" as a string), else sub', async () => {
    assert.equal(challengeClaim(await token({ sub: 's', email: 'e@x', email_verified: 'true' }), NOW), 'e@x');
    assert.equal(challengeClaim(await token({ sub: 's' }), NOW), 's');
    assert.throws(() => challengeClaim(new SignJWTless().compact(), NOW), { code: 'E_OIDC_TOKEN' });
  });
});

/** An unsigned-looking JWT with no subject at all: the claims are what is tested, not the signature. */
class SignJWTless {
  compact(): string {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${part({ alg: 'ES256' })}.${part({ iss: ISSUER })}.sig`;
  }
}
