// A TUF client update (TUF spec §5.3–5.7, "detailed client workflow") over @tufjs/models, with the
// reference time left out on purpose: this module decides only what is always checked — signatures
// and thresholds, versions, rollback, lengths and hashes. Whether the metadata is fresh enough is the
// freshness policy's call (freshness.ts), so the same verified result can be judged "now", "at the
// time of an audit", or under break-glass.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type MetaFile,
  Metadata,
  MetadataKind,
  type Root,
  type Snapshot,
  type TargetFile,
  type Targets,
  type Timestamp,
} from '@tufjs/models';
import { AirlockError, type ErrorCode } from '../errors.ts';
import { MAX_LENGTH, TufFileTooLarge, type TufSource } from './tuf-source.ts';

export const TOP_LEVEL_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

export interface RoleState {
  readonly role: TopLevelRole;
  readonly version: number;
  readonly expires: string;
}

export type Versions = Partial<Record<TopLevelRole, number>>;

export interface VerifiedFile {
  /** Name in the repository, e.g. "trusted_root.json". */
  readonly name: string;
  /** Where it lives under targets/, e.g. "<sha256>.trusted_root.json". */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

export interface VerifiedRepository {
  readonly source: string;
  /** Every root after the pinned one, in order, as fetched (byte-exact). */
  readonly roots: ReadonlyArray<{ readonly version: number; readonly bytes: Uint8Array }>;
  readonly pinnedRootVersion: number;
  readonly timestamp: Uint8Array;
  readonly snapshot: { readonly fileName: string; readonly bytes: Uint8Array };
  readonly targets: { readonly fileName: string; readonly bytes: Uint8Array };
  readonly files: readonly VerifiedFile[];
  readonly roles: readonly RoleState[];
}

const MAX_ROOT_ROTATIONS = 1024;

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new AirlockError(code, message, cause === undefined ? {} : { cause });
}

/**
 * Runs a @tufjs/models check, turning its exceptions into airlock codes that name the file. The
 * package does not export its error classes (and their `name` is "Error"), so the class name decides.
 */
function check(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const kind = (err as object | null)?.constructor?.name;
    const message = `${what}: ${(err as Error).message}`;
    if (kind === 'UnsignedMetadataError') fail('E_TUF_SIGNATURE', message, err);
    if (kind === 'LengthOrHashMismatchError') fail('E_TUF_HASH', message, err);
    fail('E_TUF_MALFORMED', message, err);
  }
}

function parse<T extends Root | Timestamp | Snapshot | Targets>(
  kind: MetadataKind,
  bytes: Uint8Array,
  what: string,
): Metadata<T> {
  try {
    return Metadata.fromJSON(
      kind as MetadataKind.Root,
      JSON.parse(Buffer.from(bytes).toString('utf8')),
    ) as unknown as Metadata<T>;
  } catch (err) {
    return fail('E_TUF_MALFORMED', `${what} is not valid ${kind} metadata: ${(err as Error).message}`, err);
  }
}

/**
 * Reads a file whose length signed metadata records, bounded by that length: a longer one is a
 * length mismatch (E_TUF_HASH, as a shorter one is), not malformed input.
 */
async function readRecorded<T>(read: () => Promise<T>, what: string, length: number): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof TufFileTooLarge && err.limit === length) {
      fail('E_TUF_HASH', `${what} is longer than the ${length} bytes its signed metadata records`, err);
    }
    throw err;
  }
}

async function required(source: TufSource, name: string, max: number): Promise<Uint8Array> {
  const bytes = await source.metadata(name, max);
  if (!bytes) fail('E_INPUT_MISSING', `${source.description}: ${name} is missing`);
  return bytes;
}

function noRollback(role: TopLevelRole, version: number, previous: Versions): void {
  const before = previous[role];
  if (before !== undefined && version < before) {
    fail(
      'E_TUF_ROLLBACK',
      `${role} version ${version} is older than the version ${before} already trusted: refusing a rollback`,
    );
  }
}

/** §5.3: walk N+1.root.json while it exists; each must be signed by a threshold of the old and the new root. */
async function updateRoot(source: TufSource, pinned: Uint8Array) {
  let trusted = parse<Root>(MetadataKind.Root, pinned, 'pinned root');
  check('pinned root', () => trusted.verifyDelegate('root', trusted));
  const pinnedRootVersion = trusted.signed.version;
  const roots: Array<{ version: number; bytes: Uint8Array }> = [];
  for (let i = 0; i < MAX_ROOT_ROTATIONS; i++) {
    const next = trusted.signed.version + 1;
    const bytes = await source.metadata(`${next}.root.json`, MAX_LENGTH.root);
    if (!bytes) break;
    const candidate = parse<Root>(MetadataKind.Root, bytes, `${next}.root.json`);
    check(`${next}.root.json (against root v${trusted.signed.version})`, () =>
      trusted.verifyDelegate('root', candidate),
    );
    if (candidate.signed.version !== next)
      fail('E_TUF_VERSION', `${next}.root.json carries version ${candidate.signed.version}`);
    check(`${next}.root.json (against itself)`, () => candidate.verifyDelegate('root', candidate));
    trusted = candidate;
    roots.push({ version: next, bytes });
  }
  return { root: trusted, roots, pinnedRootVersion };
}

function consistentName(root: Metadata<Root>, role: string, version: number): string {
  return root.signed.consistentSnapshot ? `${version}.${role}.json` : `${role}.json`;
}

async function fetchTarget(source: TufSource, root: Metadata<Root>, info: TargetFile): Promise<VerifiedFile> {
  const slash = info.path.lastIndexOf('/');
  const dir = slash >= 0 ? info.path.slice(0, slash + 1) : '';
  const base = info.path.slice(slash + 1);
  const sha256 = info.hashes.sha256;
  const path = root.signed.consistentSnapshot && sha256 ? `${dir}${sha256}.${base}` : info.path;
  if (info.length > MAX_LENGTH.target)
    fail(
      'E_INPUT_MALFORMED',
      `target ${info.path} is ${info.length} bytes by its metadata, more than the ${MAX_LENGTH.target} airlock reads`,
    );
  const bytes = await readRecorded(() => source.target(path, info.length), `target ${info.path}`, info.length);
  if (!bytes) fail('E_INPUT_MISSING', `${source.description}: target ${path} is missing`);
  try {
    await info.verify(Readable.from([Buffer.from(bytes)]));
  } catch (err) {
    fail('E_TUF_HASH', `target ${info.path}: ${(err as Error).message}`, err);
  }
  return { name: info.path, path, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Fetches the metadata file `meta` names, checks its length/hashes, its signatures and its version. */
async function fetchReferenced<T extends Snapshot | Targets>(
  source: TufSource,
  root: Metadata<Root>,
  role: 'snapshot' | 'targets',
  meta: MetaFile,
  referrer: string,
): Promise<{ fileName: string; bytes: Uint8Array; md: Metadata<T> }> {
  const fileName = consistentName(root, role, meta.version);
  // Read no further than the length the referrer records (when it records one): a longer file is
  // not the one it names.
  const recorded = meta.length !== undefined && meta.length <= MAX_LENGTH.metadata ? meta.length : undefined;
  const bytes =
    recorded === undefined
      ? await required(source, fileName, MAX_LENGTH.metadata)
      : await readRecorded(() => required(source, fileName, recorded), fileName, recorded);
  check(fileName, () => meta.verify(Buffer.from(bytes)));
  const md = parse<T>(role === 'snapshot' ? MetadataKind.Snapshot : MetadataKind.Targets, bytes, fileName);
  check(fileName, () => root.verifyDelegate(role, md));
  if (md.signed.version !== meta.version) {
    fail('E_TUF_VERSION', `${fileName} carries version ${md.signed.version}, ${referrer} names ${meta.version}`);
  }
  return { fileName, bytes, md };
}

export interface VerifyRepositoryOptions {
  /** Which top-level targets to fetch; the names that exist and match are verified and returned. */
  readonly wantTarget: (name: string) => boolean;
  /** Targets that must exist (e.g. trusted_root.json). */
  readonly requiredTargets: readonly string[];
  /** Versions already trusted from this repository (rollback protection across imports). */
  readonly previous?: Versions;
}

export async function verifyRepository(
  source: TufSource,
  pinnedRoot: Uint8Array,
  options: VerifyRepositoryOptions,
): Promise<VerifiedRepository> {
  const previous = options.previous ?? {};
  const { root, roots, pinnedRootVersion } = await updateRoot(source, pinnedRoot);
  noRollback('root', root.signed.version, previous);

  // §5.4 timestamp
  const timestampBytes = await required(source, 'timestamp.json', MAX_LENGTH.timestamp);
  const timestamp = parse<Timestamp>(MetadataKind.Timestamp, timestampBytes, 'timestamp.json');
  check('timestamp.json', () => root.verifyDelegate('timestamp', timestamp));
  noRollback('timestamp', timestamp.signed.version, previous);
  const snapshotMeta = timestamp.signed.snapshotMeta;
  noRollback('snapshot', snapshotMeta.version, previous);

  // §5.5 snapshot: the bytes the timestamp names, signed by the snapshot role
  const snapshot = await fetchReferenced<Snapshot>(source, root, 'snapshot', snapshotMeta, 'the timestamp');
  // §5.6 targets: the version the snapshot names
  const targetsMeta = snapshot.md.signed.meta['targets.json'];
  if (!targetsMeta) fail('E_TUF_MALFORMED', `${snapshot.fileName} lists no targets.json`);
  noRollback('targets', targetsMeta.version, previous);
  const targets = await fetchReferenced<Targets>(source, root, 'targets', targetsMeta, snapshot.fileName);

  // §5.7 the target files themselves
  const files: VerifiedFile[] = [];
  for (const [name, info] of Object.entries(targets.md.signed.targets)) {
    if (options.wantTarget(name)) files.push(await fetchTarget(source, root, info));
  }
  for (const name of options.requiredTargets) {
    if (!files.some((f) => f.name === name))
      fail('E_TUF_MALFORMED', `the repository's targets metadata has no ${name}`);
  }
  const role = (r: TopLevelRole, md: Metadata<Root | Timestamp | Snapshot | Targets>): RoleState => ({
    role: r,
    version: md.signed.version,
    expires: md.signed.expires,
  });
  return {
    source: source.description,
    roots,
    pinnedRootVersion,
    timestamp: timestampBytes,
    snapshot: { fileName: snapshot.fileName, bytes: snapshot.bytes },
    targets: { fileName: targets.fileName, bytes: targets.bytes },
    files,
    roles: [
      role('root', root),
      role('timestamp', timestamp),
      role('snapshot', snapshot.md),
      role('targets', targets.md),
    ],
  };
}
