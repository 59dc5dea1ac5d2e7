import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubernetesClaims, testIssuer } from '../../../test/helpers/oidc-issuer.ts';
import { parseOidcIssuerSpec } from './issuer-spec.ts';
import { ReloadingTokenVerifier } from './reloading-verifier.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

describe("issuer keys that follow the JWKS files (an IdP's key rotation without a restart)", () => {
  it('a rotated key is refused before the reload and accepted after; an unchanged file is no reload', async () => {
    const old = await testIssuer(ISSUER, 'ES256', 'old');
    const rotated = await testIssuer(ISSUER, 'ES256', 'new');
    const files: Record<string, string> = { 'jwks.json': JSON.stringify(old.jwks) };
    const verifier = await ReloadingTokenVerifier.load(
      [parseOidcIssuerSpec(`${ISSUER}=jwks.json,type=kubernetes`)],
      async (path) => Buffer.from(files[path] ?? ''),
    );
    const now = new Date();
    const claims = kubernetesClaims(ISSUER, now, 'ci', 'builder');
    assert.equal((await verifier.verify(await old.sign(claims), now)).issuer, ISSUER);
    const fresh = await rotated.sign(claims);
    await assert.rejects(verifier.verify(fresh, now), { code: 'E_OIDC_TOKEN' });
    assert.equal(await verifier.reload(), 'unchanged');
    files['jwks.json'] = JSON.stringify(rotated.jwks);
    assert.equal(await verifier.reload(), 'reloaded');
    assert.equal(
      (await verifier.verify(fresh, now)).san.value,
      'https://kubernetes.io/namespaces/ci/serviceaccounts/builder',
    );
    await assert.rejects(verifier.verify(await old.sign(claims), now), { code: 'E_OIDC_TOKEN' }, 'the old key is gone');
  });

  it('a file that no longer loads keeps the keys in use', async () => {
    const issuer = await testIssuer(ISSUER, 'RS256');
    const files: Record<string, string> = { 'jwks.json': JSON.stringify(issuer.jwks) };
    const verifier = await ReloadingTokenVerifier.load(
      [parseOidcIssuerSpec(`${ISSUER}=jwks.json,type=kubernetes`)],
      async (path) => Buffer.from(files[path] ?? ''),
    );
    files['jwks.json'] = '{"keys": [';
    await assert.rejects(verifier.reload(), { code: 'E_INPUT_MALFORMED' });
    const now = new Date();
    assert.ok(await verifier.verify(await issuer.sign(kubernetesClaims(ISSUER, now, 'ci', 'builder')), now));
  });
});
