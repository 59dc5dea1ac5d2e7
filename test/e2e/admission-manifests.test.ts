// `airlock admission manifests` as an operator runs it: a real process, YAML on stdout (or in a file),
// every object valid against the Kubernetes schema (kubernetes-models 5.1.0's packaging of the
// Kubernetes OpenAPI document), the generated certificate in the Secret and caBundle, the warnings on
// stderr, and the usage errors with their exit codes.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// eslint-disable-next-line max-len -- a module path cannot be broken
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
// eslint-disable-next-line max-len -- a module path cannot be broken
import { ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { findExecutable } from '../../src/tools/external.ts';
import { type CliResult, runCliProcess } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const SCHEMAS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ConfigMap,
  Secret,
  Deployment,
  PodDisruptionBudget,
  Service,
  ValidatingWebhookConfiguration,
  MutatingWebhookConfiguration,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed YAML is walked freely
type Loose = any;

const dir = useTempDir('airlock-e2e-admission-');
const p = (name: string) => join(dir, name);
const POLICY =
  '# the policy, comments and all\napiVersion: airlock/v1\nkind: ImagePolicy\n' +
  'images:\n  - glob: registry.corp/**\n    authorities: [{ key: keys/team.pub }]\n';
const TEAM_KEY = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';

/** The policy and the key file it names, beside it. */
async function writePolicy(): Promise<void> {
  await mkdir(p('keys'), { recursive: true });
  await writeFile(p('keys/team.pub'), TEAM_KEY);
  await writeFile(p('policy.yaml'), POLICY);
}
const DIGEST = 'registry.corp/airlock@sha256:' + 'b'.repeat(64);
const hasOpenssl = (await findExecutable('openssl', process.env.PATH)) !== undefined;

function cli(argv: string[]): Promise<CliResult> {
  return runCliProcess(['admission', 'manifests', ...argv], { env: { AIRLOCK_HOME: p('home') } });
}

function parseStream(text: string): Loose[] {
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  for (const d of docs) assert.deepEqual(d.errors, []);
  const objects = docs.map((d) => d.toJS());
  for (const obj of objects) {
    const Schema = SCHEMAS[obj.kind];
    assert.ok(Schema, `unexpected kind ${obj.kind}`);
    new Schema(obj as never).validate();
  }
  return objects;
}

const byKind = (objects: Loose[], kind: string): Loose => objects.find((o) => o.kind === kind);

describe('airlock admission manifests (process)', () => {
  it(
    '--generate-tls: the certificate made in DIR is in the Secret and in both caBundles',
    { skip: !hasOpenssl },
    async () => {
      await writePolicy();
      await writeFile(
        p('trusted_root.json'),
        '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}\n',
      );
      const r = await cli([
        '--policy',
        p('policy.yaml'),
        '--trusted-root',
        p('trusted_root.json'),
        '--generate-tls',
        p('tls'),
        '--namespace',
        'sec',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: no --image: the Deployment runs 'airlock:latest'/);
      const objects = parseStream(r.stdout);
      assert.equal(objects.length, 9);
      const caPem = await readFile(p('tls/ca.crt'), 'utf8');
      const keyPem = await readFile(p('tls/tls.key'), 'utf8');
      assert.equal((await stat(p('tls/tls.key'))).mode & 0o777, 0o600);
      const secret = byKind(objects, 'Secret');
      assert.equal(Buffer.from(secret.data['tls.key'], 'base64').toString(), keyPem);
      const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
      assert.ok(cert.verify(new X509Certificate(caPem).publicKey));
      assert.equal(cert.checkHost('airlock-admission.sec.svc'), 'airlock-admission.sec.svc');
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        const hook = byKind(objects, kind).webhooks[0];
        assert.equal(Buffer.from(hook.clientConfig.caBundle, 'base64').toString(), caPem);
        assert.equal(hook.clientConfig.service.namespace, 'sec');
      }
      assert.deepEqual(byKind(objects, 'ConfigMap').data['policy.yaml'], POLICY, 'the policy as given');
      // The key the policy names ships beside it, projected at the path the policy names it by.
      assert.equal(byKind(objects, 'ConfigMap').data['file--keys--team.pub'], TEAM_KEY);
      const volume = byKind(objects, 'Deployment').spec.template.spec.volumes.find((v: Loose) => v.name === 'policy');
      assert.ok(
        volume.configMap.items.some((i: Loose) => i.key === 'file--keys--team.pub' && i.path === 'keys/team.pub'),
      );
      const args = byKind(objects, 'Deployment').spec.template.spec.containers[0].args;
      assert.deepEqual(args.slice(-4), [
        '--trusted-root',
        '/etc/airlock/policy/trusted_root.json',
        '--timeout-seconds',
        '9',
      ]);

      const again = await cli(['--policy', p('policy.yaml'), '--generate-tls', p('tls')]);
      assert.equal(again.code, 2, 'existing TLS files are not overwritten');
      assert.match(again.stderr, /tls[/\\]ca\.crt already exists/);
      assert.equal(await readFile(p('tls/tls.key'), 'utf8'), keyPem);
      const forced = await cli(['--policy', p('policy.yaml'), '--generate-tls', p('tls'), '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.notEqual(await readFile(p('tls/tls.key'), 'utf8'), keyPem);
    },
  );

  it('without --generate-tls: no Secret, stderr says to create it; a digest-pinned image: no warning', async () => {
    await writePolicy();
    const r = await cli([
      '--policy',
      p('policy.yaml'),
      '--image',
      DIGEST,
      '--replicas',
      '3',
      '--timeout-seconds',
      '15',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /--image/);
    assert.match(r.stderr, /create the Secret airlock-system\/airlock-admission-tls/);
    const objects = parseStream(r.stdout);
    assert.equal(byKind(objects, 'Secret'), undefined);
    const deployment = byKind(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.template.spec.containers[0].image, DIGEST);
    assert.equal(byKind(objects, 'ValidatingWebhookConfiguration').webhooks[0].timeoutSeconds, 15);
    assert.equal(byKind(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, undefined);
  });

  it('a tag without a digest is warned about; --output writes a file and refuses to replace it', async () => {
    await writePolicy();
    const r = await cli(['--policy', p('policy.yaml'), '--image', 'airlock:1.0', '--output', p('out.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--image airlock:1\.0 has no @sha256: digest/);
    assert.equal(parseStream(await readFile(p('out.yaml'), 'utf8')).length, 8);
    const again = await cli(['--policy', p('policy.yaml'), '--output', p('out.yaml')]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /E_OUTPUT_EXISTS|already exists/);
  });

  it('usage errors exit 2, a missing or malformed input exits 3', async () => {
    await writePolicy();
    await writeFile(p('bad.yaml'), 'a: [unclosed\n');
    const cases: [string[], number, RegExp][] = [
      [[], 2, /needs --policy FILE/],
      [['--policy', p('policy.yaml'), '--timeout-seconds', '31'], 2, /from 2 to 30/],
      [['--policy', p('policy.yaml'), '--timeout-seconds', '1'], 2, /from 2 to 30/],
      [['--policy', p('policy.yaml'), '--replicas', '0'], 2, /replicas/],
      [['--policy', p('policy.yaml'), '--namespace', 'Bad_NS'], 2, /not a DNS label/],
      [['--policy', p('nope.yaml')], 3, /no such file/],
      [['--policy', p('bad.yaml')], 3, /not YAML/],
      [['--policy', p('policy.yaml'), '--trusted-root', p('policy.yaml')], 3, /not JSON/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });
});
