import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// The Kubernetes OpenAPI schema, one validator per kind, as packaged by kubernetes-models 5.1.0
// (generated from the Kubernetes API's OpenAPI document; `validate()` throws on any violation).
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
import { isAirlockError } from '../errors.ts';
import {
  admissionManifests,
  type K8sObject,
  MANIFEST_DEFAULTS,
  type ManifestOptions,
  manifestsYaml,
  OPT_IN_LABEL,
} from './manifests.ts';

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

function validate(obj: K8sObject): void {
  const Schema = SCHEMAS[obj.kind];
  assert.ok(Schema, `no schema for ${obj.kind}`);
  new Schema(structuredClone(obj) as never).validate();
}

const TLS = {
  caCert: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  cert: '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n',
  key: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
};

function options(over: Partial<ManifestOptions> = {}): ManifestOptions {
  return {
    ...MANIFEST_DEFAULTS,
    image: 'registry.corp/airlock@sha256:' + 'a'.repeat(64),
    policyText: 'apiVersion: airlock/v1\nkind: ImagePolicy\nimages: []\n',
    trustedRoots: [
      { name: 'trusted_root.json', text: '{"mediaType":"x"}\n' },
      { name: 'corp-root.json', text: '{}\n' },
    ],
    tls: TLS,
    ...over,
  };
}

function find(objects: readonly K8sObject[], kind: string): K8sObject & Record<string, never> {
  const obj = objects.find((o) => o.kind === kind);
  assert.ok(obj, `no ${kind}`);
  return obj as K8sObject & Record<string, never>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests walk the plain objects freely
type Loose = any;

describe('admission manifests', () => {
  it('makes the objects in apply order, each valid against the Kubernetes schema', () => {
    const objects = admissionManifests(options());
    assert.deepEqual(
      objects.map((o) => o.kind),
      [
        'Namespace',
        'ServiceAccount',
        'ConfigMap',
        'Secret',
        'Deployment',
        'PodDisruptionBudget',
        'Service',
        'ValidatingWebhookConfiguration',
        'MutatingWebhookConfiguration',
      ],
    );
    for (const obj of objects) validate(obj);
  });

  it('without TLS material leaves out the Secret and caBundle, and is still valid', () => {
    const objects = admissionManifests(options({ tls: undefined }));
    assert.ok(!objects.some((o) => o.kind === 'Secret'));
    for (const obj of objects) validate(obj);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      assert.equal((find(objects, kind) as Loose).webhooks[0].clientConfig.caBundle, undefined);
    }
  });

  it('the schema check can fail: broken objects are refused', () => {
    const objects = admissionManifests(options());
    const deployment = structuredClone(find(objects, 'Deployment')) as Loose;
    deployment.spec.replicas = 'two';
    assert.throws(() => validate(deployment));
    const noSelector = structuredClone(find(objects, 'Deployment')) as Loose;
    delete noSelector.spec.selector;
    assert.throws(() => validate(noSelector));
    const hook = structuredClone(find(objects, 'ValidatingWebhookConfiguration')) as Loose;
    delete hook.webhooks[0].sideEffects;
    assert.throws(() => validate(hook));
    const service = structuredClone(find(objects, 'Service')) as Loose;
    service.spec.ports[0].port = '443x';
    assert.throws(() => validate(service));
  });

  it('both webhooks: fail closed, no side effects, v1 reviews, opt-in namespaces, never their own', () => {
    const objects = admissionManifests(options({ timeoutSeconds: 12 }));
    const paths: Record<string, string> = {
      ValidatingWebhookConfiguration: '/validate',
      MutatingWebhookConfiguration: '/mutate',
    };
    for (const [kind, path] of Object.entries(paths)) {
      const config = find(objects, kind) as Loose;
      assert.equal(config.webhooks.length, 1);
      const hook = config.webhooks[0];
      assert.equal(hook.failurePolicy, 'Fail');
      assert.equal(hook.sideEffects, 'None');
      assert.equal(hook.timeoutSeconds, 12);
      assert.equal(hook.matchPolicy, 'Equivalent');
      assert.deepEqual(hook.admissionReviewVersions, ['v1']);
      assert.deepEqual(hook.clientConfig.service, {
        namespace: 'airlock-system',
        name: 'airlock-admission',
        path,
        port: 443,
      });
      assert.equal(hook.clientConfig.caBundle, Buffer.from(TLS.caCert).toString('base64'));
      assert.deepEqual(hook.namespaceSelector, {
        matchLabels: { [OPT_IN_LABEL]: 'true' },
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['airlock-system'] }],
      });
      assert.equal(hook.reinvocationPolicy, kind === 'MutatingWebhookConfiguration' ? 'IfNeeded' : undefined);
      const covered = hook.rules.flatMap((r: Loose) => {
        assert.deepEqual(r.operations, ['CREATE', 'UPDATE']);
        return r.resources.map((res: string) => `${r.apiGroups[0] || 'core'}/${r.apiVersions[0]}/${res}`);
      });
      assert.deepEqual(covered.sort(), [
        'apps/v1/daemonsets',
        'apps/v1/deployments',
        'apps/v1/replicasets',
        'apps/v1/statefulsets',
        'batch/v1/cronjobs',
        'batch/v1/jobs',
        'core/v1/pods',
        'core/v1/pods/ephemeralcontainers',
        'core/v1/podtemplates',
        'core/v1/replicationcontrollers',
      ]);
    }
  });

  it('the Deployment runs admission serve hardened, with every mount, probe and a deadline under the webhook', () => {
    const objects = admissionManifests(options({ timeoutSeconds: 10, namespace: 'sec' }));
    const d = find(objects, 'Deployment') as Loose;
    assert.equal(d.spec.replicas, 2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(c.args, [
      'admission',
      'serve',
      '--policy',
      '/etc/airlock/policy/policy.yaml',
      '--listen',
      '0.0.0.0:8443',
      '--tls-cert',
      '/etc/airlock/tls/tls.crt',
      '--tls-key',
      '/etc/airlock/tls/tls.key',
      '--trusted-root',
      '/etc/airlock/policy/trusted_root.json',
      '--trusted-root',
      '/etc/airlock/policy/corp-root.json',
      '--timeout-seconds',
      '9',
    ]);
    assert.deepEqual(c.env, [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'AIRLOCK_HOME', value: '/var/lib/airlock' },
    ]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(c.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    const sc = c.securityContext;
    assert.equal(sc.runAsNonRoot, true);
    assert.equal(sc.runAsUser, 65532);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
    assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: Loose) => [m.name, m.mountPath]));
    assert.deepEqual(mounts, {
      policy: '/etc/airlock/policy',
      tls: '/etc/airlock/tls',
      tmp: '/tmp',
      state: '/var/lib/airlock',
    });
    const volumes = Object.fromEntries(pod.volumes.map((v: Loose) => [v.name, v]));
    assert.equal(volumes.policy.configMap.name, 'airlock-admission-policy');
    assert.equal(volumes.tls.secret.secretName, 'airlock-admission-tls');
    assert.ok(volumes.tmp.emptyDir);
    assert.ok(volumes.state.emptyDir, 'a writable $AIRLOCK_HOME under a read-only root filesystem');
    assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(
      pod.topologySpreadConstraints[0].labelSelector.matchLabels,
      d.spec.selector.matchLabels,
      'the spread counts this Deployment’s own pods',
    );
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
      assert.equal(d.spec.template.metadata.labels[k], v);
    const pdb = find(objects, 'PodDisruptionBudget') as Loose;
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector, d.spec.selector);
    const svc = find(objects, 'Service') as Loose;
    assert.deepEqual(svc.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);
    for (const obj of objects)
      if (obj.kind !== 'Namespace' && !obj.kind.endsWith('Configuration'))
        assert.equal(obj.metadata.namespace, 'sec', obj.kind);
  });

  it('the ConfigMap holds the policy as given and each trusted root by name; the Secret is kubernetes.io/tls', () => {
    const objects = admissionManifests(options());
    assert.deepEqual((find(objects, 'ConfigMap') as Loose).data, {
      'policy.yaml': 'apiVersion: airlock/v1\nkind: ImagePolicy\nimages: []\n',
      'trusted_root.json': '{"mediaType":"x"}\n',
      'corp-root.json': '{}\n',
    });
    const secret = find(objects, 'Secret') as Loose;
    assert.equal(secret.metadata.name, 'airlock-admission-tls');
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(Buffer.from(secret.data['tls.crt'], 'base64').toString(), TLS.cert);
    assert.equal(Buffer.from(secret.data['tls.key'], 'base64').toString(), TLS.key);
  });

  it('round-trips through YAML: the stream parses back into the same objects', () => {
    const objects = admissionManifests(options());
    const text = manifestsYaml(objects);
    const docs = parseAllDocuments(text);
    assert.ok(Array.isArray(docs));
    for (const doc of docs) assert.deepEqual(doc.errors, []);
    assert.deepEqual(
      docs.map((d) => d.toJS()),
      objects,
    );
    const caBundle = Buffer.from(TLS.caCert).toString('base64');
    assert.ok(text.includes(`caBundle: ${caBundle}\n`), 'base64 stays on one line');
  });

  it('refuses options a cluster would not accept', () => {
    const refused = (over: Partial<ManifestOptions>) =>
      assert.throws(
        () => admissionManifests(options(over)),
        (e) => isAirlockError(e, 'E_USAGE'),
      );
    refused({ namespace: 'Airlock_System' });
    refused({ timeoutSeconds: 1 });
    refused({ timeoutSeconds: 31 });
    refused({ replicas: 0 });
    refused({ image: 'has space' });
    refused({ trustedRoots: [{ name: 'policy.yaml', text: '' }] });
    refused({
      trustedRoots: [
        { name: 'a.json', text: '' },
        { name: 'a.json', text: '' },
      ],
    });
    refused({ trustedRoots: [{ name: 'bad name.json', text: '' }] });
    assert.throws(
      () => admissionManifests(options({ policyText: 'x'.repeat(1_100_000) })),
      (e) => isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
  });
});
