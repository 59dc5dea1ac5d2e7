// The transfer package format (docs/transfer-format.md): fixed header entries first — metadata, the
// sha256sum-compatible manifest, signatures over the manifest — then the payload. This module owns
// the names, the metadata schema and the manifest's parse/serialize; nothing here does I/O.
import { AirlockError } from '../errors.ts';

export const FORMAT = 'airlock-transfer/v1';
export const METADATA_NAME = 'airlock-transfer.json';
export const MANIFEST_NAME = 'manifest.sha256';
export const PGP_SIGNATURE_NAME = 'manifest.sha256.asc';
export const SIGSTORE_SIGNATURE_NAME = 'manifest.sha256.sigstore.json';
/** Approvals by airlock keys after the first: manifest.sha256.2.sigstore.json, .3., ... */
export const SIGSTORE_APPROVAL = /^manifest\.sha256\.(\d+)\.sigstore\.json$/;

export function sigstoreSignatureName(n: number): string {
  return n <= 1 ? SIGSTORE_SIGNATURE_NAME : `manifest.sha256.${n}.sigstore.json`;
}

export function isHeaderName(name: string): boolean {
  return (
    [METADATA_NAME, MANIFEST_NAME, PGP_SIGNATURE_NAME, SIGSTORE_SIGNATURE_NAME].includes(name) ||
    SIGSTORE_APPROVAL.test(name)
  );
}

/** Header names the reader accepts among the leading entries (approvals up to a sane bound). */
export const HEADER_NAMES: readonly string[] = [
  METADATA_NAME,
  MANIFEST_NAME,
  PGP_SIGNATURE_NAME,
  ...Array.from({ length: 16 }, (_, i) => sigstoreSignatureName(i + 1)),
];

export interface Sequence {
  readonly channel: string;
  readonly number: number;
  /** sha256:<hex> of the previous package's manifest.sha256 on this channel, null for the first. */
  readonly previous: string | null;
}

/**
 * What an SBOM or scan document says it is about, as checked when it was packed: the image digest it
 * names that matched (manifest, index, config or repo digest), or that the format recorded none.
 */
export type DocumentSubject = { readonly matched: string } | { readonly recorded: false };

export interface ImageArtifact {
  readonly kind: 'image';
  /** What was packed, e.g. registry.corp/team/app:1.0. */
  readonly name: string;
  readonly digest: string;
  /** Its tag inside the package's OCI layout (oci/). */
  readonly layoutTag: string;
  /** Where it lands in the internal registry, below --registry HOST[/PREFIX]: REPO[:TAG] (pack --name). */
  readonly destination?: string;
  readonly signedBy: readonly string[];
  /** How its signatures were checked when packed: the trust they verified with, or packed unsigned by choice. */
  readonly coverage?: { readonly verified: string } | { readonly allowedUnsigned: true };
  /** `document`: the SBOM as a file of the package (covered by the manifest). */
  readonly sbom?: {
    readonly format: string;
    readonly packages: number;
    readonly attestation: boolean;
    readonly document?: string;
    readonly subject?: DocumentSubject;
  };
  /**
   * `documents`: the grype reports as files of the package, one per platform of a multi-platform image
   * (with `subjects`, what each named); `counts` are their sum.
   */
  readonly vulnerabilityScan?: {
    readonly result: 'passed' | 'failed';
    readonly counts: Readonly<Record<string, number>>;
    readonly gate: string | null;
    readonly documents?: readonly string[];
    readonly subjects?: readonly DocumentSubject[];
  };
}

export interface FileArtifact {
  readonly kind: 'file';
  readonly path: string;
  readonly sha256: string;
  readonly bundle?: string;
  readonly signedBy: readonly string[];
  /** Set for a vulnerability database (`pack --vulndb`): `import` verifies and installs it. */
  readonly vulndb?: CarriedVulnDb;
}

/** What the metadata says of a carried vulnerability database (its own signed manifest is the authority). */
export interface CarriedVulnDb {
  readonly built: string;
  readonly records: number;
  readonly contentSha256: string;
}

export interface TransferMetadata {
  readonly format: string;
  readonly packageId: string;
  readonly createdAt: string;
  readonly tool: string;
  readonly sequence: Sequence;
  readonly artifacts: ReadonlyArray<ImageArtifact | FileArtifact>;
  readonly approvedBy: readonly string[];
  /** The connected side's audit checkpoint the package carries under audit/ (see audit-carry.ts). */
  readonly audit?: { readonly origin: string; readonly size: number; readonly keyFingerprint: string };
}

/** An RFC 3339 date-time with its offset: no date-only, no local time whose meaning depends on the reader's zone. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function parseMetadata(bytes: Uint8Array): TransferMetadata {
  let doc: TransferMetadata;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME} is not JSON`, { cause: err });
  }
  const seq = doc?.sequence;
  if (doc?.format === FORMAT && !(typeof doc.createdAt === 'string' && RFC3339.test(doc.createdAt))) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${METADATA_NAME}: createdAt must be an RFC 3339 time with its offset (2026-12-07T10:00:00Z)`,
    );
  }
  if (doc?.format !== FORMAT)
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${METADATA_NAME}: unknown format ${JSON.stringify(doc?.format)} (expected ${FORMAT})`,
    );
  if (
    typeof seq?.channel !== 'string' ||
    !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(seq.channel) ||
    !Number.isSafeInteger(seq.number) ||
    seq.number < 1
  ) {
    throw new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME}: malformed sequence`);
  }
  if (seq.previous !== null && !/^sha256:[0-9a-f]{64}$/.test(String(seq.previous))) {
    throw new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME}: sequence.previous must be sha256:<hex> or null`);
  }
  const audit = doc.audit as Partial<NonNullable<TransferMetadata['audit']>> | undefined;
  if (
    audit !== undefined &&
    (typeof audit?.origin !== 'string' || !Number.isSafeInteger(audit.size) || typeof audit.keyFingerprint !== 'string')
  ) {
    throw new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME}: audit must be {"origin", "size", "keyFingerprint"}`);
  }
  if (!Array.isArray(doc.artifacts))
    throw new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME}: artifacts must be a list`);
  const names = new Set<string>();
  for (const [i, a] of doc.artifacts.entries()) {
    const bad = (why: string) => new AirlockError('E_INPUT_MALFORMED', `${METADATA_NAME}: artifacts[${i}] ${why}`);
    if (!Array.isArray(a?.signedBy) || !a.signedBy.every((s: unknown) => typeof s === 'string'))
      throw bad('has no signedBy list');
    if (a?.kind === 'image') {
      if (typeof a.name !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(String(a.digest)))
        throw bad('is not a well-formed image');
      // A tag in the package's layout, and a file name where inspect --documents-out writes: never a path.
      if (typeof a.layoutTag !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(a.layoutTag))
        throw bad('has a layoutTag that is not a tag');
      if (names.has(a.name)) throw bad(`repeats the image ${a.name}`);
      if (a.destination !== undefined && typeof a.destination !== 'string')
        throw bad('has a destination that is not a string');
      const scanDocs: unknown = a.vulnerabilityScan?.documents;
      if (scanDocs !== undefined && (!Array.isArray(scanDocs) || scanDocs.length === 0 || scanDocs.length > 64))
        throw bad('has a scan whose documents are not a list');
      for (const doc of [a.sbom?.document, ...((scanDocs as unknown[] | undefined) ?? [])])
        if (doc !== undefined && (typeof doc !== 'string' || !isSafeRelativePath(doc)))
          throw bad('names a document that is not a safe relative path');
      names.add(a.name);
    } else if (a?.kind === 'file') {
      if (typeof a.path !== 'string' || !/^[0-9a-f]{64}$/.test(String(a.sha256)))
        throw bad('is not a well-formed file');
      const v: Partial<CarriedVulnDb> | undefined = a.vulndb;
      if (
        v !== undefined &&
        (typeof v.built !== 'string' || typeof v.records !== 'number' || typeof v.contentSha256 !== 'string')
      )
        throw bad('has a vulndb entry that is not well-formed');
    } else throw bad(`has unknown kind ${JSON.stringify(a?.kind)}`);
  }
  return doc;
}

function isSafeRelativePath(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= 4096 &&
    !path.startsWith('/') &&
    !path.split('/').some((s) => s === '' || s === '.' || s === '..')
  );
}

/** `sha256sum` output, sorted by path (bytewise), one `<hex>  <path>` line each, LF-terminated. */
export function serializeManifest(entries: ReadonlyMap<string, string>): Buffer {
  const paths = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(paths.map((p) => `${entries.get(p)}  ${p}\n`).join(''));
}

/** Parses manifest.sha256 strictly: sorted, unique, safe relative paths, lowercase hex. */
export function parseManifest(bytes: Uint8Array): Map<string, string> {
  const text = Buffer.from(bytes).toString('utf8');
  if (!text.endsWith('\n')) throw new AirlockError('E_INPUT_MALFORMED', `${MANIFEST_NAME} must end with a newline`);
  const entries = new Map<string, string>();
  let last = '';
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const m = /^([0-9a-f]{64}) [ *]([^\n\\]+)$/.exec(line);
    const path = m?.[2];
    if (!m || !path || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new AirlockError('E_INPUT_MALFORMED', `${MANIFEST_NAME} line ${i + 1} is not "<sha256>  <relative path>"`);
    }
    if (entries.has(path)) throw new AirlockError('E_INPUT_MALFORMED', `${MANIFEST_NAME} lists ${path} twice`);
    if (path <= last) throw new AirlockError('E_INPUT_MALFORMED', `${MANIFEST_NAME} is not sorted at ${path}`);
    if (isHeaderName(path) && path !== METADATA_NAME)
      throw new AirlockError('E_INPUT_MALFORMED', `${MANIFEST_NAME} lists ${path}, which cannot be covered by itself`);
    entries.set(path, m[1] ?? '');
    last = path;
  }
  return entries;
}
