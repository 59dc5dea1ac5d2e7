// The witness's HTTP API (C2SP tlog-witness) and the log's side of witnessing against it: real
// witness servers on loopback and a real log engine for the proofs. Discovery by 409, quorum with a
// witness down, keys the policy does not name, a witness ahead of the log, the cache for an unchanged
// checkpoint; and the server's statuses, content types and monitoring path.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { createWitnessHandler } from './witness-server.ts';
import { checkpointSignerFor } from '../log/checkpoint-signer.ts';
import { CheckpointWitness } from '../log/checkpoint-witness.ts';
import { cosignCheckpoint, encodeCosignerKey } from '../log/cosignature.ts';
import { LogEngine } from '../log/engine.ts';
import { parseNote } from '../log/note.ts';
import { noteVerifierFor } from '../log/note-keys.ts';
import { SqliteLogStorage } from '../log/sqlite-storage.ts';
import { cosignersIn, parseTlogPolicy } from '../log/tlog-policy.ts';
import { CosignatureGatherer } from '../log/witness-client.ts';
import type { WitnessState } from '../log/witness-state.ts';
import { formatAddCheckpoint, witnessCheckpointPath } from '../log/witness-protocol.ts';

let n = 0;
const servers: Server[] = [];
// Registered before the folder below (after hooks run in order): the servers close first.
after(() => {
  for (const s of servers) s.close();
});
const dir = useTempDir('airlock-witness-client-');

const logKey = generateKeyPairSync('ed25519');
const logVerifier = noteVerifierFor('log.example', logKey.publicKey);

interface RunningWitness {
  readonly name: string;
  readonly vkey: string;
  readonly url: string;
  readonly core: CheckpointWitness;
  requests: number;
}

async function startWitness(name: string, signAs = name): Promise<RunningWitness> {
  const key = generateKeyPairSync('ed25519');
  let logs: WitnessState = new Map();
  const core = new CheckpointWitness({
    name: signAs,
    signer: createKeyObjectSigner(key.privateKey, 'ed25519', name),
    logs: [logVerifier],
    state: {
      logs,
      save: async (l) => {
        logs = l;
      },
    },
    now: () => new Date('2026-11-21T10:00:00Z'),
  });
  const handler = createWitnessHandler({ witness: core, origins: ['log.example'], log: () => undefined });
  const running = { name, vkey: encodeCosignerKey(name, key.publicKey), url: '', core, requests: 0 };
  const server = createServer((req, res) => {
    running.requests++;
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  running.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return running;
}

async function openLog() {
  return LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, `log-${n++}.db`)),
    checkpoints: checkpointSignerFor('log.example', createKeyObjectSigner(logKey.privateKey, 'ed25519', 'log')),
  });
}
const grow = async (log: LogEngine, count: number) => {
  const start = log.size;
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(Buffer.from(`entry ${start + i}`))));
};
const policyOf = (lines: string[]) => parseTlogPolicy(`${lines.join('\n')}\n`);
const gathererFor = (log: LogEngine, policy: ReturnType<typeof policyOf>) =>
  new CosignatureGatherer({
    policy,
    prove: (a, b) => log.consistencyProof(a, b),
    timeoutMs: 2000,
    sleep: async () => undefined,
  });

describe('CosignatureGatherer', () => {
  it('gathers every witness cosignature that verifies, keeps the log line, and meets the quorum', async () => {
    const [a, b] = await Promise.all([startWitness('a.example'), startWitness('b.example')]);
    const log = await openLog();
    await grow(log, 10);
    const policy = policyOf([
      `witness a ${a.vkey} ${a.url}`,
      `witness b ${b.vkey} ${b.url}/`,
      'group g all a b',
      'quorum g',
    ]);
    const gatherer = gathererFor(log, policy);
    const g = await gatherer.gather(log.checkpoint);
    assert.deepEqual([g.satisfied, g.cosigned, g.failures], [true, ['a', 'b'], []]);
    const note = parseNote(g.note);
    assert.equal(note.text, parseNote(log.checkpoint).text);
    assert.equal(note.signatures.length, 3);
    assert.deepEqual([...cosignersIn(policy, note)].sort(), ['a', 'b']);
    // Later checkpoints go with a consistency proof from the size each witness last cosigned.
    await grow(log, 300);
    const later = await gatherer.gather(log.checkpoint);
    assert.deepEqual(later.cosigned, ['a', 'b']);
    assert.equal(a.core.latest('log.example')?.size, 310);
    await log.close();
  });

  it('learns where a witness stands from its 409 (a log restarted with a fresh gatherer)', async () => {
    const w = await startWitness('w.example');
    const log = await openLog();
    await grow(log, 7);
    const policy = policyOf([`witness w ${w.vkey} ${w.url}`, 'quorum w']);
    assert.equal((await gathererFor(log, policy).gather(log.checkpoint)).satisfied, true);
    await grow(log, 20);
    const restarted = gathererFor(log, policy);
    const before = w.requests;
    const g = await restarted.gather(log.checkpoint);
    assert.deepEqual([g.satisfied, g.failures], [true, []]);
    assert.equal(w.requests - before, 2, 'old 0 → 409 (size 7) → old 7 with a proof');
    assert.equal(w.core.latest('log.example')?.size, 27);
    await log.close();
  });

  it('meets a 1-of-2 quorum with one witness down, and reports the one that failed', async () => {
    const up = await startWitness('up.example');
    const down = await startWitness('down.example');
    const downUrl = down.url;
    await new Promise<void>((ok) => (servers.at(-1) as Server).close(() => ok()));
    const log = await openLog();
    await grow(log, 3);
    const g = await gathererFor(
      log,
      policyOf([
        `witness up ${up.vkey} ${up.url}`,
        `witness down ${down.vkey} ${downUrl}`,
        'group g any up down',
        'quorum g',
      ]),
    ).gather(log.checkpoint);
    assert.deepEqual([g.satisfied, g.cosigned], [true, ['up']]);
    assert.equal(g.failures.length, 1);
    assert.equal(g.failures[0]?.witness, 'down');
    assert.match(g.failures[0]?.reason ?? '', /no cosignature after 3 tries: .*ECONNREFUSED/);
    const all = await gathererFor(
      log,
      policyOf([
        `witness up ${up.vkey} ${up.url}`,
        `witness down ${down.vkey} ${downUrl}`,
        'group g all up down',
        'quorum g',
      ]),
    ).gather(log.checkpoint);
    assert.equal(all.satisfied, false);
    await log.close();
  });

  it('does not count a witness answering with another key than the policy names', async () => {
    const honest = await startWitness('w.example');
    const impostor = await startWitness('w.example');
    const log = await openLog();
    await grow(log, 3);
    // The policy pins honest's key, but its URL leads to a witness with another key and the same name.
    const g = await gathererFor(log, policyOf([`witness w ${honest.vkey} ${impostor.url}`, 'quorum w'])).gather(
      log.checkpoint,
    );
    assert.equal(g.satisfied, false);
    assert.match(g.failures[0]?.reason ?? '', /no cosignature by w\.example\+[0-9a-f]{8}/);
    assert.equal(parseNote(g.note).signatures.length, 1, 'only the log line');
    await log.close();
  });

  it('gives up on a witness that has cosigned a larger tree than the log holds (an old backup restored)', async () => {
    const w = await startWitness('w.example');
    const big = await openLog();
    await grow(big, 50);
    const policy = policyOf([`witness w ${w.vkey} ${w.url}`, 'quorum w']);
    assert.equal((await gathererFor(big, policy).gather(big.checkpoint)).satisfied, true);
    const small = await openLog();
    await grow(small, 20);
    const g = await gathererFor(small, policy).gather(small.checkpoint);
    assert.equal(g.satisfied, false);
    assert.match(g.failures[0]?.reason ?? '', /cosigned this log at size 50, beyond the checkpoint's size 20/);
    for (const l of [big, small]) await l.close();
  });

  it('does not ask again for a checkpoint that already met the quorum (a batch of duplicates only)', async () => {
    const w = await startWitness('w.example');
    const log = await openLog();
    await grow(log, 4);
    const gatherer = gathererFor(log, policyOf([`witness w ${w.vkey} ${w.url}`, 'quorum w']));
    const first = await gatherer.gather(log.checkpoint);
    const before = w.requests;
    assert.equal((await gatherer.gather(log.checkpoint)).note, first.note);
    assert.equal(w.requests, before);
    await log.close();
  });

  it('refuses a policy witness without a URL: the log could never ask it', async () => {
    const w = await startWitness('w.example');
    const log = await openLog();
    assert.throws(() => gathererFor(log, policyOf([`witness w ${w.vkey}`, 'quorum w'])), /gives no URL for w/);
    await log.close();
  });
});

describe('CosignatureGatherer, when a witness misbehaves', () => {
  /** A witness that answers whatever `answer` says, at a loopback URL. */
  async function fakeWitness(answer: (body: string) => { status: number; body: string } | undefined): Promise<string> {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const a = answer(body);
        if (a) res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body); // else: never answers
      });
    });
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  it("does not count a cosignature by the policy's key over another checkpoint", async () => {
    const key = generateKeyPairSync('ed25519');
    const vkey = encodeCosignerKey('w.example', key.publicKey);
    const signer = createKeyObjectSigner(key.privateKey, 'ed25519', 'w');
    const log = await openLog();
    await grow(log, 3);
    const stale = parseNote(log.checkpoint).text;
    await grow(log, 2);
    // Right name, right key ID, a valid signature — over the older checkpoint.
    const line = await cosignCheckpoint(stale, 'w.example', signer, new Date('2026-11-21T10:00:00Z'));
    const url = await fakeWitness(() => ({ status: 200, body: line }));
    const g = await gathererFor(log, policyOf([`witness w ${vkey} ${url}`, 'quorum w'])).gather(log.checkpoint);
    assert.equal(g.satisfied, false);
    assert.match(g.failures[0]?.reason ?? '', /cosignature 1 of its answer: .*does not verify/);
    assert.equal(parseNote(g.note).signatures.length, 1);
    await log.close();
  });

  it(
    'reports a garbled answer, a witness that never answers and a proof that cannot be made, and ' +
      'still meets a quorum the others meet',
    async () => {
      const good = await startWitness('good.example');
      const garbled = await fakeWitness(() => ({ status: 200, body: '— bad.example !!!notbase64\n' }));
      const silent = await fakeWitness(() => undefined);
      const bad = generateKeyPairSync('ed25519').publicKey;
      const quiet = generateKeyPairSync('ed25519').publicKey;
      const log = await openLog();
      await grow(log, 4);
      const policy = policyOf([
        `witness good ${good.vkey} ${good.url}`,
        `witness bad ${encodeCosignerKey('bad.example', bad)} ${garbled}`,
        `witness quiet ${encodeCosignerKey('quiet.example', quiet)} ${silent}`,
        'group g any good bad quiet',
        'quorum g',
      ]);
      const g = await gathererFor(log, policy).gather(log.checkpoint);
      assert.deepEqual([g.satisfied, g.cosigned], [true, ['good']]);
      assert.deepEqual(
        g.failures.map((f) => f.witness),
        ['bad', 'quiet'],
      );
      assert.match(g.failures[1]?.reason ?? '', /no answer yet \(the quorum was met without it\)/);
      // The prover failing (storage gone) is that witness's failure, not the gather's.
      const failing = new CosignatureGatherer({
        policy: policyOf([`witness good ${good.vkey} ${good.url}`, 'quorum good']),
        prove: () => Promise.reject(new Error('tile 0/0 is missing')),
        timeoutMs: 2000,
      });
      await grow(log, 3);
      const again = await failing.gather(log.checkpoint);
      // A fresh gatherer starts at 0; the witness says 4 (409), and the proof from 4 cannot be made.
      assert.equal(again.satisfied, false);
      assert.match(again.failures[0]?.reason ?? '', /tile 0\/0 is missing/);
      await log.close();
    },
  );

  it('runs concurrent gathers one after the other, in the order asked: both are cosigned', async () => {
    const w = await startWitness('w.example');
    const log = await openLog();
    await grow(log, 2);
    const small = log.checkpoint;
    await grow(log, 2);
    const gatherer = gathererFor(log, policyOf([`witness w ${w.vkey} ${w.url}`, 'quorum w']));
    const [a, b] = await Promise.all([gatherer.gather(small), gatherer.gather(log.checkpoint)]);
    assert.deepEqual([a.satisfied, a.failures, b.satisfied, b.failures], [true, [], true, []]);
    assert.equal(w.core.latest('log.example')?.size, 4);
    await log.close();
  });
});

describe('the witness HTTP API', () => {
  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/add-checkpoint`, { method: 'POST', body, headers });

  it(
    'answers 200 with the line, 409 with text/x.tlog.size, 400 for a malformed body, 413 past 16 ' + 'KiB, 405 for GET',
    async () => {
      const w = await startWitness('w.example');
      const log = await openLog();
      await grow(log, 3);
      const ok = await post(w.url, formatAddCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^— w\.example [A-Za-z0-9+/=]+\n$/);
      const conflict = await post(w.url, formatAddCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      assert.equal(conflict.status, 409);
      assert.equal(conflict.headers.get('content-type'), 'text/x.tlog.size');
      assert.equal(await conflict.text(), '3\n');
      const bad = await post(w.url, 'old x\n\nnote');
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /'old <size>'/);
      assert.equal((await post(w.url, 'x'.repeat(17 * 1024))).status, 413);
      const get = await fetch(`${w.url}/add-checkpoint`);
      assert.deepEqual([get.status, get.headers.get('allow')], [405, 'POST']);
      // Each answer counted by status, the cosignature by its log.
      const metrics = await (await fetch(`${w.url}/metrics`)).text();
      for (const line of [
        'airlock_witness_cosignatures_total{origin="log.example"} 1',
        ...['200', '409', '400', '413', '405'].map(
          (status) => `airlock_witness_add_checkpoint_total{status="${status}"} 1`,
        ),
        'airlock_witness_add_checkpoint_seconds_count 5',
      ]) {
        assert.ok(metrics.split('\n').includes(line), `${line} in\n${metrics}`);
      }
      await log.close();
    },
  );

  it(
    'serves the latest cosigned checkpoint at /<sha256(origin)>/checkpoint, 404 before any and for ' + 'other paths',
    async () => {
      const w = await startWitness('w.example');
      const path = witnessCheckpointPath('log.example');
      assert.equal((await fetch(`${w.url}/${path}`)).status, 404);
      const log = await openLog();
      await grow(log, 2);
      const ok = await post(w.url, formatAddCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      const line = await ok.text();
      const latest = await fetch(`${w.url}/${path}`);
      assert.equal(latest.status, 200);
      assert.equal(await latest.text(), `${log.checkpoint}${line}`);
      assert.equal((await fetch(`${w.url}/${witnessCheckpointPath('other.example')}`)).status, 404);
      assert.equal((await fetch(`${w.url}/healthz`)).status, 200);
      await log.close();
    },
  );
});
