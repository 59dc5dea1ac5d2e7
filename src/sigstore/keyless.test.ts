// The keyless exchange through @sigstore/sign's FulcioSigner against airlock's own CA, run in this
// process (test/helpers/ca-server.ts: the CertificateAuthority and HTTP handler `airlock ca serve`
// runs), which verifies every token against the test issuers it trusts and the proof of possession
// over the claim it certifies. Tokens are real JWTs signed with jose by those issuers.
import assert from 'node:assert/strict';
import { createHash, type KeyObject, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { issueTestLeaf } from '../../test/helpers/airlock-ca.ts';
import { type InProcessCa, startInProcessCa } from '../../test/helpers/ca-server.ts';
import { kubernetesClaims, registeredClaims, testIssuer, type TestIssuer } from '../../test/helpers/oidc-issuer.ts';
import { signingCertResponse } from '../ca/fulcio-api.ts';
import { type ErrorCode, isAirlockError } from '../errors.ts';
import { closeServer, listenOn } from '../server/http-io.ts';
import { challengeClaim, fulcioFailure, obtainSigningCertificate } from './keyless.ts';

const K8S = 'https://kubernetes.default.svc.cluster.local';
const IDP = 'https://idp.corp.internal';
const EMAIL = 'dev@corp.internal';
const NOW = new Date();

let k8s: TestIssuer;
let idp: TestIssuer;

/** A projected service-account token for namespace ci, issued at `now` (valid ten minutes). */
const workload = (account: string, now = new Date()) => k8s.sign(kubernetesClaims(K8S, now, 'ci', account));
/** A person's token from the IdP naming EMAIL; `verified` is its email_verified claim (omitted: undefined). */
const person = (verified?: unknown) =>
  idp.sign({
    ...registeredClaims(IDP, new Date(), '1234'),
    email: EMAIL,
    ...(verified === undefined ? {} : { email_verified: verified }),
  });

/** The error, checked to carry none of the token: not in message, hint, or any cause. */
function refusal(code: ErrorCode, secret: string) {
  return (err: unknown) => {
    assert.ok(isAirlockError(err, code), `${code} expected, got ${String(err)}`);
    const text = JSON.stringify({ m: err.message, h: err.hint, c: String(err.cause ?? '') });
    assert.ok(!text.includes(secret), `token leaked: ${text}`);
    return true;
  };
}

const spkiSha256 = (key: KeyObject) =>
  createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');

before(async () => {
  k8s = await testIssuer(K8S, 'RS256');
  idp = await testIssuer(IDP, 'ES256');
});

describe('keyless: a certificate for an in-memory key from the CA airlock ca serve runs', () => {
  let ca: InProcessCa;
  before(async () => {
    ca = await startInProcessCa(
      [
        { issuer: k8s, type: 'kubernetes' },
        { issuer: idp, type: 'email' },
      ],
      { perHour: 2 },
    );
  });
  after(() => ca.stop());
  const obtain = (identityToken: string, fulcioUrl = ca.url) =>
    obtainSigningCertificate({ fulcioUrl, identityToken, now: new Date() });

  it('certifies the workload a token names; the key signs and the CA chain verifies the certificate', async () => {
    const got = await obtain(await workload('release'));
    assert.equal(got.identity, 'URI:https://kubernetes.io/namespaces/ci/serviceaccounts/release');
    assert.ok(got.certificate.verify(ca.ca.certificate.publicKey));
    const record = ca.issued.at(-1);
    assert.equal(record?.details?.subject, 'system:serviceaccount:ci:release');
    assert.equal(record?.details?.publicKeySha256, spkiSha256(got.signer.publicKey));
    const data = Buffer.from('artifact');
    const signature = await got.signer.sign(data);
    assert.ok(verify('sha256', data, got.certificate.publicKey, signature));
    assert.equal(got.signer.algorithm, 'ecdsa-sha2-256-nistp256');
  });

  it('certifies a verified email, signing the email as the challenge (the CA checks it)', async () => {
    const got = await obtain(await person(true));
    assert.equal(got.identity, `email:${EMAIL}`);
    assert.equal(ca.issued.at(-1)?.details?.issuer, IDP);
  });

  it('refuses an unverified email, a non-JWT and an expired token before any request', async () => {
    const before = ca.signingCertRequests();
    const unverified = await person(false);
    await assert.rejects(obtain(unverified), refusal('E_OIDC_TOKEN', unverified));
    await assert.rejects(obtain(await person()), /email_verified is not true/);
    await assert.rejects(obtain('not-a-jwt-secret'), refusal('E_USAGE', 'not-a-jwt-secret'));
    const expired = await workload('release', new Date(Date.now() - 3600e3));
    await assert.rejects(obtain(expired), refusal('E_OIDC_TOKEN', expired));
    assert.equal(ca.signingCertRequests(), before);
  });

  it("passes on the CA's 400 and Fulcio's message for a token it refuses, without the token", async () => {
    const stranger = await testIssuer('https://stranger.corp.internal');
    const refused = {
      'unknown issuer': await stranger.sign(kubernetesClaims(stranger.url, new Date(), 'ci', 'release')),
      'wrong audience': await k8s.sign({ ...kubernetesClaims(K8S, new Date(), 'ci', 'release'), aud: 'other' }),
    };
    const before = ca.issued.length;
    for (const [what, t] of Object.entries(refused)) {
      await assert.rejects(obtain(t), (err: unknown) => {
        refusal('E_FULCIO', t)(err);
        const { message, cause } = err as Error;
        const refusedBy = `the certificate authority ${ca.url} refused to issue a signing certificate`;
        assert.ok(message.startsWith(`${refusedBy}: HTTP 400: There was an error processing the identity token`), what);
        assert.equal(cause, undefined);
        return true;
      });
    }
    assert.equal(ca.issued.length, before, 'nothing issued');
  });

  it('the rate limit per identity is E_RATE_LIMITED', async () => {
    const t = await workload('busy');
    await obtain(t);
    await obtain(t);
    await assert.rejects(obtain(t), refusal('E_RATE_LIMITED', t));
  });

  it('a certificate for another key than the one sent is refused: no bundle could verify', async () => {
    // A deliberately broken CA, not a stand-in for one: airlock's CA cannot be made to certify a key
    // other than the one whose possession was proved, so this server answers with a leaf of its own.
    const leaf = await issueTestLeaf(ca.ca);
    const broken = await listenOn(
      (req, res) =>
        req.resume().on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(signingCertResponse([leaf.pem, ...ca.ca.chainPem]));
        }),
      '127.0.0.1',
      0,
    );
    try {
      await assert.rejects(obtain(await workload('release'), broken.url), {
        code: 'E_FULCIO',
        message: /certified another key/,
      });
    } finally {
      await closeServer(broken.server);
    }
  });

  it('an unreachable CA is E_FULCIO naming it', async () => {
    const t = await workload('release');
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

describe('fulcioFailure', () => {
  it('cuts the token out of a message a CA echoes it in, and keeps no cause', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0';
    // As @sigstore/sign wraps it: an InternalError whose cause is the HTTPError "(status) message".
    const http = Object.assign(new Error(`(400) There was an error processing the identity token ${token}`), {
      statusCode: 400,
    });
    const err = fulcioFailure(new Error('error creating signing certificate', { cause: http }), 'http://ca', token);
    assert.equal(err.code, 'E_FULCIO');
    assert.equal(
      err.message,
      'the certificate authority http://ca refused to issue a signing certificate: HTTP 400: ' +
        'There was an error processing the identity token [token]',
    );
    assert.equal(err.cause, undefined);
    const limited = fulcioFailure(
      Object.assign(new Error(`(429) slow down ${token}`), { statusCode: 429 }),
      'u',
      token,
    );
    assert.equal(limited.code, 'E_RATE_LIMITED');
    assert.ok(!limited.message.includes(token));
  });
});

describe('challengeClaim', () => {
  it('is the email when present and verified (also "true" as a string), else sub', async () => {
    assert.equal(challengeClaim(await person('true'), NOW), EMAIL);
    assert.equal(challengeClaim(await workload('release'), NOW), 'system:serviceaccount:ci:release');
    const nobody = await idp.sign({ iss: IDP });
    assert.throws(() => challengeClaim(nobody, NOW), { code: 'E_OIDC_TOKEN' });
  });
});
