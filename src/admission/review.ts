// AdmissionReview v1 (admission.k8s.io/v1), as the API server sends it and the rules it applies to the
// answer: `response.uid` equals `request.uid`; `allowed` always present; a `patch` only with
// `patchType: JSONPatch`, base64 of an RFC 6902 patch; `warnings` are short strings it shows kubectl
// users; `auditAnnotations` land in the API server's audit log. Outside strings are bounded here, so
// nothing larger than the limits below reaches a message, a record or a response.
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  /** The resource, e.g. `pods`, and subresource, e.g. `ephemeralcontainers` or `status` ('' for none). */
  readonly resource: string;
  readonly subResource: string;
  readonly operation: Operation;
  readonly namespace: string;
  readonly name: string;
  readonly object: unknown;
  readonly oldObject: unknown;
  readonly dryRun: boolean;
  readonly user: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string; readonly reason?: string };
  readonly warnings?: readonly string[];
  readonly patch?: string;
  readonly patchType?: 'JSONPatch';
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

/** The API server shows a warning only up to this; longer ones it truncates. */
export const MAX_WARNING = 120;
/** A uid is a UUID; anything far longer is not one. */
const MAX_UID = 128;

function malformed(message: string): AirlockError {
  return new AirlockError('E_ADMISSION_REVIEW', `not an AdmissionReview v1: ${message}`);
}

function text(value: unknown, what: string, max = 253, optional = true): string {
  if (value === undefined || value === null) {
    if (optional) return '';
    throw malformed(`${what} is missing`);
  }
  if (typeof value !== 'string') throw malformed(`${what} is not a string`);
  if (value.length > max) throw malformed(`${what} is longer than ${max} characters`);
  return value;
}

function gvk(value: unknown, what: string): GroupVersionKind {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null) throw malformed(`${what} is missing`);
  return {
    group: text(v.group, `${what}.group`),
    version: text(v.version, `${what}.version`),
    kind: text(v.kind, `${what}.kind`, 253, false),
  };
}

/** The request of an AdmissionReview v1 document (already parsed JSON). */
export function parseAdmissionReview(doc: unknown): AdmissionRequest {
  const d = doc as { apiVersion?: unknown; kind?: unknown; request?: unknown } | null;
  if (d?.apiVersion !== 'admission.k8s.io/v1' || d.kind !== 'AdmissionReview')
    throw malformed('apiVersion must be admission.k8s.io/v1 and kind AdmissionReview');
  const r = d.request as Record<string, unknown> | null | undefined;
  if (typeof r !== 'object' || r === null) throw malformed('request is missing');
  const operation = text(r.operation, 'request.operation', 16, false);
  if (!OPERATIONS.includes(operation)) throw malformed(`request.operation ${bounded(operation, 16)} is unknown`);
  const resource = r.resource as { resource?: unknown } | undefined;
  const user = (r.userInfo as { username?: unknown } | undefined)?.username;
  return {
    uid: text(r.uid, 'request.uid', MAX_UID, false),
    kind: gvk(r.kind, 'request.kind'),
    resource: text(resource?.resource, 'request.resource.resource'),
    subResource: text(r.subResource, 'request.subResource'),
    operation: operation as Operation,
    namespace: text(r.namespace, 'request.namespace', 63),
    name: text(r.name, 'request.name'),
    object: r.object ?? null,
    oldObject: r.oldObject ?? null,
    dryRun: r.dryRun === true,
    user: bounded(typeof user === 'string' ? user : '', 253),
  };
}

/** The AdmissionReview the API server expects back: the response only, its uid the request's. */
export function reviewDocument(response: AdmissionResponse): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** A JSON Patch as the response carries it. */
export function patchFields(ops: readonly unknown[]): Pick<AdmissionResponse, 'patch' | 'patchType'> {
  return ops.length === 0 ? {} : { patch: Buffer.from(JSON.stringify(ops)).toString('base64'), patchType: 'JSONPatch' };
}
