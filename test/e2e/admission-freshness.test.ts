// An installed trust root's freshness at admission, on the machine's own clock: a real TUF repository
// (test/helpers/tuf-repo.ts) publishes a trusted root made by `airlock trust create` (a private CA and
// a real TSA) with a timestamp role that expires seconds from now, `airlock trust import --grace 0`
// installs it as "corp", and the policy's authorities name it (`trust: corp`). While the root is fresh a
// keyless image is admitted; once the clock passes the freshness deadline the same image is denied in
// an enforce entry with a message naming the stale root, and admitted with a warning in a warn entry —
// even though it was verified, and that verdict cached, a moment before. A new import (a fresh
// timestamp; then a root trusting another CA) is picked up by the running server without a restart.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWebhookTls, type WebhookTls } from '../../src/admission/webhook-tls.ts';
import {
  eventually,
  NAMESPACE,
  pushKeylessImage,
  SERVICE,
  startServe,
  validate,
  type ReviewResponse,
} from '../helpers/admission.ts';
import { runCli, runCliProcess } from '../helpers/cli.ts';
import { createPrivateCa, type PrivateCa } from '../helpers/private-ca.ts';
import type { StartedProcess } from '../helpers/process.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { startTestTsa, type TestTsa } from '../helpers/tsa.ts';
import { createTufRepo, type TufRepo } from '../helpers/tuf-repo.ts';

const SAN = 'https://ci.internal/org/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.ci.internal';
/** How long after the import the timestamp role (and with --grace 0, the root) stays fresh. */
const FRESH_MS = 12_000;
const unavailable = registryAvailable();

describe(
  'admission serve: an installed trust root by name, fresh then stale then re-imported',
  {
    skip: unavailable,
  },
  () => {
    let registry: TestRegistry;
    let ca: PrivateCa;
    let otherCa: PrivateCa;
    let tsa: TestTsa;
    let repo: TufRepo;
    let server: StartedProcess;
    let port: number;
    let tls: WebhookTls;
    let deadline: number;
    const images: Record<string, string> = {};
    after(async () => {
      await server?.stop();
      await registry?.stop();
      await tsa?.stop();
      await ca?.cleanup();
      await otherCa?.cleanup();
    });
    const dir = useTempDir('airlock-admission-fresh-');
    const home = join(dir, 'home');
    const start = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');

    /** A trusted root from `airlock trust create`: this CA and the TSA. */
    async function trustedRoot(from: PrivateCa, name: string): Promise<Buffer> {
      await writeFile(join(dir, `${name}.pem`), from.rootPem);
      const out = join(dir, `${name}.trusted_root.json`);
      const created = await runCliProcess(
        [
          'trust',
          'create',
          '--force',
          '--out',
          out,
          `--fulcio=url=https://fulcio.internal,certificate-chain=${join(dir, `${name}.pem`)},start-time=${start}`,
          `--tsa=url=${tsa.url},certificate-chain=${join(dir, 'tsa.pem')},start-time=${start}`,
        ],
        { env: { AIRLOCK_HOME: home } },
      );
      assert.equal(created.code, 0, created.stderr);
      return readFile(out);
    }

    /** Publishes `root` with a timestamp expiring at `expires` and imports it as "corp" with no grace. */
    async function publishAndImport(root: Buffer, expires: Date): Promise<void> {
      repo.addTarget('trusted_root.json', root);
      repo.setExpiry('timestamp', expires);
      await repo.publish();
      const imported = await runCli(
        ['trust', 'import', repo.dir, '--root', repo.initialRootPath, '--name', 'corp', '--grace', '0'],
        { env: { AIRLOCK_HOME: home } },
      );
      assert.equal(imported.code, 0, imported.stderr);
    }

    before(async () => {
      [registry, ca, otherCa, tsa] = await Promise.all([
        startRegistry(),
        createPrivateCa('corp fulcio'),
        createPrivateCa('corp fulcio, next'),
        startTestTsa(),
      ]);
      await writeFile(join(dir, 'tsa.pem'), tsa.chainPem.join(''));
      const host = registry.host;
      for (const [repoName, from] of [
        ['app', ca],
        ['next', otherCa],
      ] as const) {
        const leaf = await from.issueLeaf({ san: SAN, issuer: ISSUER });
        for (const ns of ['enforced', 'warned']) {
          images[`${ns}/${repoName}`] = `${host}/${ns}/${repoName}:1`;
          await pushKeylessImage(`${host}/${ns}/${repoName}:1`, { leaf, tsaUrl: tsa.url });
        }
      }
      const authority = `{ identity: { exact: "${SAN}" }, issuer: { exact: "${ISSUER}" }, trust: corp }`;
      await mkdir(join(dir, 'policy'));
      const policyPath = join(dir, 'policy', 'policy.yaml');
      await writeFile(
        policyPath,
        `apiVersion: airlock/v1
kind: ImagePolicy
mode: enforce
images:
  - glob: "${host}/enforced/**"
    authorities: [${authority}]
  - glob: "${host}/warned/**"
    mode: warn
    authorities: [${authority}]
`,
      );
      tls = await generateWebhookTls({
        openssl: 'openssl',
        dir: join(dir, 'tls'),
        service: SERVICE,
        namespace: NAMESPACE,
        overwrite: false,
      });
      repo = await createTufRepo({ dir: join(dir, 'tuf') });
      const root = await trustedRoot(ca, 'corp');
      // TUF dates have whole seconds: the deadline is the expiry as written.
      deadline = Math.floor((Date.now() + FRESH_MS) / 1000) * 1000;
      await publishAndImport(root, new Date(deadline));
      ({ server, port } = await startServe({
        policyPath,
        tls,
        home,
        args: ['--trust', 'corp', '--tlog-threshold', '0', '--ctlog-threshold', '0'],
      }));
    });

    const check = (image: string) => validate(port, tls, images[image] ?? '');
    const why = (res: ReviewResponse) => `${JSON.stringify(res)}\n${server.output().slice(-1500)}`;

    it('while fresh: admitted in both entries, and /metrics counts down the seconds left', async () => {
      assert.ok(Date.now() < deadline - 2000, `too slow to start: ${deadline - Date.now()} ms left`);
      for (const image of ['enforced/app', 'warned/app']) {
        const res = await check(image);
        assert.equal(res.allowed, true, why(res));
        assert.equal(res.warnings, undefined, why(res));
      }
      const metrics = await new Promise<string>((resolve, reject) => {
        request(
          { host: '127.0.0.1', port, path: '/metrics', ca: tls.caCert, servername: `${SERVICE}.${NAMESPACE}.svc` },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.on('end', () => resolve(text));
          },
        )
          .on('error', reject)
          .end();
      });
      const left = Number(/airlock_admission_trust_root_seconds_left\{name="corp"\} (-?\d+)/.exec(metrics)?.[1]);
      assert.ok(left > 0 && left <= FRESH_MS / 1000, `seconds left: ${left}\n${metrics}`);
    });

    it('past the deadline: denied in enforce naming the stale root, admitted with a warning in warn', async () => {
      await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() + 1200)));
      const denied = await check('enforced/app');
      assert.equal(denied.allowed, false, why(denied));
      assert.equal(denied.status?.code, 403);
      const message = denied.status?.message ?? '';
      assert.match(message, /enforced\/app:1 \(sha256:/);
      assert.match(message, /could not evaluate/);
      assert.match(message, /trust root "corp" is stale since \d{4}-\d\d-\d\dT[\d:.]+Z/);
      assert.match(message, new RegExp(new Date(deadline).toISOString().replace(/[.]/g, '\\.')));
      const warned = await check('warned/app');
      assert.equal(warned.allowed, true, why(warned));
      // A warning is one line of at most 120 characters (the API server cuts longer ones): the image and
      // the entry fill it; the reason is in the audit annotations.
      assert.match(
        warned.warnings?.[0] ?? '',
        /^airlock \(warn\): could not evaluate \[trust root\]: [^ ]*\/warned\/app:1 \(sha256:/,
      );
      const [audited] = JSON.parse(warned.auditAnnotations?.images ?? '[]') as { outcome: string; reason: string }[];
      assert.equal(audited?.outcome, 'unevaluable');
      assert.match(audited?.reason ?? '', /trust root "corp" is stale since/);
    });

    it('a new import with a fresh timestamp is picked up without a restart', async () => {
      await publishAndImport(await trustedRoot(ca, 'corp'), new Date(Date.now() + 3_600_000));
      const fresh = await eventually(async () => (await check('enforced/app')).allowed, 10_000);
      assert.ok(fresh, why(await check('enforced/app')));
      const warned = await check('warned/app');
      assert.equal(warned.allowed, true);
      assert.equal(warned.warnings, undefined, why(warned));
      assert.match(server.output(), /"msg":"policy and trust material reloaded"/);
    });

    it('a root that trusts another CA replaces it: that CA admitted, the old one denied', async () => {
      await publishAndImport(await trustedRoot(otherCa, 'next'), new Date(Date.now() + 3_600_000));
      const switched = await eventually(async () => (await check('enforced/next')).allowed, 10_000);
      assert.ok(switched, why(await check('enforced/next')));
      const old = await check('enforced/app');
      assert.equal(old.allowed, false, why(old));
      assert.match(old.status?.message ?? '', /no valid certificate path/);
    });
  },
);
