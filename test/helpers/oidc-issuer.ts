// A test OIDC issuer: a fresh key pair made with jose, its public JWKS, and real JWTs signed with it,
// with claim sets shaped as Kubernetes and GitHub Actions issue them. Times come from the `now` a test
// passes, never from the clock, so a token is valid or expired exactly when the test says.
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

export type TestAlgorithm = 'RS256' | 'ES256' | 'PS384' | 'ES384' | 'EdDSA';

export interface TestIssuer {
  readonly url: string;
  readonly alg: TestAlgorithm;
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly publicKey: CryptoKey;
  readonly jwks: JSONWebKeySet;
  /** A compact JWS over `claims`; `header` adds to or overrides `{alg, kid}` (kid: undefined drops it). */
  sign(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
}

export async function testIssuer(url: string, alg: TestAlgorithm = 'ES256', kid = `${alg}-key-1`): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    url,
    alg,
    kid,
    publicJwk,
    publicKey,
    jwks: { keys: [publicJwk] },
    sign: (claims, header = {}) => {
      const protectedHeader = Object.fromEntries(
        Object.entries({ alg, kid, ...header }).filter(([, v]) => v !== undefined),
      ) as { alg: string };
      return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(privateKey);
    },
  };
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** The registered claims of a token issued at `now`, valid ten minutes, for the `sigstore` audience. */
export function registeredClaims(iss: string, now: Date, sub: string): JWTPayload {
  const iat = seconds(now);
  return { iss, sub, aud: 'sigstore', iat, nbf: iat, exp: iat + 600 };
}

/** A projected service-account token's claims (kubernetes pkg/serviceaccount/claims.go). */
export function kubernetesClaims(iss: string, now: Date, namespace: string, account: string): JWTPayload {
  return {
    ...registeredClaims(iss, now, `system:serviceaccount:${namespace}:${account}`),
    aud: ['sigstore'],
    jti: '0b9e6c0e-1f7a-4d5e-9c1a-3f0e2d4c5b6a',
    'kubernetes.io': {
      namespace,
      pod: { name: 'builder-7d9f', uid: 'a1b2c3d4-0000-4000-8000-000000000001' },
      serviceaccount: { name: account, uid: 'a1b2c3d4-0000-4000-8000-000000000002' },
    },
  };
}

/** A GitHub Actions token's claims, as token.actions.githubusercontent.com issues them. */
export function githubClaims(iss: string, now: Date): JWTPayload {
  return {
    ...registeredClaims(iss, now, 'repo:octo-org/octo-repo:ref:refs/heads/main'),
    job_workflow_ref: 'octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main',
    job_workflow_sha: 'b1a2c3d4e5f60718293a4b5c6d7e8f9012345678',
    sha: 'd6f2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4',
    event_name: 'push',
    repository: 'octo-org/octo-repo',
    workflow: 'Release',
    ref: 'refs/heads/main',
    runner_environment: 'github-hosted',
    repository_id: '74',
    repository_owner: 'octo-org',
    repository_owner_id: '65',
    repository_visibility: 'private',
    workflow_ref: 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: 'd6f2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4',
    run_id: '6789',
    run_attempt: '2',
    ref_type: 'branch',
    actor: 'octocat',
  };
}
