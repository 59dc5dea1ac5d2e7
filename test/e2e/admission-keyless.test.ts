// Admission of images signed keyless, end to end: a private Fulcio-like CA issues an identity
// certificate, a real RFC 3161 TSA stamps the signature, the bundle is attached to an image in a real
// docker-registry as cosign v3 attaches it, and the trusted root the webhook verifies with is made by
// `airlock trust create` from the CA's and TSA's certificates (no log: the bundle carries none, so the
// webhook runs with --tlog-threshold 0 --ctlog-threshold 0 and the timestamp threshold at its default 1).
// The policy pins identity and issuer exactly: the right pair admits; another identity, another
// issuer, another CA or no signature is denied, naming the image and the check.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWebhookTls, type WebhookTls } from '../../src/admission/webhook-tls.ts';
import { NAMESPACE, pushKeylessImage, SERVICE, startServe, validate } from '../helpers/admission.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { createPrivateCa, type PrivateCa } from '../helpers/private-ca.ts';
import type { StartedProcess } from '../helpers/process.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { startTestTsa, type TestTsa } from '../helpers/tsa.ts';

const SAN = 'https://ci.internal/org/app/.github/workflows/release.yml@refs/heads/main';
const OTHER_SAN = 'https://ci.internal/org/intruder/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.ci.internal';
const unavailable = registryAvailable();

describe(
  'admission serve: keyless images under a trusted root from airlock trust create',
  { skip: unavailable },
  () => {
    let registry: TestRegistry;
    let ca: PrivateCa;
    let otherCa: PrivateCa;
    let tsa: TestTsa;
    let server: StartedProcess;
    let port: number;
    let tls: WebhookTls;
    const images: Record<string, string> = {};
    let policyPath: string;
    after(async () => {
      await server?.stop();
      await registry?.stop();
      await tsa?.stop();
      await ca?.cleanup();
      await otherCa?.cleanup();
    });
    const dir = useTempDir('airlock-admission-keyless-');

    before(async () => {
      [registry, ca, otherCa, tsa] = await Promise.all([
        startRegistry(),
        createPrivateCa('corp fulcio'),
        createPrivateCa('another CA'),
        startTestTsa(),
      ]);
      const start = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      await writeFile(join(dir, 'fulcio.pem'), ca.rootPem);
      await writeFile(join(dir, 'tsa.pem'), tsa.chainPem.join(''));
      const created = await runCliProcess(
        [
          'trust',
          'create',
          '--out',
          join(dir, 'trusted_root.json'),
          `--fulcio=url=https://fulcio.internal,certificate-chain=${join(dir, 'fulcio.pem')},start-time=${start}`,
          `--tsa=url=${tsa.url},certificate-chain=${join(dir, 'tsa.pem')},start-time=${start}`,
        ],
        { env: { AIRLOCK_HOME: join(dir, 'home') } },
      );
      assert.equal(created.code, 0, created.stderr);

      const host = registry.host;
      const signed = async (repo: string, from: PrivateCa, san: string, issuer: string) => {
        images[repo] = `${host}/apps/${repo}:1`;
        const leaf = await from.issueLeaf({ san, issuer });
        await pushKeylessImage(images[repo], { leaf, tsaUrl: tsa.url });
      };
      await signed('good', ca, SAN, ISSUER);
      await signed('other-identity', ca, OTHER_SAN, ISSUER);
      await signed('other-issuer', ca, SAN, 'https://token.elsewhere');
      await signed('other-ca', otherCa, SAN, ISSUER);
      images.unsigned = `${host}/apps/unsigned:1`;
      await pushKeylessImage(images.unsigned);

      await mkdir(join(dir, 'policy'));
      policyPath = join(dir, 'policy', 'policy.yaml');
      await writeFile(
        policyPath,
        `apiVersion: airlock/v1
kind: ImagePolicy
mode: enforce
images:
  - glob: "${host}/apps/**"
    authorities:
      - identity: { exact: "${SAN}" }
        issuer: { exact: "${ISSUER}" }
`,
      );
      tls = await generateWebhookTls({
        openssl: 'openssl',
        dir: join(dir, 'tls'),
        service: SERVICE,
        namespace: NAMESPACE,
        overwrite: false,
      });
      ({ server, port } = await startServe({
        policyPath,
        tls,
        home: join(dir, 'home'),
        args: ['--trusted-root', join(dir, 'trusted_root.json'), '--tlog-threshold', '0', '--ctlog-threshold', '0'],
      }));
    });

    it('admits the image signed by the pinned identity and issuer', async () => {
      const res = await validate(port, tls, images.good ?? '');
      assert.equal(res.allowed, true, `${JSON.stringify(res)}\n${server.output().slice(-2000)}`);
      assert.equal(res.auditAnnotations?.decision, 'allowed');
    });

    it('denies another identity, another issuer, another CA and no signature, naming image and check', async () => {
      const cases: [string, RegExp][] = [
        ['other-identity', /certificate identity "https:\/\/ci\.internal\/org\/intruder\/[^"]*" does not match/],
        ['other-issuer', /OIDC issuer "https:\/\/token\.elsewhere" does not match/],
        ['other-ca', /no valid certificate path/],
        ['unsigned', /none attached/],
      ];
      for (const [repo, why] of cases) {
        const res = await validate(port, tls, images[repo] ?? '');
        assert.equal(res.allowed, false, `${repo}: ${JSON.stringify(res)}`);
        assert.equal(res.status?.code, 403);
        const message = res.status?.message ?? '';
        assert.match(message, new RegExp(`apps/${repo}:1 \\(sha256:[0-9a-f]`), repo);
        assert.match(message, /\[signature\]/, repo);
        assert.match(message, why, `${repo}: ${message}`);
        assert.equal(res.auditAnnotations?.decision, 'denied');
      }
    });

    it('one container by another identity next to a good one denies the object, naming that one', async () => {
      const res = await validate(port, tls, images.good ?? '', images['other-identity'] ?? '');
      assert.equal(res.allowed, false, JSON.stringify(res));
      assert.match(res.status?.message ?? '', /^airlock: denied \[signature\]: [^\n]*apps\/other-identity:1/);
      assert.doesNotMatch(res.status?.message ?? '', /apps\/good:1/);
    });

    it('a root with no CT log: admission test refuses the policy until --ctlog-threshold 0', async () => {
      const pod = join(dir, 'pod.yaml');
      await writeFile(
        pod,
        `apiVersion: v1\nkind: Pod\nmetadata: { name: app, namespace: apps }\n` +
          `spec: { containers: [{ name: app, image: "${images.good}" }] }\n`,
      );
      const test = (...extra: string[]) =>
        runCliProcess(
          [
            'admission',
            'test',
            '--policy',
            policyPath,
            '--trusted-root',
            join(dir, 'trusted_root.json'),
            '--tlog-threshold',
            '0',
            '--insecure',
            ...extra,
            pod,
          ],
          { env: { AIRLOCK_HOME: join(dir, 'home') } },
        );
      const refused = await test();
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /has no Certificate Transparency log.*\[E_TRUST_ROOT\]/);
      assert.match(refused.stderr, /--ctlog-threshold 0/);
      const allowed = await test('--ctlog-threshold', '0');
      assert.equal(allowed.code, 0, allowed.stderr);
    });
  },
);
