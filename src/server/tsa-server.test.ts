// The TSA's HTTP API in process, signing with real `openssl ts -reply` (OpensslTimestamper) under a
// chain makeTsaCertificate made: our RFC 3161 client gets replies that `openssl ts -verify` accepts
// (the ground truth), concurrent replies carry distinct serials, and what is not a query is refused
// with the status RFC 3161 §3.4's HTTP binding calls for. A fake signer only where openssl cannot be
// made to block on cue (the queue).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { requestTimestamp } from '../sigstore/tsa.ts';
import { makeTsaCertificate } from '../tools/tsa-certificate.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { closeServer, listenOn } from './http-io.ts';
import { OpensslTimestamper, type Timestamper } from './tsa-openssl.ts';
import { createTsaHandler, MAX_QUERY_BYTES, type TsaServerOptions } from './tsa-server.ts';

const run = promisify(execFile);
const servers: Server[] = [];
let timestamper: OpensslTimestamper;
after(async () => {
  await Promise.all(servers.map(closeServer));
  await timestamper?.close();
});
const dir = useTempDir('airlock-tsa-server-');
const p = (name: string) => join(dir, name);
const logs: Array<Readonly<Record<string, unknown>>> = [];
let chainPem: string[];

async function serve(options: Partial<TsaServerOptions> & Pick<TsaServerOptions, 'timestamper'>): Promise<string> {
  const handler = createTsaHandler({ chainPem, maxActive: 4, maxQueued: 16, log: (e) => logs.push(e), ...options });
  const { server, url } = await listenOn(handler, '127.0.0.1', 0);
  servers.push(server);
  return url;
}

const post = (url: string, body: Uint8Array | string, type = 'application/timestamp-query') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

let url: string;
before(async () => {
  const made = await makeTsaCertificate({
    openssl: 'openssl',
    keyPath: undefined,
    subject: 'O=airlock test,CN=tsa-server test TSA',
    validityDays: 2,
    now: new Date(Date.now() - 60_000),
  });
  chainPem = made.chainPem;
  await writeFile(p('tsa.key'), made.keyPem ?? '', { mode: 0o600 });
  await writeFile(p('root.pem'), chainPem[1] ?? '');
  timestamper = await OpensslTimestamper.open({
    openssl: 'openssl',
    keyPath: p('tsa.key'),
    chainPem,
    policy: '1.3.6.1.4.1.57264.2',
    parentDir: dir,
  });
  url = await serve({ timestamper });
});

/** `openssl ts -verify` of a reply over `data` against the root alone: the ground truth. */
async function opensslVerifies(reply: Uint8Array, data: Uint8Array, name: string): Promise<string> {
  await writeFile(p(`${name}.tsr`), reply);
  await writeFile(p(`${name}.dat`), data);
  const args = ['ts', '-verify', '-in', `${name}.tsr`, '-data', `${name}.dat`, '-CAfile', 'root.pem'];
  const { stdout } = await run('openssl', args, { cwd: dir });
  return stdout;
}

describe('tsa-server: timestamps openssl ts -verify accepts', () => {
  it('answers our client at /api/v1/timestamp and at /, with the policy and the chain', async () => {
    for (const path of ['/api/v1/timestamp', '/']) {
      const signature = randomBytes(64);
      const reply = await requestTimestamp(signature, { url: `${url}${path}` });
      assert.match(await opensslVerifies(reply, signature, 'one'), /Verification: OK/);
      await writeFile(p('one.tsr'), reply);
      const { stdout } = await run('openssl', ['ts', '-reply', '-in', 'one.tsr', '-text'], { cwd: dir });
      assert.match(stdout, /Policy OID: 1\.3\.6\.1\.4\.1\.57264\.2/);
      assert.match(stdout, /Status: Granted/);
    }
    const certchain = await fetch(`${url}/api/v1/timestamp/certchain`);
    assert.equal(await certchain.text(), chainPem.join(''));
  });

  it('a timestamp over other data does not verify (the check above can fail)', async () => {
    const reply = await requestTimestamp(randomBytes(64), { url });
    await assert.rejects(
      opensslVerifies(reply, randomBytes(64), 'other'),
      /Verification: FAILED|message imprint mismatch/,
    );
  });

  it('concurrent replies carry distinct serial numbers, and leave no working folder behind', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => requestTimestamp(randomBytes(32), { url })));
    const serials = new Set<string>();
    for (const [i, reply] of replies.entries()) {
      await writeFile(p(`c${i}.tsr`), reply);
      const { stdout } = await run('openssl', ['ts', '-reply', '-in', `c${i}.tsr`, '-text'], { cwd: dir });
      serials.add(/Serial number: (0x[0-9A-F]+)/.exec(stdout)?.[1] ?? '');
    }
    assert.equal(serials.size, 8);
    assert.deepEqual((await readdir(timestamper.dir)).sort(), ['chain.pem', 'signer.pem', 'tsa.cnf']);
  });
});

describe('tsa-server: refusals', () => {
  it('400 for a body that is not a TimeStampReq, with trailing bytes, or of another version', async () => {
    const valid = Buffer.from(await rawQuery());
    // TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, ... }: the first INTEGER after the header.
    const version2 = Buffer.from(valid);
    const at = version2.indexOf(Buffer.from([0x02, 0x01, 0x01]));
    assert.ok(at > 0 && at < 4);
    version2[at + 2] = 2;
    for (const body of [Buffer.from('not a query'), Buffer.concat([valid, Buffer.from([0])]), version2]) {
      const r = await post(url, body);
      assert.equal(r.status, 400);
      assert.match(await r.text(), /not an RFC 3161 TimeStampReq/);
    }
    assert.equal((await post(url, valid)).status, 200, 'the unmutated query is answered');
  });

  it('413 past 64 KiB, 415 for another content type, 405 and 404 for what is not served', async () => {
    assert.equal((await post(url, Buffer.alloc(MAX_QUERY_BYTES + 1))).status, 413);
    assert.equal((await post(url, await rawQuery(), 'application/octet-stream')).status, 415);
    assert.equal((await fetch(url, { method: 'PUT' })).status, 405);
    assert.equal((await fetch(`${url}/nothing`)).status, 404);
  });

  it('/healthz answers, /metrics counts replies by status, failures and the latency', async () => {
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /airlock_tsa_replies_total\{status="granted"\} \d+/);
    assert.match(metrics, /airlock_tsa_reply_seconds_count \d+/);
    assert.match(metrics, /airlock_http_requests_total\{route="timestamp",status="400"\} 3/);
  });
});

describe('tsa-server: the queue and the signer failing', () => {
  it('runs at most maxActive signings, queues maxQueued more, and refuses the rest with 503', async () => {
    const reply = await timestamper.reply(await rawQuery());
    const held: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const blocking: Timestamper = {
      async reply() {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((ok) => held.push(ok));
        running--;
        return reply;
      },
    };
    const queued = await serve({ timestamper: blocking, maxActive: 2, maxQueued: 1 });
    const query = await rawQuery();
    const first = [post(queued, query), post(queued, query), post(queued, query)];
    while (held.length < 2) await new Promise((r) => setImmediate(r));
    const refused = await post(queued, query);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    while (held.length > 0 || running > 0) {
      held.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(
      (await Promise.all(first)).map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(most, 2);
  });

  it('500 with a short message when openssl fails (its key gone); the reason goes to the log only', async () => {
    await writeFile(p('gone.key'), await readFile(p('tsa.key')), { mode: 0o600 });
    const failing = await OpensslTimestamper.open({
      openssl: 'openssl',
      keyPath: p('gone.key'),
      chainPem,
      policy: '1.2.3.4',
      parentDir: dir,
    });
    after(() => failing.close());
    await rm(p('gone.key'));
    const broken = await serve({ timestamper: failing });
    const r = await post(broken, await rawQuery());
    assert.equal(r.status, 500);
    assert.equal(await r.text(), 'the timestamp authority could not answer; see its log\n');
    const event = logs.findLast((e) => e.status === 500);
    assert.equal(event?.level, 'error');
    assert.match(String(event?.error), /gone\.key/);
    assert.match(await (await fetch(`${broken}/metrics`)).text(), /airlock_tsa_failures_total 1/);
  });
});

/** A TimeStampReq as openssl makes one (certReq, nonce), for the tests that post raw bodies. */
async function rawQuery(): Promise<Uint8Array> {
  const name = randomBytes(6).toString('hex');
  await writeFile(p(`${name}.dat`), randomBytes(16));
  const args = ['ts', '-query', '-data', `${name}.dat`, '-sha256', '-cert', '-out', `${name}.tsq`];
  await run('openssl', args, { cwd: dir });
  return new Uint8Array(await readFile(p(`${name}.tsq`)));
}
