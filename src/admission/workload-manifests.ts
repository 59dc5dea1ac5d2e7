// Workload manifests (what `kubectl apply -f` takes: a multi-document YAML stream, `List` kinds included)
// → the CREATE AdmissionRequests the API server would send the webhook for them, so `airlock admission
// test` can run the webhook's own decision before anything is deployed. No I/O. The stream is bounded:
// documents, objects and aliases (a "billion laughs" stream cannot blow up in memory); the file size is
// the caller's to bound. Kinds that carry no pod spec are noted as skipped, never silently dropped.
import { parseAllDocuments } from 'yaml';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { carriesPodSpec } from './pod-images.ts';
import type { AdmissionRequest } from './review.ts';

/** A manifest file larger than this is not one a team writes by hand or a chart renders. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** Documents in one stream. */
export const MAX_DOCUMENTS = 1000;
/** Objects in one stream, `List` items included. */
export const MAX_OBJECTS = 5000;
/** Aliases expanded per document. */
export const MAX_ALIASES = 100;

/** Where an object is: `doc#3`, or `doc#3 items[1]` for an item of a List. */
export interface ObjectPlace {
  readonly source: string;
  readonly doc: number;
  readonly item?: number;
}

export interface WorkloadRequest extends ObjectPlace {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly request: AdmissionRequest;
}

export interface SkippedObject extends ObjectPlace {
  readonly kind: string;
  readonly name: string;
  readonly why: string;
}

export interface ManifestStream {
  readonly workloads: readonly WorkloadRequest[];
  readonly skipped: readonly SkippedObject[];
}

export interface StreamOptions {
  /** The namespace of objects that name none (`kubectl apply -n`); `default` when not given. */
  readonly defaultNamespace?: string;
  readonly maxDocuments?: number;
  readonly maxObjects?: number;
}

/** The resource the API server names for each workload kind, as the webhook rules list it. */
const RESOURCES: Readonly<Record<string, string>> = {
  Pod: 'pods',
  Deployment: 'deployments',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  ReplicationController: 'replicationcontrollers',
  PodTemplate: 'podtemplates',
};

/** `doc#3` or `doc#3 items[1]`. */
export function placeLabel(place: ObjectPlace): string {
  return `doc#${place.doc}${place.item === undefined ? '' : ` items[${place.item}]`}`;
}

function malformed(place: ObjectPlace, message: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(place.source)}:${placeLabel(place)}: ${message}`, {
    hint: 'the manifests must be Kubernetes objects in YAML or JSON, as kubectl apply -f reads them',
  });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A metadata string: absent is '', anything else not a short string is malformed. */
function metaText(place: ObjectPlace, metadata: Json, key: string, max: number): string {
  const value = metadata[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > max)
    throw malformed(place, `metadata.${key} is not a string of at most ${max} characters`);
  return value;
}

function groupVersion(apiVersion: unknown): { group: string; version: string } {
  const text = typeof apiVersion === 'string' ? bounded(apiVersion, 253) : '';
  const slash = text.lastIndexOf('/');
  return slash === -1 ? { group: '', version: text } : { group: text.slice(0, slash), version: text.slice(slash + 1) };
}

/** The request the API server sends for a CREATE of this object, as `airlock admission test` made it. */
function createRequest(place: ObjectPlace, object: Json, kind: string, namespace: string, name: string) {
  const request: AdmissionRequest = {
    uid: `airlock-admission-test ${bounded(place.source, 64)} ${placeLabel(place)}`,
    kind: { ...groupVersion(object.apiVersion), kind },
    resource: RESOURCES[kind] ?? '',
    subResource: '',
    operation: 'CREATE',
    namespace,
    name,
    object,
    oldObject: null,
    dryRun: true,
    user: 'airlock admission test',
  };
  return request;
}

interface Collector {
  readonly options: StreamOptions;
  readonly workloads: WorkloadRequest[];
  readonly skipped: SkippedObject[];
  objects: number;
}

function count(into: Collector, place: ObjectPlace): void {
  into.objects += 1;
  const max = into.options.maxObjects ?? MAX_OBJECTS;
  if (into.objects > max) throw malformed(place, `more than ${max} objects in one file`);
}

/** One object: a workload becomes a request, a List its items, anything else a note. */
function addObject(into: Collector, place: ObjectPlace, value: unknown, inheritedKind?: string): void {
  count(into, place);
  if (!isObject(value)) throw malformed(place, 'not a Kubernetes object (a mapping with kind and metadata)');
  const kind = typeof value.kind === 'string' && value.kind ? bounded(value.kind, 253) : inheritedKind;
  if (!kind) throw malformed(place, 'the object has no kind');
  const metadata = isObject(value.metadata) ? value.metadata : {};
  const name = metaText(place, metadata, 'name', 253) || metaText(place, metadata, 'generateName', 253);
  if (place.item === undefined && kind.endsWith('List') && Array.isArray(value.items)) {
    addList(into, place, value.items, kind === 'List' ? undefined : kind.slice(0, -'List'.length));
    return;
  }
  if (!carriesPodSpec(kind)) {
    const why = kind.endsWith('List') ? 'a List inside a List is not read' : `a ${kind} runs no image`;
    into.skipped.push({ ...place, kind, name, why });
    return;
  }
  const namespace = metaText(place, metadata, 'namespace', 63) || into.options.defaultNamespace || 'default';
  into.workloads.push({ ...place, kind, namespace, name, request: createRequest(place, value, kind, namespace, name) });
}

function addList(into: Collector, place: ObjectPlace, items: readonly unknown[], itemKind: string | undefined) {
  items.forEach((item, i) => addObject(into, { ...place, item: i }, item, itemKind));
}

/** Every document of a YAML (or JSON) stream, as plain values; empty documents are left out. */
function documents(text: string, source: string, maxDocuments: number): { doc: number; value: unknown }[] {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > maxDocuments)
    throw malformed({ source, doc: maxDocuments + 1 }, `more than ${maxDocuments} documents in one file`);
  return list.flatMap((d, i) => {
    const place = { source, doc: i + 1 };
    const [error] = d.errors;
    if (error) throw malformed(place, `not YAML: ${bounded(error.message, 200)}`);
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      throw malformed(place, bounded((err as Error).message, 200));
    }
    return value === null || value === undefined ? [] : [{ doc: i + 1, value }];
  });
}

/** The workloads of a manifest stream, each with the CREATE request the webhook would be sent for it. */
export function workloadRequests(text: string, source: string, options: StreamOptions = {}): ManifestStream {
  const into: Collector = { options, workloads: [], skipped: [], objects: 0 };
  for (const { doc, value } of documents(text, source, options.maxDocuments ?? MAX_DOCUMENTS))
    addObject(into, { source, doc }, value);
  return { workloads: into.workloads, skipped: into.skipped };
}
