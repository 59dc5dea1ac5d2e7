// The admission webhook end to end, with this test playing the API server's part: AdmissionReview v1
// requests over real HTTPS, the server's certificate checked against the webhook CA under the
// Service's DNS name, and every response held to the API server's rules (uid echoed, allowed present,
// a patch only from /mutate, only as JSONPatch, applying to the object and yielding digests). Images
// live in a real docker-registry, signed by airlock with a key; one unsigned, one signed by another key,
// one without its required SBOM attestation, one whose scan attestation has a critical finding.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { generateWebhookTls, type WebhookTls } from '../../src/admission/webhook-tls.ts';
import { imageFields } from '../../src/admission/pod-images.ts';
import { generatePrivateKey } from '../../src/crypto/generate-key.ts';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { publicKeyPem } from '../../src/crypto/keys.ts';
import { openImage } from '../../src/oci/open-store.ts';
import { attestImage, signImage } from '../../src/oci/sign-image.ts';
import { AIRLOCK_BIN, runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { SERVING_LINE, servingPort, startProcess, type StartedProcess } from '../helpers/process.ts';
import { checked, deployment, NAMESPACE, post, reviewOf, SERVICE } from '../helpers/admission.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const unavailable = registryAvailable();

describe('admission serve, with the test as the API server', { skip: unavailable }, () => {
  const dir = useTempDir('airlock-admission-');
  let registry: TestRegistry;
  let server: StartedProcess;
  let port: number;
  let tls: WebhookTls;
  const images: Record<string, string> = {};
  const policyPath = join(dir, 'policy.yaml');
  const policy = (mode: string) => `apiVersion: airlock/v1
kind: ImagePolicy
mode: ${mode}
images:
  - glob: "${registry.host}/signed/**"
    authorities: [{ key: keys/release.pub }]
  - glob: "${registry.host}/sbom/**"
    authorities: [{ key: keys/release.pub }]
    attestations: [spdxjson]
  - glob: "${registry.host}/scanned/**"
    authorities: [{ key: keys/release.pub }]
    attestations: [{ predicateType: vuln, maxSeverity: high }]
`;

  before(async () => {
    registry = await startRegistry();
    const release = generatePrivateKey('ecdsa-p256');
    const other = generatePrivateKey('ecdsa-p256');
    const releaseSigner = createKeyObjectSigner(release, 'ecdsa-sha2-256-nistp256', 'release');
    const otherSigner = createKeyObjectSigner(other, 'ecdsa-sha2-256-nistp256', 'other');
    const now = new Date();
    const push = async (repo: string, sign?: typeof releaseSigner, attest?: { type: string; predicate: unknown }) => {
      const ref = `${registry.host}/${repo}:1`;
      const { store } = await openImage(`docker://${ref}`, 'write', { insecure: true });
      const image = await makeTestImage(store, { tag: '1', layerSize: 512 });
      if (sign) await signImage(store, image.manifest, { signer: sign, now });
      if (attest && sign)
        await attestImage(store, image.manifest, {
          signer: sign,
          now,
          predicateType: attest.type,
          predicate: attest.predicate,
        });
      await store.close();
      images[repo] = ref;
      return image.manifest.digest;
    };
    await push('signed/app', releaseSigner);
    await push('signed/unsigned');
    await push('signed/other-key', otherSigner);
    await push('sbom/no-sbom', releaseSigner);
    const grype = (severity: string) => ({
      scanner: {
        uri: 'https://github.com/anchore/grype',
        result: { matches: [{ vulnerability: { id: 'CVE-2026-0001', severity } }] },
      },
    });
    await push('scanned/critical', releaseSigner, {
      type: 'https://cosign.sigstore.dev/attestation/vuln/v1',
      predicate: grype('Critical'),
    });
    await push('scanned/high', releaseSigner, {
      type: 'https://cosign.sigstore.dev/attestation/vuln/v1',
      predicate: grype('High'),
    });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys', 'release.pub'), publicKeyPem(createPublicKey(release)));
    await writeFile(policyPath, policy('enforce'));
    tls = await generateWebhookTls({
      openssl: 'openssl',
      dir: join(dir, 'tls'),
      service: SERVICE,
      namespace: NAMESPACE,
      overwrite: false,
    });
    server = await startProcess({
      command: process.execPath,
      args: [
        AIRLOCK_BIN,
        'admission',
        'serve',
        '--policy',
        policyPath,
        '--tls-cert',
        tls.paths.cert,
        '--tls-key',
        tls.paths.key,
        '--listen',
        '127.0.0.1:0',
        '--insecure',
        '--insecure-ignore-tlog',
        '--reload-seconds',
        '1',
        '--timeout-seconds',
        '4',
      ],
      env: { ...process.env, AIRLOCK_HOME: join(dir, 'home') },
      readyWhen: { output: SERVING_LINE },
      timeoutMs: 30_000,
    });
    port = servingPort(server);
  });
  after(async () => {
    await server?.stop();
    await registry?.stop();
  });

  const validate = async (object: unknown, namespace?: string) => {
    const r = reviewOf('Deployment', object, namespace);
    return checked(await post(port, tls, '/validate', r.body), r.uid, '/validate');
  };

  it('admits a signed image, and /mutate pins it with a patch that applies and yields its digest', async () => {
    const ok = await validate(deployment(images['signed/app'] ?? ''));
    assert.equal(ok.allowed, true, JSON.stringify(ok));
    const object = deployment(images['signed/app'] ?? '');
    const r = reviewOf('Deployment', object);
    const mutated = checked(await post(port, tls, '/mutate', r.body), r.uid, '/mutate');
    assert.equal(mutated.allowed, true);
    const ops = JSON.parse(Buffer.from(mutated.patch ?? '', 'base64').toString());
    const after = jsonpatch.applyPatch(structuredClone(object), ops, true).newDocument;
    const [field] = imageFields('Deployment', after);
    assert.match(field?.image ?? '', new RegExp(`^${images['signed/app']}@sha256:[0-9a-f]{64}$`));
    const again = reviewOf('Deployment', after);
    assert.equal(checked(await post(port, tls, '/mutate', again.body), again.uid, '/mutate').patch, undefined);
  });

  it('every pod-spec carrier over HTTPS: signed admitted, unsigned denied, /mutate pins each one', async () => {
    const wrap: Record<string, (spec: unknown) => unknown> = {
      Pod: (spec) => ({ spec }),
      Deployment: (spec) => ({ spec: { template: { spec } } }),
      ReplicaSet: (spec) => ({ spec: { template: { spec } } }),
      StatefulSet: (spec) => ({ spec: { template: { spec } } }),
      DaemonSet: (spec) => ({ spec: { template: { spec } } }),
      Job: (spec) => ({ spec: { template: { spec } } }),
      ReplicationController: (spec) => ({ spec: { template: { spec } } }),
      PodTemplate: (spec) => ({ template: { spec } }),
      CronJob: (spec) => ({ spec: { jobTemplate: { spec: { template: { spec } } } } }),
    };
    const spec = (image: string) => ({
      initContainers: [{ name: 'init', image }],
      containers: [{ name: 'app', image }],
      volumes: [{ name: 'data', image: { reference: image } }],
    });
    for (const [kind, make] of Object.entries(wrap)) {
      const signed = make(spec(images['signed/app'] ?? ''));
      const ok = reviewOf(kind, signed);
      assert.equal(checked(await post(port, tls, '/validate', ok.body), ok.uid, '/validate').allowed, true, kind);
      const bad = reviewOf(kind, make(spec(images['signed/unsigned'] ?? '')));
      assert.equal(checked(await post(port, tls, '/validate', bad.body), bad.uid, '/validate').allowed, false, kind);
      const m = reviewOf(kind, signed);
      const patch = checked(await post(port, tls, '/mutate', m.body), m.uid, '/mutate').patch ?? '';
      const pinned = jsonpatch.applyPatch(
        structuredClone(signed),
        JSON.parse(Buffer.from(patch, 'base64').toString()),
        true,
      ).newDocument;
      const fields = imageFields(kind, pinned);
      assert.equal(fields.length, 3, kind);
      for (const f of fields) assert.match(f.image, /@sha256:[0-9a-f]{64}$/, `${kind} ${f.where}`);
    }
    // An ephemeral container arrives on the pods/ephemeralcontainers subresource as an UPDATE.
    const old = { spec: { containers: [{ name: 'app', image: images['signed/app'] }] } };
    const debug = { spec: { ...old.spec, ephemeralContainers: [{ name: 'dbg', image: images['signed/unsigned'] }] } };
    const e = reviewOf('Pod', debug);
    const body = JSON.parse(e.body);
    Object.assign(body.request, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: old });
    const res = checked(await post(port, tls, '/validate', JSON.stringify(body)), e.uid, '/validate');
    assert.equal(res.allowed, false);
    assert.match(res.status?.message ?? '', /ephemeralContainer|signed\/unsigned/);
  });

  it('denies unsigned, wrong key, missing attestation, critical finding: image, entry, check named', async () => {
    const cases: [string, RegExp][] = [
      ['signed/unsigned', /images\[0\] .*\[signature\]/],
      ['signed/other-key', /images\[0\] .*\[signature\]/],
      ['sbom/no-sbom', /images\[1\] .*\[attestation spdx\]: no attestation https:\/\/spdx\.dev\/Document/],
      ['scanned/critical', /images\[2\] .*\[vuln maxSeverity high\].*CVE-2026-0001 \(critical\)/],
    ];
    for (const [repo, reason] of cases) {
      const res = await validate(deployment(images[repo] ?? ''));
      assert.equal(res.allowed, false, repo);
      assert.equal(res.status?.code, 403);
      const [first, ...rest] = (res.status?.message ?? '').split('\n');
      assert.ok((first ?? '').length <= 120, first);
      assert.match(first ?? '', new RegExp(`${repo.replace('/', '\\/')}:1 \\(sha256:`));
      assert.match(rest.join('\n'), reason, repo);
      assert.equal(res.auditAnnotations?.decision, 'denied');
    }
    const high = await validate(deployment(images['scanned/high'] ?? ''));
    assert.equal(high.allowed, true, JSON.stringify(high));
  });

  it('answers a non-review with 400 and a body over the limit with 413, and keeps serving', async () => {
    assert.equal((await post(port, tls, '/validate', '{not json')).status, 400);
    assert.equal((await post(port, tls, '/validate', JSON.stringify({ kind: 'AdmissionReview' }))).status, 400);
    const huge = `{"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`;
    assert.equal((await post(port, tls, '/validate', huge)).status, 413);
    assert.equal((await validate(deployment(images['signed/app'] ?? ''))).allowed, true);
  });

  it('records each decision in an audit trail that verifies, and counts them in /metrics', async () => {
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
    assert.match(
      metrics,
      /airlock_admission_decisions_total\{path="validate",result="denied",mode="enforce",reason="denied"\} [1-9]/,
    );
    assert.match(metrics, /airlock_admission_review_seconds_bucket\{path="validate",le="0.1"\} [1-9]/);
    assert.match(metrics, /airlock_admission_cache_total\{result="hit"\} [1-9]/);
    const audit = await runCliProcess(['audit', 'verify', '--json'], { env: { AIRLOCK_HOME: join(dir, 'home') } });
    assert.equal(audit.code, 0, audit.stderr);
    const shown = await runCliProcess(['audit', 'show', '--json'], { env: { AIRLOCK_HOME: join(dir, 'home') } });
    const events = (JSON.parse(shown.stdout) as { events: { action: string; result: string }[] }).events;
    const admission = events.filter((e) => e.action.startsWith('admission.'));
    assert.ok(admission.some((e) => e.action === 'admission.validate' && e.result === 'refused'));
    assert.ok(admission.some((e) => e.action === 'admission.mutate' && e.result === 'ok'));
  });

  it('registry down: denied in enforce; once the policy says warn, admitted with a warning', async () => {
    const fresh = `${registry.host}/signed/never-seen:1`;
    await registry.stop();
    const denied = await validate(deployment(fresh));
    assert.equal(denied.allowed, false);
    // A stopped registry refuses at once, or the client's retries run into the deadline: either cannot be evaluated.
    assert.match(denied.status?.message ?? '', /^airlock: could not evaluate \[(registry|deadline)\]: /);
    await writeFile(policyPath, policy('warn'));
    const deadline = Date.now() + 15_000;
    let res = await validate(deployment(fresh));
    while (!res.allowed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      res = await validate(deployment(fresh));
    }
    assert.equal(res.allowed, true, server.output().slice(-2000));
    assert.match(res.warnings?.[0] ?? '', /^airlock \(warn\): .*could not evaluate/);
  });
});
