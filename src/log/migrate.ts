// Moving a log (the transparency log, or an audit trail) out of its node:sqlite folder into PostgreSQL.
// The source is read as one snapshot and never written; it is checked in full before anything is
// written, so a damaged log is not carried over. The identity (meta `origin`, `public-key`), the last
// signed checkpoint, entries, every tile and then the state go into the target in ONE write
// transaction: a migration stopped anywhere leaves nothing there.
// Then the target is verified on its own, re-read from the database: the signed checkpoint opens with
// the log's key, the root re-derives from its entries and from its tiles, each entry and each tile is
// the source's, and the last signed checkpoint is consistent with the state.
import { createHash, createPublicKey, type Hash, type KeyObject } from 'node:crypto';
import { keyFingerprint, publicKeyPem } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { pathExists } from '../files/atomic-write.ts';
import { readOptionalText } from '../files/read-file.ts';
import { bounded } from '../text.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { checkpointOpener } from './checkpoint-signer.ts';
import { type CheckpointSigner, entryIdentity, type LastSignedStore } from './engine.ts';
import { fsckLog, type LogProblem } from './fsck.ts';
import { consistencyProof, rootAt, verifyConsistency } from './merkle.ts';
import { MAX_NOTE_BYTES, parseNote } from './note.ts';
import { openSqliteLogSnapshot } from './sqlite-storage.ts';
import type { LogReader, LogState, LogStorage, LogWriteTx, StoredTile } from './storage.ts';
import { nodeReaderFor, Tile, TILE_WIDTH, type TileKey, tilesTouched } from './tiles.ts';

export interface LogIdentity {
  /** The checkpoints' origin line. */
  readonly origin: string;
  /** The key the checkpoints are signed with. */
  readonly publicKey: KeyObject;
}

/** A log to migrate: a snapshot of its storage, who it is, and the last checkpoint it recorded as signed. */
export interface MigrationSource {
  readonly reader: LogReader;
  readonly identity: LogIdentity;
  /** The note kept beside the database (absent only for a log that never grew). */
  readonly lastSigned: string | undefined;
  /** Where it is, for messages. */
  readonly where: string;
  /** Whether the log is still as the snapshot has it: nothing was appended since it was taken. */
  unchanged(): Promise<boolean>;
  close(): Promise<void>;
}

/** A write transaction that also records what the log is and what it signed (PostgresWriteTx). */
export interface MigrationWriteTx extends LogWriteTx {
  claimMeta(name: string, value: string): Promise<string>;
  recordSigned(size: number, note: string): Promise<void>;
}

/** The PostgreSQL storage's API that a migration writes and verifies through. */
export interface MigrationTarget extends Omit<LogStorage, 'write'> {
  readonly target: string;
  write<T>(work: (tx: MigrationWriteTx) => Promise<T>): Promise<T>;
  meta(name: string): Promise<string | undefined>;
  lastSignedStore(sizeOf: (note: string) => number): LastSignedStore;
}

export interface MigrationProgress {
  /** check: the source read in full; copy: entries written; verify: the target re-read. */
  readonly step: 'check' | 'copy' | 'verify';
  /** Entries done of `total`. */
  readonly done: number;
  readonly total: number;
}

export interface MigrateOptions {
  /** Entries read and written per step (default 4096). */
  readonly batch?: number;
  readonly onProgress?: (progress: MigrationProgress) => void;
}

export interface MigrationResult {
  /** false: the target held this very log already, and was only verified. */
  readonly copied: boolean;
  readonly origin: string;
  readonly keyFingerprint: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly checkpoint: string;
  readonly tiles: number;
  /** The tree size of the last signed checkpoint recorded in the target. */
  readonly lastSignedSize: number;
}

/** Where a sqlite log keeps its parts: database, last-signed checkpoint, public key, and origin if kept apart. */
export interface SqliteLogFiles {
  readonly db: string;
  readonly checkpoint: string;
  readonly publicKey: string;
  /** A file holding the origin (the audit trail's); else the origin is read from the stored checkpoint. */
  readonly origin?: string;
}

const META_ORIGIN = 'origin';
const META_PUBLIC_KEY = 'public-key';
const TILES_PER_WRITE = 64;

const corrupt = (message: string, problems: readonly LogProblem[] = [], hint?: string) =>
  new AirlockError('E_LOG_CORRUPT', message, {
    ...(problems.length ? { details: { problems } } : {}),
    ...(hint ? { hint } : {}),
  });

const sameState = (a: LogState, b: LogState) =>
  a.size === b.size && Buffer.from(a.root).equals(b.root) && a.checkpoint === b.checkpoint;

const problemText = (problems: readonly LogProblem[]) =>
  problems
    .slice(0, 5)
    .map((p) => (p.index === undefined ? p.problem : `entry ${p.index}: ${p.problem}`))
    .join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');

/** Every tile a tree of `size` has (full ones, then the partial one, level by level), with its width. */
export function* tileKeysOf(size: number): Generator<TileKey & { readonly width: number }> {
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) >= 1; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    const full = Math.floor(hashes / TILE_WIDTH);
    for (let index = 0; index < full; index++) yield { level, index, width: TILE_WIDTH };
    if (hashes % TILE_WIDTH > 0) yield { level, index: full, width: hashes % TILE_WIDTH };
  }
}

async function readPublicKey(path: string): Promise<KeyObject> {
  const pem = await readOptionalText(path, "the log's public key", 64 * 1024);
  if (pem === undefined) throw new AirlockError('E_INPUT_MISSING', `the log's public key ${path} is missing`);
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${path} is not a public key: ${bounded((err as Error).message)}`);
  }
}

function originOfNote(note: string, where: string): string {
  try {
    return parseCheckpoint(parseNote(note).text).origin;
  } catch (err) {
    throw corrupt(`the stored checkpoint of ${where} is not a checkpoint: ${bounded((err as Error).message)}`);
  }
}

/** Opens a sqlite log read-only as of now: its storage snapshot, then the files beside it. */
export async function openSqliteSource(files: SqliteLogFiles): Promise<MigrationSource> {
  if (!(await pathExists(files.db))) {
    throw new AirlockError('E_INPUT_MISSING', `there is no log database at ${files.db}`, {
      hint: 'name the folder the sqlite log is in: its log serve --data DIR, or $AIRLOCK_HOME/audit for the trail',
    });
  }
  const publicKey = await readPublicKey(files.publicKey);
  const reader = openSqliteLogSnapshot(files.db);
  try {
    const state = await reader.readState();
    if (!state) throw new AirlockError('E_INPUT_MISSING', `the log database ${files.db} holds no log yet`);
    const kept =
      files.origin === undefined ? undefined : await readOptionalText(files.origin, "the log's origin", 4096);
    if (files.origin !== undefined && kept === undefined)
      throw new AirlockError('E_INPUT_MISSING', `the log's origin ${files.origin} is missing`);
    const origin = kept?.trim() ?? originOfNote(state.checkpoint, files.db);
    // Read after the snapshot: a log still being written shows as storage behind this checkpoint.
    const lastSigned = await readOptionalText(files.checkpoint, 'a checkpoint', MAX_NOTE_BYTES);
    const unchanged = async () => {
      const now = openSqliteLogSnapshot(files.db);
      try {
        const current = await now.readState();
        const note = await readOptionalText(files.checkpoint, 'a checkpoint', MAX_NOTE_BYTES);
        return current !== undefined && sameState(current, state) && note === lastSigned;
      } finally {
        await now.close();
      }
    };
    return {
      reader,
      identity: { origin, publicKey },
      lastSigned,
      where: files.db,
      unchanged,
      close: () => reader.close(),
    };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

interface LogCheck {
  readonly state: LogState;
  readonly problems: LogProblem[];
  /** Over every entry, in order. */
  readonly entries: string;
  /** Over every tile: level, index, width and bytes. */
  readonly tiles: string;
  readonly tileCount: number;
}

/**
 * Reads a log in full and checks it on its own terms: fsck (signed checkpoint, entries against the
 * level-0 tiles, the tree rebuilt from the entries, nothing beyond the size), every tile present with
 * the width its tree size gives it and the root re-derived from the tiles, and the last signed
 * checkpoint consistent with the state.
 */
async function checkLog(
  reader: LogReader,
  open: CheckpointSigner['open'],
  lastSigned: string | undefined,
  onEntry: (done: number) => void,
): Promise<LogCheck> {
  const entries = createHash('sha256');
  const fsck = await fsckLog(reader, open, {
    onEntry: (index, data) => {
      entries.update(entryIdentity(data));
      onEntry(index + 1);
    },
  });
  const state = (await reader.readState()) as LogState;
  const problems = [...fsck.problems];
  const tiles = await checkTiles(reader, state.size, fsck.root, problems);
  problems.push(...lastSignedProblems(lastSigned, state.size, fsck.root, open, fsck.rebuilt));
  return { state, problems, entries: entries.digest('hex'), ...tiles };
}

async function checkTiles(
  reader: LogReader,
  size: number,
  signedRoot: Uint8Array,
  problems: LogProblem[],
): Promise<{ tiles: string; tileCount: number }> {
  const digest = createHash('sha256');
  const wanted = new Set(tilesTouched((node) => rootAt(size, node)).map((k) => `${k.level}/${k.index}`));
  const kept = new Map<string, Tile>();
  let tileCount = 0;
  for (const key of tileKeysOf(size)) {
    const tile = await reader.readTile(key.level, key.index);
    if (!tile || tile.width !== key.width) {
      problems.push({ problem: `tile ${key.level}/${key.index} is ${tile ? `${tile.width} wide` : 'missing'}` });
      continue;
    }
    tileCount++;
    hashTile(digest, tile);
    const name = `${key.level}/${key.index}`;
    if (wanted.has(name)) kept.set(name, Tile.decode(key.level, key.index, tile.width, tile.bytes));
  }
  if (kept.size === wanted.size && size > 0) {
    const root = rootAt(
      size,
      nodeReaderFor((k) => kept.get(`${k.level}/${k.index}`)),
    );
    if (!Buffer.from(root).equals(signedRoot))
      problems.push({ problem: `the tiles re-derive another root than the signed one at size ${size}` });
  }
  return { tiles: digest.digest('hex'), tileCount };
}

function hashTile(digest: Hash, tile: StoredTile): void {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(tile.level, 0);
  head.writeDoubleBE(tile.index, 4);
  head.writeUInt32BE(tile.width, 12);
  digest.update(head).update(tile.bytes);
}

function lastSignedProblems(
  note: string | undefined,
  size: number,
  root: Uint8Array,
  open: CheckpointSigner['open'],
  tree: Parameters<typeof rootAt>[1],
): LogProblem[] {
  if (note === undefined)
    return size === 0 ? [] : [{ problem: `no last signed checkpoint is recorded for a log of ${size} entries` }];
  let before: { size: number; root: Uint8Array };
  try {
    before = open(note);
  } catch (err) {
    return [{ problem: `the last signed checkpoint does not open with the log key: ${(err as Error).message}` }];
  }
  if (before.size > size) {
    return [
      {
        problem:
          `the storage (size ${size}) is behind the last signed checkpoint (size ${before.size}): ` +
          'is it still being written? stop what writes it (log serve, airlock commands) and run again',
      },
    ];
  }
  const proof = before.size === size ? [] : consistencyProof(before.size, size, tree);
  return verifyConsistency(before.size, size, before.root, root, proof)
    ? []
    : [{ problem: `the state is not consistent with the last signed checkpoint at size ${before.size}` }];
}

function sameKey(pem: string | undefined, key: KeyObject): boolean {
  if (pem === undefined) return false;
  try {
    return keyFingerprint(createPublicKey(pem)) === keyFingerprint(key);
  } catch {
    return false;
  }
}

const occupied = (target: MigrationTarget, what: string) =>
  new AirlockError('E_OUTPUT_EXISTS', `the database ${target.target} ${what}`, {
    hint: 'migrate into an empty database (or schema); a re-run into the database holding this very log only verifies',
  });

async function sameIdentity(target: MigrationTarget, source: MigrationSource): Promise<boolean> {
  const [origin, pem] = [await target.meta(META_ORIGIN), await target.meta(META_PUBLIC_KEY)];
  return origin === source.identity.origin && pem !== undefined && sameKey(pem, source.identity.publicKey);
}

/**
 * This log's identity with another state: ahead, most likely migrated before and written to since,
 * which a re-run need not touch; else the source was written to after a migration, or one is a fork.
 */
function otherHistory(target: MigrationTarget, held: number, size: number): AirlockError {
  const where = `the database ${target.target} holds this log (its origin and key)`;
  if (held > size)
    return new AirlockError('E_OUTPUT_EXISTS', `${where} at size ${held}, ahead of the size ${size} copied here`, {
      hint:
        'if it was migrated before and has been written to since, there is nothing to do; ' +
        'else it holds another history signed with this key: keep both for inspection',
    });
  return new AirlockError('E_OUTPUT_EXISTS', `${where} at size ${held}, another history than the size ${size} here`, {
    hint: 'the source was written to after an earlier migration, or one is a fork: keep both for inspection',
  });
}

/** Whether the target holds nothing of another log ('empty') or this very log ('same'); else refused. */
async function inspectTarget(
  target: MigrationTarget,
  source: MigrationSource,
  state: LogState,
  sizeOf: (note: string) => number,
): Promise<'empty' | 'same'> {
  const held = await target.readState();
  if (held) {
    if (sameState(held, state)) return 'same';
    if (await sameIdentity(target, source)) throw otherHistory(target, held.size, state.size);
    throw occupied(target, `holds a log of size ${held.size} already, not this one (size ${state.size})`);
  }
  if ((await target.listEntries(0, 1)).length > 0) throw occupied(target, 'holds log entries without a state');
  const origin = await target.meta(META_ORIGIN);
  if (origin !== undefined && origin !== source.identity.origin)
    throw occupied(target, `belongs to the log ${bounded(origin, 100)}`);
  const pem = await target.meta(META_PUBLIC_KEY);
  if (pem !== undefined && !sameKey(pem, source.identity.publicKey))
    throw occupied(target, 'belongs to a log with another key');
  const last = await target.lastSignedStore(sizeOf).read();
  if (last !== undefined && last !== source.lastSigned)
    throw occupied(target, 'records another last signed checkpoint');
  return 'empty';
}

/** Identity and last signed checkpoint, inside the copy's transaction: the same values on a re-run. */
async function recordIdentity(
  tx: MigrationWriteTx,
  target: MigrationTarget,
  source: MigrationSource,
  lastSigned: string,
  sizeOf: (note: string) => number,
): Promise<void> {
  const { origin, publicKey } = source.identity;
  if ((await tx.claimMeta(META_ORIGIN, origin)) !== origin) throw occupied(target, 'belongs to another log');
  if (!sameKey(await tx.claimMeta(META_PUBLIC_KEY, publicKeyPem(publicKey)), publicKey))
    throw occupied(target, 'belongs to a log with another key');
  await tx.recordSigned(sizeOf(lastSigned), lastSigned);
}

/** Identity and last signed checkpoint, entries in batches, every tile, the state last: one transaction. */
async function copyLog(
  target: MigrationTarget,
  source: MigrationSource,
  state: LogState,
  options: { batch: number; lastSigned: string; sizeOf: (note: string) => number },
  onCopied: (done: number) => void,
): Promise<void> {
  const { batch } = options;
  await target.write(async (tx) => {
    if ((await tx.readState()) || (await tx.listEntries(0, 1)).length > 0)
      throw occupied(target, 'was written to during the migration');
    await recordIdentity(tx, target, source, options.lastSigned, options.sizeOf);
    for (let start = 0; start < state.size; start += batch) {
      const end = Math.min(start + batch, state.size);
      const data = await source.reader.readEntries(start, end);
      if (data.length !== end - start) throw corrupt(`the source log lost entries at ${start + data.length}`);
      const placed = await tx.appendEntries(
        start,
        data.map((d) => ({ data: d, identity: entryIdentity(d) })),
      );
      const twice = placed.findIndex((p, i) => p.duplicate || p.index !== start + i);
      if (twice >= 0) throw corrupt(`the source log holds entry ${start + twice} twice`);
      onCopied(end);
    }
    let pending: StoredTile[] = [];
    for (const key of tileKeysOf(state.size)) {
      const tile = await source.reader.readTile(key.level, key.index);
      if (!tile) throw corrupt(`the source log lost tile ${key.level}/${key.index}`);
      pending.push(tile);
      if (pending.length === TILES_PER_WRITE) {
        await tx.putTiles(pending);
        pending = [];
      }
    }
    await tx.putTiles(pending);
    // Appended to meanwhile, the copy would miss entries: it is rolled back instead.
    if (!(await source.unchanged())) {
      throw new AirlockError(
        'E_UNAVAILABLE',
        `${source.where} was written to during the migration; nothing was copied`,
        {
          hint: 'stop what writes the log (log serve, airlock commands for the audit trail) and run it again',
        },
      );
    }
    await tx.putState(state);
  });
}

/** The target re-read on its own, then held against the source's check. */
async function verifyTarget(
  target: MigrationTarget,
  source: MigrationSource,
  expected: LogCheck,
  open: CheckpointSigner['open'],
  onEntry: (done: number) => void,
): Promise<LogCheck> {
  const sizeOf = (note: string) => open(note).size;
  const last = await target.lastSignedStore(sizeOf).read();
  const got = await checkLog(target, open, last, onEntry);
  const problems = [...got.problems];
  if (!sameState(got.state, expected.state)) problems.push({ problem: 'its state is not the source log state' });
  if (got.entries !== expected.entries) problems.push({ problem: 'its entries are not the source log entries' });
  if (got.tiles !== expected.tiles) problems.push({ problem: 'its tiles are not the source log tiles' });
  if (last !== (source.lastSigned ?? expected.state.checkpoint))
    problems.push({ problem: 'its last signed checkpoint is not the source log one' });
  if ((await target.meta(META_ORIGIN)) !== source.identity.origin)
    problems.push({ problem: `its meta ${META_ORIGIN} is not ${bounded(source.identity.origin, 100)}` });
  if (!sameKey(await target.meta(META_PUBLIC_KEY), source.identity.publicKey))
    problems.push({ problem: `its meta ${META_PUBLIC_KEY} is not the log key` });
  if (problems.length > 0)
    throw corrupt(
      `the log in ${target.target} does not verify: ${problemText(problems)}`,
      problems,
      'nothing serves it as it is: keep it for investigation, and migrate into an empty database (or drop its tables)',
    );
  return got;
}

/** Copies `source` into an empty `target` (or finds it there already) and verifies the target. */
export async function migrateLog(
  source: MigrationSource,
  target: MigrationTarget,
  options: MigrateOptions = {},
): Promise<MigrationResult> {
  const batch = options.batch ?? 4096;
  const open = checkpointOpener(source.identity.origin, source.identity.publicKey);
  const sizeOf = (note: string) => open(note).size;
  const initial = await source.reader.readState();
  if (!initial) throw new AirlockError('E_INPUT_MISSING', `${source.where} holds no log`);
  const report = (step: MigrationProgress['step']) => (done: number) =>
    options.onProgress?.({ step, done, total: initial.size });
  const checked = await checkLog(source.reader, open, source.lastSigned, report('check'));
  if (checked.problems.length > 0) {
    throw corrupt(`the log in ${source.where} does not verify: ${problemText(checked.problems)}`, checked.problems);
  }
  const state = checked.state;
  const found = await inspectTarget(target, source, state, sizeOf);
  if (found === 'empty') {
    // A log that never grew may have no record yet: its own checkpoint is then the last signed one.
    const lastSigned = source.lastSigned ?? state.checkpoint;
    await copyLog(target, source, state, { batch, lastSigned, sizeOf }, report('copy'));
  }
  const verified = await verifyTarget(target, source, checked, open, report('verify'));
  return {
    copied: found === 'empty',
    origin: source.identity.origin,
    keyFingerprint: keyFingerprint(source.identity.publicKey),
    size: state.size,
    root: state.root,
    checkpoint: state.checkpoint,
    tiles: verified.tileCount,
    lastSignedSize: sizeOf(source.lastSigned ?? state.checkpoint),
  };
}
