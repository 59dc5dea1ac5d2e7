// Requests the log and witness servers cannot parse — bad JSON, wrong shapes and content types, huge
// and negative numbers, odd request targets, bad tile paths, bodies cut off — are the client's fault:
// a 4xx with a code, never a 500, and the server keeps serving. Each server runs in-process on
// loopback and gets the same corpus over a raw socket, so malformed HTTP reaches it as sent.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { checkpointSignerFor } from '../log/checkpoint-signer.ts';
import { CheckpointWitness } from '../log/checkpoint-witness.ts';
import { noteVerifierFor } from '../log/note-keys.ts';
import type { WitnessState } from '../log/witness-state.ts';
import { closeServer, listenOn } from './http-io.ts';
import { type LogService, startLogService } from './log-service.ts';
import { Metrics } from './metrics.ts';
import { createWitnessHandler } from './witness-server.ts';

let log: LogService;
let witness: { url: string; port: number; close(): Promise<void> };
const logEvents: Array<Record<string, unknown>> = [];
const witnessEvents: Array<Record<string, unknown>> = [];
const logKey = generateKeyPairSync('ed25519');
const logSigner = createKeyObjectSigner(logKey.privateKey, 'ed25519', 'log');
// Registered before the folder below (after hooks run in order): the services close first.
after(async () => {
  await log?.close();
  await witness?.close();
  await logSigner.close();
});
const dir = useTempDir('airlock-request-fuzz-');

before(async () => {
  log = await startLogService({
    dir,
    origin: 'log.example',
    signer: logSigner,
    host: '127.0.0.1',
    port: 0,
    workers: 1,
    metrics: new Metrics(),
    log: (e) => logEvents.push({ ...e }),
  });
  let logs: WitnessState = new Map();
  const core = new CheckpointWitness({
    name: 'w.example',
    signer: createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'witness'),
    logs: [noteVerifierFor('log.example', logKey.publicKey)],
    state: {
      logs,
      save: async (l) => {
        logs = l;
      },
    },
    now: () => new Date('2026-12-01T00:00:00Z'),
  });
  const listening = await listenOn(
    createWitnessHandler({ witness: core, origins: ['log.example'], log: (e) => witnessEvents.push({ ...e }) }),
    '127.0.0.1',
    0,
  );
  witness = { url: listening.url, port: listening.port, close: () => closeServer(listening.server) };
});

/**
 * Sends `head` (request line and headers, CRLF-separated, no final blank line) and `body` as is; resolves with the
 * status (0: no answer).
 */
function send(port: number, head: string, body = '', options: { cut?: boolean } = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${head}\r\nHost: x\r\nConnection: close\r\n\r\n${body}`);
      if (options.cut) setTimeout(() => socket.destroy(), 50);
    });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => undefined);
    // A request whose body never arrives in full gets no answer: the client gives up, as one would.
    socket.setTimeout(1000, () => socket.destroy());
  });
}

const post = (port: number, path: string, body: string, type = 'application/json') =>
  send(port, `POST ${path} HTTP/1.1\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}`, body);

const TARGETS = [
  '//',
  '///checkpoint',
  '//x/checkpoint',
  '/%zz',
  '/%00',
  '/tile/',
  '/tile/0/',
  '/tile/0/000.p/0',
  '/tile/0/000.p/256',
  '/tile/0/000.p/-1',
  '/tile/64/000',
  '/tile/-1/000',
  '/tile/99999999999999999999/000',
  `/tile/0/${'x999/'.repeat(7)}999`,
  `/tile/entries/${'x999/'.repeat(7)}999`,
  '/tile/entries/x009/x007/x199/x254/x740/x992/999',
  `/tile/0/${'x001/'.repeat(2000)}000`,
  '/tile/entries/000.p/99999',
  '/checkpoint?x=%zz&y',
  '/api/v2/',
  '/api/v2//log/entries',
  '/metrics/..',
  '/healthz%00',
  '/../../etc/passwd',
  'http://x:99999/checkpoint',
  'http://[::1',
  'http://',
  'http://x/checkpoint',
  'https://x/%zz',
  '*',
  'checkpoint',
  'x:y',
];

const BODIES = [
  '',
  'null',
  '[]',
  '1',
  '-1',
  '1e999',
  '"x"',
  'true',
  '{',
  '{}',
  '\u0000',
  '\ufeff{}',
  '{"hashedRekordRequestV002":null}',
  '{"hashedRekordRequestV002":1}',
  '{"hashedRekordRequestV002":{"digest":5}}',
  '{"hashedRekordRequestV002":{"digest":"AAAA","signature":null}}',
  '{"hashedRekordRequestV002":{"digest":"AAAA","signature":{"content":"AA==","verifier":null}}}',
  '{"hashedRekordRequestV002":{"digest":"AAAA","signature":{"content":"AA==","verifier":' +
    '{"keyDetails":99999999999999999999,"publicKey":{"rawBytes":-5}}}}}',
  '{"hashedRekordRequestV002":{"digest":"AAAA","signature":{"content":"AA==","verifier":' +
    '{"keyDetails":"PKIX_ED25519_PH","x509Certificate":{"rawBytes":"AAAA"}}}}}',
  '{"hashedRekordRequestV002":{"digest":[1,2],"signature":{"content":{},"verifier":[]}}}',
  '{"dsseRequestV002":null}',
  '{"__proto__":{"polluted":1}}',
  `{"hashedRekordRequestV002":{"digest":"${'A'.repeat(200_000)}"}}`,
  'old -1\n\n',
  'old 99999999999999999999\n\nlog.example\n1\nAAAA\n',
  'old 0\nAAAA\n\nx\n',
  `old 0\n${'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.repeat(70)}\n`,
  'old 0\n\nlog.example\n-1\nAAAA\n\n\u2014 log.example AAAA\n',
];

/** add-checkpoint requests around a checkpoint the witness's log really signed: sizes and proofs that do not fit. */
async function signedBodies(): Promise<string[]> {
  const note = await checkpointSignerFor('log.example', logSigner).sign(3, Buffer.alloc(32, 1));
  const hash = Buffer.alloc(32, 2).toString('base64');
  return [
    `old 4\n\n${note}`,
    `old 0\n${hash}\n\n${note}`,
    `old 1\n${hash}\n${hash}\n\n${note}`,
    `old 99999999999999999999\n\n${note}`,
    `old 3\n\n${note}`,
    `old 0\n\n${note}${note}`,
  ];
}

async function fuzz(port: number, paths: readonly string[]): Promise<Array<[string, number]>> {
  const results: Array<[string, number]> = [];
  const bodies = [...BODIES, ...(await signedBodies())];
  for (const target of TARGETS) {
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'])
      results.push([`${method} ${target}`, await send(port, `${method} ${target} HTTP/1.1`)]);
  }
  for (const path of paths) {
    for (const body of bodies) {
      for (const type of [
        'application/json',
        'APPLICATION/JSON; charset=UTF-8',
        'text/plain',
        '',
        'application/json; charset=utf-16',
        'multipart/form-data; boundary=x',
      ]) {
        results.push([`POST ${path} ${type} ${JSON.stringify(body.slice(0, 30))}`, await post(port, path, body, type)]);
      }
    }
    for (const length of ['-1', '99999999999999999999', '1e3', 'abc', '10']) {
      results.push([
        `POST ${path} content-length ${length}`,
        await send(port, `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${length}`, '{}'),
      ]);
    }
    results.push([
      `POST ${path} bad chunking`,
      await send(
        port,
        `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`,
        'zz\r\n',
      ),
    ]);
    results.push([
      `POST ${path} body cut off`,
      await send(
        port,
        `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 1000`,
        '{"hashedRekordRequestV002":',
        { cut: true },
      ),
    ]);
  }
  return results;
}

const serverErrors = (events: Array<Record<string, unknown>>) =>
  events
    .filter((e) => Number(e.status) >= 500)
    .map((e) => `${String(e.method)} ${String(e.path).slice(0, 60)}: ${String(e.status)} ${String(e.error)}`);

describe('malformed requests', () => {
  it('log serve answers every one with a 4xx, never a 500, and keeps serving', async () => {
    const results = await fuzz(log.port, ['/api/v2/log/entries', '/log/entries']);
    assert.deepEqual(
      results.filter(([, status]) => status >= 500),
      [],
    );
    assert.deepEqual(serverErrors(logEvents), []);
    const answered = results.filter(([, status]) => status > 0);
    assert.ok(answered.length > results.length * 0.9, 'the server answered (a refused connection is no answer)');
    for (const target of ['http://x:99999/checkpoint', '*', 'checkpoint']) {
      assert.equal(results.find(([what]) => what === `GET ${target}`)?.[1], 400, `GET ${target}`);
    }
    assert.equal(
      results.find(([what]) => what === 'GET http://x/checkpoint')?.[1],
      200,
      'absolute-form targets are served (RFC 9112 §3.2.2)',
    );
    assert.equal((await fetch(`${log.url}/healthz`)).status, 200);
  });

  it('log witness-serve answers every one with a 4xx, never a 500, and keeps serving', async () => {
    const results = await fuzz(witness.port, ['/add-checkpoint']);
    assert.deepEqual(
      results.filter(([, status]) => status >= 500),
      [],
    );
    assert.deepEqual(serverErrors(witnessEvents), []);
    assert.equal((await fetch(`${witness.url}/healthz`)).status, 200);
  });
});
