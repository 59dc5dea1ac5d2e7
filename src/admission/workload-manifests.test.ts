import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { imagesToCheck } from './pod-images.ts';
import { placeLabel, workloadRequests } from './workload-manifests.ts';

const deployment = (name: string, image: string, namespace?: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
  template:
    spec:
      containers: [{ name: app, image: "${image}" }]
`;

const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly, namespace: batch }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{ name: job, image: registry.corp/job:1 }]
`;

const configMap = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { a: "1" }
`;

function malformed(fn: () => unknown, message: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => isAirlockError(err) && err.code === 'E_INPUT_MALFORMED' && message.test(err.message),
  );
}

describe('workload manifests → admission requests', () => {
  it('makes a CREATE request per workload, skips other kinds with a note, leaves out empty documents', () => {
    const text = [deployment('web', 'registry.corp/web:1'), cronJob, configMap, ''].join('---\n');
    const { workloads, skipped } = workloadRequests(text, 'app.yaml');
    assert.deepEqual(
      workloads.map((w) => [placeLabel(w), w.kind, w.namespace, w.name]),
      [
        ['doc#1', 'Deployment', 'default', 'web'],
        ['doc#2', 'CronJob', 'batch', 'nightly'],
      ],
    );
    assert.deepEqual(skipped, [
      { source: 'app.yaml', doc: 3, kind: 'ConfigMap', name: 'settings', why: 'a ConfigMap runs no image' },
    ]);
    const [web, nightly] = workloads;
    assert.equal(web?.request.operation, 'CREATE');
    assert.deepEqual(web?.request.kind, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.equal(web?.request.resource, 'deployments');
    assert.deepEqual(nightly?.request.kind, { group: 'batch', version: 'v1', kind: 'CronJob' });
    // The decision's own scope finds the images where the webhook would.
    const scope = nightly ? imagesToCheck(nightly.request) : undefined;
    assert.ok(scope?.check);
    assert.deepEqual(
      scope.fields.map((f) => [f.pointer, f.image]),
      [['/spec/jobTemplate/spec/template/spec/containers/0/image', 'registry.corp/job:1']],
    );
  });

  it('takes the namespace from the object, else the default given, else default', () => {
    const text = [deployment('a', 'x:1', 'shop'), deployment('b', 'x:1')].join('---\n');
    assert.deepEqual(
      workloadRequests(text, 'f').workloads.map((w) => w.request.namespace),
      ['shop', 'default'],
    );
    assert.deepEqual(
      workloadRequests(text, 'f', { defaultNamespace: 'team-a' }).workloads.map((w) => w.namespace),
      ['shop', 'team-a'],
    );
  });

  it('reads the items of a List and of a typed list (kind from the list), not a List inside one', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } },
        { apiVersion: 'v1', kind: 'List', items: [] },
      ],
    };
    const typed = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSetList',
      items: [{ metadata: { name: 'd', namespace: 'infra' }, spec: { template: { spec: { containers: [] } } } }],
    };
    const { workloads, skipped } = workloadRequests(`${JSON.stringify(list)}\n---\n${JSON.stringify(typed)}`, 'l');
    assert.deepEqual(
      workloads.map((w) => [placeLabel(w), w.kind, w.namespace, w.name]),
      [
        ['doc#1 items[0]', 'Pod', 'default', 'p'],
        ['doc#2 items[0]', 'DaemonSet', 'infra', 'd'],
      ],
    );
    assert.deepEqual(
      skipped.map((s) => [placeLabel(s), s.why]),
      [
        ['doc#1 items[1]', 'a Service runs no image'],
        ['doc#1 items[2]', 'a List inside a List is not read'],
      ],
    );
  });

  it('refuses what is not YAML or not an object, naming the file and document', () => {
    malformed(() => workloadRequests(`${configMap}---\nkind: [unclosed\n`, 'bad.yaml'), /^bad\.yaml:doc#2: not YAML/);
    malformed(() => workloadRequests('a: 1\na: 2\n', 'dup.yaml'), /^dup\.yaml:doc#1: not YAML/);
    malformed(() => workloadRequests('- just\n- a list\n', 'l.yaml'), /doc#1: not a Kubernetes object/);
    malformed(() => workloadRequests('metadata: { name: x }\n', 'k.yaml'), /doc#1: the object has no kind/);
    malformed(
      () => workloadRequests('kind: Pod\nmetadata: { namespace: [a] }\n', 'n.yaml'),
      /doc#1: metadata\.namespace is not a string/,
    );
  });

  it('bounds documents, objects and aliases', () => {
    const many = Array.from({ length: 6 }, () => configMap).join('---\n');
    malformed(() => workloadRequests(many, 'm.yaml', { maxDocuments: 5 }), /more than 5 documents/);
    assert.equal(workloadRequests(many, 'm.yaml', { maxDocuments: 6 }).skipped.length, 6);
    const items = JSON.stringify({ kind: 'List', items: Array.from({ length: 4 }, () => ({ kind: 'Secret' })) });
    malformed(() => workloadRequests(items, 'i.yaml', { maxObjects: 4 }), /more than 4 objects/);
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 9 }, (_, i) => {
        const prev = i === 0 ? 'a' : `l${i - 1}`;
        return `l${i}: &l${i} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join('\n');
    malformed(() => workloadRequests(`kind: Pod\n${laughs}\n`, 'lol.yaml'), /doc#1: .*alias/i);
  });
});
