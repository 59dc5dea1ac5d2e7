import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { parseImagePolicy, type PolicyEntry } from '../policy/image-policy.ts';
import { decide, type DecideOptions, MAX_DISTINCT_IMAGES } from './decide.ts';
import { imageFields } from './pod-images.ts';
import { mutateResponse, pinned, validateResponse } from './respond.ts';
import { type AdmissionRequest, parseAdmissionReview } from './review.ts';
import type { ImageVerdict } from './verdict.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

const policy = (extra: Record<string, unknown> = {}, entries: unknown[] = []) =>
  parseImagePolicy(
    {
      apiVersion: 'airlock/v1',
      kind: 'ImagePolicy',
      images: [{ glob: 'registry.corp/**', authorities: [{ key: 'k.pub' }] }, ...entries],
      ...extra,
    },
    'p',
  );

const podSpec = (...images: string[]) => ({ containers: images.map((image, i) => ({ name: `c${i}`, image })) });

/** Every kind that carries a pod spec, with the spec where the API puts it. */
const CARRIERS: Record<string, (spec: unknown) => unknown> = {
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

function review(kind: string, object: unknown, over: Record<string, unknown> = {}): AdmissionRequest {
  return parseAdmissionReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind },
      resource: { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      operation: 'CREATE',
      namespace: 'team-a',
      name: 'x',
      object,
      userInfo: { username: 'alice' },
      ...over,
    },
  });
}

/** A verifier that verifies signed images, denies others, and counts what it was asked. */
function fakeVerifier(signed: ReadonlySet<string>) {
  const asked: string[] = [];
  const verify = async (image: string, _entry: PolicyEntry): Promise<ImageVerdict> => {
    asked.push(image);
    if (image.includes('unreachable')) return { outcome: 'unevaluable', reason: 'registry did not answer' };
    return signed.has(image)
      ? { outcome: 'verified', digest: DIGEST }
      : { outcome: 'denied', digest: DIGEST, check: 'signature', reason: 'no signature verified' };
  };
  return { asked, verify };
}

const options = (verify: DecideOptions['verify'], p = policy()): DecideOptions => ({
  policy: p,
  verify,
  ownNamespace: 'airlock-system',
  deadline: new AbortController().signal,
});

describe('admission decision', () => {
  it('finds images in every pod-spec carrier, in containers, init and ephemeral containers and image volumes', () => {
    const spec = {
      containers: [{ name: 'app', image: 'registry.corp/app:1' }],
      initContainers: [{ name: 'init', image: 'registry.corp/init:1' }],
      ephemeralContainers: [{ name: 'debug', image: 'registry.corp/debug:1' }],
      volumes: [
        { name: 'data', image: { reference: 'registry.corp/data:1' } },
        { name: 'empty', emptyDir: {} },
      ],
    };
    for (const [kind, wrap] of Object.entries(CARRIERS)) {
      const fields = imageFields(kind, wrap(spec));
      assert.deepEqual(
        fields.map((f) => [f.where, f.image]),
        [
          ['container app', 'registry.corp/app:1'],
          ['initContainer init', 'registry.corp/init:1'],
          ['ephemeralContainer debug', 'registry.corp/debug:1'],
          ['volume data', 'registry.corp/data:1'],
        ],
        kind,
      );
      for (const f of fields) assert.equal(jsonpatch.getValueByPointer(wrap(spec), f.pointer), f.image, f.pointer);
    }
  });

  it('allows signed images and denies the rest, for each carrier kind', async () => {
    const { verify } = fakeVerifier(new Set(['registry.corp/app:1']));
    for (const [kind, wrap] of Object.entries(CARRIERS)) {
      const ok = await decide(review(kind, wrap(podSpec('registry.corp/app:1'))), options(verify));
      assert.equal(ok.allowed, true, kind);
      const bad = await decide(
        review(kind, wrap(podSpec('registry.corp/app:1', 'registry.corp/evil:1'))),
        options(verify),
      );
      assert.equal(bad.allowed, false, kind);
    }
  });

  it('admits DELETE, CONNECT, status updates, and updates that change no image, without verifying', async () => {
    const { asked, verify } = fakeVerifier(new Set());
    const pod = CARRIERS.Pod?.(podSpec('registry.corp/evil:1'));
    const scaled = { spec: { replicas: 1, template: { spec: podSpec('registry.corp/evil:1') } } };
    const before = { spec: { replicas: 5, template: { spec: podSpec('registry.corp/evil:1') } } };
    for (const r of [
      review('Pod', pod, { operation: 'DELETE' }),
      review('Pod', pod, { operation: 'CONNECT' }),
      review('Pod', pod, { operation: 'UPDATE', subResource: 'status', oldObject: pod }),
      review('Deployment', scaled, { operation: 'UPDATE', oldObject: before }),
      review('ConfigMap', { data: {} }),
      // Named like what every object inherits: no workload either (these were a 500).
      review('toString', pod),
      review('constructor', pod),
    ]) {
      const d = await decide(r, options(verify));
      assert.equal(d.allowed, true);
      assert.ok(d.skipped);
    }
    assert.deepEqual(asked, []);
  });

  it('checks an update only for the images it adds or changes, ephemeral containers on their subresource', async () => {
    const { asked, verify } = fakeVerifier(new Set(['registry.corp/app:2']));
    const old = CARRIERS.Pod?.(podSpec('registry.corp/legacy:1'));
    const changed = CARRIERS.Pod?.(podSpec('registry.corp/legacy:1', 'registry.corp/app:2'));
    const d = await decide(review('Pod', changed, { operation: 'UPDATE', oldObject: old }), options(verify));
    assert.equal(d.allowed, true);
    assert.deepEqual(asked, ['registry.corp/app:2']);
    const debug = {
      spec: {
        ...podSpec('registry.corp/legacy:1'),
        ephemeralContainers: [{ name: 'dbg', image: 'registry.corp/dbg:1' }],
      },
    };
    const e = await decide(
      review('Pod', debug, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: old }),
      options(verify),
    );
    assert.equal(e.allowed, false);
    assert.match(e.images[0]?.field.where ?? '', /ephemeralContainer dbg/);
  });

  it('verifies identical images once per review, and all of them at the same time', async () => {
    let inFlight = 0;
    let most = 0;
    const asked: string[] = [];
    const verify = async (image: string): Promise<ImageVerdict> => {
      asked.push(image);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { outcome: 'verified', digest: DIGEST };
    };
    const spec = podSpec('registry.corp/a:1', 'registry.corp/b:1', 'registry.corp/a:1', 'registry.corp/c:1');
    const d = await decide(review('Pod', { spec }), options(verify));
    assert.equal(d.allowed, true);
    assert.deepEqual(asked.sort(), ['registry.corp/a:1', 'registry.corp/b:1', 'registry.corp/c:1']);
    assert.equal(most, 3);
  });

  it('a verdict known without I/O is used as it is, even past the deadline; the verifier is not asked', async () => {
    const { asked, verify } = fakeVerifier(new Set());
    const known = (image: string): ImageVerdict | undefined =>
      image.endsWith(DIGEST) ? { outcome: 'verified', digest: DIGEST } : undefined;
    const deadline = AbortSignal.abort();
    const d = await decide(review('Pod', { spec: podSpec(`registry.corp/app@${DIGEST}`) }), {
      ...options(verify),
      known,
      deadline,
    });
    assert.equal(d.allowed, true);
    assert.deepEqual(asked, []);
  });

  it('what has no verdict at the deadline is could-not-evaluate, and denies in enforce', async () => {
    const never = () => new Promise<ImageVerdict>(() => undefined);
    const deadline = AbortSignal.timeout(50);
    const d = await decide(review('Pod', { spec: podSpec('registry.corp/slow:1') }), { ...options(never), deadline });
    assert.equal(d.allowed, false);
    assert.equal(d.images[0]?.outcome, 'unevaluable');
    assert.match(
      validateResponse('u', d).status?.message ?? '',
      /^airlock: could not evaluate \[deadline\]: registry\.corp\/slow:1/,
    );
  });

  it('warn mode admits failures and could-not-evaluate with warnings; an enforce entry still denies', async () => {
    const { verify } = fakeVerifier(new Set());
    const warn = policy({ mode: 'warn' });
    for (const image of ['registry.corp/evil:1', 'registry.corp/unreachable:1', 'elsewhere.io/x:1']) {
      const d = await decide(review('Pod', { spec: podSpec(image) }), options(verify, warn));
      assert.equal(d.allowed, true, image);
      const res = validateResponse('u', d);
      assert.equal(res.allowed, true);
      assert.match(res.warnings?.[0] ?? '', /^airlock \(warn\): /);
      assert.ok((res.warnings?.[0] ?? '').length <= 120);
    }
    const mixed = policy({ mode: 'warn' }, [
      { glob: 'registry.corp/prod/**', mode: 'enforce', authorities: [{ key: 'k' }] },
    ]);
    const d = await decide(review('Pod', { spec: podSpec('registry.corp/prod/x:1') }), options(verify, mixed));
    assert.equal(d.allowed, false);
  });

  it('no entry matching is a denial; kube-system and the webhook’s own namespace are exempt unless named', async () => {
    const { asked, verify } = fakeVerifier(new Set());
    const d = await decide(review('Pod', { spec: podSpec('docker.io/library/nginx:1') }), options(verify));
    assert.equal(d.allowed, false);
    assert.equal(d.images[0]?.outcome, 'no-match');
    for (const namespace of ['kube-system', 'airlock-system']) {
      const exempt = await decide(
        review('Pod', { spec: podSpec('registry.corp/evil:1') }, { namespace }),
        options(verify),
      );
      assert.equal(exempt.allowed, true, namespace);
    }
    assert.deepEqual(asked, []);
    const named = policy({ namespaces: { names: ['kube-system'] } });
    const d2 = await decide(
      review('Pod', { spec: podSpec('registry.corp/evil:1') }, { namespace: 'kube-system' }),
      options(verify, named),
    );
    assert.equal(d2.allowed, false);
  });

  it('an object with more distinct images than a review verifies is could-not-evaluate, none verified', async () => {
    const { asked, verify } = fakeVerifier(new Set());
    const many = Array.from({ length: MAX_DISTINCT_IMAGES + 1 }, (_, i) => `registry.corp/app${i}:1`);
    const d = await decide(review('Pod', { spec: podSpec(...many) }), options(verify));
    assert.equal(d.allowed, false);
    assert.equal(d.images[0]?.outcome, 'unevaluable');
    assert.match(d.images[0]?.reason ?? '', /257 distinct images/);
    assert.deepEqual(asked, []);
    const warn = await decide(review('Pod', { spec: podSpec(...many) }), options(verify, policy({ mode: 'warn' })));
    assert.equal(warn.allowed, true);
  });

  it('an unreadable image field is denied, not skipped', async () => {
    const { verify } = fakeVerifier(new Set());
    const d = await decide(review('Pod', { spec: { containers: [{ name: 'x', image: 42 }] } }), options(verify));
    assert.equal(d.allowed, false);
  });

  it('the denial names the image, digest, entry and check on a first line of at most 120 characters', async () => {
    const { verify } = fakeVerifier(new Set());
    const long = `registry.corp/${'very-long-name/'.repeat(10)}app:1`;
    const d = await decide(review('Pod', { spec: podSpec(long, 'registry.corp/evil:1') }), options(verify));
    const res = validateResponse('the-uid', d);
    assert.equal(res.uid, 'the-uid');
    assert.equal(res.patch, undefined);
    const [first, ...rest] = (res.status?.message ?? '').split('\n');
    assert.ok((first ?? '').length <= 120, first);
    assert.match(first ?? '', /^airlock: denied \[signature\]: registry\.corp\//);
    assert.equal(rest.length, 2);
    assert.match(
      rest[1] ?? '',
      /registry\.corp\/evil:1 \(sha256:aaaaaaaaaaaa…\) images\[0\] registry\.corp\/\*\*: denied \[signature\]/,
    );
    assert.equal(res.auditAnnotations?.decision, 'denied');
    assert.equal(JSON.parse(res.auditAnnotations?.images ?? '[]').length, 2);
  });

  it('/mutate pins what it may with a JSON Patch that applies and yields digests, and is idempotent', async () => {
    const { verify } = fakeVerifier(new Set(['registry.corp/app:1', `registry.corp/app:1@${DIGEST}`]));
    const pinning = policy();
    const object = CARRIERS.Deployment?.({
      containers: [{ name: 'a', image: 'registry.corp/app:1' }],
      initContainers: [{ name: 'b', image: 'registry.corp/app:1' }],
    });
    const res = mutateResponse('u', await decide(review('Deployment', object), options(verify, pinning)));
    assert.equal(res.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(res.patch ?? '', 'base64').toString());
    const after = jsonpatch.applyPatch(structuredClone(object), ops, true).newDocument;
    assert.deepEqual(
      imageFields('Deployment', after).map((f) => f.image),
      [`registry.corp/app:1@${DIGEST}`, `registry.corp/app:1@${DIGEST}`],
    );
    const again = mutateResponse('u', await decide(review('Deployment', after), options(verify, pinning)));
    assert.equal(again.patch, undefined);
    const entryOptOut = parseImagePolicy(
      {
        apiVersion: 'airlock/v1',
        kind: 'ImagePolicy',
        images: [{ glob: 'registry.corp/**', pinDigest: false, authorities: [{ key: 'k' }] }],
      },
      'p',
    );
    assert.equal(
      mutateResponse('u', await decide(review('Deployment', object), options(verify, entryOptOut))).patch,
      undefined,
    );
  });

  it('pins a reference as written: tag kept, digest appended or replaced', () => {
    assert.equal(pinned('r.io/a:1', DIGEST), `r.io/a:1@${DIGEST}`);
    assert.equal(pinned('r.io/a', DIGEST), `r.io/a@${DIGEST}`);
    assert.equal(pinned(`r.io/a:1@sha256:${'b'.repeat(64)}`, DIGEST), `r.io/a:1@${DIGEST}`);
  });
});

describe('AdmissionReview parsing', () => {
  it('refuses what is not an AdmissionReview v1 request', () => {
    const good = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE' },
    };
    assert.equal(parseAdmissionReview(good).uid, 'u');
    for (const bad of [
      null,
      { ...good, apiVersion: 'admission.k8s.io/v1beta1' },
      { ...good, request: undefined },
      { ...good, request: { ...good.request, uid: 7 } },
      { ...good, request: { ...good.request, uid: 'x'.repeat(500) } },
      { ...good, request: { ...good.request, operation: 'PATCH' } },
      { ...good, request: { ...good.request, kind: 'Pod' } },
    ]) {
      assert.throws(
        () => parseAdmissionReview(bad),
        { code: 'E_ADMISSION_REVIEW' },
        JSON.stringify(bad)?.slice(0, 100),
      );
    }
  });
});
