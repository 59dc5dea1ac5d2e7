// Where images live in the objects an API server sends for admission: the pod spec of each workload
// kind, and in it containers, init containers, ephemeral containers and image volumes. Each image comes
// with the JSON Pointer (RFC 6901) of its field, so /mutate can pin exactly that field and an UPDATE
// can be compared field by field.
import type { AdmissionRequest } from './review.ts';

/** One image reference in an object, and where it is. */
export interface ImageField {
  /** RFC 6901 pointer to the string, e.g. `/spec/template/spec/containers/0/image`. */
  readonly pointer: string;
  readonly image: string;
  /** `container app`, `initContainer setup`, `ephemeralContainer debug`, `volume data`. */
  readonly where: string;
}

/** Path from the object to its pod spec, by kind (apps/v1, batch/v1, core v1). */
const POD_SPEC_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** Whether admission knows where this kind keeps its pod spec. */
export function carriesPodSpec(kind: string): boolean {
  // Own keys only: a kind named `toString` or `constructor` is no workload (it was a 500 here).
  return Object.hasOwn(POD_SPEC_PATH, kind);
}

const CONTAINER_LISTS = [
  ['containers', 'container'],
  ['initContainers', 'initContainer'],
  ['ephemeralContainers', 'ephemeralContainer'],
] as const;

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function at(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function listAt(spec: unknown, key: string): unknown[] {
  const list = at(spec, [key]);
  return Array.isArray(list) ? list : [];
}

/** A name bounded for messages: outside strings are bounded before they reach one. */
function nameOf(item: unknown, index: number): string {
  const name = (item as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.length <= 253 ? name : `#${index}`;
}

/**
 * Every image field of `object` (of `kind`). A field that is present but not a string is reported
 * with an empty image, so the caller denies what it cannot read instead of skipping it.
 */
/** Each kind's pointer to its pod spec, made once: every field's pointer starts with it. */
const POD_SPEC_POINTER: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(POD_SPEC_PATH).map(([kind, path]) => [kind, `/${path.map(escape).join('/')}`]),
);

export function imageFields(kind: string, object: unknown): ImageField[] {
  const path = carriesPodSpec(kind) ? POD_SPEC_PATH[kind] : undefined;
  if (!path) return [];
  const spec = at(object, path);
  const base = POD_SPEC_POINTER[kind] ?? '';
  const fields: ImageField[] = [];
  for (const [key, label] of CONTAINER_LISTS) {
    listAt(spec, key).forEach((c, i) => {
      const image = (c as { image?: unknown } | null)?.image;
      fields.push({
        pointer: `${base}/${key}/${i}/image`,
        image: typeof image === 'string' ? image : '',
        where: `${label} ${nameOf(c, i)}`,
      });
    });
  }
  listAt(spec, 'volumes').forEach((v, i) => {
    const image = at(v, ['image']);
    if (image === undefined) return;
    const reference = at(image, ['reference']);
    fields.push({
      pointer: `${base}/volumes/${i}/image/reference`,
      image: typeof reference === 'string' ? reference : '',
      where: `volume ${nameOf(v, i)}`,
    });
  });
  return fields;
}

/** What a review asks to be checked, or why it needs no check. */
export type Scope =
  { readonly check: true; readonly fields: readonly ImageField[] } | { readonly check: false; readonly why: string };

/**
 * Which images of a review need a verdict. DELETE and CONNECT, status updates and kinds with no pod
 * spec need none; an UPDATE needs one only for image fields it adds or changes, so a scale-down or a
 * label change of a workload that predates the policy is not blocked. An ephemeral container arrives
 * on the pods/ephemeralcontainers subresource and is checked like any other.
 */
export function imagesToCheck(request: AdmissionRequest): Scope {
  if (request.operation === 'DELETE' || request.operation === 'CONNECT')
    return { check: false, why: `${request.operation} changes no image` };
  if (request.subResource !== '' && request.subResource !== 'ephemeralcontainers')
    return { check: false, why: `the ${request.subResource} subresource changes no image` };
  const kind = request.kind.kind;
  if (!carriesPodSpec(kind)) return { check: false, why: `a ${kind} runs no image` };
  const fields = imageFields(kind, request.object);
  if (request.operation === 'CREATE') return { check: true, fields };
  const before = new Map(imageFields(kind, request.oldObject).map((f) => [f.pointer, f.image]));
  const changed = fields.filter((f) => before.get(f.pointer) !== f.image);
  return changed.length === 0 ? { check: false, why: 'the update changes no image' } : { check: true, fields: changed };
}
