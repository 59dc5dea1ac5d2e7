import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { isAirlockError } from '../../errors.ts';
import {
  githubClaims,
  kubernetesClaims,
  registeredClaims,
  type TestAlgorithm,
  testIssuer,
} from '../../../test/helpers/oidc-issuer.ts';
import type { IssuerType, Principal } from '../identity.ts';
import { GITHUB_WORKFLOW_CLAIMS } from './github-principal.ts';
import { createTokenVerifier } from './token-verifier.ts';

const NOW = new Date('2026-12-07T12:00:00Z');
const ARC = '1.3.6.1.4.1.57264.1';

async function verifyAs(
  type: IssuerType,
  url: string,
  claims: (iss: string) => JWTPayload,
  alg: TestAlgorithm = 'ES256',
  subjectDomain?: string,
): Promise<Principal> {
  const issuer = await testIssuer(url, alg);
  const spec = { url, jwksPath: 'j', type, audience: 'sigstore', ...(subjectDomain ? { subjectDomain } : {}) };
  const verifier = createTokenVerifier({ issuers: [{ ...spec, jwks: issuer.jwks }] });
  return verifier.verify(await issuer.sign(claims(url)), NOW);
}

async function refusedAs(reason: RegExp, ...args: Parameters<typeof verifyAs>): Promise<void> {
  await assert.rejects(verifyAs(...args), (err: unknown) => {
    assert.ok(isAirlockError(err, 'E_OIDC_TOKEN'), String(err));
    assert.match(err.message, reason);
    return true;
  });
}

/** What every type but github-workflow maps to: SAN, challenge, and the issuer and subject extensions. */
function plain(iss: string, sub: string, challenge: string, san: Principal['san']): Principal {
  return { issuer: iss, subject: sub, challenge, san, extensions: issuerExtensions(iss, sub) };
}

const issuerExtensions = (iss: string, sub: string): Principal['extensions'] => [
  { oid: `${ARC}.1`, encoding: 'raw', value: iss },
  { oid: `${ARC}.8`, encoding: 'der-utf8', value: iss },
  { oid: `${ARC}.24`, encoding: 'der-utf8', value: sub },
];

describe('email issuers', () => {
  const IDP = 'https://idp.example.com/realms/build';
  const claims = (extra: JWTPayload) => (iss: string) => ({ ...registeredClaims(iss, NOW, 'f:1234'), ...extra });

  it('map a verified address to an rfc822Name SAN, the address as challenge, 1.1, 1.8 and 1.24', async () => {
    const p = await verifyAs('email', IDP, claims({ email: 'dev@example.com', email_verified: true }), 'RS256');
    assert.deepEqual(p, plain(IDP, 'f:1234', 'dev@example.com', { kind: 'email', value: 'dev@example.com' }));
  });

  it('take email_verified as the strings "true" and "True", and leave 1.24 out without sub', async () => {
    for (const verified of ['true', 'True']) {
      const p = await verifyAs('email', IDP, claims({ email: 'a@example.com', email_verified: verified }));
      assert.equal(p.challenge, 'a@example.com');
    }
    const p = await verifyAs('email', IDP, claims({ sub: undefined, email: 'a@example.com', email_verified: true }));
    assert.equal(p.subject, '');
    assert.deepEqual(p.extensions, issuerExtensions(IDP, '').slice(0, 2));
  });

  it('refuse an address not verified, or verified in a form Fulcio does not read', async () => {
    for (const verified of [false, 'false', 'yes', 1, undefined])
      await refusedAs(/not verified/, 'email', IDP, claims({ email: 'a@example.com', email_verified: verified }));
  });

  it('refuse a missing, empty or invalid address', async () => {
    await refusedAs(/no "email" claim/, 'email', IDP, claims({ email_verified: true }));
    await refusedAs(/no "email" claim/, 'email', IDP, claims({ email: '', email_verified: true }));
    for (const email of ['dev', 'dev@localhost', '"a b"@example.com', 'dév@example.com', 'a@-x.example.com'])
      await refusedAs(/not an email address/, 'email', IDP, claims({ email, email_verified: true }));
    await refusedAs(/not a string/, 'email', IDP, claims({ email: ['a@example.com'], email_verified: true }));
  });
});

describe('uri issuers', () => {
  const IDP = 'https://accounts.example.com';
  const DOMAIN = 'https://example.com';
  const sub = (s: string | undefined) => (iss: string) => ({ ...registeredClaims(iss, NOW, 'x'), sub: s });

  it('map sub to a URI SAN and the challenge', async () => {
    const p = await verifyAs('uri', IDP, sub('https://example.com/users/alice'), 'ES256', DOMAIN);
    assert.deepEqual(
      p,
      plain(IDP, 'https://example.com/users/alice', 'https://example.com/users/alice', {
        kind: 'uri',
        value: 'https://example.com/users/alice',
      }),
    );
  });

  it('refuse a subject outside the subject domain, however it is dressed', async () => {
    for (const s of [
      'https://other.com/alice',
      'http://example.com/alice',
      'https://example.com.evil.test/alice',
      'https://EXAMPLE.com/alice',
      'https://example.com:x@evil.test/alice',
      'https://example.com/a lice',
      'example.com/alice',
    ])
      await refusedAs(/is not a URI under https:\/\/example\.com/, 'uri', IDP, sub(s), 'ES256', DOMAIN);
  });

  it('refuse an email address and a missing sub', async () => {
    await refusedAs(/is an email address/, 'uri', IDP, sub('alice@example.com'), 'ES256', DOMAIN);
    await refusedAs(/no "sub" claim/, 'uri', IDP, sub(undefined), 'ES256', DOMAIN);
    await refusedAs(/has no subject-domain/, 'uri', IDP, sub('https://example.com/a'));
  });
});

describe('kubernetes issuers', () => {
  const CLUSTER = 'https://kubernetes.default.svc.cluster.local';
  const token =
    (ns: string, sa: string, edit: (c: JWTPayload) => JWTPayload = (c) => c) =>
    (iss: string) =>
      edit(kubernetesClaims(iss, NOW, ns, sa));

  it('map the service account to its URI SAN, with sub as challenge', async () => {
    const p = await verifyAs('kubernetes', CLUSTER, token('build', 'signer'), 'RS256');
    assert.deepEqual(
      p,
      plain(CLUSTER, 'system:serviceaccount:build:signer', 'system:serviceaccount:build:signer', {
        kind: 'uri',
        value: 'https://kubernetes.io/namespaces/build/serviceaccounts/signer',
      }),
    );
  });

  it('refuse a token without namespace or service account name (pitfall 10)', async () => {
    const without = (drop: 'namespace' | 'serviceaccount') =>
      token('build', 'signer', (c) => {
        const k8s = { ...(c['kubernetes.io'] as Record<string, unknown>) };
        delete k8s[drop];
        return { ...c, 'kubernetes.io': k8s };
      });
    await refusedAs(/no "kubernetes\.io\.namespace" claim/, 'kubernetes', CLUSTER, without('namespace'));
    await refusedAs(
      /no "kubernetes\.io\.serviceaccount\.name" claim/,
      'kubernetes',
      CLUSTER,
      without('serviceaccount'),
    );
    await refusedAs(/no "kubernetes\.io\.namespace"/, 'kubernetes', CLUSTER, token('', 'signer'));
    const noK8s = token('build', 'signer', (c) => ({ ...c, 'kubernetes.io': undefined }));
    await refusedAs(/no "kubernetes\.io\.namespace"/, 'kubernetes', CLUSTER, noK8s);
  });

  it('refuse names Kubernetes would not accept: a slash, dots, upper case', async () => {
    for (const ns of ['a/b', '..', 'Build', 'x'.repeat(64)])
      await refusedAs(/not a Kubernetes namespace name/, 'kubernetes', CLUSTER, token(ns, 'signer'));
    for (const sa of ['a/b', '../x', 'a..b', 'Signer', `${'a'.repeat(63)}.`.repeat(4) + 'a'])
      await refusedAs(/not a service account name/, 'kubernetes', CLUSTER, token('build', sa));
  });
});

describe('github-workflow issuers', () => {
  const GH = 'https://token.actions.githubusercontent.com';
  const edit = (extra: JWTPayload) => (iss: string) => ({ ...githubClaims(iss, NOW), ...extra });

  it("map the workflow to Fulcio's SAN and extensions, in Render order with their encodings", async () => {
    const p = await verifyAs('github-workflow', GH, edit({}), 'RS256');
    const sub = 'repo:octo-org/octo-repo:ref:refs/heads/main';
    const signer = 'https://github.com/octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main';
    assert.equal(p.challenge, sub);
    assert.deepEqual(p.san, { kind: 'uri', value: signer });
    const raw = (arc: number, value: string) => ({ oid: `${ARC}.${arc}`, encoding: 'raw', value });
    const der = (arc: number, value: string) => ({ oid: `${ARC}.${arc}`, encoding: 'der-utf8', value });
    assert.deepEqual(p.extensions, [
      raw(1, GH),
      raw(2, 'push'),
      raw(3, 'd6f2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4'),
      raw(4, 'Release'),
      raw(5, 'octo-org/octo-repo'),
      raw(6, 'refs/heads/main'),
      der(8, GH),
      der(9, signer),
      der(10, 'b1a2c3d4e5f60718293a4b5c6d7e8f9012345678'),
      der(11, 'github-hosted'),
      der(12, 'https://github.com/octo-org/octo-repo'),
      der(13, 'd6f2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4'),
      der(14, 'refs/heads/main'),
      der(15, '74'),
      der(16, 'https://github.com/octo-org'),
      der(17, '65'),
      der(18, 'https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main'),
      der(19, 'd6f2e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4'),
      der(20, 'push'),
      der(21, 'https://github.com/octo-org/octo-repo/actions/runs/6789/attempts/2'),
      der(22, 'private'),
      der(24, sub),
    ]);
  });

  it('refuse a token missing any one of the sixteen claims Fulcio requires', async () => {
    assert.equal(GITHUB_WORKFLOW_CLAIMS.length, 16);
    for (const claim of GITHUB_WORKFLOW_CLAIMS)
      await refusedAs(new RegExp(`no "${claim}" claim`), 'github-workflow', GH, edit({ [claim]: '' }));
    await refusedAs(/no "run_id" claim/, 'github-workflow', GH, edit({ run_id: undefined }));
    await refusedAs(/"run_id" is not a string/, 'github-workflow', GH, edit({ run_id: 6789 }));
  });

  it('refuse path claims Go would clean or escape, so the URIs stay what Fulcio would write', async () => {
    for (const ref of ['o/r/../../x.yml@main', 'o//r', '/o/r', 'o/r%2F..', 'o/r x', 'o/r/'])
      await refusedAs(
        /"job_workflow_ref" .* is not a plain URL path/,
        'github-workflow',
        GH,
        edit({ job_workflow_ref: ref }),
      );
  });
});

describe('claim values', () => {
  const IDP = 'https://idp.example.com';
  const email = (value: unknown) => (iss: string) => ({
    ...registeredClaims(iss, NOW, 's'),
    email: value,
    email_verified: true,
  });

  it('are refused when too long, with control characters or half a surrogate pair', async () => {
    await refusedAs(/4097 characters; at most 4096/, 'email', IDP, email(`${'a'.repeat(4085)}@example.com`));
    await refusedAs(/control character/, 'email', IDP, email('a@example.com\n'));
    await refusedAs(/control character/, 'email', IDP, email('a\u0085@example.com'));
    await refusedAs(/not well-formed Unicode/, 'email', IDP, email('a\ud800@example.com'));
  });
});
