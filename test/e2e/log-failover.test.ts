// Acceptance "Failover" of issue 27: two `airlock log serve` processes on one PostgreSQL database, one
// sequencing and one standing by, under 16 clients appending. The sequencer is SIGKILLed at seeded
// random moments (at least 10 times) and restarted each time, on its port and --data folder, as the new
// standby. A client sends to the process it believes sequences and, on a 503 or a dead connection,
// sends the same entry to the other one: every 201/409 it gets is recorded. Then, both processes up
// and the load stopped, an oracle that trusts nothing the log says without checking it: every
// acknowledged entry is at its index in the final tree (entry bundles over HTTP) with a proof that
// verifies against its own checkpoint; every checkpoint a reply or a poll returned, or the database or
// a last-signed file holds, verifies with the log key, has the root an RFC 6962 hasher written here
// (node:crypto only) computes from the final entries, and extends every smaller one by a consistency
// proof built from the tiles served over HTTP; no two share a size with different roots; no process
// instance's /checkpoint ever shrinks; the standby serves the same entries and tiles. The
// takeover time (last acknowledgement before a kill to the first after it) is reported, not asserted,
// beyond a generous bound that means "the standby never took over". A second test SIGKILLs the
// PostgreSQL server itself under the same load, restarts it, and applies the same oracle. A negative
// control shows the oracle rejects a forged root, a fork at one size, another key's checkpoint and a lost
// or moved acknowledged entry; each run also shows it objecting to its own data with two entries swapped.
//
// The schedule (kill moments, client backoff) comes from a seeded PRNG; the seed is printed, and
// AIRLOCK_FAILOVER_SEED=<seed> replays the schedule (not the interleaving, which the OS decides).
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { type Checkpoint, parseCheckpoint } from '../../src/log/checkpoint.ts';
import { checkpointOpener, checkpointSignerFor } from '../../src/log/checkpoint-signer.ts';
import { checkExtends } from '../../src/log/consistency.ts';
import { consistencyProof, inclusionProof, leafHash, type NodeReader } from '../../src/log/merkle.ts';
import { parseNote } from '../../src/log/note.ts';
import type { TransparencyLogEntryJSON } from '../../src/log/rekor-response.ts';
import {
  decodeEntryBundle,
  entriesPath,
  nodeReaderFor,
  partialWidth,
  Tile,
  type TileKey,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
} from '../../src/log/tiles.ts';
import { ackProblems, finalLogProblems, memoryTree } from '../helpers/log-audit.ts';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { type PostgresServer, postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { freePort } from '../helpers/process.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { type Ack, EntrySource } from '../helpers/write-load.ts';

const SEED = testSeed('AIRLOCK_FAILOVER_SEED');
const CLIENTS = 16;
const KILLS = 10;
const POSTGRES_KILLS = 2;
const ORIGIN = 'failover.airlock.test';
/** Far beyond the ~1 s takeover the standby aims at: past it, the standby did not take over at all. */
const TAKEOVER_BOUND_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

type Role = 'sequencer' | 'standby';
interface Health {
  readonly status: string;
  readonly origin: string;
  readonly size: number;
  readonly role: Role;
}

/** An acknowledgement, with when it was asked for and answered, and by which process. */
interface FailoverAck extends Ack {
  readonly sentAt: number;
  readonly at: number;
  readonly port: number;
}

/** An attempt of `timeoutMs` at a GET; undefined when there is no whole 200 answer. */
async function getOk(url: string, timeoutMs = 2000): Promise<Buffer | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    return res.status === 200 ? body : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T | undefined> {
  for (const deadline = performance.now() + ms; ; await sleep(20)) {
    const value = await probe();
    if (value !== undefined || performance.now() >= deadline) return value;
  }
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** One of the two `log serve` processes: a fixed port and --data folder, restarted in place after each kill. */
class Member {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly #args: string[];
  readonly #env: Record<string, string>;
  #process: ReturnType<typeof spawnServer> | undefined;
  #stdout = '';
  /** Counts starts: each instance is an observer of its own (never shrinking) checkpoint. */
  instance = 0;
  /** The stderr and JSON lines of instances that ended, for a failure's message. */
  readonly history: string[] = [];

  constructor(name: string, port: number, args: string[], env: Record<string, string>) {
    this.name = name;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.#args = [...args, '--listen', `127.0.0.1:${port}`];
    this.#env = env;
  }

  start(): void {
    const spawned = spawnServer(this.#args, this.#env);
    this.#stdout = '';
    spawned.child.stdout?.on('data', (d: string) => {
      this.#stdout += d;
    });
    this.#process = spawned;
    this.instance++;
  }

  get exited(): boolean {
    const child = this.#process?.child;
    return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
  }

  /** The `msg` of each JSON line the running instance wrote, in order ('sequencing', 'standby', …). */
  messages(): string[] {
    return this.#stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg));
  }

  async kill(): Promise<void> {
    await this.#process?.kill();
    this.#keepHistory();
  }

  /** What the running (or last) instance said, stderr and the JSON lines that are not request logs. */
  said(): string {
    const lines = this.#stdout.split('\n').filter((l) => l.startsWith('{') && !l.includes('"method"'));
    return `${this.name}#${this.instance}: ${this.#process?.stderr() ?? ''}${lines.slice(-20).join('\n')}`;
  }

  #keepHistory(): void {
    this.history.push(this.said());
  }

  async health(): Promise<Health | undefined> {
    const body = await getOk(`${this.url}/healthz`, 1000);
    return body && (JSON.parse(body.toString('utf8')) as Health);
  }

  /** Its health once it answers; undefined if it exits first or stays silent for `ms`. */
  async healthy(ms: number): Promise<Health | undefined> {
    return (await until(async () => (this.exited ? null : this.health()), ms)) ?? undefined;
  }
}

/** The member that says it sequences, once exactly one does. Both saying it at once is recorded as a problem. */
async function sequencerOf(members: readonly Member[], problems: string[], ms: number): Promise<Member | undefined> {
  return until(async () => {
    const roles = await Promise.all(members.map(async (m) => (await m.health())?.role));
    const sequencers = members.filter((_, i) => roles[i] === 'sequencer');
    if (sequencers.length > 1) problems.push(`both processes said they sequence at once (${roles.join(', ')})`);
    return sequencers.length === 1 ? sequencers[0] : undefined;
  }, ms);
}

/**
 * 16 clients, each appending distinct entries one after another. A client sends to the process it believes
 * sequences; on a 503, a dead connection or any other failure it sends the same entry to the other process after
 * a short backoff, until some process acknowledges it (201, or 409 when an earlier try was logged unanswered).
 */
class Clients {
  readonly acks: FailoverAck[] = [];
  /** Answers other than 201, 409 and 503: the log should give none under this load. */
  readonly refusals: string[] = [];
  /** 503 answers by their error code. */
  readonly unavailable = new Map<string, number>();
  /** 503 answers without an error code, or E_NOT_SEQUENCER without a Retry-After header. */
  readonly bad503: string[] = [];
  connectionFailures = 0;
  readonly #entries: EntrySource;
  readonly #members: readonly Member[];
  readonly #random: () => number;
  readonly #unacked = new Set<number>();
  #next = 0;
  #stopping = false;
  #abandon = false;
  #loops: Array<Promise<void>> = [];

  constructor(entries: EntrySource, members: readonly Member[], random: () => number) {
    this.#entries = entries;
    this.#members = members;
    this.#random = random;
  }

  /** Entries created so far (ids 0..posted-1). */
  get posted(): number {
    return this.#next;
  }

  /** Entries given up on when the load stopped: never acknowledged. */
  get unacked(): ReadonlySet<number> {
    return this.#unacked;
  }

  start(): void {
    this.#loops = Array.from({ length: CLIENTS }, (_, c) => this.#client(c));
  }

  /** Lets each client see its current entry acknowledged, for up to `ms`. */
  async stop(ms: number): Promise<void> {
    this.#stopping = true;
    const timer = setTimeout(() => (this.#abandon = true), ms);
    await Promise.all(this.#loops);
    clearTimeout(timer);
  }

  /** The latest acknowledgement received at or before `t`. */
  lastBefore(t: number): FailoverAck | undefined {
    let last: FailoverAck | undefined;
    for (const a of this.acks) if (a.at <= t && (!last || a.at > last.at)) last = a;
    return last;
  }

  /**
   * The first acknowledgement after `t` that the process killed at `t` cannot have sent; with no port (the
   * database was killed), the first of a request sent after `t`, which only a restarted database can commit.
   */
  firstAfter(t: number, killedPort?: number): FailoverAck | undefined {
    const counts = (a: FailoverAck) =>
      killedPort === undefined ? a.sentAt > t : a.at > t && !(a.port === killedPort && a.sentAt <= t);
    let first: FailoverAck | undefined;
    for (const a of this.acks) if (counts(a) && (!first || a.at < first.at)) first = a;
    return first;
  }

  async #client(c: number): Promise<void> {
    let target = c % 2;
    while (!this.#stopping) target = await this.#settle(this.#next++, target);
  }

  async #settle(id: number, target: number): Promise<number> {
    for (let tries = 0; ; tries++) {
      if (await this.#post(id, this.#members[target] as Member, tries > 0)) return target;
      if (this.#abandon) {
        this.#unacked.add(id);
        return target;
      }
      target = 1 - target;
      await sleep(Math.min(200, 10 * 2 ** tries) * (0.5 + this.#random()));
    }
  }

  /** True when acknowledged. */
  async #post(id: number, member: Member, retry: boolean): Promise<boolean> {
    const sentAt = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${member.url}/api/v2/log/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: this.#entries.request(id),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch {
      this.connectionFailures++;
      return false;
    }
    if (res.status === 201 || res.status === 409) return this.#acknowledged(id, member, retry, sentAt, res, text);
    if (res.status === 503) this.#refusedFor503(id, member, res, text);
    else this.refusals.push(`entry ${id} at ${member.name}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return false;
  }

  #acknowledged(id: number, member: Member, retry: boolean, sentAt: number, res: Response, text: string): boolean {
    let tle: TransparencyLogEntryJSON;
    try {
      tle = JSON.parse(text) as TransparencyLogEntryJSON;
    } catch {
      this.refusals.push(`entry ${id} at ${member.name}: HTTP ${res.status} not a TransparencyLogEntry: ${text}`);
      return false;
    }
    this.acks.push({
      id,
      status: res.status as 201 | 409,
      index: Number(tle.logIndex),
      indexHeader: res.headers.get('x-log-index'),
      body: Buffer.from(tle.canonicalizedBody, 'base64'),
      checkpoint: tle.inclusionProof.checkpoint.envelope,
      treeSize: Number(tle.inclusionProof.treeSize),
      proof: tle.inclusionProof.hashes.map((h) => Buffer.from(h, 'base64')),
      retry,
      round: member.instance,
      sentAt,
      at: performance.now(),
      port: member.port,
    });
    return true;
  }

  #refusedFor503(id: number, member: Member, res: Response, text: string): void {
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {
      // reported below
    }
    this.unavailable.set(String(code), (this.unavailable.get(String(code)) ?? 0) + 1);
    // The standby's refusal tells the client when to come back; a 503 for an outage need not.
    if (!code || (code === 'E_NOT_SEQUENCER' && !res.headers.get('retry-after')))
      this.bad503.push(`entry ${id} at ${member.name}: 503 without Retry-After or code: ${text.slice(0, 200)}`);
  }
}

/** Polls both processes' /checkpoint: every note seen, and whether one instance ever served a smaller tree. */
class CheckpointWatch {
  readonly notes = new Set<string>();
  readonly problems: string[] = [];
  readonly #largest = new Map<string, number>();
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();

  start(members: readonly Member[]): void {
    this.#loop = (async () => {
      while (!this.#stopping) {
        await Promise.all(members.map((m) => this.#poll(m)));
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
  }

  async #poll(member: Member): Promise<void> {
    const observer = `${member.name}#${member.instance}`;
    const body = await getOk(`${member.url}/checkpoint`);
    if (!body || observer !== `${member.name}#${member.instance}`) return;
    const note = body.toString('utf8');
    this.notes.add(note);
    let size: number;
    try {
      size = parseCheckpoint(parseNote(note).text).size;
    } catch (err) {
      this.problems.push(`${observer} served a checkpoint that does not parse: ${(err as Error).message}`);
      return;
    }
    const largest = this.#largest.get(observer) ?? 0;
    if (size < largest) this.problems.push(`${observer} served size ${size} after size ${largest}`);
    this.#largest.set(observer, Math.max(size, largest));
  }
}

/** The tiles of the tree of `size`, from the log's own HTTP reads (full tiles, and each level's partial edge). */
async function readTiles(url: string, size: number): Promise<Map<string, Tile>> {
  const tiles = new Map<string, Tile>();
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
    const nodes = Math.floor(size / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < nodes; index++) {
      const width = index < Math.floor(nodes / TILE_WIDTH) ? TILE_WIDTH : partialWidth(level, size);
      const body = await getOk(`${url}/${tilePath(level, index, width)}`, REQUEST_TIMEOUT_MS);
      assert.ok(body, `${url} serves tile ${level}/${index} of width ${width}`);
      tiles.set(`${level}/${index}`, Tile.fromHashes(level, index, body));
    }
  }
  return tiles;
}

async function readEntries(url: string, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const width = Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH);
    const body = await getOk(`${url}/${entriesPath(bundle, width)}`, REQUEST_TIMEOUT_MS);
    assert.ok(body, `${url} serves entry bundle ${bundle} of width ${width}`);
    out.push(...decodeEntryBundle(body));
  }
  return out;
}

/**
 * RFC 6962 §2.1 roots of the prefixes of `entries` named in `sizes`, with node:crypto alone: shares no code with
 * the log. Folds a stack of perfect subtrees, the leftmost (largest) first.
 */
function prefixRoots(entries: readonly Uint8Array[], sizes: ReadonlySet<number>): Map<number, Buffer> {
  const sha256 = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  const stack: Array<{ hash: Buffer; leaves: number }> = [];
  const roots = new Map<number, Buffer>();
  if (sizes.has(0)) roots.set(0, sha256());
  for (const [i, entry] of entries.entries()) {
    let node = { hash: sha256(Buffer.of(0), entry), leaves: 1 };
    for (let top = stack.at(-1); top && top.leaves === node.leaves; top = stack.at(-1)) {
      stack.pop();
      node = { hash: sha256(Buffer.of(1), top.hash, node.hash), leaves: node.leaves * 2 };
    }
    stack.push(node);
    if (!sizes.has(i + 1)) continue;
    let root = node.hash;
    for (let j = stack.length - 2; j >= 0; j--) root = sha256(Buffer.of(1), (stack[j] as { hash: Buffer }).hash, root);
    roots.set(i + 1, root);
  }
  return roots;
}

/** What the oracle is given: the run as recorded, and the final log as read back over HTTP. */
interface Observed {
  readonly acks: readonly Ack[];
  readonly entries: EntrySource;
  /** Ids 0..posted-1 were sent; each must be in the log exactly once. */
  readonly posted: number;
  readonly notes: Iterable<string>;
  readonly open: (note: string) => unknown;
  readonly final: Checkpoint;
  /** The final tree's entries, from the entry bundles. */
  readonly logged: readonly Buffer[];
  /** The final tree's tiles, keyed "level/index". */
  readonly tiles: ReadonlyMap<string, Tile>;
}

/** The served tiles hold the nodes of the tree the entries make. */
function tileProblems({ logged, tiles }: Observed): string[] {
  const problems: string[] = [];
  const tree = memoryTree(logged);
  for (const [key, tile] of tiles) {
    for (let p = 0; p < tile.width; p++) {
      let expected: Uint8Array | undefined;
      try {
        expected = tree(tile.level * TILE_HEIGHT, tile.index * TILE_WIDTH + p);
      } catch {
        // reported below
      }
      if (!expected || !tile.node(0, p).equals(expected)) {
        problems.push(`tile ${key} slot ${p} is not the hash the entries make`);
        break;
      }
    }
  }
  return problems;
}

/** Every note verifies, has the root the entries make, and extends each smaller one and is extended by the final. */
function checkpointProblems(o: Observed): string[] {
  const problems: string[] = [];
  const node: NodeReader = nodeReaderFor((k: TileKey) => o.tiles.get(`${k.level}/${k.index}`));
  const opened: Checkpoint[] = [];
  for (const note of new Set([...o.notes])) {
    const head = note.split('\n', 3).join(' ');
    try {
      o.open(note);
      opened.push(parseCheckpoint(parseNote(note).text));
    } catch (err) {
      problems.push(`checkpoint '${head}' does not verify with the log key: ${(err as Error).message}`);
    }
  }
  const roots = prefixRoots(o.logged, new Set(opened.map((c) => c.size)));
  const bySize = opened.sort((a, b) => a.size - b.size);
  const extend = (older: Checkpoint, newer: Checkpoint, what: string) => {
    try {
      checkExtends(older, newer, consistencyProof(older.size, newer.size, node));
    } catch (err) {
      problems.push(`checkpoint of size ${older.size} ${what} of size ${newer.size}: ${(err as Error).message}`);
    }
  };
  for (const [i, cp] of bySize.entries()) {
    const root = roots.get(cp.size);
    if (cp.size > o.final.size) problems.push(`a checkpoint of size ${cp.size} is ahead of the final ${o.final.size}`);
    else if (!root?.equals(cp.rootHash))
      problems.push(`the checkpoint of size ${cp.size} has a root the first ${cp.size} final entries do not make`);
    const before = bySize[i - 1];
    if (before && before.size === cp.size && !Buffer.from(before.rootHash).equals(cp.rootHash))
      problems.push(`two checkpoints of size ${cp.size} with different roots`);
    else if (before && before.size < cp.size && cp.size <= o.final.size)
      extend(before, cp, 'is not extended by the next one,');
    if (cp.size <= o.final.size) extend(cp, o.final, 'is not extended by the final one,');
  }
  return problems;
}

/** Everything that should hold after a run, each problem on its own line. */
function oracleProblems(o: Observed): string[] {
  const problems = [...ackProblems(o.acks, o.entries), ...finalLogProblems(o.logged, o.acks, o.entries)];
  if (o.logged.length !== o.final.size)
    problems.push(`the final checkpoint has size ${o.final.size}, its entry bundles ${o.logged.length} entries`);
  if (o.logged.length !== o.posted) problems.push(`${o.posted} entries posted, ${o.logged.length} in the final log`);
  const acked = new Set(o.acks.map((a) => a.id));
  if (acked.size !== o.posted) problems.push(`${o.posted - acked.size} posted entries were never acknowledged`);
  for (const a of o.acks) {
    const at = o.logged[a.index];
    if (at && !leafHash(at).equals(leafHash(a.body)))
      problems.push(`entry ${a.id}: the leaf hash at index ${a.index} is not the acknowledged one`);
  }
  return [...problems, ...tileProblems(o), ...checkpointProblems(o)];
}

function failOn(problems: readonly string[], what: string, context = ''): void {
  if (problems.length > 0)
    assert.fail(
      `${what} (seed ${SEED}), ${problems.length} problem(s):\n${problems.slice(0, 40).join('\n')}` +
        `${problems.length > 40 ? '\n…' : ''}${context ? `\n--- the processes said:\n${context}` : ''}`,
    );
}

/** The two processes and the load on them, over one database. */
class Rig {
  readonly members: Member[];
  readonly entries: EntrySource;
  readonly clients: Clients;
  readonly watch = new CheckpointWatch();
  readonly problems: string[] = [];
  readonly dir: string;
  /** A superuser client on the log's database, to read what the processes stored. */
  readonly database: () => Promise<pg.Client>;

  constructor(members: Member[], dir: string, database: () => Promise<pg.Client>) {
    this.members = members;
    this.dir = dir;
    this.database = database;
    this.entries = new EntrySource(`failover ${dir} ${SEED}`);
    this.clients = new Clients(this.entries, members, seededRandom(SEED ^ 0x5eed));
  }

  static async create(dir: string, server: PostgresServer, database: string): Promise<Rig> {
    await mkdir(dir, { recursive: true });
    await makeLogKey(join(dir, 'log'));
    const passfile = join(dir, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:*:airlock:${server.password}\n`, { mode: 0o600 });
    const url = server.url.replace(/\/[^/]*$/, `/${database}`);
    const members = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const args = ['log', 'serve', '--storage', url, '--data', join(dir, `data-${name}`)];
        args.push('--key', join(dir, 'log.key'), '--origin', ORIGIN);
        return new Member(name, await freePort(), args, { PGPASSFILE: passfile });
      }),
    );
    return new Rig(members, dir, () => server.admin(database));
  }

  /** A process that exited though nobody killed it fails the test with what it said. */
  assertRunning(when: string): void {
    const gone = this.members.filter((m) => m.exited);
    if (gone.length > 0) assert.fail(`${when}, log serve exited by itself (seed ${SEED}):\n${this.said()}`);
  }

  said(): string {
    return this.members.flatMap((m) => [...m.history.slice(-3), m.said()]).join('\n');
  }

  /** Starts a first, then b once a sequences (so b starts as the standby), then the load. */
  async start(): Promise<void> {
    const [a, b] = this.members as [Member, Member];
    a.start();
    if ((await a.healthy(30_000)) === undefined) assert.fail(`the first log serve did not start:\n${a.said()}`);
    if ((await sequencerOf([a], this.problems, 30_000)) === undefined)
      assert.fail(`the first log serve did not sequence:\n${a.said()}`);
    b.start();
    if ((await b.healthy(30_000)) === undefined) assert.fail(`the second log serve did not start:\n${b.said()}`);
    this.watch.start(this.members);
    this.clients.start();
  }

  /** Waits for an acknowledgement after `t` (the standby took over, or the server came back); fails past the bound. */
  async acknowledgedAfter(t: number, killedPort: number | undefined, what: string): Promise<FailoverAck> {
    const first = await until(() => this.clients.firstAfter(t, killedPort), TAKEOVER_BOUND_MS);
    return first ?? assert.fail(`no append acknowledged within ${TAKEOVER_BOUND_MS} ms ${what}:\n${this.said()}`);
  }

  /** Stops the load and checks the final log, as read over HTTP, against everything recorded. */
  async check(): Promise<{ final: Checkpoint; notes: number }> {
    await this.clients.stop(TAKEOVER_BOUND_MS);
    await this.watch.stop();
    this.assertRunning('at the end');
    const sequencer = await sequencerOf(this.members, this.problems, TAKEOVER_BOUND_MS);
    if (!sequencer) return assert.fail(`no process sequences at the end:\n${this.said()}`);
    const finalNote = (await getOk(`${sequencer.url}/checkpoint`))?.toString('utf8') ?? assert.fail('no checkpoint');
    const final = parseCheckpoint(parseNote(finalNote).text);
    const logged = await readEntries(sequencer.url, final.size);
    const tiles = await readTiles(sequencer.url, final.size);
    await this.#standbyReadsAgree(sequencer, final, logged, tiles);
    const open = checkpointOpener(ORIGIN, createPublicKey(await readFile(join(this.dir, 'log.pub'))));
    const notes = new Set([
      ...this.clients.acks.map((a) => a.checkpoint),
      ...this.watch.notes,
      finalNote,
      ...(await this.#storedNotes()),
    ]);
    failOn(
      [...this.problems, ...this.watch.problems, ...this.clients.refusals, ...this.clients.bad503],
      'the processes answered wrongly',
      this.said(),
    );
    const observed = { acks: this.clients.acks, entries: this.entries, posted: this.clients.posted, notes, open };
    failOn(oracleProblems({ ...observed, final, logged, tiles }), 'the final log disagrees with what was seen');
    // The same oracle on this run's data, with two acknowledged entries swapped, must object.
    const swapped = [...logged];
    [swapped[0], swapped[1]] = [logged[1] as Buffer, logged[0] as Buffer];
    assert.ok(oracleProblems({ ...observed, final, logged: swapped, tiles }).length > 0, 'the oracle cannot fail');
    return { final, notes: notes.size };
  }

  /** The checkpoints the processes recorded as signed: in the database, and each one's last-signed file. */
  async #storedNotes(): Promise<string[]> {
    const db = await this.database();
    try {
      const rows = await db.query<{ note: string }>('SELECT note FROM checkpoints UNION SELECT checkpoint FROM state');
      const files = this.members.map((m) => readFile(join(this.dir, `data-${m.name}`, 'checkpoint'), 'utf8'));
      const kept = await Promise.all(files.map((f) => f.catch(() => '')));
      return [...rows.rows.map((r) => r.note), ...kept.filter((k) => k !== '')];
    } finally {
      await db.end();
    }
  }

  /** The sequencer epochs in the order taken, with when: each takeover raises the epoch by one. */
  async epochs(): Promise<Array<{ epoch: number; since: Date }>> {
    const db = await this.database();
    try {
      const rows = await db.query<{ epoch: string; since: Date }>(
        'SELECT epoch, since FROM sequencer_history ORDER BY epoch',
      );
      return rows.rows.map((r) => ({ epoch: Number(r.epoch), since: r.since }));
    } finally {
      await db.end();
    }
  }

  /** The standby serves the same entries and tiles once its checkpoint catches up. */
  async #standbyReadsAgree(
    sequencer: Member,
    final: Checkpoint,
    logged: readonly Buffer[],
    ours: ReadonlyMap<string, Tile>,
  ): Promise<void> {
    const standby = this.members.find((m) => m !== sequencer) as Member;
    const caughtUp = await until(async () => {
      const body = await getOk(`${standby.url}/checkpoint`);
      const size = body && parseCheckpoint(parseNote(body.toString('utf8')).text).size;
      return size !== undefined && size >= final.size ? size : undefined;
    }, 10_000);
    assert.ok(caughtUp !== undefined, `the standby's checkpoint never reached size ${final.size}`);
    const theirs = await readEntries(standby.url, final.size);
    assert.ok(
      theirs.length === logged.length && theirs.every((e, i) => e.equals(logged[i] as Buffer)),
      'the standby serves other entries than the sequencer',
    );
    const tiles = await readTiles(standby.url, final.size);
    for (const [key, tile] of tiles) assert.ok(tile.hashes().equals(ours.get(key)?.hashes() ?? Buffer.alloc(0)), key);
  }

  async close(): Promise<void> {
    await this.clients.stop(0);
    await this.watch.stop();
    for (const m of this.members) await m.kill();
  }
}

interface Takeover {
  readonly kill: number;
  readonly killed: string;
  /** Last acknowledgement before the kill → first after it. */
  readonly ms: number;
  readonly restartedAs: Role | undefined;
}

const missing = postgresAvailable();

describe('log failover: two log serve processes on one PostgreSQL database', { skip: missing }, () => {
  const server = usePostgres();
  const dir = useTempDir('airlock-log-failover-');

  it(
    `the sequencer SIGKILLed ${KILLS} times under 16 clients loses no acknowledged append and forks no checkpoint`,
    {
      timeout: 120_000,
    },
    async (t) => {
      console.log(`log failover test: seed ${SEED} (replay with AIRLOCK_FAILOVER_SEED=${SEED})`);
      const random = seededRandom(SEED);
      const rig = await Rig.create(join(dir, 'kill-log'), server, 'airlock');
      const takeovers: Takeover[] = [];
      try {
        await rig.start();
        for (let kill = 1; kill <= KILLS; kill++) {
          await sleep(300 + random() * 1200);
          rig.assertRunning(`before kill ${kill}`);
          const sequencer = await sequencerOf(rig.members, rig.problems, TAKEOVER_BOUND_MS);
          if (!sequencer) return assert.fail(`kill ${kill}: no process sequences (seed ${SEED}):\n${rig.said()}`);
          const killedAt = performance.now();
          await sequencer.kill();
          sequencer.start();
          const first = await rig.acknowledgedAfter(killedAt, sequencer.port, `after kill ${kill} (seed ${SEED})`);
          const last = rig.clients.lastBefore(killedAt);
          const taker = rig.members.find((m) => m.port === first.port) as Member;
          if (!taker.messages().includes('sequencing'))
            rig.problems.push(`kill ${kill}: ${taker.name} acknowledged appends without logging 'sequencing'`);
          const restarted = await sequencer.healthy(TAKEOVER_BOUND_MS);
          if (!restarted) assert.fail(`kill ${kill}: ${sequencer.name} did not restart:\n${sequencer.said()}`);
          takeovers.push({
            kill,
            killed: sequencer.name,
            ms: first.at - (last?.at ?? killedAt),
            restartedAs: restarted.role,
          });
        }
        const { final, notes } = await rig.check();
        assert.ok(takeovers.length >= 10, 'at least 10 kills of the sequencer');
        // Each process that takes over sequences under a new epoch, taken after the one before.
        const epochs = await rig.epochs();
        assert.ok(
          epochs.every((e, i) => i === 0 || e.since >= (epochs[i - 1]?.since as Date)),
          `epochs taken out of order: ${JSON.stringify(epochs)}`,
        );
        if (epochs.length > 0)
          assert.ok(epochs.length > takeovers.length, `${takeovers.length} takeovers, ${epochs.length} epochs`);
        assert.ok(rig.clients.acks.length >= 300, `only ${rig.clients.acks.length} appends acknowledged`);
        const ms = takeovers.map((k) => k.ms).sort((a, b) => a - b);
        const report =
          `log failover (seed ${SEED}): ${takeovers.length} kills of the sequencer; takeover (last acknowledged ` +
          `append before the kill → first after) p50 ${percentile(ms, 0.5).toFixed(0)} ms, max ` +
          `${(ms.at(-1) ?? NaN).toFixed(0)} ms (all: ${ms.map((m) => m.toFixed(0)).join(' ')}); ` +
          `${rig.clients.acks.length} appends acknowledged ` +
          `(${rig.clients.acks.filter((a) => a.status === 409).length} as 409 duplicates of an unanswered try), ` +
          `final size ${final.size}; ${notes} distinct checkpoints checked; 503s ` +
          `${JSON.stringify(Object.fromEntries(rig.clients.unavailable))}, ${rig.clients.connectionFailures} ` +
          `connection failures; ${epochs.length} sequencer epochs; restarted as ` +
          takeovers.map((k) => k.restartedAs).join(',');
        console.log(report);
        t.diagnostic(report);
      } finally {
        await rig.close();
      }
    },
  );

  it(
    `PostgreSQL SIGKILLed ${POSTGRES_KILLS} times under the same load, then restarted, loses no acknowledged append`,
    {
      timeout: 120_000,
    },
    async (t) => {
      console.log(`log failover test (PostgreSQL kills): seed ${SEED} (replay with AIRLOCK_FAILOVER_SEED=${SEED})`);
      const random = seededRandom(SEED ^ 0xdb);
      const admin = await server.admin();
      await admin.query('CREATE DATABASE airlock_pgkill OWNER airlock');
      await admin.end();
      const rig = await Rig.create(join(dir, 'kill-postgres'), server, 'airlock_pgkill');
      const outages: string[] = [];
      let restartedLogs = 0;
      try {
        await rig.start();
        for (let kill = 1; kill <= POSTGRES_KILLS; kill++) {
          await sleep(500 + random() * 1500);
          const killedAt = performance.now();
          await server.kill();
          await sleep(random() * 1000);
          await server.restart();
          const readyAt = performance.now();
          // A log serve that exits when its database goes is restarted, as its supervisor would; counted.
          for (const m of rig.members)
            if (m.exited) {
              // Not a failure (a supervisor restarts it), but worth reading in the output.
              console.log(`log serve exited when PostgreSQL was killed (seed ${SEED}):\n${m.said()}`);
              restartedLogs++;
              m.start();
            }
          const first = await rig.acknowledgedAfter(
            killedAt,
            undefined,
            `after PostgreSQL kill ${kill} (seed ${SEED})`,
          );
          const last = rig.clients.lastBefore(killedAt)?.at ?? killedAt;
          outages.push(`${(first.at - last).toFixed(0)} ms (${(first.at - readyAt).toFixed(0)} ms after it was up)`);
        }
        const { final, notes } = await rig.check();
        const report =
          `log failover, PostgreSQL SIGKILLed (seed ${SEED}): ${POSTGRES_KILLS} kills; appends resumed after ` +
          `${outages.join(', ')} (last acknowledgement before the kill → first after the restart); ` +
          `${rig.clients.acks.length} acknowledged, final size ${final.size}, ${notes} checkpoints checked; ` +
          `log serve processes that exited and were restarted: ${restartedLogs}`;
        console.log(report);
        t.diagnostic(report);
      } finally {
        await rig.close();
      }
    },
  );
});

describe('the failover oracle (negative control)', () => {
  /** A small log made here, with its checkpoints signed by a key made here. */
  async function sample() {
    const entries = new EntrySource('negative control');
    const body = (id: number) =>
      Buffer.from(
        JSON.stringify({ spec: { hashedRekordV002: { data: { digest: entries.digest(id).toString('base64') } } } }),
      );
    const logged = Array.from({ length: 300 }, (_, i) => body(i));
    const tree = memoryTree(logged);
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = checkpointSignerFor(ORIGIN, createKeyObjectSigner(privateKey, 'ed25519', 'test'));
    const sign = async (size: number, root?: Buffer) =>
      signer.sign(size, root ?? (prefixRoots(logged, new Set([size])).get(size) as Buffer));
    const acks: Ack[] = [];
    // Acknowledged in batches of 50, each batch with the checkpoint that first covers it.
    const notes = new Map<number, string>();
    for (let size = 50; size <= 300; size += 50) notes.set(size, await sign(size));
    for (let i = 0; i < 300; i++) {
      const treeSize = Math.ceil((i + 1) / 50) * 50;
      const checkpoint = notes.get(treeSize) as string;
      const proof = inclusionProof(i, treeSize, tree).map((h) => Buffer.from(h));
      acks.push({
        id: i,
        status: 201,
        index: i,
        indexHeader: null,
        body: logged[i] as Buffer,
        checkpoint,
        treeSize,
        proof,
        retry: false,
        round: 0,
      });
    }
    const finalNote = notes.get(300) as string;
    const tiles = new Map<string, Tile>();
    tiles.set('0/0', Tile.fromHashes(0, 0, Buffer.concat(logged.slice(0, 256).map((e) => leafHash(e)))));
    tiles.set('0/1', Tile.fromHashes(0, 1, Buffer.concat(logged.slice(256).map((e) => leafHash(e)))));
    tiles.set('1/0', Tile.fromHashes(1, 0, Buffer.from(tree(8, 0))));
    const observed: Observed = {
      acks,
      entries,
      posted: 300,
      notes: [...acks.map((a) => a.checkpoint), finalNote],
      open: signer.open,
      final: parseCheckpoint(parseNote(finalNote).text),
      logged,
      tiles,
    };
    return { observed, sign, logged };
  }

  it('passes a log that holds what was acknowledged', async () => {
    const { observed } = await sample();
    assert.deepEqual(oracleProblems(observed), []);
  });

  it('rejects a signed checkpoint with a forged root, and two roots at one size', async () => {
    const { observed, sign } = await sample();
    const forged = await sign(200, createHash('sha256').update('forged').digest());
    const problems = oracleProblems({ ...observed, notes: [...observed.notes, forged] });
    assert.ok(problems.some((p) => /size 200 has a root the first 200 final entries do not make/.test(p)));
    const fork = await sign(150, createHash('sha256').update('fork').digest());
    const both = oracleProblems({ ...observed, notes: [...observed.notes, fork] });
    assert.ok(
      both.some((p) => /two checkpoints of size 150 with different roots/.test(p)),
      both.join('\n'),
    );
  });

  it('rejects a checkpoint signed by another key', async () => {
    const { observed } = await sample();
    const other = checkpointSignerFor(
      ORIGIN,
      createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'other'),
    );
    const note = await other.sign(observed.final.size, Buffer.from(observed.final.rootHash));
    const problems = oracleProblems({ ...observed, notes: [...observed.notes, note] });
    assert.ok(
      problems.some((p) => /does not verify with the log key/.test(p)),
      problems.join('\n'),
    );
  });

  it('rejects a final log missing an acknowledged entry, or holding it elsewhere', async () => {
    const { observed, logged } = await sample();
    const swapped: Buffer[] = [...logged];
    [swapped[100], swapped[101]] = [swapped[101] as Buffer, swapped[100] as Buffer];
    const problems = oracleProblems({ ...observed, logged: swapped });
    assert.ok(
      problems.some((p) => /entry 100 .* lost, index 100 holds entry 101/.test(p)),
      problems.join('\n'),
    );
    const short = oracleProblems({ ...observed, logged: logged.slice(0, 257) });
    assert.ok(
      short.some((p) => /entry 257 .* lost, the log ends at 257/.test(p)),
      short.join('\n'),
    );
  });
});
