// The API server's side of the admission webhook, for end-to-end tests: AdmissionReview v1 requests
// over real HTTPS (the serving certificate checked against the webhook CA under the Service's DNS
// name), the rules it holds every answer to, `airlock admission serve` started as a real process, and
// images signed keyless in a real registry (an identity certificate from a private CA, the signing
// time from a real RFC 3161 TSA), stored as cosign v3 stores them.
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { request } from 'node:https';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import type { WebhookTls } from '../../src/admission/webhook-tls.ts';
import { openImage } from '../../src/oci/open-store.ts';
import type { Descriptor, ImageStore } from '../../src/oci/types.ts';
import { COSIGN_SIGN_PREDICATE, writeBundleReferrer } from '../../src/oci/sign-image.ts';
import { IN_TOTO_PAYLOAD_TYPE, makeStatement } from '../../src/sigstore/in-toto.ts';
import { requestTimestamp } from '../../src/sigstore/tsa.ts';
import { AIRLOCK_BIN } from './cli.ts';
import { makeTestImage } from './oci-images.ts';
import type { Leaf } from './private-ca.ts';
import { SERVING_LINE, servingPort, startProcess, type StartedProcess } from './process.ts';

export const SERVICE = 'airlock-admission';
export const NAMESPACE = 'airlock-system';

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A POST as the API server makes it: TLS verified against the webhook CA for the Service's name. */
export function post(port: number, tls: WebhookTls, path: string, body: string, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca: tls.caCert,
        servername: `${SERVICE}.${NAMESPACE}.svc`,
        agent: false,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

let uidCounter = 0;
/** An AdmissionReview v1 request for one object, with a fresh uid. */
/** The API group of each kind, as the API server names it in a review. */
const GROUP: Record<string, string> = {
  Pod: '',
  ReplicationController: '',
  PodTemplate: '',
  Job: 'batch',
  CronJob: 'batch',
};

export function reviewOf(kind: string, object: unknown, namespace = 'team-a', name = 'x') {
  const uid = `00000000-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`;
  const group = GROUP[kind] ?? 'apps';
  return {
    uid,
    body: JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group, version: 'v1', kind },
        resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` },
        operation: 'CREATE',
        namespace,
        name,
        object,
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      },
    }),
  };
}

export const deployment = (...images: string[]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  spec: { template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } },
});

export interface ReviewResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  warnings?: string[];
  patch?: string;
  patchType?: string;
  auditAnnotations?: Record<string, string>;
}

/** The API server's rules for a webhook's answer; returns the response. */
export function checked(answer: Answer, uid: string, path: string): ReviewResponse {
  assert.equal(answer.status, 200, answer.body);
  const doc = JSON.parse(answer.body) as { apiVersion: string; kind: string; response: ReviewResponse };
  assert.equal(doc.apiVersion, 'admission.k8s.io/v1');
  assert.equal(doc.kind, 'AdmissionReview');
  assert.equal(doc.response.uid, uid);
  assert.equal(typeof doc.response.allowed, 'boolean');
  if (doc.response.patch !== undefined) {
    assert.equal(path, '/mutate', 'a patch only from the mutating webhook');
    assert.equal(doc.response.patchType, 'JSONPatch');
  } else assert.equal(doc.response.patchType, undefined);
  return doc.response;
}

/** /validate of a Deployment running `images`, held to the API server's rules. */
export async function validate(port: number, tls: WebhookTls, ...images: string[]): Promise<ReviewResponse> {
  const r = reviewOf('Deployment', deployment(...images));
  return checked(await post(port, tls, '/validate', r.body), r.uid, '/validate');
}

export interface ServeOptions {
  readonly policyPath: string;
  readonly tls: WebhookTls;
  /** $AIRLOCK_HOME: the audit trail and installed trust roots. */
  readonly home: string;
  /** Flags after the common ones (trust root, thresholds). */
  readonly args?: readonly string[];
  readonly port?: number;
}

/** `airlock admission serve` as a child process, ready once it logs that it is serving. */
export async function startServe(options: ServeOptions): Promise<{ server: StartedProcess; port: number }> {
  const server = await startProcess({
    command: process.execPath,
    args: [
      AIRLOCK_BIN,
      'admission',
      'serve',
      '--policy',
      options.policyPath,
      '--tls-cert',
      options.tls.paths.cert,
      '--tls-key',
      options.tls.paths.key,
      '--listen',
      `127.0.0.1:${options.port ?? 0}`,
      '--insecure',
      '--reload-seconds',
      '1',
      '--timeout-seconds',
      '4',
      ...(options.args ?? []),
    ],
    env: { ...process.env, AIRLOCK_HOME: options.home },
    readyWhen: { output: SERVING_LINE },
    timeoutMs: 30_000,
  });
  return { server, port: servingPort(server) };
}

/** Polls `check` until it returns true or `ms` pass; returns whether it did. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Pushes a fresh image to `ref` (`host/repo:tag`, plain HTTP) and, with `leaf`, signs it keyless as
 * cosign v3 does: a Sigstore bundle with a DSSE envelope over an in-toto Statement whose subject is the
 * manifest digest, the leaf certificate as verification material and an RFC 3161 timestamp over the
 * signature from the TSA at `tsaUrl`, attached as an OCI referrer. Returns the manifest digest.
 */
export async function pushKeylessImage(ref: string, signing?: { leaf: Leaf; tsaUrl: string }): Promise<string> {
  const { store } = await openImage(`docker://${ref}`, 'write', { insecure: true });
  try {
    const tag = ref.slice(ref.lastIndexOf(':') + 1);
    const { manifest } = await makeTestImage(store, { tag, layerSize: 512 });
    if (signing) await attachKeylessSignature(store, manifest, signing);
    return manifest.digest;
  } finally {
    await store.close();
  }
}

/** Signs `manifest` as cosign v3 does keyless (DSSE, leaf certificate, RFC 3161 timestamp) and attaches the bundle. */
export async function attachKeylessSignature(
  store: ImageStore,
  manifest: Descriptor,
  signing: { leaf: Leaf; tsaUrl: string },
): Promise<void> {
  const hex = manifest.digest.split(':')[1] ?? '';
  const statement = makeStatement([{ digest: { sha256: hex } }], COSIGN_SIGN_PREDICATE, {});
  const payload = Buffer.from(JSON.stringify(statement));
  const signature = sign('sha256', dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), signing.leaf.privateKey);
  const bundle = toDSSEBundle({
    artifact: payload,
    artifactType: IN_TOTO_PAYLOAD_TYPE,
    signature,
    certificate: signing.leaf.certDer,
  });
  const stamp = await requestTimestamp(signature, { url: signing.tsaUrl });
  bundle.verificationMaterial.timestampVerificationData = {
    rfc3161Timestamps: [{ signedTimestamp: Buffer.from(stamp) }],
  };
  await writeBundleReferrer(store, manifest, bundleToJSON(bundle), COSIGN_SIGN_PREDICATE, new Date());
}
