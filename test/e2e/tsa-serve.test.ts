// `airlock tsa init` → `airlock tsa serve` as an operator of a private Sigstore runs them: a real
// process on loopback, timestamps our client gets that `openssl ts -verify` accepts against the chain
// (the ground truth), a bundle signed with `sign-blob --tsa-url` against it that `verify-blob` accepts
// under a `trust create --tsa` root and refuses under a root trusting another TSA; the refusals at
// start (pkcs11: key, a certificate without the timeStamping purpose, a key that is not the
// certificate's), HTTPS, and a stop on SIGTERM that leaves no private folder behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateWebhookTls } from '../../src/admission/webhook-tls.ts';
import { encodePem, parsePemBlocks } from '../../src/crypto/pem.ts';
import { requestTimestamp } from '../../src/sigstore/tsa.ts';
import { AIRLOCK_BIN, type CliResult, runCliProcess } from '../helpers/cli.ts';
import { SERVING_LINE, startProcess, type StartedProcess } from '../helpers/process.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const run = promisify(execFile);
const servers: StartedProcess[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));
const dir = useTempDir('airlock-e2e-tsa-');
const p = (name: string) => join(dir, name);
const env = { AIRLOCK_HOME: p('home'), AIRLOCK_PASSWORD: 'pw', TMPDIR: p('tmp') };
const cli = (argv: string[]): Promise<CliResult> => runCliProcess(argv, { env });

async function startTsa(extra: string[] = []): Promise<{ server: StartedProcess; url: string }> {
  const server = await startProcess({
    command: process.execPath,
    args: [AIRLOCK_BIN, 'tsa', 'serve', '--key', p('tsa.key'), '--cert-chain', p('chain.pem')].concat([
      '--listen',
      '127.0.0.1:0',
      ...extra,
    ]),
    env: { ...process.env, ...env },
    readyWhen: { output: SERVING_LINE },
    timeoutMs: 30_000,
  });
  servers.push(server);
  const url = /"url":"([^"]+)"/.exec(server.output())?.[1] ?? '';
  return { server, url };
}

let tsa: { server: StartedProcess; url: string };
let start: string;
before(async () => {
  await mkdir(p('tmp'));
  start = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const init = await cli([
    'tsa',
    'init',
    '--key',
    p('tsa.key'),
    '--subject',
    'O=airlock e2e,CN=e2e TSA',
    '-o',
    p('chain.pem'),
  ]);
  assert.equal(init.code, 0, init.stderr);
  const [, root] = parsePemBlocks(await readFile(p('chain.pem'), 'utf8'));
  await writeFile(p('root.pem'), encodePem('CERTIFICATE', root?.der ?? new Uint8Array()));
  const key = await cli(['key', 'generate', '--output-key-prefix', p('release')]);
  assert.equal(key.code, 0, key.stderr);
  await writeFile(p('app.tar'), 'the artifact');
  tsa = await startTsa();
});

describe('airlock tsa serve', () => {
  it('serves at /api/v1/timestamp; replies verify with openssl ts -verify against the root', async () => {
    assert.match(tsa.url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/timestamp$/);
    const signature = randomBytes(64);
    await writeFile(p('sig.bin'), signature);
    await writeFile(p('reply.tsr'), await requestTimestamp(signature, { url: tsa.url }));
    const verify = (data: string) =>
      run('openssl', ['ts', '-verify', '-in', 'reply.tsr', '-data', data, '-CAfile', 'root.pem'], { cwd: dir });
    assert.match((await verify('sig.bin')).stdout, /Verification: OK/);
    await assert.rejects(verify('app.tar'), 'the same reply over other data fails');
  });

  it('sign-blob --tsa-url to it; verify-blob accepts under trust create --tsa, refuses under another TSA', async () => {
    const signed = await cli(
      ['sign-blob', p('app.tar'), '--key', p('release.key'), '--tlog-upload=false'].concat([
        '--tsa-url',
        tsa.url,
        '--bundle',
        p('app.sigstore.json'),
      ]),
    );
    assert.equal(signed.code, 0, signed.stderr);
    const rootFor = async (chain: string, out: string) => {
      const r = await cli([
        'trust',
        'create',
        '--out',
        out,
        `--tsa=url=${tsa.url},certificate-chain=${chain},start-time=${start}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
    };
    await rootFor(p('chain.pem'), p('trusted_root.json'));
    const verify = (root: string) =>
      cli(
        ['verify-blob', p('app.tar'), '--bundle', p('app.sigstore.json'), '--key', p('release.pub')].concat([
          '--trusted-root',
          root,
          '--tlog-threshold',
          '0',
          '--timestamp-threshold',
          '1',
        ]),
      );
    const ok = await verify(p('trusted_root.json'));
    assert.equal(ok.code, 0, ok.stderr);

    const other = await cli([
      'tsa',
      'init',
      '--key',
      p('other.key'),
      '--subject',
      'CN=other TSA',
      '-o',
      p('other.pem'),
    ]);
    assert.equal(other.code, 0, other.stderr);
    await rootFor(p('other.pem'), p('other_root.json'));
    const refused = await verify(p('other_root.json'));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /E_TIMESTAMP/);
  });

  it('400 for a malformed query, 413 for an oversized one, /healthz and the chain', async () => {
    const post = (body: Uint8Array) =>
      fetch(tsa.url, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body });
    assert.equal((await post(Buffer.from('not a query'))).status, 400);
    assert.equal((await post(Buffer.alloc(65 * 1024))).status, 413);
    const origin = new URL(tsa.url).origin;
    assert.equal((await fetch(`${origin}/healthz`)).status, 200);
    assert.equal(await (await fetch(`${tsa.url}/certchain`)).text(), await readFile(p('chain.pem'), 'utf8'));
  });

  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const tls = await generateWebhookTls({
      openssl: 'openssl',
      dir: p('tls'),
      service: 'tsa',
      namespace: 'e2e',
      overwrite: false,
    });
    const { url } = await startTsa(['--tls-cert', tls.paths.cert, '--tls-key', tls.paths.key]);
    assert.match(url, /^https:/);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${new URL(url).origin}/healthz`, { ca: tls.caCert, servername: 'tsa.e2e.svc' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject).end();
    });
    assert.equal(status, 200);
  });
});

describe('airlock tsa serve refuses to start', () => {
  const serveWith = (key: string, chain: string) =>
    cli(['tsa', 'serve', '--key', key, '--cert-chain', chain, '--listen', '127.0.0.1:0']);

  it('a pkcs11: key, saying openssl ts cannot use one (E_UNSUPPORTED, exit 2)', async () => {
    const r = await serveWith('pkcs11:token=tsa;object=tsa-key', p('chain.pem'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /E_UNSUPPORTED/);
    assert.match(r.stderr, /pkcs11/);
  });

  it('a chain whose first certificate lacks the critical timeStamping purpose (E_INPUT_MALFORMED)', async () => {
    // A serving certificate (extendedKeyUsage serverAuth) with its CA and key: a valid chain, not a TSA's.
    const tls = await generateWebhookTls({
      openssl: 'openssl',
      dir: p('web'),
      service: 'web',
      namespace: 'e2e',
      overwrite: false,
    });
    await writeFile(p('web-chain.pem'), tls.cert + tls.caCert);
    const r = await serveWith(tls.paths.key, p('web-chain.pem'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /E_INPUT_MALFORMED/);
    assert.match(r.stderr, /timeStamping/);
  });

  it("a key that is not the TSA certificate's (E_KEY_MISMATCH)", async () => {
    const r = await serveWith(p('other.key'), p('chain.pem'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /E_KEY_MISMATCH/);
  });
});

describe('airlock tsa serve stops', () => {
  it('on SIGTERM, exit 0, its private folder removed', async () => {
    const ours = async () => (await readdir(p('tmp'))).filter((n) => n.startsWith('airlock-tsa-'));
    assert.equal((await ours()).length, 2, 'one private folder per running TSA');
    await Promise.all(servers.map((s) => s.stop()));
    assert.equal(tsa.server.child.exitCode, 0, tsa.server.output());
    assert.deepEqual(await ours(), []);
  });
});
