// The Kubernetes objects that run airlock's admission webhook in a cluster (`airlock admission
// manifests`): options in, plain objects out, and their serialization as one multi-document YAML
// stream. Pure: no files, no clock, no randomness; the CLI reads the policy and trust roots and makes
// the TLS material (webhook-tls.ts).
//
// The shape follows what policy-controller ships (design/notes/admission-anchors.md §1.1): a
// validating and a mutating webhook (reinvocationPolicy IfNeeded) on the workload kinds, CREATE and
// UPDATE only, failurePolicy Fail, sideEffects None, admissionReviewVersions [v1], and a namespace
// opt-in label. Unlike policy-controller, ReplicationControllers and PodTemplates are covered too (a
// pod template in either runs images as surely as a Deployment's), and the webhook's own namespace is
// excluded by name so the webhook can never block its own pods.
import { stringify } from 'yaml';
import { AirlockError } from '../errors.ts';

/** The namespace label a namespace carries to have its workloads checked. */
export const OPT_IN_LABEL = 'admission.airlock.dev/include';
export const POLICY_CONFIG_MAP = 'airlock-admission-policy';
export const TLS_SECRET = 'airlock-admission-tls';
/** airlock's state folder in the container ($AIRLOCK_HOME): the audit trail of its decisions. */
export const STATE_DIR = '/var/lib/airlock';
/** Where the policy ConfigMap and the TLS Secret are mounted in the container. */
export const POLICY_DIR = '/etc/airlock/policy';
export const TLS_DIR = '/etc/airlock/tls';
export const POLICY_KEY = 'policy.yaml';
export const CONTAINER_PORT = 8443;
/** The non-root user distroless images name `nonroot`. */
export const RUN_AS_USER = 65532;

export const MANIFEST_DEFAULTS = {
  namespace: 'airlock-system',
  name: 'airlock-admission',
  image: 'airlock:latest',
  timeoutSeconds: 10,
  replicas: 2,
} as const;

/** A file that goes into the policy ConfigMap under its own key. */
export interface NamedText {
  /** The ConfigMap key and file name under POLICY_DIR (a base name). */
  readonly name: string;
  readonly text: string;
}

/** The webhook's serving certificate, its key and the CA the API server trusts it by (all PEM). */
export interface WebhookTlsMaterial {
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
}

export interface ManifestOptions {
  readonly namespace: string;
  /** The Service, Deployment, ServiceAccount and webhook configurations' name. */
  readonly name: string;
  readonly image: string;
  /** The policy file's text, as given. */
  readonly policyText: string;
  readonly trustedRoots: readonly NamedText[];
  /**
   * Files the policy names (keys, log keys, witness policies), by the path it names them with,
   * relative to the policy: shipped in the ConfigMap and projected at that path beside the policy.
   */
  readonly policyFiles?: readonly NamedText[];
  /** The API server's deadline for one webhook call (1–30 s in Kubernetes; ≥ 2 here). */
  readonly timeoutSeconds: number;
  readonly replicas: number;
  /** Absent: the Secret is left out (the user makes it) and caBundle stays empty. */
  readonly tls?: WebhookTlsMaterial;
}

/** A Kubernetes object as plain data, ready to serialize. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** A ConfigMap holds at most 1 MiB; keep room for the object around the data. */
const CONFIG_MAP_MAX_BYTES = 1_000_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

function usage(message: string, hint?: string): AirlockError {
  return new AirlockError('E_USAGE', message, hint ? { hint } : {});
}

/** Throws E_USAGE (or E_INPUT_MALFORMED for oversize files) for options no cluster would accept. */
export function checkManifestOptions(o: ManifestOptions): void {
  for (const [what, value] of [
    ['namespace', o.namespace],
    ['name', o.name],
  ] as const) {
    if (value.length > 63 || !DNS_LABEL.test(value))
      throw usage(`${what} '${value}' is not a DNS label (lower-case letters, digits and '-', at most 63)`);
  }
  if (!o.image || /\s/.test(o.image)) throw usage(`image '${o.image}' is not an image reference`);
  if (!Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 2 || o.timeoutSeconds > 30)
    throw usage(
      `timeout-seconds must be a whole number from 2 to 30, got ${o.timeoutSeconds}`,
      'Kubernetes allows 1–30 s, and the server inside must stop a second before the API server gives up',
    );
  if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > 100)
    throw usage(`replicas must be a whole number from 1 to 100, got ${o.replicas}`);
  const keys = new Set<string>([POLICY_KEY]);
  for (const root of o.trustedRoots) {
    if (!CONFIG_MAP_KEY.test(root.name) || root.name === '.' || root.name === '..' || root.name.length > 253)
      throw usage(`trusted root file name '${root.name}' cannot be a ConfigMap key (letters, digits, '-', '_', '.')`);
    if (keys.has(root.name))
      throw usage(`two files would be the ConfigMap key '${root.name}'`, 'give each trusted root a distinct file name');
    keys.add(root.name);
  }
  for (const file of o.policyFiles ?? []) {
    if (!safeRelativePath(file.name))
      throw usage(
        `the policy names '${file.name}', which cannot be shipped beside it`,
        'name keys and log keys by paths inside the policy folder (no /.., no absolute paths)',
      );
    if (keys.has(configMapKeyOf(file.name)))
      throw usage(`two files would be the ConfigMap key '${configMapKeyOf(file.name)}'`);
    keys.add(configMapKeyOf(file.name));
  }
  const texts = [o.policyText, ...o.trustedRoots.map((r) => r.text), ...(o.policyFiles ?? []).map((f) => f.text)];
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
  if (bytes > CONFIG_MAP_MAX_BYTES)
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `the policy and trusted roots are ${bytes} bytes; a ConfigMap holds at most ${CONFIG_MAP_MAX_BYTES}`,
    );
}

/** A path inside the policy folder: relative, no `..`, each segment a valid ConfigMap key. */
function safeRelativePath(path: string): boolean {
  const segments = path.split('/');
  return (
    !path.startsWith('/') &&
    path.length <= 200 &&
    segments.every((seg) => seg !== '' && seg !== '.' && seg !== '..' && CONFIG_MAP_KEY.test(seg))
  );
}

/** A ConfigMap key cannot hold '/': a nested path is flattened, and projected back by the volume. */
export function configMapKeyOf(path: string): string {
  return path.includes('/') ? `file--${path.replaceAll('/', '--')}` : path;
}

/** The policy volume: every key at its file name, nested policy files at their paths. */
function policyVolume(o: ManifestOptions) {
  const items = [
    { key: POLICY_KEY, path: POLICY_KEY },
    ...o.trustedRoots.map((r) => ({ key: r.name, path: r.name })),
    ...(o.policyFiles ?? []).map((f) => ({ key: configMapKeyOf(f.name), path: f.name })),
  ];
  return { name: 'policy', configMap: { name: POLICY_CONFIG_MAP, defaultMode: 0o444, items } };
}

function labels(o: ManifestOptions): Record<string, string> {
  return {
    'app.kubernetes.io/name': o.name,
    'app.kubernetes.io/component': 'admission-webhook',
    'app.kubernetes.io/part-of': 'airlock',
    'app.kubernetes.io/managed-by': 'airlock-admission-manifests',
  };
}

function selectorLabels(o: ManifestOptions): Record<string, string> {
  return { 'app.kubernetes.io/name': o.name, 'app.kubernetes.io/component': 'admission-webhook' };
}

function meta(o: ManifestOptions, name: string, namespaced = true): K8sObject['metadata'] {
  return { name, ...(namespaced ? { namespace: o.namespace } : {}), labels: labels(o) };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** The server's arguments: everything mounted, and a deadline one second inside the webhook's. */
export function serverArgs(o: ManifestOptions): string[] {
  return [
    'admission',
    'serve',
    '--policy',
    `${POLICY_DIR}/${POLICY_KEY}`,
    '--listen',
    `0.0.0.0:${CONTAINER_PORT}`,
    '--tls-cert',
    `${TLS_DIR}/tls.crt`,
    '--tls-key',
    `${TLS_DIR}/tls.key`,
    ...o.trustedRoots.flatMap((r) => ['--trusted-root', `${POLICY_DIR}/${r.name}`]),
    '--timeout-seconds',
    String(o.timeoutSeconds - 1),
  ];
}

function container(o: ManifestOptions): Record<string, unknown> {
  const probe = (path: string, periodSeconds: number) => ({
    httpGet: { path, port: 'https', scheme: 'HTTPS' },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  return {
    name: 'webhook',
    image: o.image,
    imagePullPolicy: 'IfNotPresent',
    args: serverArgs(o),
    env: [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      // The root filesystem is read-only: airlock's state (the audit trail of every decision) lives here.
      { name: 'AIRLOCK_HOME', value: STATE_DIR },
    ],
    ports: [{ name: 'https', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
    livenessProbe: { ...probe('/healthz', 10), initialDelaySeconds: 5 },
    readinessProbe: probe('/readyz', 5),
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS_USER,
      runAsGroup: RUN_AS_USER,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'policy', mountPath: POLICY_DIR, readOnly: true },
      { name: 'tls', mountPath: TLS_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'state', mountPath: STATE_DIR },
    ],
  };
}

function podSpec(o: ManifestOptions): Record<string, unknown> {
  return {
    serviceAccountName: o.name,
    // The server answers AdmissionReviews from what they carry; it never calls the Kubernetes API.
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS_USER,
      runAsGroup: RUN_AS_USER,
      fsGroup: RUN_AS_USER,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container(o)],
    volumes: [
      policyVolume(o),
      { name: 'tls', secret: { secretName: TLS_SECRET, defaultMode: 0o440 } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      // One audit trail per pod, kept as long as the pod; ship it out with `airlock audit export`.
      { name: 'state', emptyDir: { sizeLimit: '1Gi' } },
    ],
    // One replica per node where there are nodes enough; a one-node cluster still runs them all.
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selectorLabels(o) },
      },
    ],
  };
}

function deployment(o: ManifestOptions): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(o, o.name),
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: selectorLabels(o) },
      // A rollout never takes a serving replica away before its successor is ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: { metadata: { labels: labels(o) }, spec: podSpec(o) },
    },
  };
}

/** The kinds whose pod templates run images, by API group: policy-controller's list plus core v1's. */
export const WEBHOOK_RULES = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers', 'podtemplates'],
  },
  { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'] },
  { apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'] },
] as const;

function webhook(o: ManifestOptions, name: string, path: string): Record<string, unknown> {
  return {
    name,
    clientConfig: {
      service: { namespace: o.namespace, name: o.name, path, port: 443 },
      ...(o.tls ? { caBundle: base64(o.tls.caCert) } : {}),
    },
    rules: WEBHOOK_RULES.map((r) => ({
      ...r,
      apiGroups: [...r.apiGroups],
      apiVersions: [...r.apiVersions],
      resources: [...r.resources],
      operations: ['CREATE', 'UPDATE'],
      scope: 'Namespaced',
    })),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: o.timeoutSeconds,
    admissionReviewVersions: ['v1'],
    namespaceSelector: {
      matchLabels: { [OPT_IN_LABEL]: 'true' },
      // Even if someone labels it: the webhook must never stand between the cluster and its own pods.
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [o.namespace] }],
    },
  };
}

function webhookConfigurations(o: ManifestOptions): K8sObject[] {
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: meta(o, o.name, false),
      webhooks: [webhook(o, 'validate.admission.airlock.dev', '/validate')],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: meta(o, o.name, false),
      webhooks: [{ ...webhook(o, 'mutate.admission.airlock.dev', '/mutate'), reinvocationPolicy: 'IfNeeded' }],
    },
  ];
}

function configObjects(o: ManifestOptions): K8sObject[] {
  const data: Record<string, string> = { [POLICY_KEY]: o.policyText };
  for (const root of o.trustedRoots) data[root.name] = root.text;
  for (const file of o.policyFiles ?? []) data[configMapKeyOf(file.name)] = file.text;
  const objects: K8sObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: labels(o) } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(o, o.name), automountServiceAccountToken: false },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(o, POLICY_CONFIG_MAP), data },
  ];
  if (o.tls)
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(o, TLS_SECRET),
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': base64(o.tls.cert), 'tls.key': base64(o.tls.key) },
    });
  return objects;
}

/**
 * Every object, in the order `kubectl apply -f` should create them: the namespace and what the pods
 * mount before the Deployment, the Service before the webhook configurations that call it.
 */
export function admissionManifests(o: ManifestOptions): K8sObject[] {
  checkManifestOptions(o);
  return [
    ...configObjects(o),
    deployment(o),
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(o, o.name),
      spec: { minAvailable: 1, selector: { matchLabels: selectorLabels(o) } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(o, o.name),
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(o),
        ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
      },
    },
    ...webhookConfigurations(o),
  ];
}

/** The objects as one YAML stream, `---` between documents; long strings (base64, PEM) never folded. */
export function manifestsYaml(objects: readonly K8sObject[]): string {
  const docs = objects.map((obj) => stringify(obj, { lineWidth: 0, aliasDuplicateObjects: false }));
  return `# airlock admission manifests: apply with kubectl apply -f\n${docs.map((d) => `---\n${d}`).join('')}`;
}
