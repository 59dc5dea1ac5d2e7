// Faults 3 and 5 of design/notes/tlog-postgres-failover.md §7, between `log serve` processes and PostgreSQL:
// each process reaches the database through a TCP proxy written here, which can hold every byte in both
// directions while keeping the sockets open (a partition; what it held is delivered on healing, as TCP
// retransmission would, and a side that closed meanwhile resets the other), and can lose the server's reply
// to one COMMIT (the commit lands, the client's connection dies before it hears so).
// 1. The sequencer is partitioned from the database: the server ends its idle session, the standby takes
//    over, the partitioned process stands down and acknowledges nothing more; healed, it follows.
// 2. The reply to an append's COMMIT is lost: no acknowledgement, and the retry gets the original index.
// Each ends with an oracle over the final tree (read over HTTP, hashed here): every acknowledgement at its
// index, every entry once, every checkpoint seen or stored consistent with the final one. The moment of the
// partition is drawn from a seeded PRNG; AIRLOCK_PARTITION_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointOpener } from '../../src/log/checkpoint-signer.ts';
import { type Checkpoint, parseCheckpoint } from '../../src/log/checkpoint.ts';
import { parseNote } from '../../src/log/note.ts';
import { decodeEntryBundle, entriesPath, TILE_WIDTH } from '../../src/log/tiles.ts';
import { ackProblems, checkpointProblems, finalLogProblems, memoryTree } from '../helpers/log-audit.ts';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { type Ack, ackOf, EntrySource } from '../helpers/write-load.ts';

const SEED = testSeed('AIRLOCK_PARTITION_SEED');
const BOUND_MS = 30_000;
const ORIGIN = '127.0.0.1';
/** The simple-protocol Query message of a COMMIT ends so ("READ COMMITTED;" in a BEGIN does not). */
const COMMIT = Buffer.from('COMMIT\0');
/** The first message of a write transaction (postgres-storage.ts OPEN_WRITE). */
const BEGIN = Buffer.from('BEGIN ISOLATION LEVEL READ COMMITTED');

/**
 * Where in an append's write transaction a partition can come: before its first message reaches the server,
 * after the transaction took the write lock (at its next message), or with everything but the COMMIT sent.
 */
type Point = 'begin' | 'inside' | 'commit';
const POINTS: readonly Point[] = ['begin', 'inside', 'commit'];

/** One client connection through the proxy and its upstream one, with what a partition holds back. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly toServer: Buffer[];
  readonly toClient: Buffer[];
  closed: boolean;
  /** A COMMIT went up: the server's next reply is lost and the client's connection dies. */
  losing: boolean;
  /** A write transaction began on it and has not sent its COMMIT yet. */
  writing: boolean;
}

class Proxy {
  readonly #server: Server;
  readonly #target: number;
  readonly #links = new Set<Link>();
  #held = false;
  #armed = false;
  #blackholeAt: Point | undefined;
  /** When (performance.now()) the latest partition began. */
  heldAt: number | undefined;
  /** COMMIT replies lost so far. */
  lost = 0;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.#target = target;
  }

  static async start(target: number): Promise<Proxy> {
    const server = createServer();
    const proxy = new Proxy(server, target);
    server.on('connection', (client) => proxy.#link(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Forwards nothing either way from now on; the sockets stay open. */
  blackhole(): void {
    this.#held = true;
    this.heldAt = performance.now();
  }

  /** Forwards nothing from the next write transaction's `point` on (that message held, not sent). */
  blackholeAtNext(point: Point): void {
    this.#blackholeAt = point;
  }

  /** Delivers what was held; a link whose one side closed meanwhile loses the other too. */
  resume(): void {
    this.#held = false;
    for (const link of this.#links) {
      for (const chunk of link.toServer.splice(0)) this.#up(link, chunk);
      for (const chunk of link.toClient.splice(0)) this.#down(link, chunk);
      if (link.closed) this.#drop(link);
    }
  }

  /** The server's reply to the next COMMIT any client sends is lost. */
  loseNextCommitReply(): void {
    this.#armed = true;
  }

  async close(): Promise<void> {
    for (const link of this.#links) this.#drop(link);
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #link(client: Socket): void {
    const upstream = connect(this.#target, '127.0.0.1');
    const link: Link = { client, upstream, toServer: [], toClient: [], closed: false, losing: false, writing: false };
    this.#links.add(link);
    client.on('data', (chunk: Buffer) => (this.#held ? link.toServer.push(chunk) : this.#up(link, chunk)));
    upstream.on('data', (chunk: Buffer) => (this.#held ? link.toClient.push(chunk) : this.#down(link, chunk)));
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        link.closed = true;
        if (!this.#held) this.#drop(link);
      });
    }
  }

  #up(link: Link, chunk: Buffer): void {
    if (this.#blackholeAt !== undefined && this.#isAt(link, chunk, this.#blackholeAt)) {
      this.#blackholeAt = undefined;
      this.blackhole();
      link.toServer.push(chunk);
      return;
    }
    if (chunk.includes(BEGIN)) link.writing = true;
    if (chunk.includes(COMMIT)) link.writing = false;
    if (this.#armed && chunk.includes(COMMIT)) {
      this.#armed = false;
      link.losing = true;
    }
    link.upstream.write(chunk);
  }

  #isAt(link: Link, chunk: Buffer, point: Point): boolean {
    if (point === 'begin') return chunk.includes(BEGIN);
    if (point === 'commit') return link.writing && chunk.includes(COMMIT);
    return link.writing;
  }

  #down(link: Link, chunk: Buffer): void {
    if (!link.losing) {
      link.client.write(chunk);
      return;
    }
    this.lost++;
    this.#drop(link);
  }

  #drop(link: Link): void {
    link.client.destroy();
    link.upstream.destroy();
    this.#links.delete(link);
  }
}

/** An answer to a POST, when it came, and from whom. */
interface Answer {
  readonly id: number;
  readonly from: string;
  readonly status: number;
  readonly at: number;
  readonly text: string;
}

const missing = postgresAvailable();

describe('log serve on PostgreSQL behind a faulty network', { skip: missing, timeout: 120_000 }, () => {
  const server = usePostgres();
  const dir = useTempDir('airlock-log-partition-');
  /** The append in flight when the partition came, and its answer once healed. */
  let stranded: { point: Point; answer: Answer } | undefined;

  /** A database, a key, and `serve(name)`: a log serve process reaching the database through a proxy of its own. */
  async function rigOn(database: string) {
    const home = join(dir, database);
    await mkdir(home);
    await makeLogKey(join(home, 'log'));
    const db = await server.admin();
    await db.query(`CREATE DATABASE ${database} OWNER airlock`);
    await db.end();
    const entries = new EntrySource(database);
    const acks: Ack[] = [];
    const answers: Answer[] = [];
    const notes = new Set<string>();
    const serve = async (name: string) => {
      const proxy = await Proxy.start(server.port);
      after(() => proxy.close());
      // The password file names the proxy's host:port, which is what the process connects to.
      const passfile = join(home, `pgpass-${name}`);
      const line = `127.0.0.1:${proxy.port}:${database}:airlock:${server.password}\n`;
      await writeFile(passfile, line, { mode: 0o600 });
      const url = server.url.replace(/:\d+\/airlock$/, `:${proxy.port}/${database}`);
      assert.notEqual(url, server.url);
      const args = ['log', 'serve', '--key', join(home, 'log.key'), '--origin', ORIGIN, '--listen', '127.0.0.1:0'];
      const log = await spawnServer([...args, '--data', join(home, name), '--storage', url], { PGPASSFILE: passfile })
        .ready;
      after(() => log.kill());
      return { name, log, proxy, url: log.url };
    };
    type Member = Awaited<ReturnType<typeof serve>>;
    /** POSTs entry `id` to `m`, records the answer, and an acknowledgement (201/409) for the oracle. */
    const post = async (m: Member, id: number, retry = false): Promise<Answer> => {
      let answer: Answer;
      try {
        const res = await fetch(`${m.url}/api/v2/log/entries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: entries.request(id),
          signal: AbortSignal.timeout(BOUND_MS),
        });
        answer = { id, from: m.name, status: res.status, at: performance.now(), text: await res.text() };
        const { status, text } = answer;
        if (status === 201 || status === 409)
          acks.push(ackOf(id, { status, indexHeader: res.headers.get('x-log-index'), text }, { retry, round: 0 }));
      } catch (err) {
        answer = { id, from: m.name, status: 0, at: performance.now(), text: (err as Error).message };
      }
      answers.push(answer);
      return answer;
    };
    /** Polls each member's /checkpoint every 100 ms: every note any of them served. */
    const watch = (members: Member[]) => {
      const timer = setInterval(() => {
        for (const m of members)
          void fetch(`${m.url}/checkpoint`, { signal: AbortSignal.timeout(1000) })
            .then(async (r) => (r.status === 200 ? notes.add(await r.text()) : undefined))
            .catch(() => undefined);
      }, 100);
      after(() => clearInterval(timer));
      return () => clearInterval(timer);
    };
    /** Every note stored as signed, and the state's. */
    const storedNotes = async () => {
      const client = await server.admin(database);
      try {
        const rows = await client.query<{ note: string }>(
          'SELECT note FROM checkpoints UNION SELECT checkpoint FROM state',
        );
        return rows.rows.map((r) => r.note);
      } finally {
        await client.end();
      }
    };
    /** The oracle over the final tree `at` serves; `ids` every entry posted, each of which must be in it once. */
    const check = async (at: Member, others: Member[], ids: number[]) => {
      const finalNote = await (await fetch(`${at.url}/checkpoint`)).text();
      const final = parseCheckpoint(parseNote(finalNote).text);
      const logged = await readEntries(at.url, final.size);
      for (const other of others) {
        assert.equal(
          await until(
            () => sizeAt(other.url),
            (n) => n >= final.size,
          ),
          final.size,
          `${other.name} follows`,
        );
        assert.deepEqual(await readEntries(other.url, final.size), logged, `${other.name} serves the same entries`);
      }
      const open = checkpointOpener(ORIGIN, createPublicKey(await readFile(join(home, 'log.pub'))));
      const seen = [...acks.map((a) => a.checkpoint), ...notes, finalNote, ...(await storedNotes())];
      const problems = (log: Buffer[]) => [
        ...ackProblems(acks, entries),
        ...finalLogProblems(log, acks, entries),
        ...checkpointProblems(seen, open, final, memoryTree(log)),
        ...sameSizeProblems(seen),
        ...(log.length === ids.length ? [] : [`${ids.length} entries posted, ${log.length} in the final log`]),
        ...ids.filter((id) => !log.some((e) => entries.idOf(e) === id)).map((id) => `entry ${id} is not in the log`),
      ];
      const found = problems(logged);
      assert.deepEqual(found, [], `the final log disagrees with what was seen (seed ${SEED})`);
      // The same oracle must object to this run's log with two entries swapped.
      const swapped = [...logged];
      [swapped[0], swapped[1]] = [logged[1] as Buffer, logged[0] as Buffer];
      assert.ok(problems(swapped).length > 0, 'the oracle can fail');
      // And to a checkpoint of the final size with another root (its signature then fails too).
      const lines = finalNote.split('\n');
      lines[2] = Buffer.alloc(32, 7).toString('base64');
      const forged = lines.join('\n');
      assert.ok(sameSizeProblems([finalNote, forged]).length > 0, 'a fork at one size is seen');
      assert.ok(checkpointProblems([forged], open, final, memoryTree(logged)).length > 0, 'a forged root is seen');
      return { final, checkpoints: new Set(seen).size };
    };
    return { serve, post, watch, check, acks, answers };
  }

  it('a partitioned sequencer loses the lock, acknowledges nothing more, and follows once healed', async () => {
    const random = seededRandom(SEED);
    // Inside the transaction, the partitioned process holds the write lock on the log's state until the server
    // ends the transaction (idle_in_transaction_session_timeout).
    const point = POINTS[Math.floor(random() * POINTS.length)] as Point;
    console.log(`# partition seed ${SEED} (AIRLOCK_PARTITION_SEED): the partition comes at the append's ${point}`);
    const { serve, post, watch, check, answers } = await rigOn('partition');
    const a = await serve('a');
    const b = await serve('b');
    assert.deepEqual([await role(a.url), await role(b.url)], ['sequencer', 'standby']);
    const stopWatch = watch([a, b]);
    for (let id = 0; id < 5; id++) assert.equal((await post(a, id)).status, 201);
    // Entry 5 is in flight (or not yet sent) when the partition comes.
    a.proxy.blackholeAtNext(point);
    const inFlight = post(a, 5);
    const partitioned = await until(
      async () => a.proxy.heldAt,
      (t) => t !== undefined,
    );
    assert.ok(partitioned !== undefined, `the append reached its ${point}`);
    // Watched from the partition on, beside the takeover: when the partitioned process says it stood down.
    const fencing = until(
      () => role(a.url),
      (r) => r === 'standby',
    ).then((r) => ({ role: r, ms: performance.now() - partitioned }));
    const taken = await until(
      () => post(b, 6),
      (r) => r.status !== 503,
    );
    assert.equal(taken.status, 201, taken.text);
    const takeoverMs = taken.at - partitioned;
    const fenced = await fencing;
    assert.equal(fenced.role, 'standby', 'the partitioned sequencer stands down');
    const fencedMs = fenced.ms;
    assert.notEqual((await post(a, 7)).status, 201, 'a partitioned standby acknowledges no append');
    for (const id of [8, 9]) assert.equal((await post(b, id)).status, 201);
    const healed = performance.now();
    a.proxy.resume();
    const late = await inFlight;
    stranded = { point, answer: late };
    assert.equal(await role(a.url), 'standby');
    const refused = await post(a, 10);
    assert.equal(refused.status, 503, refused.text);
    // Whatever was not acknowledged is sent again, to the sequencer, as a client would.
    for (const id of [5, 7, 10]) assert.ok([201, 409].includes((await post(b, id, true)).status));
    stopWatch();
    const fromA = answers.filter((x) => x.from === 'a' && x.at > partitioned && x.status >= 200 && x.status < 300);
    const whilePartitioned = fromA.filter((x) => x.at >= taken.at && x.at <= healed);
    assert.deepEqual(whilePartitioned, [], 'nothing acknowledged by the partitioned process after the takeover');
    const { final, checkpoints } = await check(b, [a], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const why = a.log.lines().find((l) => l.msg === 'standby' && l.level === 'warn')?.reason;
    console.log(
      `# partition: takeover (first append acknowledged by b after the partition) ${Math.round(takeoverMs)} ms; ` +
        `a said standby after ${Math.round(fencedMs)} ms ('${String(why)}'); the append in flight got ` +
        `${late.status} ${late.text.slice(0, 300)} ${Math.round(late.at - partitioned)} ms after the partition; ` +
        `final size ${final.size}, ${checkpoints} checkpoints checked`,
    );
  });

  it('the append stranded by the partition is refused as unavailable (503, retry), not as a log fault (500)', () => {
    assert.ok(stranded, 'the partition test ran');
    const { point, answer } = stranded;
    assert.ok(
      answer.status === 503 || answer.status === 201 || answer.status === 409,
      `partitioned at its ${point}, the append was answered ${answer.status} ${answer.text}`,
    );
  });

  it('an append whose COMMIT reply is lost is not acknowledged, and its retry gets its original index', async () => {
    const { serve, post, watch, check, acks } = await rigOn('lostreply');
    const a = await serve('a');
    const b = await serve('b');
    const stopWatch = watch([a, b]);
    assert.equal((await post(a, 0)).status, 201);
    a.proxy.loseNextCommitReply();
    const lost = await post(a, 1);
    assert.equal(a.proxy.lost, 1, 'the proxy saw the COMMIT and lost its reply');
    assert.ok(lost.status < 200 || lost.status >= 300, `not acknowledged: ${lost.status} ${lost.text}`);
    // The retry goes to whichever process sequences by then.
    const seq = async () => ((await role(a.url)) === 'sequencer' ? a : (await role(b.url)) === 'sequencer' ? b : a);
    const retried = await until(
      async () => post(await seq(), 1, true),
      (r) => r.status !== 503 && r.status !== 0,
    );
    assert.equal(retried.status, 409, `the commit landed, so the retry is a duplicate: ${retried.text}`);
    const first = acks.find((x) => x.id === 1);
    assert.equal(first?.index, 1, 'at its original index');
    assert.equal(first?.indexHeader, '1');
    assert.equal((await post(await seq(), 2)).status, 201);
    stopWatch();
    const sequencer = await seq();
    await check(sequencer, [sequencer === a ? b : a], [0, 1, 2]);
    console.log(
      `# lost COMMIT reply: the append was answered ${lost.status || lost.text}; its retry ${retried.status}`,
    );
  });
});

/** No two checkpoints of one size with different roots (those that do not parse are checkpointProblems'). */
function sameSizeProblems(notes: Iterable<string>): string[] {
  const roots = new Map<number, string>();
  const problems: string[] = [];
  for (const note of notes) {
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(parseNote(note).text);
    } catch {
      continue;
    }
    const root = Buffer.from(cp.rootHash).toString('hex');
    const before = roots.get(cp.size);
    if (before !== undefined && before !== root)
      problems.push(`two checkpoints of size ${cp.size} with different roots`);
    roots.set(cp.size, root);
  }
  return problems;
}

async function readEntries(url: string, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const width = Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH);
    const res = await fetch(`${url}/${entriesPath(bundle, width)}`);
    assert.equal(res.status, 200, `${url} serves entry bundle ${bundle} of width ${width}`);
    out.push(...decodeEntryBundle(Buffer.from(await res.arrayBuffer())));
  }
  return out;
}

const role = async (url: string) => {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { role: string }).role;
  } catch {
    return 'silent';
  }
};
const sizeAt = async (url: string) => Number((await (await fetch(`${url}/checkpoint`)).text()).split('\n')[1]);

/** Retries `attempt` every 50 ms until `done` says so or BOUND_MS passed; the last answer. */
async function until<T>(attempt: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = performance.now() + BOUND_MS;
  let value = await attempt();
  while (!done(value) && performance.now() < deadline) {
    await sleep(50);
    value = await attempt();
  }
  return value;
}
