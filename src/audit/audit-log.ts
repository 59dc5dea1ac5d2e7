// The machine's audit trail: every security decision airlock makes here, appended to a Merkle log
// (the same engine as the transparency log) under $AIRLOCK_HOME/audit/:
//   audit.db     entries, tiles, state (node:sqlite)
//   checkpoint   the last checkpoint signed, kept outside the database (a restored database shows)
//   origin       the log's name in its checkpoints, fixed at creation
//   audit.pub    the key its checkpoints are signed with; audit.key (0600) when airlock made the key
// Tamper evidence comes from signed checkpoints leaving the machine (`audit verify --since`, the
// checkpoint carried in every transfer package): whoever can rewrite this directory can re-sign with
// a key kept in it, but cannot make that agree with a checkpoint already held elsewhere. Pass an HSM
// key (AIRLOCK_AUDIT_KEY) to keep the key off the disk.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, lstat, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { keyFingerprint, publicKeyPem } from '../crypto/keys.ts';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError, fromFsError } from '../errors.ts';
import { pathExists, sweepTempFiles, writeFileAtomic } from '../files/atomic-write.ts';
import { processAlive } from '../files/process-alive.ts';
import { checkStateDir, makeStateDir, stateDirError } from '../files/state-dir.ts';
import { type Checkpoint, parseCheckpoint } from '../log/checkpoint.ts';
import { checkpointOpener, checkpointSignerFor } from '../log/checkpoint-signer.ts';
import { checkExtends } from '../log/consistency.ts';
import { LogEngine } from '../log/engine.ts';
import { fsckLog, type LogProblem } from '../log/fsck.ts';
import { lastSignedFile } from '../log/last-signed-file.ts';
import { consistencyProof } from '../log/merkle.ts';
import { parseNote } from '../log/note.ts';
import { SqliteLogStorage } from '../log/sqlite-storage.ts';
import type { LogStorage } from '../log/storage.ts';
import { newestLastSigned } from '../log/newest-last-signed.ts';
import { type AuditEvent, parseEvent, serializeEvent } from './event.ts';
import { readOptionalText } from '../files/read-file.ts';
import {
  claimTrailIdentity,
  readTrailIdentity,
  SHARED_CHECKPOINTS_DIR,
  type SharedTrail,
  sharedCheckpointPath,
  type TrailIdentity,
} from './shared-trail.ts';

export function auditDir(stateDir: string): string {
  return join(stateDir, 'audit');
}

const paths = (stateDir: string) => {
  const dir = auditDir(stateDir);
  return {
    dir,
    db: join(dir, 'audit.db'),
    checkpoint: join(dir, 'checkpoint'),
    origin: join(dir, 'origin'),
    key: join(dir, 'audit.key'),
    pub: join(dir, 'audit.pub'),
    legacy: join(stateDir, 'events.jsonl'),
  };
};

function readText(path: string): Promise<string | undefined> {
  return readOptionalText(path, 'a file of the audit log', 1024 * 1024);
}

/** A checkpoint-name-safe origin for an audit log named after `host` (a machine, or a shared database). */
export function originFor(host: string): string {
  const name =
    host
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '') || 'localhost';
  return `audit.${name}`;
}

/** The audit log's origin and public key, fixed when it was created. */
async function auditIdentity(
  stateDir: string,
): Promise<{ origin: string; publicKey: ReturnType<typeof createPublicKey> } | undefined> {
  const p = paths(stateDir);
  const [origin, pub] = await Promise.all([readText(p.origin), readText(p.pub)]);
  if (origin === undefined || pub === undefined) return undefined;
  return { origin: origin.trim(), publicKey: createPublicKey(pub) };
}

/** The signer for a new or existing audit log: the one given, or the key airlock keeps beside it. */
async function auditSigner(stateDir: string, given: Signer | undefined): Promise<{ origin: string; signer: Signer }> {
  const p = paths(stateDir);
  const existing = (await auditIdentity(stateDir)) ?? (await createIdentity(stateDir, given));
  let signer = given;
  if (!signer) {
    const pem = await readText(p.key);
    if (pem === undefined) {
      throw new AirlockError(
        'E_INPUT_MISSING',
        `the audit log's key is not in ${p.dir}, and no AIRLOCK_AUDIT_KEY was given`,
        { hint: 'set AIRLOCK_AUDIT_KEY to the key (file or pkcs11: URI) the audit log was created with' },
      );
    }
    signer = createKeyObjectSigner(createPrivateKey(pem), 'ed25519', `audit key ${p.key}`);
  }
  if (keyFingerprint(signer.publicKey) !== keyFingerprint(existing.publicKey)) {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `the audit log in ${p.dir} was created with key ${keyFingerprint(existing.publicKey)}, not ` +
        `${keyFingerprint(signer.publicKey)}`,
    );
  }
  return { origin: existing.origin, signer };
}

const DRAFT_PREFIX = '.audit-new-';

/** Identity drafts (createIdentity) of commands killed before they renamed theirs into place. */
async function sweepDrafts(stateDir: string): Promise<void> {
  const names = await readdir(stateDir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^\.audit-new-([1-9][0-9]{0,9})-[A-Za-z0-9]{6}$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    const draft = join(stateDir, name);
    if ((await lstat(draft).catch(() => undefined))?.isDirectory()) await rm(draft, { recursive: true, force: true });
  }
}

/**
 * A new audit log's identity (origin, public key, and the key when airlock makes it), built in a
 * private folder and renamed into place: of two commands starting at once on a fresh machine exactly
 * one creates it, and the other uses that one.
 */
async function createIdentity(
  stateDir: string,
  given: Signer | undefined,
): Promise<NonNullable<Awaited<ReturnType<typeof auditIdentity>>>> {
  const p = paths(stateDir);
  const fsError = (what: string) => (err: unknown) => {
    throw fromFsError(err, what, 'create');
  };
  await makeStateDir(stateDir);
  // The pid in the name tells a draft of a running command from one a killed command left.
  const draft = await mkdtemp(join(stateDir, `${DRAFT_PREFIX}${process.pid}-`)).catch((err: unknown) => {
    throw stateDirError(stateDir, (err as Error).message, err);
  });
  try {
    let publicKey = given?.publicKey;
    if (!publicKey) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFileAtomic(join(draft, 'audit.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
      });
      publicKey = createPublicKey(privateKey);
    }
    await writeFileAtomic(join(draft, 'audit.pub'), publicKeyPem(publicKey));
    await writeFileAtomic(join(draft, 'origin'), `${originFor(hostname())}\n`);
    await chmod(draft, 0o700);
    await rename(draft, p.dir).catch((err: unknown) => {
      // Someone else's identity is in place (or the folder holds other files): theirs stands.
      if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) fsError(p.dir)(err);
    });
  } finally {
    await rm(draft, { recursive: true, force: true });
  }
  const identity = await auditIdentity(stateDir);
  if (!identity)
    throw new AirlockError('E_LOG_CORRUPT', `${p.dir} exists but holds no audit log identity (origin, audit.pub)`, {
      hint: 'move the folder aside (keep it: it may be evidence) and run the command again',
    });
  return identity;
}

/** Events of the JSON-lines stand-in earlier versions kept, as audit events. */
function legacyEvent(line: string, host: string): AuditEvent | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { time, action, name, result, ...rest } = e;
  return {
    time: String(time),
    actor: 'unknown (migrated from events.jsonl)',
    host,
    tool: 'airlock (events.jsonl)',
    action: String(action),
    result: result === 'accepted' || result === 'installed' ? 'ok' : result === 'refused' ? 'refused' : 'failed',
    subjects: name === undefined ? [] : [{ name: String(name) }],
    details: { ...rest, originalResult: result },
  };
}

export class AuditLog {
  readonly #engine: LogEngine;
  readonly origin: string;
  readonly publicKey: Signer['publicKey'];

  private constructor(engine: LogEngine, origin: string, publicKey: Signer['publicKey']) {
    this.#engine = engine;
    this.origin = origin;
    this.publicKey = publicKey;
  }

  /** Opens (creating on first use) the audit log of `stateDir`, migrating events.jsonl once. */
  static async open(stateDir: string, options: { signer?: Signer } = {}): Promise<AuditLog> {
    await checkStateDir(stateDir);
    const p = paths(stateDir);
    const { origin, signer } = await auditSigner(stateDir, options.signer);
    // What a command killed mid-write left (a checkpoint's temp file, an identity draft): only those
    // of processes no longer running.
    await sweepTempFiles(p.checkpoint);
    await sweepDrafts(stateDir);
    const engine = await LogEngine.open({
      storage: SqliteLogStorage.open(p.db),
      checkpoints: checkpointSignerFor(origin, signer),
      lastSigned: lastSignedFile(p.checkpoint),
    });
    const log = new AuditLog(engine, origin, signer.publicKey);
    // Only into a new log: a file dropped into $AIRLOCK_HOME later must not inject events.
    if (engine.size === 0) await log.#migrate(p.legacy);
    return log;
  }

  /**
   * Opens (creating on first use) the shared trail `trail` to write to it with `signer`, which the trail
   * cannot keep for its writers. The last signed checkpoint is kept in the trail's database and on this
   * machine, and the newer of the two is what the trail must not fall behind. events.jsonl is not
   * migrated into a shared trail: it is one machine's history, and the sqlite trail takes it in.
   */
  static async openShared(stateDir: string, trail: SharedTrail, signer: Signer): Promise<AuditLog> {
    await checkStateDir(stateDir);
    const storage = await trail.open();
    try {
      const { origin } = await claimTrailIdentity(storage, trail, signer.publicKey);
      await makeStateDir(stateDir, SHARED_CHECKPOINTS_DIR);
      const local = sharedCheckpointPath(stateDir, origin);
      await sweepTempFiles(local);
      const sizeOf = (note: string) => checkpointOpener(origin, signer.publicKey)(note).size;
      const engine = await LogEngine.open({
        storage,
        checkpoints: checkpointSignerFor(origin, signer),
        lastSigned: newestLastSigned([storage.lastSignedStore(sizeOf), lastSignedFile(local)], sizeOf),
      });
      return new AuditLog(engine, origin, signer.publicKey);
    } catch (err) {
      await storage.close().catch(() => undefined);
      throw err;
    }
  }

  async #migrate(legacy: string): Promise<void> {
    const text = await readText(legacy);
    if (text === undefined) return;
    const events = text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => legacyEvent(l, hostname()));
    // Identical bytes are one entry in the log, so a migration interrupted before the rename is
    // simply repeated: nothing is logged twice.
    await Promise.all(events.map((e) => (e ? this.append(e) : undefined)));
    await rename(legacy, `${legacy}.migrated`).catch((err: unknown) => {
      // Another command migrated it at the same time: the events are in (identical bytes, once).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(err, legacy);
    });
  }

  async append(event: AuditEvent): Promise<{ index: number; checkpoint: string }> {
    const r = await this.#engine.append(serializeEvent(event));
    return { index: r.index, checkpoint: r.checkpoint };
  }

  get size(): number {
    return this.#engine.size;
  }

  get checkpoint(): string {
    return this.#engine.checkpoint;
  }

  consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    return this.#engine.consistencyProof(oldSize, newSize);
  }

  close(): Promise<void> {
    return this.#engine.close();
  }
}

export interface AuditEntry {
  readonly index: number;
  readonly event: AuditEvent;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly origin: string;
  /** The key the log's checkpoints verify with, as found beside it: compare it with one you hold. */
  readonly keyFingerprint: string;
  readonly size: number;
  readonly checkpoint: string;
  /** Where the trail is: its folder, or user@host:port/db of a shared one. */
  readonly where: string;
  readonly problems: LogProblem[];
  /** Every event (parsed), in log order; unparseable ones are problems. */
  readonly events: AuditEntry[];
}

/**
 * A --since that is not a checkpoint at all (not a signed note, or a note whose text is no checkpoint)
 * says nothing about the log: it is the caller's input that is wrong (E_INPUT_MALFORMED), where a
 * checkpoint that does not verify with the audit key, or that the log does not extend, is a verdict.
 */
function assertCheckpointShape(since: string): void {
  try {
    parseCheckpoint(parseNote(since).text);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `the --since file is not a checkpoint (${(err as Error).message})`, {
      cause: err,
      hint: 'give the file `airlock audit verify --out FILE` saved, or the audit/checkpoint a transfer package carries',
    });
  }
}

/** A last signed checkpoint kept apart from the entries: the log must still extend it. */
interface KeptCheckpoint {
  readonly note: string | undefined;
  readonly what: string;
  /** The problem when the log has entries and this record is missing; undefined when it may be. */
  readonly missing?: string;
}

/** What verification reads, wherever the trail lives. */
interface TrailSource {
  readonly storage: LogStorage;
  readonly identity: TrailIdentity;
  readonly where: string;
  readonly kept: () => Promise<KeptCheckpoint[]>;
}

async function sqliteSource(stateDir: string): Promise<TrailSource> {
  await checkStateDir(stateDir);
  const p = paths(stateDir);
  const identity = await auditIdentity(stateDir);
  if (!identity || !(await pathExists(p.db)))
    throw new AirlockError('E_INPUT_MISSING', `no audit log in ${p.dir}`, {
      hint: 'airlock records one as soon as a command makes a security decision',
    });
  const kept = async () => [
    {
      note: await readText(p.checkpoint),
      what: 'the last signed checkpoint kept beside the log',
      missing:
        `the last signed checkpoint kept beside the log (${p.checkpoint}) is missing: a restored ` +
        `older database could not be told apart`,
    },
  ];
  return { storage: SqliteLogStorage.open(p.db), identity, where: p.dir, kept };
}

async function sharedSource(stateDir: string, trail: SharedTrail): Promise<TrailSource> {
  const storage = await trail.open();
  try {
    const identity = await readTrailIdentity(storage);
    const local = sharedCheckpointPath(stateDir, identity.origin);
    const sizeOf = (note: string) => checkpointOpener(identity.origin, identity.publicKey)(note).size;
    const kept = async () => [
      {
        note: await storage.lastSignedStore(sizeOf).read(),
        what: "the last signed checkpoint in the trail's checkpoints table",
        missing:
          `no signed checkpoint is recorded in the trail's checkpoints table: a restored older ` +
          `database could not be told apart`,
      },
      // Only a machine that wrote to the trail has one.
      { note: await readText(local), what: `the last checkpoint this machine signed (${local})` },
    ];
    return { storage, identity, where: storage.target, kept };
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Recomputes everything from the stored events: each one against the hash the log recorded for its
 * index, the whole tree against the signed checkpoint, the last signed checkpoint kept apart from the
 * entries (beside the database; for a shared trail, in its checkpoints table and on this machine),
 * and — with `since` — consistency with a checkpoint saved earlier (elsewhere).
 */
export async function verifyAuditLog(
  stateDir: string,
  options: { since?: string; shared?: SharedTrail } = {},
): Promise<AuditVerification> {
  if (options.since !== undefined) assertCheckpointShape(options.since);
  const source = options.shared ? await sharedSource(stateDir, options.shared) : await sqliteSource(stateDir);
  try {
    return await verifyTrail(source, options.since);
  } finally {
    await source.storage.close();
  }
}

/** Entries fsck found beyond the size it read, that the log holds now: written meanwhile, not smuggled in. */
async function appendedMeanwhile(storage: LogStorage, problems: LogProblem[], size: number): Promise<LogProblem[]> {
  const beyond = problems.filter((p) => p.index !== undefined && p.index >= size);
  if (beyond.length === 0) return problems;
  const now = (await storage.readState())?.size ?? size;
  return problems.filter((p) => !(p.index !== undefined && p.index >= size && p.index < now));
}

async function verifyTrail(source: TrailSource, since: string | undefined): Promise<AuditVerification> {
  const { storage, identity } = source;
  const open = checkpointOpener(identity.origin, identity.publicKey);
  const events: AuditEntry[] = [];
  const parseProblems: LogProblem[] = [];
  // Before the entries: a checkpoint is recorded after its entries are, so what is read first is never
  // ahead of the state read next, however many writers append meanwhile.
  const kept = await source.kept();
  const result = await fsckLog(storage, open, {
    onEntry: (index, data) => {
      try {
        // The problem carries its index; the reader puts "event N:" in front.
        events.push({ index, event: parseEvent(data, 'the entry') });
      } catch (err) {
        parseProblems.push({ index, problem: (err as Error).message });
      }
    },
  });
  const problems = [...(await appendedMeanwhile(storage, result.problems, result.size)), ...parseProblems];
  const current: Checkpoint = { origin: identity.origin, size: result.size, rootHash: result.root, extensions: [] };
  const pinned = (note: string, what: string) => {
    let saved: Checkpoint;
    try {
      // The opener checks the origin with the signature: only size and root are left to take.
      const opened = open(note);
      saved = { origin: identity.origin, size: opened.size, rootHash: opened.root, extensions: [] };
    } catch (err) {
      problems.push({ problem: `${what} does not verify with the audit key: ${(err as Error).message}` });
      return;
    }
    if (saved.size > current.size) {
      problems.push({
        problem:
          `${what} is at size ${saved.size}, but the log holds ${current.size}: events were ` +
          `removed (or the database restored from an older copy)`,
      });
      return;
    }
    try {
      checkExtends(saved, current, consistencyProof(saved.size, current.size, result.rebuilt));
    } catch (err) {
      problems.push({ problem: `${what} (size ${saved.size}): ${(err as Error).message}` });
    }
  };
  for (const k of kept) {
    if (k.note !== undefined) pinned(k.note, k.what);
    else if (k.missing !== undefined && result.size > 0) problems.push({ problem: k.missing });
  }
  if (since !== undefined) pinned(since, 'the --since checkpoint');
  problems.sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
  return {
    ok: problems.length === 0,
    origin: identity.origin,
    keyFingerprint: keyFingerprint(identity.publicKey),
    size: result.size,
    checkpoint: result.checkpoint,
    where: source.where,
    problems,
    events,
  };
}
