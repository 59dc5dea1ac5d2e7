// The demo's OIDC issuer: a key pair made for the demo, standing in for a cluster's service-account
// issuer. Its public keys are written as a JWKS file, as an operator exports a cluster's
// (`kubectl get --raw /openid/v1/jwks`) for `airlock ca serve --oidc-issuer`; its tokens are shaped as
// a projected service-account token with audience `sigstore` (kubernetes pkg/serviceaccount/claims.go).
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

/** The issuer a cluster's tokens name when its API server keeps the default --service-account-issuer. */
export const DEMO_ISSUER_URL = 'https://kubernetes.default.svc.cluster.local';

/** A service-account token lives ten minutes here: long enough to sign, short enough to leak little. */
const TOKEN_SECONDS = 600;

export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
}

export interface DemoIssuer {
  readonly url: string;
  /** The issuer's public keys, as `ca serve --oidc-issuer URL=JWKS_FILE` reads them. */
  readonly jwksPath: string;
  /** A token for `account`, issued at `now`; a bearer credential, never printed. */
  token(account: ServiceAccount, now: Date): Promise<string>;
}

/** The SAN Fulcio (and `airlock ca serve`) gives a Kubernetes service account. */
export function serviceAccountIdentity(account: ServiceAccount): string {
  return `https://kubernetes.io/namespaces/${account.namespace}/serviceaccounts/${account.name}`;
}

function serviceAccountClaims(account: ServiceAccount, now: Date): JWTPayload {
  const iat = Math.floor(now.getTime() / 1000);
  return {
    iss: DEMO_ISSUER_URL,
    sub: `system:serviceaccount:${account.namespace}:${account.name}`,
    aud: ['sigstore'],
    iat,
    nbf: iat,
    exp: iat + TOKEN_SECONDS,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: account.namespace,
      pod: { name: `${account.name}-7d9f`, uid: randomUUID() },
      serviceaccount: { name: account.name, uid: randomUUID() },
    },
  };
}

/** An RS256 key, as a cluster's service-account signing key is by default, and its JWKS at `jwksPath`. */
export async function createDemoIssuer(jwksPath: string): Promise<DemoIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const exported = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exported);
  await writeFile(jwksPath, `${JSON.stringify({ keys: [{ ...exported, kid, alg: 'RS256', use: 'sig' }] }, null, 2)}\n`);
  return {
    url: DEMO_ISSUER_URL,
    jwksPath,
    token: (account, now) =>
      new SignJWT(serviceAccountClaims(account, now))
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .sign(privateKey),
  };
}
