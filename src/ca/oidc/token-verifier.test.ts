import assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { base64url, exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { isAirlockError } from '../../errors.ts';
import { registeredClaims, type TestAlgorithm, testIssuer } from '../../../test/helpers/oidc-issuer.ts';
import { createTokenVerifier, MAX_TOKEN_CHARS } from './token-verifier.ts';

const NOW = new Date('2026-12-07T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);

async function setup(alg: TestAlgorithm, url = `https://idp-${alg.toLowerCase()}.example.com`) {
  const issuer = await testIssuer(url, alg);
  const email = { ...registeredClaims(url, NOW, 'user-1'), email: 'dev@example.com', email_verified: true };
  const verifier = createTokenVerifier({
    issuers: [{ url, jwksPath: 'jwks.json', type: 'email', audience: 'sigstore', jwks: issuer.jwks }],
  });
  return { issuer, email, verifier };
}

/** Refused with E_OIDC_TOKEN, the reason matching `reason`, and the token nowhere in the error. */
async function refused(promise: Promise<unknown>, token: string, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isAirlockError(err, 'E_OIDC_TOKEN'), `expected E_OIDC_TOKEN, got ${String(err)}`);
    assert.match(err.message, reason);
    const text = JSON.stringify({ message: err.message, hint: err.hint, details: err.details, cause: err.cause });
    const secret = token.split('.')[2] || token;
    if (secret !== '') assert.ok(!text.includes(secret), 'the token must not reach the error');
    assert.equal(err.cause, undefined);
    return true;
  });
}

for (const alg of ['RS256', 'ES256'] as const) {
  describe(`token verification, ${alg} issuer`, () => {
    it('accepts a good token and maps it', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const principal = await verifier.verify(await issuer.sign(email), NOW);
      assert.equal(principal.issuer, issuer.url);
      assert.equal(principal.challenge, 'dev@example.com');
    });

    it('refuses an expired token, with no leeway on exp', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const longAgo = await issuer.sign({ ...email, exp: T - 3600 });
      await refused(verifier.verify(longAgo, NOW), longAgo, /expired at 2026-12-07T11:00:00\.000Z/);
      const justNow = await issuer.sign({ ...email, exp: T });
      await refused(verifier.verify(justNow, NOW), justNow, /expired at 2026-12-07T12:00:00\.000Z/);
      await verifier.verify(await issuer.sign({ ...email, exp: T + 1 }), NOW);
    });

    it('refuses a token without exp, or with times that are not numbers', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const token = await issuer.sign({ ...email, exp: undefined });
      await refused(verifier.verify(token, NOW), token, /no "exp" claim/);
      for (const claim of ['exp', 'nbf', 'iat']) {
        const bad = await issuer.sign({ ...email, [claim]: String(T) });
        await refused(verifier.verify(bad, NOW), bad, new RegExp(`claim "${claim}" is not a number of seconds`));
      }
    });

    it('refuses a token not yet valid beyond the skew, and accepts one within it', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const later = await issuer.sign({ ...email, nbf: T + 61, iat: T });
      await refused(verifier.verify(later, NOW), later, /not valid before 2026-12-07T12:01:01\.000Z.*60 s/);
      await verifier.verify(await issuer.sign({ ...email, nbf: T + 60, iat: T + 60 }), NOW);
    });

    it('refuses a token issued in the future beyond the skew', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const token = await issuer.sign({ ...email, iat: T + 120, nbf: undefined });
      await refused(verifier.verify(token, NOW), token, /issued at 2026-12-07T12:02:00\.000Z.*clocks/);
    });

    it('refuses a wrong audience, and takes an audience array that holds the right one', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const token = await issuer.sign({ ...email, aud: 'other' });
      await refused(verifier.verify(token, NOW), token, /audience other does not include "sigstore"/);
      const none = await issuer.sign({ ...email, aud: undefined });
      await refused(verifier.verify(none, NOW), none, /no "aud" claim/);
      await verifier.verify(await issuer.sign({ ...email, aud: ['other', 'sigstore'] }), NOW);
    });

    it('refuses an unknown issuer, saying when only a trailing slash differs', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const token = await issuer.sign({ ...email, iss: 'https://evil.example.com' });
      await refused(verifier.verify(token, NOW), token, /"https:\/\/evil\.example\.com" is not one this CA trusts/);
      const slash = await issuer.sign({ ...email, iss: `${issuer.url}/` });
      await refused(verifier.verify(slash, NOW), slash, /compared exactly/);
    });

    it('refuses an unknown kid, and a token signed by another key under the right kid', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const token = await issuer.sign(email, { kid: 'rotated-away' });
      await refused(verifier.verify(token, NOW), token, /no key with kid "rotated-away"/);
      const impostor = await testIssuer(issuer.url, alg, issuer.kid);
      const forged = await impostor.sign(email);
      await refused(verifier.verify(forged, NOW), forged, /signature does not verify/);
    });

    it('refuses a token with a byte of its signature flipped', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const [h, p, s] = (await issuer.sign(email)).split('.') as [string, string, string];
      const sig = base64url.decode(s);
      sig[10] = (sig[10] ?? 0) ^ 0x01;
      const token = `${h}.${p}.${base64url.encode(sig)}`;
      await refused(verifier.verify(token, NOW), token, /signature does not verify/);
    });

    it('refuses a payload changed after signing', async () => {
      const { issuer, email, verifier } = await setup(alg);
      const [h, , s] = (await issuer.sign(email)).split('.');
      const p = base64url.encode(JSON.stringify({ ...email, email: 'boss@example.com' }));
      const token = `${h}.${p}.${s}`;
      await refused(verifier.verify(token, NOW), token, /signature does not verify/);
    });

    it('refuses alg none (an unsecured JWT)', async () => {
      const { email, verifier } = await setup(alg);
      const token = new UnsecuredJWT(email).encode();
      await refused(verifier.verify(token, NOW), token, /algorithm "none" is not allowed/);
    });

    it("refuses HS256 with the issuer's public key as the HMAC secret", async () => {
      const { issuer, email, verifier } = await setup(alg);
      const pem = await exportSPKI(issuer.publicKey);
      const secrets = [Buffer.from(pem), Buffer.from(JSON.stringify(issuer.publicJwk))];
      const der = createPublicKey(pem).export({ format: 'der', type: 'spki' });
      for (const secret of [...secrets, der]) {
        const token = await new SignJWT(email).setProtectedHeader({ alg: 'HS256', kid: issuer.kid }).sign(secret);
        await refused(verifier.verify(token, NOW), token, /algorithm "HS256" is not allowed/);
      }
      const [h, p] = (await new SignJWT(email).setProtectedHeader({ alg: 'HS256' }).sign(secrets[0]!)).split('.');
      const manual = `${h}.${p}.${createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url')}`;
      await refused(verifier.verify(manual, NOW), manual, /algorithm "HS256" is not allowed/);
    });
  });
}

describe('token shape, checked before decoding', () => {
  it('refuses one dot, three dots, no token and an oversized token', async () => {
    const { issuer, email, verifier } = await setup('ES256');
    const good = await issuer.sign(email);
    const [h, p, s] = good.split('.');
    for (const token of [`${h}.${p}`, `${good}.${s}`, `${h}..${p}.${s}`, 'x'.repeat(10)])
      await refused(verifier.verify(token, NOW), token, /exactly two dots/);
    await refused(verifier.verify('', NOW), '', /no token/);
    const huge = `${h}.${p}${'A'.repeat(MAX_TOKEN_CHARS)}.${s}`;
    await refused(verifier.verify(huge, NOW), huge, /at most 65536/);
    const dots = '.'.repeat(MAX_TOKEN_CHARS + 1);
    await refused(verifier.verify(dots, NOW), dots, /at most 65536/);
  });

  it('refuses a payload that is not JSON, and one without iss', async () => {
    const { issuer, email, verifier } = await setup('ES256');
    const notJson = 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJlLWJ5dGVz';
    await refused(verifier.verify(notJson, NOW), notJson, /not a JWT/);
    const token = await issuer.sign({ ...email, iss: undefined });
    await refused(verifier.verify(token, NOW), token, /no "iss" claim/);
  });

  it('refuses a token without kid when the JWKS has several keys it could be', async () => {
    const url = 'https://idp.example.com';
    const [a, b] = [await testIssuer(url, 'ES256', 'a'), await testIssuer(url, 'ES256', 'b')];
    const jwks = { keys: [...a.jwks.keys, ...b.jwks.keys] };
    const verifier = createTokenVerifier({
      issuers: [{ url, jwksPath: 'j', type: 'email', audience: 'sigstore', jwks }],
    });
    const claims = { ...registeredClaims(url, NOW, 's'), email: 'a@example.com', email_verified: true };
    const token = await a.sign(claims, { kid: undefined });
    await refused(verifier.verify(token, NOW), token, /names no key \("kid"\) and several keys/);
    assert.equal((await verifier.verify(await b.sign(claims), NOW)).challenge, 'a@example.com');
  });

  it('checks each token against its own issuer only', async () => {
    const [one, two] = [await testIssuer('https://one.example.com'), await testIssuer('https://two.example.com')];
    const verifier = createTokenVerifier({
      issuers: [one, two].map((i) => ({
        url: i.url,
        jwksPath: 'j',
        type: 'email',
        audience: 'sigstore',
        jwks: i.jwks,
      })),
    });
    const claims = { ...registeredClaims(one.url, NOW, 's'), email: 'a@example.com', email_verified: true };
    const crossed = await two.sign(claims, { kid: one.kid });
    await refused(verifier.verify(crossed, NOW), crossed, /signature does not verify with key "ES256-key-1"/);
  });

  it('takes a whole, non-negative skew only, and each issuer once', async () => {
    assert.throws(() => createTokenVerifier({ issuers: [], maxSkewSeconds: -1 }), RangeError);
    assert.throws(() => createTokenVerifier({ issuers: [], maxSkewSeconds: 0.5 }), RangeError);
    const { jwks } = await testIssuer('https://idp.example.com');
    const issuer = {
      url: 'https://idp.example.com',
      jwksPath: 'j',
      type: 'email',
      audience: 'sigstore',
      jwks,
    } as const;
    assert.throws(() => createTokenVerifier({ issuers: [issuer, issuer] }), /configured twice/);
  });

  it('applies a configured skew', async () => {
    const issuer = await testIssuer('https://idp.example.com');
    const verifier = createTokenVerifier({
      issuers: [{ url: issuer.url, jwksPath: 'j', type: 'email', audience: 'sigstore', jwks: issuer.jwks }],
      maxSkewSeconds: 0,
    });
    const claims = { ...registeredClaims(issuer.url, NOW, 's'), email: 'a@example.com', email_verified: true };
    const token = await issuer.sign({ ...claims, nbf: T + 1 });
    await refused(verifier.verify(token, NOW), token, /not valid before.*0 s/);
  });
});
