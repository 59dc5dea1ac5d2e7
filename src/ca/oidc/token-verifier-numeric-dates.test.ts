// Numeric dates a signature vouches for but no issuer means: JSON numbers beyond a double's range parse as
// Infinity, which jose takes as a number and which never expires. go-oidc (Fulcio) cannot decode them
// into its time type and refuses the token; so must this CA, or one mis-signed token is a credential
// that outlives every rotation of the identity's tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { isAirlockError } from '../../errors.ts';
import { registeredClaims } from '../../../test/helpers/oidc-issuer.ts';
import { createTokenVerifier } from './token-verifier.ts';

const NOW = new Date('2026-12-07T12:00:00Z');
const URL = 'https://idp.example.com';

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const verifier = createTokenVerifier({
    issuers: [{ url: URL, jwksPath: 'jwks.json', type: 'email', audience: 'sigstore', jwks: { keys: [jwk] } }],
  });
  /** Signs the claims' JSON text as given, so a test can write numbers JSON.stringify cannot. */
  const signText = (text: string) =>
    new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
  const claims = { ...registeredClaims(URL, NOW, 'user-1'), email: 'dev@example.com', email_verified: true };
  return { verifier, signText, claims };
}

describe('token verification refuses numeric dates that are no instant', () => {
  it('a control: the same token with a finite exp is accepted', async () => {
    const { verifier, signText, claims } = await setup();
    await verifier.verify(await signText(JSON.stringify(claims)), NOW);
  });

  it('refuses an exp of 1e400 (Infinity once parsed): a token that never expires', async () => {
    const { verifier, signText, claims } = await setup();
    const text = JSON.stringify(claims).replace(/"exp":\d+/, '"exp":1e400');
    await assert.rejects(verifier.verify(await signText(text), NOW), (err: unknown) =>
      isAirlockError(err, 'E_OIDC_TOKEN'),
    );
  });

  it('refuses an nbf or iat of -1e400 (-Infinity once parsed)', async () => {
    const { verifier, signText, claims } = await setup();
    for (const claim of ['nbf', 'iat']) {
      const text = JSON.stringify(claims).replace(new RegExp(`"${claim}":\\d+`), `"${claim}":-1e400`);
      await assert.rejects(
        verifier.verify(await signText(text), NOW),
        (err: unknown) => isAirlockError(err, 'E_OIDC_TOKEN'),
        claim,
      );
    }
  });
});
