// Acceptance "Crash test": under a concurrent write load, `airlock log serve` is killed with SIGKILL at
// random moments (at least 20 times) and restarted on the same data; every acknowledged entry must
// still be there with the same index, no entry may sit at two indices, and every checkpoint the log
// ever returned must verify and be consistent with the final tree. A few kills are aimed at start-up
// instead (WAL recovery, the last-signed checkpoint write). A restart that refuses (E_LOG_CORRUPT,
// E_LOG_ROLLBACK) fails the test with the log's stderr: it is the log not recovering from a crash.
//
// The schedule (kill moments, which unacknowledged entries are retried) comes from a seeded PRNG; the
// seed is printed, and AIRLOCK_CRASH_SEED=<seed> replays the schedule (not the exact interleaving of
// requests and batches, which the OS decides).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { checkpointOpener } from '../../src/log/checkpoint-signer.ts';
import { parseNote } from '../../src/log/note.ts';
import { decodeEntryBundle, entriesPath, TILE_WIDTH } from '../../src/log/tiles.ts';
import { ackProblems, checkpointProblems, finalLogProblems, memoryTree } from '../helpers/log-audit.ts';
import { type SpawnedLog, spawnLog, makeLogKey, type TestLog } from '../helpers/log-server.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { EntrySource, WriteLoad } from '../helpers/write-load.ts';

const SEED = testSeed('AIRLOCK_CRASH_SEED');
const LOAD_KILLS = 22;
const STARTUP_KILLS = 4;
// Enough writers that the engine always has a batch committing and the next one queued: a kill then
// lands inside a batch's transaction, between its commit and the answers, or among queued appends.
const WRITERS = 24;

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Once the child's pipes are closed, all it wrote to stderr has been read. */
function closed(child: ChildProcess): Promise<void> {
  return child.stderr?.closed ? Promise.resolve() : new Promise((resolve) => child.once('close', () => resolve()));
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  for (const deadline = performance.now() + ms; !condition() && performance.now() < deadline;) await sleep(10);
}

function failOn(problems: readonly string[], what: string): void {
  if (problems.length > 0)
    assert.fail(
      `${what} (seed ${SEED}), ${problems.length} ` +
        `problem(s):\n${problems.slice(0, 40).join('\n')}${problems.length > 40 ? '\n…' : ''}`,
    );
}

async function readFinalEntries(url: string, size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const res = await fetch(`${url}/${entriesPath(bundle, Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH))}`);
    assert.equal(res.status, 200, `entry bundle ${bundle}`);
    out.push(...decodeEntryBundle(Buffer.from(await res.arrayBuffer())));
  }
  return out;
}

it(
  'a log killed with SIGKILL under write load, again and again, keeps every acknowledged entry and checkpoint',
  { timeout: 300_000 },
  async (t) => {
    console.log(`log crash test: seed ${SEED} (replay with AIRLOCK_CRASH_SEED=${SEED})`);
    const random = seededRandom(SEED);
    const dir = await mkdtemp(join(tmpdir(), 'airlock-log-crash-'));
    const data = join(dir, 'data');
    const key = join(dir, 'log.key');
    const entries = new EntrySource(`crash ${SEED}`);
    const load = new WriteLoad(entries, random, { writers: WRITERS, retryShare: 0.2 });
    // The last-signed checkpoint kept beside the database: signed by the log, so it must fit the final tree too.
    const kept = new Set<string>();
    const keep = async () => kept.add(await readFile(join(data, 'checkpoint'), 'utf8').catch(() => ''));
    const stats = { startMs: [] as number[], inFlightAtKill: [] as number[], startupKillsAfterServing: 0 };
    const spawned: SpawnedLog[] = [];
    const spawn = () => {
      const log = spawnLog(data, key);
      spawned.push(log);
      return log;
    };

    const restart = async (label: string): Promise<TestLog> => {
      const child = spawn();
      const started = performance.now();
      const log = await child.ready.catch(async () => {
        await closed(child.child);
        return assert.fail(`the log did not restart ${label} (seed ${SEED}):\n${child.stderr()}`);
      });
      stats.startMs.push(performance.now() - started);
      // Caught here, at the restart that shows it, rather than only as lost entries at the end.
      const size = Number(log.lines().find((l) => l.msg === 'serving')?.size);
      const seen = Math.max(
        0,
        ...load.acks.map((a) => a.treeSize),
        ...[...load.polledCheckpoints].map((c) => parseCheckpoint(parseNote(c).text).size),
      );
      if (!(size >= seen)) {
        const lost = load.acks.filter((a) => a.index >= size).length;
        assert.fail(
          `the log restarted ${label} at size ${size}, but had returned a checkpoint of size ` +
            `${seen}: ${lost} acknowledged entries are gone (seed ${SEED})`,
        );
      }
      return log;
    };

    const killUnderLoad = async (round: number) => {
      const log = await restart(`after kill ${round}`);
      load.up(log.url);
      const acked = load.acks.length;
      await until(() => load.acks.length > acked, 10_000);
      await sleep(random() * 800);
      load.down();
      stats.inFlightAtKill.push(load.inFlight);
      await log.kill();
    };

    const killDuringStartup = async (round: number) => {
      const child = spawn();
      let served = false;
      void child.ready.then(
        () => (served = true),
        () => undefined,
      );
      const typical = stats.startMs.length > 0 ? stats.startMs.reduce((a, b) => a + b) / stats.startMs.length : 800;
      await sleep(random() * typical);
      await child.kill();
      if (child.child.signalCode !== 'SIGKILL') {
        await closed(child.child);
        assert.fail(`the log exited by itself while starting up in round ${round} (seed ${SEED}):\n${child.stderr()}`);
      }
      if (served) stats.startupKillsAfterServing++;
    };

    try {
      await makeLogKey(join(dir, 'log'));
      load.start();
      const schedule = shuffled(
        [...Array<'load'>(LOAD_KILLS).fill('load'), ...Array<'startup'>(STARTUP_KILLS).fill('startup')],
        random,
      );
      for (const [round, kind] of schedule.entries()) {
        load.round = round;
        await (kind === 'load' ? killUnderLoad(round) : killDuringStartup(round));
        await keep();
      }
      assert.ok(stats.inFlightAtKill.length >= 20, 'at least 20 kills under load');

      load.round = schedule.length;
      const log = await restart('after the last kill');
      load.up(log.url);
      const acked = load.acks.length;
      await until(() => load.acks.length > acked, 10_000);
      await load.stop();
      // A client that never got an answer sends again: each must now be acknowledged (201, or 409 if
      // the first try was logged), and the audit below checks where.
      assert.deepEqual(
        await load.retryUnacked(log.url),
        [],
        `entries the restarted log would not acknowledge (seed ${SEED})`,
      );
      const finalNote = await (await fetch(`${log.url}/checkpoint`)).text();
      const final = parseCheckpoint(parseNote(finalNote).text);
      const logged = await readFinalEntries(log.url, final.size);
      assert.equal(await log.stop(), 0, `clean stop: ${spawned.at(-1)?.stderr()}`);
      await keep();
      const again = await restart('after a clean stop');
      assert.equal(Number(again.lines().find((l) => l.msg === 'serving')?.size), final.size);
      assert.equal(await again.stop(), 0);

      failOn(
        load.refusals.map((r) => `entry ${r.id} in round ${r.round}: HTTP ${r.status} ${r.text}`),
        'the log answered requests with neither 201 nor 409',
      );
      failOn(ackProblems(load.acks, entries), 'acknowledgements disagree with each other or with their checkpoints');
      failOn(finalLogProblems(logged, load.acks, entries), 'the final log lost or duplicated acknowledged entries');
      const open = checkpointOpener(log.origin, createPublicKey(await readFile(log.publicKeyPath)));
      const checkpoints = new Set([
        ...load.acks.map((a) => a.checkpoint),
        ...load.polledCheckpoints,
        ...kept,
        finalNote,
      ]);
      checkpoints.delete('');
      failOn(
        checkpointProblems(checkpoints, open, final, memoryTree(logged)),
        'checkpoints the log returned are not all consistent with the final tree',
      );
      // Every entry ever posted has been acknowledged by now, so the log holds exactly those.
      assert.equal(logged.length, load.posted);

      const retried = load.acks.filter((a) => a.retry);
      const inFlight = [...stats.inFlightAtKill].sort((a, b) => a - b);
      t.diagnostic(
        `seed ${SEED}; ${stats.inFlightAtKill.length} kills under load (requests in flight: min ` +
          `${inFlight[0]}, median ${inFlight[inFlight.length >> 1]}), ` +
          `${STARTUP_KILLS} during start-up (${stats.startupKillsAfterServing} of them after it served)`,
      );
      t.diagnostic(
        `${load.posted} entries, final size ${final.size}; ${load.acks.length} acknowledgements; ` +
          `${retried.length} retries of unacknowledged entries: ` +
          (`${retried.filter((a) => a.status === 409).length} had been logged unacknowledged ` +
            `(killed between commit and answer), ${retried.filter((a) => a.status === 201).length} ` +
            `had not (killed before their batch committed); ${checkpoints.size} distinct ` +
            `checkpoints checked`),
      );
    } finally {
      await load.stop();
      for (const child of spawned)
        if (child.child.exitCode === null && child.child.signalCode === null) await child.kill();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
