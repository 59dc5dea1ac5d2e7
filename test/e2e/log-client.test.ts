// `airlock log info|get|verify|witness` against a real `airlock log serve`: checkpoints open only with
// the pinned key, entries come back byte for byte with verified proofs, consistency is proven across
// full and partial tiles, and a log recreated from scratch with the same key (a fork or rewrite) is
// refused by both `log verify --since` and `log witness`, which then leaves its state untouched.
// A small proxy in front of the log serves a cosigned checkpoint or tampered tiles on demand, and a
// static log of arbitrary (hostile) entries under /fake/, signed by a key the test makes.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { formatCheckpoint } from '../../src/log/checkpoint.ts';
import { encodeCosignerKey, parseCosignerKey, verifyWitnessQuorum } from '../../src/log/cosignature.ts';
import { leafHash, rootAt, verifyInclusion } from '../../src/log/merkle.ts';
import { signNote } from '../../src/log/note.ts';
import { encodeVerifierKey, noteSignerFor } from '../../src/log/note-keys.ts';
import type { TransparencyLogEntryJSON } from '../../src/log/rekor-response.ts';
import { encodeEntryBundle, entriesPath, tilePath } from '../../src/log/tiles.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { memoryTree } from '../helpers/log-audit.ts';
import { makeLogKey, startLog, type TestLog } from '../helpers/log-server.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { EntrySource } from '../helpers/write-load.ts';

let log: TestLog;
let proxy: Server;
let proxyUrl: string;
// Registered before the folder below (after hooks run in order): the proxy and the log stop first.
after(async () => {
  await new Promise((ok) => proxy?.close(ok));
  await log?.stop();
});
const dir = useTempDir('airlock-log-client-');
/** What the proxy changes: the checkpoint it serves instead of the log's, or the bytes of a tile. */
const proxied: { checkpoint?: string; tamper?: (path: string, body: Buffer) => Buffer } = {};
/** A static log of any bytes the proxy serves under /fake/, signed by a key of the test's. */
const fake = new Map<string, Buffer>();

const cli = (args: string[], home = join(dir, 'home')) =>
  runCli(args, { env: { AIRLOCK_HOME: home, AIRLOCK_PASSWORD: 'pw' } });
const data = () => join(dir, 'data');
const pin = () => ['--vkey', join(data(), 'log.vkey')];
/** The fields of the --json documents (and `audit show` events) the tests read. */
interface Doc {
  url: string;
  origin: string;
  size: number;
  root: string;
  checkpoint: string;
  note: string;
  proof: string[];
  updated: boolean;
  previous: unknown;
  signatures: Array<{ role: string }>;
  witnesses: unknown;
  entry: string;
  decoded: Record<string, string>;
  since: { size: number };
  error: { code: string; message: string; details: { checkpoint: string } };
  events: Array<{
    action: string;
    result: string;
    subjects: unknown;
    details: { inconsistent: { checkpoint: string } };
  }>;
}
const doc = (r: CliResult) => JSON.parse(r.stdout) as Doc;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function fails(r: CliResult, exit: number, code: string, message?: RegExp): void {
  assert.equal(r.code, exit, `expected ${code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`\\[${code}\\]`));
  if (message) assert.match(r.stderr, message);
}

let source = new EntrySource('log-client');
let next = 0;
/** Posts `n` new entries, a few at a time; returns them by log index. */
async function append(n: number): Promise<Map<number, { body: Buffer; digest: Buffer }>> {
  const posted = new Map<number, { body: Buffer; digest: Buffer }>();
  for (let done = 0; done < n;) {
    const ids = Array.from({ length: Math.min(64, n - done) }, () => next++);
    done += ids.length;
    await Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${log.url}/api/v2/log/entries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: source.request(id),
        });
        assert.equal(res.status, 201, await res.clone().text());
        const e = (await res.json()) as TransparencyLogEntryJSON;
        posted.set(Number(e.logIndex), { body: Buffer.from(e.canonicalizedBody, 'base64'), digest: source.digest(id) });
      }),
    );
  }
  return posted;
}

/** Serves `entries` as log fake.test under /fake; returns its vkey. */
async function fakeLog(entries: Buffer[]): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = formatCheckpoint({
    origin: 'fake.test',
    size: entries.length,
    rootHash: rootAt(entries.length, memoryTree(entries)),
    extensions: [],
  });
  fake.set(
    'checkpoint',
    Buffer.from(
      await signNote(text, [noteSignerFor('fake.test', createKeyObjectSigner(privateKey, 'ed25519', 'fake log key'))]),
    ),
  );
  fake.set(tilePath(0, 0, entries.length), Buffer.concat(entries.map((e) => leafHash(e))));
  fake.set(entriesPath(0, entries.length), encodeEntryBundle(entries));
  return encodeVerifierKey('fake.test', publicKey);
}

async function latest(): Promise<{ note: string; size: number; root: string }> {
  const note = await (await fetch(`${log.url}/checkpoint`)).text();
  const [, size = '', root = ''] = note.split('\n');
  return { note, size: Number(size), root };
}

before(async () => {
  await makeLogKey(join(dir, 'log'));
  await makeLogKey(join(dir, 'other'));
  assert.equal(
    (await cli(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', join(dir, 'w1')])).code,
    0,
  );
  log = await startLog(data(), join(dir, 'log.key'));
  proxy = createServer((req, res) => {
    void (async () => {
      if (req.url === '/checkpoint' && proxied.checkpoint) return void res.end(proxied.checkpoint);
      if (req.url?.startsWith('/fake/'))
        return void (fake.has(req.url.slice(6)) ? res.end(fake.get(req.url.slice(6))) : res.writeHead(404).end());
      const upstream = await fetch(`${log.url}${req.url}`);
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status).end(proxied.tamper ? proxied.tamper(req.url ?? '', body) : body);
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await append(5);
});

describe('log info', () => {
  it(
    'opens the checkpoint with a pinned vkey (file or inline) or log key + origin; --out saves it ' + 'byte for byte',
    async () => {
      const head = await latest();
      const inline = (await readFile(join(data(), 'log.vkey'), 'utf8')).trim();
      for (const flags of [
        pin(),
        ['--vkey', inline],
        ['--log-key', join(data(), 'log.pub'), '--origin', '127.0.0.1'],
      ]) {
        const r = await cli(['log', 'info', log.url, ...flags, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const json = doc(r);
        assert.deepEqual(
          [json.url, json.origin, json.size, json.root, json.checkpoint],
          [log.url, '127.0.0.1', head.size, head.root, head.note],
        );
        assert.deepEqual(json.signatures, [
          { name: '127.0.0.1', keyId: inline.split('+')[1], role: 'log', verified: true },
        ]);
      }
      const saved = join(dir, 'info.checkpoint');
      const r = await cli(['log', 'info', `${log.url}/`, ...pin(), '--out', saved]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`: ${head.size} entries, checkpoint signed by the pinned key`));
      assert.deepEqual(await readFile(saved), Buffer.from(head.note));
      fails(await cli(['log', 'info', log.url, ...pin(), '--out', saved]), 2, 'E_OUTPUT_EXISTS');
      assert.equal((await cli(['log', 'info', log.url, ...pin(), '--out', saved, '--force'])).code, 0);
    },
  );

  it("refuses another log's key, a wrong origin, and a missing or conflicting pin", async () => {
    const otherPub = join(dir, 'other.pub');
    const otherVkey = join(dir, 'other.vkey');
    await writeFile(otherVkey, `${encodeVerifierKey('127.0.0.1', createPublicKey(await readFile(otherPub)))}\n`);
    fails(await cli(['log', 'info', log.url, '--vkey', otherVkey]), 1, 'E_TLOG_CHECKPOINT', /checkpoint/);
    fails(await cli(['log', 'info', log.url, '--log-key', otherPub, '--origin', '127.0.0.1']), 1, 'E_TLOG_CHECKPOINT');
    fails(
      await cli(['log', 'info', log.url, '--log-key', join(data(), 'log.pub'), '--origin', 'elsewhere']),
      1,
      'E_TLOG_CHECKPOINT',
    );
    fails(await cli(['log', 'info', log.url]), 2, 'E_USAGE', /pin the log's key/);
    fails(await cli(['log', 'info', log.url, '--log-key', join(data(), 'log.pub')]), 2, 'E_USAGE', /--origin/);
    fails(
      await cli(['log', 'info', log.url, ...pin(), '--log-key', join(data(), 'log.pub'), '--origin', '127.0.0.1']),
      2,
      'E_USAGE',
    );
    fails(await cli(['log', 'info', log.url, ...pin(), '--origin', 'elsewhere']), 2, 'E_USAGE');
    fails(await cli(['log', 'info', 'ftp://127.0.0.1/', ...pin()]), 2, 'E_USAGE');
    fails(
      await cli(['log', 'info', 'http://127.0.0.1:1', ...pin()]),
      3,
      'E_UNAVAILABLE',
      /cannot read http:\/\/127\.0\.0\.1:1\/checkpoint/,
    );
    fails(await cli(['log', 'info', log.url, '--vkey', join(dir, 'missing.vkey')]), 3, 'E_INPUT_MISSING');
  });
});

describe('log get', () => {
  it('returns the posted entry bytes with a verified inclusion proof, decoded; --out writes them exactly', async () => {
    const posted = await append(3);
    const head = await latest();
    for (const [index, { body, digest }] of posted) {
      const r = await cli(['log', 'get', log.url, String(index), ...pin(), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const json = doc(r);
      assert.deepEqual(Buffer.from(json.entry, 'base64'), body);
      assert.equal(json.decoded.digest, `sha256:${digest.toString('hex')}`);
      assert.equal(json.decoded.kind, 'hashedrekord');
      assert.equal(json.size, head.size);
      assert.ok(
        verifyInclusion(
          index,
          head.size,
          leafHash(body),
          json.proof.map((p: string) => Buffer.from(p, 'base64')),
          Buffer.from(head.root, 'base64'),
        ),
      );
    }
    const [index, { body, digest }] = [...posted][0] as [number, { body: Buffer; digest: Buffer }];
    const file = join(dir, 'entry.bin');
    const r = await cli(['log', 'get', log.url, String(index), ...pin(), '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${body.toString('utf8')}\n`);
    assert.match(r.stderr, new RegExp(`digest +sha256:${digest.toString('hex')}`));
    assert.deepEqual(await readFile(file), body);
  });

  it(
    'prints an entry of any log safely: text as is, binary or control characters as base64, ' +
      'decoded fields escaped',
    async () => {
      const hostile = JSON.stringify({ apiVersion: '0.0.2', kind: 'x\u001b]0;owned\u0007' });
      const entries = ['plain\ttext', '\u0000\u0001\u00ff', 'csi \u009b31m red', hostile].map((e) =>
        Buffer.from(e, e.startsWith('\u0000') ? 'latin1' : 'utf8'),
      );
      const vkey = await fakeLog(entries);
      const shown: CliResult[] = [];
      for (const i of entries.keys())
        shown.push(
          await cli([
            'log',
            'get',
            `${proxyUrl}/fake`,
            String(i),
            '--vkey',
            vkey,
            ...(i === 1 ? ['--out', join(dir, 'binary.entry')] : []),
          ]),
        );
      assert.deepEqual(
        shown.map((r) => r.code),
        [0, 0, 0, 0],
        shown.map((r) => r.stderr).join(),
      );
      assert.deepEqual(
        shown.map((r) => r.stdout),
        ['plain\ttext\n', `${b64(entries[1] as Buffer)}\n`, `${b64(entries[2] as Buffer)}\n`, `${hostile}\n`],
      );
      assert.deepEqual(await readFile(join(dir, 'binary.entry')), entries[1]);
      assert.match(shown[0]?.stderr ?? '', /format +not a Rekor v2 entry/);
      assert.match(shown[3]?.stderr ?? '', /kind +x\\u001b\]0;owned\\u0007\n/);
      for (const r of shown)
        assert.ok(!['\u001b', '\u0007', '\u009b'].some((c) => r.stdout.includes(c) || r.stderr.includes(c)), r.stderr);
    },
  );

  it('refuses an index beyond the checkpoint, a bad index, and tiles that contradict the checkpoint', async () => {
    const { size } = await latest();
    fails(
      await cli(['log', 'get', log.url, String(size), ...pin()]),
      3,
      'E_INPUT_MISSING',
      new RegExp(`entry ${size} is not in the log`),
    );
    fails(await cli(['log', 'get', log.url, '-1', ...pin()]), 2, 'E_USAGE');
    fails(await cli(['log', 'get', log.url, '1e3', ...pin()]), 2, 'E_USAGE');
    proxied.tamper = (path, body) =>
      path.startsWith('/tile/0/') ? Buffer.from(body.map((b, i) => (i === 0 ? b ^ 1 : b))) : body;
    try {
      fails(await cli(['log', 'get', proxyUrl, '0', ...pin()]), 1, 'E_LOG_CORRUPT');
    } finally {
      delete proxied.tamper;
    }
  });
});

describe('log verify --since', () => {
  it('proves the log extends a saved checkpoint, across full tiles; --update rewrites the file', async () => {
    const saved = join(dir, 'verify.checkpoint');
    const before = await latest();
    await writeFile(saved, before.note);
    await append(300 - before.size); // past one full tile: the proof needs tile 0/000 and the level-1 edge
    const head = await latest();
    const r = await cli(['log', 'verify', log.url, '--since', saved, ...pin(), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([doc(r).since.size, doc(r).size, doc(r).updated], [before.size, head.size, false]);
    assert.ok(doc(r).proof.length > 0);
    assert.equal(await readFile(saved, 'utf8'), before.note, 'untouched without --update');
    // Inclusion via a full tile vouched for by its parent.
    const old = await cli(['log', 'get', log.url, '7', ...pin()]);
    assert.equal(old.code, 0, old.stderr);
    const u = await cli(['log', 'verify', log.url, '--since', saved, ...pin(), '--update']);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stderr, new RegExp(`now holds the checkpoint at size ${head.size}`));
    assert.equal(await readFile(saved, 'utf8'), head.note);
    // The Rekor v2 prefix.
    const again = await cli(['log', 'verify', `${log.url}/api/v2`, '--since', saved, ...pin(), '--update', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(doc(again).updated, false);
  });

  it('refuses a missing --since, a missing file and a saved checkpoint not signed by the pinned key', async () => {
    fails(await cli(['log', 'verify', log.url, ...pin()]), 2, 'E_USAGE', /--since/);
    fails(await cli(['log', 'verify', log.url, '--since', join(dir, 'nope'), ...pin()]), 3, 'E_INPUT_MISSING');
    const forged = join(dir, 'forged.checkpoint');
    const { note, root } = await latest();
    await writeFile(forged, note.replace(root, b64(Buffer.alloc(32, 1))));
    fails(
      await cli(['log', 'verify', log.url, '--since', forged, ...pin()]),
      1,
      'E_TLOG_CHECKPOINT',
      /forged\.checkpoint/,
    );
  });
});

describe('log witness', () => {
  const state = () => join(dir, 'witness.json');
  const witness = (url: string, ...extra: string[]) =>
    cli([
      'log',
      'witness',
      url,
      ...pin(),
      '--state',
      state(),
      '--key',
      join(dir, 'w1.key'),
      '--name',
      'w1.test',
      ...extra,
    ]);
  let vkey: string;

  it('refuses to start without --init, then cosigns and keeps state; later runs prove consistency first', async () => {
    fails(await witness(log.url), 3, 'E_INPUT_MISSING', /--init/);
    await assert.rejects(readFile(state()), { code: 'ENOENT' });
    const first = await latest();
    const r = await witness(log.url, '--init', '--out', join(dir, 'cosigned.1'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^— w1\.test [A-Za-z0-9+/]{102}==\n$/);
    vkey = /vkey +(\S+)/.exec(r.stderr)?.[1] ?? '';
    const note = await readFile(join(dir, 'cosigned.1'), 'utf8');
    assert.equal(note, `${first.note}${r.stdout}`);
    const quorum = verifyWitnessQuorum(note, [parseCosignerKey(vkey).verifier], 1);
    assert.deepEqual([quorum.ok, quorum.cosigned], [true, ['w1.test']]);
    const saved = JSON.parse(await readFile(state(), 'utf8'));
    assert.deepEqual(
      [saved.version, saved.logs['127.0.0.1'].size, saved.logs['127.0.0.1'].root, saved.logs['127.0.0.1'].checkpoint],
      [1, first.size, first.root, note],
    );

    await append(4);
    const second = await witness(log.url, '--json');
    assert.equal(second.code, 0, second.stderr);
    const head = await latest();
    assert.deepEqual([doc(second).previous, doc(second).size], [{ size: first.size, root: first.root }, head.size]);
    assert.ok(doc(second).proof.length > 0);
    assert.equal(JSON.parse(await readFile(state(), 'utf8')).logs['127.0.0.1'].size, head.size);
    fails(await witness(log.url, '--out', join(dir, 'cosigned.1')), 2, 'E_OUTPUT_EXISTS');
  });

  it('changes nothing and cosigns nothing when its audit trail cannot be written', async () => {
    await writeFile(join(dir, 'not-a-home'), '');
    const other = join(dir, 'witness-2.json');
    const r = await cli(
      [
        'log',
        'witness',
        log.url,
        ...pin(),
        '--state',
        other,
        '--init',
        '--key',
        join(dir, 'w1.key'),
        '--name',
        'w1.test',
      ],
      join(dir, 'not-a-home'),
    );
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    await assert.rejects(readFile(other), { code: 'ENOENT' });
  });

  it(
    'log info checks cosignatures of the witness keys given; a re-cosigned note keeps one line per ' + 'witness',
    async () => {
      proxied.checkpoint = JSON.parse(await readFile(state(), 'utf8')).logs['127.0.0.1'].checkpoint as string;
      try {
        const ok = await cli(['log', 'info', proxyUrl, ...pin(), '--witness', vkey, '--quorum', '1', '--json']);
        assert.equal(ok.code, 0, ok.stderr);
        assert.deepEqual(doc(ok).witnesses, { ok: true, required: 1, cosigned: ['w1.test'] });
        assert.deepEqual(
          doc(ok).signatures.map((s: { role: string }) => s.role),
          ['log', 'witness'],
        );
        const unknown = encodeCosignerKey('w2.test', generateKeyPairSync('ed25519').publicKey);
        fails(
          await cli(['log', 'info', proxyUrl, ...pin(), '--witness', unknown, '--quorum', '1']),
          1,
          'E_TLOG_CHECKPOINT',
          /0 of the witnesses/,
        );
        fails(
          await cli(['log', 'info', proxyUrl, ...pin(), '--witness', vkey, '--witness', unknown]),
          1,
          'E_TLOG_CHECKPOINT',
          /1 of the witnesses/,
        );
        fails(await cli(['log', 'info', proxyUrl, ...pin(), '--quorum', '1']), 2, 'E_USAGE');
        const again = await witness(proxyUrl, '--json');
        assert.equal(again.code, 0, again.stderr);
        assert.equal(doc(again).note.split('\n— w1.test ').length, 2, 'the old cosignature is replaced');
      } finally {
        delete proxied.checkpoint;
      }
    },
  );
});

describe('a log recreated with the same key (a rewrite or fork)', () => {
  const state = () => join(dir, 'witness.json');
  const witness = () =>
    cli(['log', 'witness', log.url, ...pin(), '--state', state(), '--key', join(dir, 'w1.key'), '--name', 'w1.test']);
  let saved: string;
  let savedNote: string;
  let savedState: Buffer;

  before(async () => {
    saved = join(dir, 'fork.checkpoint');
    savedNote = (await latest()).note;
    await writeFile(saved, savedNote);
    assert.equal((await witness()).code, 0);
    savedState = await readFile(state());
    await log.stop();
    for (const f of ['log.db', 'log.db-wal', 'log.db-shm', 'checkpoint']) await rm(join(data(), f), { force: true });
    log = await startLog(data(), join(dir, 'log.key'));
    source = new EntrySource('forked');
  });

  async function refused(why: RegExp): Promise<void> {
    const r = await cli(['log', 'verify', log.url, '--since', saved, ...pin(), '--update', '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(doc(r).error.code, 'E_LOG_INCONSISTENT');
    assert.match(doc(r).error.message, why);
    const { note } = await latest();
    assert.equal(doc(r).error.details.checkpoint, note, 'the newer signed note is kept as evidence');
    assert.equal(await readFile(saved, 'utf8'), savedNote, '--update keeps the evidence');
    fails(await witness(), 1, 'E_LOG_INCONSISTENT', why);
    assert.deepEqual(await readFile(state()), savedState, 'the witness state is unchanged');
    const event = doc(await cli(['audit', 'show', '--json'])).events.at(-1);
    assert.deepEqual(
      [event?.action, event?.result, event?.subjects, event?.details.inconsistent.checkpoint],
      ['log.witness', 'refused', [{ name: log.url }], note],
    );
  }

  it('a smaller tree than the saved one is refused', async () => {
    fails(await cli(['log', 'get', log.url, '0', ...pin()]), 3, 'E_INPUT_MISSING', /the log is empty/);
    await append(3);
    await refused(/checkpoint at size 3 is smaller than the one at size/);
  });

  it('a tree of the same size with another root is refused', async () => {
    const size = Number(savedNote.split('\n')[1]);
    await append(size - (await latest()).size);
    await refused(new RegExp(`checkpoint at size ${size} does not extend the one at size ${size}`));
  });

  it('a larger tree that does not contain the saved one is refused', async () => {
    await append(20);
    await refused(/does not extend the one at size/);
  });
});
