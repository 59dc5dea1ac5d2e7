// `airlock ca serve` as a process, over HTTPS, as clients and attackers meet it: real JWTs from test
// issuers (jose), each way a token can be wrong refused with 400 and Fulcio's error body and no
// certificate issued (none counted, none in the audit trail); a good token with a proof of possession,
// in the body or as a Bearer header, gets a chain whose leaf carries the identity; a CSR too; the rate
// limit answers 429 with Retry-After; trustBundle, configuration, /healthz and /metrics.
import assert from 'node:assert/strict';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { generateWebhookTls } from '../../src/admission/webhook-tls.ts';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { type RunningServer, spawnServer } from '../helpers/log-server.ts';
import { kubernetesClaims, registeredClaims, testIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const EMAIL_ISSUER = 'https://idp.example.internal';
const SAN = 'https://kubernetes.io/namespaces/ci/serviceaccounts/builder';
const SERVICE = 'fulcio';
const NAMESPACE = 'sigstore';

const dir = useTempDir('airlock-ca-serve-');
const p = (name: string) => join(dir, name);
let ca: RunningServer;
let caPem = '';
let issuer: TestIssuer;
let emailIssuer: TestIssuer;
let port = 0;
after(() => ca?.stop());

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: caPem,
        servername: `${SERVICE}.${NAMESPACE}.svc`,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A client key and its proof of possession over `challenge`, as sigstore-js makes them. */
function keyRequest(challenge: string, key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) {
  return {
    publicKey: { algorithm: 'ECDSA', content: createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string },
    proofOfPossession: sign('sha256', Buffer.from(challenge), key).toString('base64'),
  };
}

function signingCert(token: string | undefined, challenge: string, headers: Record<string, string> = {}) {
  const body = {
    ...(token === undefined ? {} : { credentials: { oidcIdentityToken: token } }),
    publicKeyRequest: keyRequest(challenge),
  };
  return call('POST', '/api/v2/signingCert', JSON.stringify(body), headers);
}

const issuedCount = async () => {
  const metrics = (await call('GET', '/metrics')).body;
  return [...metrics.matchAll(/^airlock_ca_certificates_issued_total\{[^}]*\} (\d+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
};
const auditedIssuances = async () =>
  (await verifyAuditLog(p('ca-home'))).events.filter((e) => e.event.action === 'ca.issue').length;

before(async () => {
  const env = { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: p('home') } };
  assert.equal((await runCliProcess(['key', 'generate', '--output-key-prefix', p('ca')], env)).code, 0);
  const init = await runCliProcess(
    ['ca', 'init', '--key', p('ca.key'), '--subject', 'O=airlock test,CN=airlock test CA', '-o', p('ca.pem')],
    env,
  );
  assert.equal(init.code, 0, init.stderr);
  issuer = await testIssuer(ISSUER, 'RS256');
  emailIssuer = await testIssuer(EMAIL_ISSUER, 'ES256');
  await writeFile(p('jwks.json'), JSON.stringify(issuer.jwks));
  await writeFile(p('email-jwks.json'), JSON.stringify(emailIssuer.jwks));
  const tls = await generateWebhookTls({
    openssl: 'openssl',
    dir: p('tls'),
    service: SERVICE,
    namespace: NAMESPACE,
    overwrite: false,
  });
  caPem = await readFile(tls.paths.caCert, 'utf8');
  ca = await spawnServer(
    [
      'ca',
      'serve',
      ...['--key', p('ca.key'), '--chain', p('ca.pem'), '--listen', '127.0.0.1:0'],
      ...['--tls-cert', tls.paths.cert, '--tls-key', tls.paths.key],
      ...['--oidc-issuer', `${ISSUER}=${p('jwks.json')},type=kubernetes`],
      ...['--oidc-issuer', `${EMAIL_ISSUER}=${p('email-jwks.json')},type=email,audience=airlock`],
      ...['--rate-limit', '3', '--rate-window', '1h'],
    ],
    { AIRLOCK_HOME: p('ca-home') },
  ).ready;
  assert.match(ca.url, /^https:\/\//);
  port = Number(new URL(ca.url).port);
});

const SUB = 'system:serviceaccount:ci:builder';

describe('airlock ca serve refuses every bad token with 400 and issues nothing', () => {
  it('expired, early, wrong aud, unknown iss or kid, bad signature, none, HS256 keyed by the public key', async () => {
    const now = new Date();
    const claims = kubernetesClaims(ISSUER, now, 'ci', 'builder');
    const iat = claims.iat as number;
    const stranger = await testIssuer('https://stranger.internal', 'RS256');
    const good = await issuer.sign(claims);
    const [head, payload, signature] = good.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const publicPem = await exportSPKI(issuer.publicKey);
    const tokens: Record<string, string> = {
      expired: await issuer.sign({ ...claims, iat: iat - 3600, nbf: iat - 3600, exp: iat - 60 }),
      'not yet valid': await issuer.sign({ ...claims, nbf: iat + 3600 }),
      'wrong audience': await issuer.sign({ ...claims, aud: ['not-sigstore'] }),
      'unknown issuer': await stranger.sign(kubernetesClaims(stranger.url, now, 'ci', 'builder')),
      'unknown key id': await issuer.sign(claims, { kid: 'rotated-away' }),
      'bad signature': `${head}.${payload}.${flipped}`,
      'alg none': new UnsecuredJWT(claims).encode(),
      'HS256 keyed with the public key': await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
        .sign(new TextEncoder().encode(publicPem)),
      'not a JWT': 'a.b',
    };
    for (const [what, token] of Object.entries(tokens)) {
      const answer = await signingCert(token, SUB);
      assert.equal(answer.status, 400, `${what}: ${answer.body}`);
      const body = JSON.parse(answer.body) as { code: number; message: string; details: unknown[] };
      assert.equal(body.code, 3, what);
      assert.match(body.message, /^There was an error processing the identity token/, what);
      assert.ok(!answer.body.includes(token), `${what}: the token is not echoed`);
    }
    const noToken = await signingCert(undefined, SUB);
    assert.equal(noToken.status, 400);
    assert.equal(await issuedCount(), 0);
    assert.equal(await auditedIssuances(), 0);
  });

  it('a proof of possession over anything but the identity, and a weak key, are refused too', async () => {
    const token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'ci', 'builder'));
    const wrongProof = await signingCert(token, 'someone else');
    assert.equal(wrongProof.status, 400);
    assert.match(JSON.parse(wrongProof.body).message, /signature supplied in the request could not be verified/);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const body = { credentials: { oidcIdentityToken: token }, publicKeyRequest: keyRequest(SUB, weak) };
    const insecure = await call('POST', '/api/v2/signingCert', JSON.stringify(body));
    assert.equal(insecure.status, 400, insecure.body);
    assert.equal(await issuedCount(), 0);
  });
});

describe('airlock ca serve issues to a good token', () => {
  it('a Kubernetes service account, token in the body or as Bearer: a chain whose leaf names it, audited', async () => {
    const token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'ci', 'builder'));
    const asHeader: Record<string, string> = { authorization: `Bearer ${token}` };
    for (const headers of [{}, asHeader]) {
      const answer = await signingCert(Object.keys(headers).length ? undefined : token, SUB, headers);
      assert.equal(answer.status, 200, answer.body);
      const chain = JSON.parse(answer.body).signedCertificateDetachedSct.chain.certificates as string[];
      assert.equal(chain.length, 2);
      const leaf = new X509Certificate(chain[0] as string);
      assert.equal(leaf.subjectAltName, `URI:${SAN}`);
      assert.ok(leaf.verify(new X509Certificate(chain[1] as string).publicKey));
      assert.equal(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime(), 600_000);
    }
    assert.equal(await issuedCount(), 2);
    assert.equal(await auditedIssuances(), 2);
  });

  it('an email identity: the proof signs the email; a token whose email is not verified is refused', async () => {
    const claims = { ...registeredClaims(EMAIL_ISSUER, new Date(), 'user-1'), aud: 'airlock' };
    const ok = await signingCert(
      await emailIssuer.sign({ ...claims, email: 'dev@example.internal', email_verified: true }),
      'dev@example.internal',
    );
    assert.equal(ok.status, 200, ok.body);
    const leafPem = JSON.parse(ok.body).signedCertificateDetachedSct.chain.certificates[0] as string;
    assert.equal(new X509Certificate(leafPem).subjectAltName, 'email:dev@example.internal');
    const unverified = await signingCert(
      await emailIssuer.sign({ ...claims, email: 'dev@example.internal', email_verified: false }),
      'dev@example.internal',
    );
    assert.equal(unverified.status, 400);
  });

  it('a CSR from openssl req: the certificate is for its key', async () => {
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('csr.key')]);
    execFileSync('openssl', ['req', '-new', '-key', p('csr.key'), '-subj', '/CN=ignored', '-out', p('req.csr')]);
    const csr = Buffer.from(await readFile(p('req.csr'))).toString('base64');
    const token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'ci', 'csr'));
    const answer = await call(
      'POST',
      '/api/v2/signingCert',
      JSON.stringify({ credentials: { oidcIdentityToken: token }, certificateSigningRequest: csr }),
    );
    assert.equal(answer.status, 200, answer.body);
    const leaf = new X509Certificate(JSON.parse(answer.body).signedCertificateDetachedSct.chain.certificates[0]);
    const key = createPrivateKey(await readFile(p('csr.key')));
    assert.ok(leaf.checkPrivateKey(key));
  });

  it('the rate limit per identity: 429 with Retry-After once the identity had its certificates', async () => {
    const token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'ci', 'builder'));
    const third = await signingCert(token, SUB);
    assert.equal(third.status, 200, 'the third of three this hour');
    const fourth = await signingCert(token, SUB);
    assert.equal(fourth.status, 429, fourth.body);
    assert.equal(JSON.parse(fourth.body).code, 8);
    assert.ok(Number(fourth.headers['retry-after']) > 0);
  });

  it('trustBundle, configuration, /healthz and /metrics answer as Fulcio and Prometheus expect', async () => {
    const bundle = JSON.parse((await call('GET', '/api/v2/trustBundle')).body) as {
      chains: Array<{ certificates: string[] }>;
    };
    assert.equal(bundle.chains[0]?.certificates[0], await readFile(p('ca.pem'), 'utf8'));
    const config = JSON.parse((await call('GET', '/api/v2/configuration')).body) as {
      issuers: Array<{ issuerUrl: string; audience: string; challengeClaim: string; issuerType: string }>;
    };
    const byUrl = Object.fromEntries(config.issuers.map((i) => [i.issuerUrl, i]));
    assert.equal(byUrl[ISSUER]?.challengeClaim, 'sub');
    assert.equal(byUrl[EMAIL_ISSUER]?.challengeClaim, 'email');
    assert.equal(byUrl[EMAIL_ISSUER]?.audience, 'airlock');
    assert.equal((await call('GET', '/healthz')).status, 200);
    assert.match((await call('GET', '/metrics')).body, /airlock_ca_refused_total\{code="E_OIDC_TOKEN"\} \d+/);
    assert.equal((await call('GET', '/api/v1/signingCert')).status, 404);
    assert.equal((await call('GET', '/api/v2/signingCert')).status, 405);
  });
});
