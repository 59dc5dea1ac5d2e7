// `airlock admission test` end to end: workload manifests decided offline as the webhook would decide
// them, against images in a real docker-registry signed by airlock with a key (one signed, one
// unsigned). A multi-document file with a Deployment (signed: ALLOWED, with the reference /mutate would
// pin), a CronJob (unsigned: DENIED; /mutate would pin it all the same) and a ConfigMap (skipped with a
// note); the exit codes CI branches on (0 admitted, warnings included; 1 denied; 3 unreadable or could
// not evaluate), and --json.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatePrivateKey } from '../../src/crypto/generate-key.ts';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { publicKeyPem } from '../../src/crypto/keys.ts';
import { openImage } from '../../src/oci/open-store.ts';
import { signImage } from '../../src/oci/sign-image.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const unavailable = registryAvailable();

interface JsonResult {
  ok: boolean;
  workloads: {
    file: string;
    doc: number;
    kind: string;
    namespace: string;
    name: string;
    result: string;
    allowed: boolean;
    images: { where: string; image: string; outcome: string; digest?: string; check: string; entry: string }[];
    pinned: { where: string; pointer: string; image: string; pinned: string }[];
    message?: string;
  }[];
  skipped: { file: string; doc: number; kind: string; name: string; why: string }[];
  error?: { code: string; exitCode: number };
}

describe('admission test, against a real registry', { skip: unavailable }, () => {
  const dir = useTempDir('airlock-admission-test-');
  let registry: TestRegistry;
  const digests: Record<string, string> = {};
  const ref = (repo: string) => `${registry.host}/${repo}:1`;
  const env = () => ({ AIRLOCK_HOME: join(dir, 'home') });
  const admissionTest = (...args: string[]) =>
    runCliProcess(
      ['admission', 'test', '--policy', join(dir, 'policy.yaml'), '--insecure', '--insecure-ignore-tlog', ...args],
      { env: env() },
    );

  before(async () => {
    registry = await startRegistry();
    const release = generatePrivateKey('ecdsa-p256');
    const signer = createKeyObjectSigner(release, 'ecdsa-sha2-256-nistp256', 'release');
    const push = async (repo: string, sign: boolean) => {
      const { store } = await openImage(`docker://${ref(repo)}`, 'write', { insecure: true });
      const image = await makeTestImage(store, { tag: '1', layerSize: 512 });
      if (sign) await signImage(store, image.manifest, { signer, now: new Date() });
      await store.close();
      digests[repo] = image.manifest.digest;
    };
    await push('signed/app', true);
    await push('signed/unsigned', false);
    await push('warned/unsigned', false);
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys', 'release.pub'), publicKeyPem(createPublicKey(release)));
    await writeFile(
      join(dir, 'policy.yaml'),
      `apiVersion: airlock/v1
kind: ImagePolicy
images:
  - glob: "${registry.host}/signed/**"
    authorities: [{ key: keys/release.pub }]
  - glob: "${registry.host}/warned/**"
    authorities: [{ key: keys/release.pub }]
    mode: warn
`,
    );
    await writeFile(
      join(dir, 'app.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  template:
    spec:
      containers: [{ name: web, image: "${ref('signed/app')}" }]
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{ name: job, image: "${ref('signed/unsigned')}" }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { a: "1" }
`,
    );
    await writeFile(
      join(dir, 'warned.yaml'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'tool' },
            spec: { containers: [{ name: 'tool', image: ref('warned/unsigned') }] },
          },
        ],
      }),
    );
  });
  after(async () => {
    await registry?.stop();
  });

  it('prints each decision, the pinned reference, the skipped ConfigMap, and exits 1 on the denial', async () => {
    const run = await admissionTest('--namespace', 'team-a', join(dir, 'app.yaml'));
    assert.equal(run.code, 1, run.stderr);
    const file = join(dir, 'app.yaml');
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${file}:doc#1 Deployment shop/web: ALLOWED`);
    assert.match(
      lines[1] ?? '',
      /^ {2}container web: .*signed\/app:1 \(sha256:[0-9a-f]{12}…\) images\[0\] .*: verified/,
    );
    assert.equal(lines[2], `  pin container web: ${ref('signed/app')}@${digests['signed/app']}`);
    assert.equal(lines[3], `${file}:doc#2 CronJob team-a/nightly: DENIED`);
    assert.match(lines[4] ?? '', /^ {2}container job: .*signed\/unsigned:1 .*images\[0\] .*: denied \[signature\]: /);
    // /mutate pins whatever resolved, denied or not (the API server calls it before /validate denies).
    assert.equal(lines[5], `  pin container job: ${ref('signed/unsigned')}@${digests['signed/unsigned']}`);
    assert.equal(lines.length, 6, run.stdout);
    assert.match(run.stderr, new RegExp(`note: ${file}:doc#3 ConfigMap settings skipped: a ConfigMap runs no image`));
    assert.match(run.stderr, /2 workloads: 1 allowed, 0 allowed with warnings, 1 denied; 1 other object skipped/);
    assert.match(run.stderr, /error: 1 of 2 workloads would be denied by the admission webhook \[E_POLICY_DENIED\]/);
  });

  it('--json: every result with its images, pins and the error', async () => {
    const run = await admissionTest('--json', join(dir, 'app.yaml'));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as JsonResult;
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.error && { code: doc.error.code, exitCode: doc.error.exitCode }, {
      code: 'E_POLICY_DENIED',
      exitCode: 1,
    });
    const [web, nightly] = doc.workloads;
    assert.deepEqual([web?.kind, web?.namespace, web?.name, web?.result], ['Deployment', 'shop', 'web', 'ALLOWED']);
    assert.equal(web?.images[0]?.outcome, 'verified');
    assert.equal(web?.images[0]?.digest, digests['signed/app']);
    assert.deepEqual(web?.pinned, [
      {
        pointer: '/spec/template/spec/containers/0/image',
        where: 'container web',
        image: ref('signed/app'),
        pinned: `${ref('signed/app')}@${digests['signed/app']}`,
      },
    ]);
    assert.deepEqual([nightly?.kind, nightly?.namespace, nightly?.result], ['CronJob', 'default', 'DENIED']);
    assert.equal(nightly?.images[0]?.outcome, 'denied');
    assert.equal(nightly?.images[0]?.check, 'signature');
    assert.equal(nightly?.pinned[0]?.pinned, `${ref('signed/unsigned')}@${digests['signed/unsigned']}`);
    assert.match(nightly?.message ?? '', /^airlock: denied \[signature\]: .*signed\/unsigned:1/);
    assert.deepEqual(doc.skipped, [
      { file: join(dir, 'app.yaml'), doc: 3, kind: 'ConfigMap', name: 'settings', why: 'a ConfigMap runs no image' },
    ]);
  });

  it('exits 0 when every workload is admitted, a warn-mode entry included (a List item, WARN)', async () => {
    const run = await admissionTest(join(dir, 'warned.yaml'));
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${join(dir, 'warned.yaml')}:doc#1 items[0] Pod default/tool: WARN`);
    assert.match(lines[1] ?? '', /warned\/unsigned:1 .*images\[1\] .*: denied \[signature\]/);
    assert.equal(lines[2], `  pin container tool: ${ref('warned/unsigned')}@${digests['warned/unsigned']}`);
  });

  it('exits 3 when a manifest cannot be read or is not YAML, before anything is decided', async () => {
    const missing = await admissionTest(join(dir, 'nope.yaml'));
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /E_INPUT_MISSING/);
    await writeFile(join(dir, 'bad.yaml'), 'kind: Pod\n---\nkind: [unclosed\n');
    const bad = await admissionTest(join(dir, 'app.yaml'), join(dir, 'bad.yaml'));
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /bad\.yaml:doc#2: not YAML.*\[E_INPUT_MALFORMED\]/);
    assert.equal(bad.stdout, '');
  });

  it('registry down: could not evaluate, denied in enforce, exit 3', async () => {
    await registry.stop();
    const run = await admissionTest('--timeout-seconds', '1', join(dir, 'app.yaml'));
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stdout, /Deployment shop\/web: DENIED\n.*could not evaluate/);
    assert.match(run.stderr, /2 of 2 workloads could not be evaluated.*\[E_UNAVAILABLE\]/);
  });
});
