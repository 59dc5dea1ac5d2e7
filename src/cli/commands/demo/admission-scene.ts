// The demo's admission step: airlock's webhook in this process, over HTTPS with a CA made for it,
// asked as the API server asks — an AdmissionReview v1 for a Deployment of the imported image
// (admitted: signed by the release key, its signature in the on-prem log), of an unsigned image
// pushed beside it (denied), and of the same unsigned image under the same policy in warn mode
// (admitted, with a warning). Every decision goes to the air-gapped side's audit trail.
import { request } from 'node:https';
import { join } from 'node:path';
import { materialDigest, type VerificationMaterial } from '../../../admission/material.ts';
import { RegistryVerifier } from '../../../admission/registry-verifier.ts';
import { generateWebhookTls, type WebhookTls } from '../../../admission/webhook-tls.ts';
import { openImage } from '../../../oci/open-store.ts';
import { parseImagePolicy } from '../../../policy/image-policy.ts';
import type { Recorder } from '../../../recorder.ts';
import { AdmissionApi, registerAdmissionMetrics } from '../../../server/admission-server.ts';
import { listenHttps } from '../../../server/https-listener.ts';
import { Metrics } from '../../../server/metrics.ts';
import { findExecutable } from '../../../tools/external.ts';
import { AirlockError } from '../../../errors.ts';
import type { KeyObject } from 'node:crypto';
import type { LoadedTrustedRoot } from '../../../sigstore/trusted-root.ts';
import type { DemoRun } from './run.ts';

const SERVICE = 'airlock-admission';
const NAMESPACE = 'airlock-system';

export interface AdmissionSceneInputs {
  readonly registryHost: string;
  readonly imported: string;
  readonly releaseKey: KeyObject;
  /** Trusts the on-prem log alone, as the verify step does. */
  readonly trustedRoot: LoadedTrustedRoot;
  readonly record: Recorder;
}

interface Answer {
  readonly allowed: boolean;
  readonly message: string;
  readonly warnings: readonly string[];
}

function review(uid: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      operation: 'CREATE',
      namespace: 'shop',
      name: 'myapp',
      object: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      userInfo: { username: 'demo' },
    },
  });
}

/** POST /validate as the API server does: TLS checked against the webhook CA for the Service's name. */
function validate(port: number, tls: WebhookTls, uid: string, image: string): Promise<Answer> {
  const body = review(uid, image);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca: tls.caCert,
        servername: `${SERVICE}.${NAMESPACE}.svc`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          const r = (
            JSON.parse(text) as { response: { allowed: boolean; status?: { message: string }; warnings?: string[] } }
          ).response;
          resolve({ allowed: r.allowed, message: r.status?.message ?? '', warnings: r.warnings ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pushUnsigned(host: string): Promise<string> {
  const { writeSampleImage } = await import('../../../demo/sample-image.ts');
  const ref = `${host}/mirror/unsigned:1.0`;
  const { store } = await openImage(`docker://${ref}`, 'write', { insecure: true });
  await writeSampleImage(store, '1.0', 'an image nobody signed\n');
  await store.close();
  return ref;
}

function policyDoc(host: string, mode: 'enforce' | 'warn') {
  return parseImagePolicy(
    {
      apiVersion: 'airlock/v1',
      kind: 'ImagePolicy',
      mode,
      images: [{ glob: `${host}/mirror/**`, authorities: [{ key: 'release.pub' }] }],
    },
    `the demo policy (${mode})`,
  );
}

function material(inputs: AdmissionSceneInputs): VerificationMaterial {
  const parts = {
    base: { trustedRoot: inputs.trustedRoot, tlogThreshold: 1, timestampThreshold: 0, ctlogThreshold: 0 },
    roots: new Map(),
    keys: new Map([['release.pub', inputs.releaseKey]]),
    logs: new Map(),
  };
  return { ...parts, digest: materialDigest('demo', parts) };
}

/** The webhook for `mode`, serving until `close`. */
async function startWebhook(inputs: AdmissionSceneInputs, tls: WebhookTls, mode: 'enforce' | 'warn') {
  const policy = policyDoc(inputs.registryHost, mode);
  const m = material(inputs);
  const verifier = new RegistryVerifier({
    registry: { insecure: true },
    material: () => m,
    policyIndex: (entry) => policy.entries.indexOf(entry),
    now: () => new Date(),
  });
  const metrics = new Metrics();
  registerAdmissionMetrics(metrics);
  const api = new AdmissionApi({
    state: () => ({ policy, verify: verifier.verify, known: verifier.known, digest: m.digest }),
    ownNamespace: NAMESPACE,
    timeoutMs: 9000,
    record: inputs.record,
    metrics,
    log: () => undefined,
  });
  return listenHttps(api.handler, '127.0.0.1', 0, { certPath: tls.paths.cert, keyPath: tls.paths.key });
}

export async function admissionScene(run: DemoRun, inputs: AdmissionSceneInputs): Promise<void> {
  run.step(
    'admission: the webhook verifies what would run, offline, as the API server asks it (airlock admission serve)',
  );
  const openssl = await findExecutable('openssl', run.ctx.env.PATH);
  if (!openssl) throw new AirlockError('E_UNAVAILABLE', 'the admission step needs openssl for the webhook certificate');
  const tls = await generateWebhookTls({
    openssl,
    dir: join(run.work, 'webhook-tls'),
    service: SERVICE,
    namespace: NAMESPACE,
    overwrite: false,
  });
  const unsigned = await pushUnsigned(inputs.registryHost);
  for (const mode of ['enforce', 'warn'] as const) {
    const webhook = await startWebhook(inputs, tls, mode);
    try {
      await ask(run, mode, webhook.port, tls, inputs.imported, unsigned);
    } finally {
      await webhook.close();
    }
  }
}

async function ask(
  run: DemoRun,
  mode: 'enforce' | 'warn',
  port: number,
  tls: WebhookTls,
  signed: string,
  unsigned: string,
) {
  const { out } = run;
  if (mode === 'enforce') {
    const ok = await validate(port, tls, 'demo-signed', signed);
    out.info(`  ${ok.allowed ? out.paint('green', 'admitted') : 'DENIED'}: ${signed}`);
    run.record('admission: signed image admitted', ok.allowed);
    const no = await validate(port, tls, 'demo-unsigned', unsigned);
    out.info(`  ${no.allowed ? 'ADMITTED' : out.paint('red', 'denied')}: ${no.message.split('\n')[0] ?? ''}`);
    run.record('admission: unsigned image denied', !no.allowed);
    return;
  }
  const warned = await validate(port, tls, 'demo-warn', unsigned);
  const verdict = warned.allowed ? out.paint('yellow', 'admitted with a warning') : 'DENIED';
  out.info(`  warn mode: ${verdict}: ${warned.warnings[0] ?? ''}`);
  run.record('admission: warn mode admits with a warning', warned.allowed && warned.warnings.length > 0);
}
