// The demo issuer's JWKS file and tokens are what `airlock ca serve` takes: loaded as --oidc-issuer
// URL=JWKS_FILE,type=kubernetes, a token verifies and maps to the service account's SAN, for the ten
// minutes it is valid and not after.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../../../test/helpers/temp-dir.ts';
import { createTokenVerifier, loadOidcIssuers } from '../../../ca/oidc/index.ts';
import { isAirlockError } from '../../../errors.ts';
import { createDemoIssuer, DEMO_ISSUER_URL, serviceAccountIdentity } from './demo-issuer.ts';

const dir = useTempDir('airlock-demo-issuer-');
const NOW = new Date('2026-12-07T12:00:00Z');
const signer = { namespace: 'release', name: 'signer' };

describe('the demo OIDC issuer', () => {
  it("makes tokens the CA's verifier accepts as the service account, for ten minutes", async () => {
    const issuer = await createDemoIssuer(join(dir, 'jwks.json'));
    const jwks = JSON.parse(await readFile(issuer.jwksPath, 'utf8')) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.d, undefined, 'the JWKS holds the public key only');
    const issuers = await loadOidcIssuers([
      { url: DEMO_ISSUER_URL, jwksPath: issuer.jwksPath, type: 'kubernetes', audience: 'sigstore' },
    ]);
    const verifier = createTokenVerifier({ issuers, maxSkewSeconds: 0 });
    const token = await issuer.token(signer, NOW);

    const principal = await verifier.verify(token, new Date(NOW.getTime() + 599_000));
    assert.equal(principal.issuer, DEMO_ISSUER_URL);
    assert.equal(principal.subject, 'system:serviceaccount:release:signer');
    assert.deepEqual(principal.san, { kind: 'uri', value: serviceAccountIdentity(signer) });
    assert.equal(principal.san.value, 'https://kubernetes.io/namespaces/release/serviceaccounts/signer');

    await assert.rejects(verifier.verify(token, new Date(NOW.getTime() + 600_000)), (err) =>
      isAirlockError(err, 'E_OIDC_TOKEN'),
    );
  });
});
