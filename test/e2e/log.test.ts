// `airlock log serve` as a real process: bundles signed with --rekor-url pointing at it verify with
// `airlock verify-blob` and with plain @sigstore/verify over a root from `airlock trust create`;
// tampering with the proof, the checkpoint or the entry fails with its code; the tlog-tiles reads
// agree with the entries; bad requests get clear 4xx answers.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { leafHash } from '../../src/log/merkle.ts';
import { decodeEntryBundle } from '../../src/log/tiles.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeLogKey, startLog, type TestLog, writeTrustedRootFor } from '../helpers/log-server.ts';
import { verifyWithSigstoreJs } from '../helpers/sigstore.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let log: TestLog;
// Registered before the folder below (after hooks run in order): the log stops first.
after(() => log?.stop());
const dir = useTempDir('airlock-log-');
const cli = (args: string[]) =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') } });
const root = () => join(dir, 'root.json');

interface Tle {
  logIndex?: string;
  kindVersion: { kind: string };
  canonicalizedBody: string;
  inclusionProof: { hashes: string[]; checkpoint: { envelope: string } };
}
interface BundleJson {
  verificationMaterial: { tlogEntries: Tle[] };
}

async function signed(
  name: string,
  text: string,
): Promise<{ file: string; bundle: string; json: BundleJson; entry: Tle }> {
  const file = join(dir, name);
  await writeFile(file, text);
  const r = await cli([
    'sign-blob',
    file,
    '--key',
    join(dir, 'k.key'),
    '--rekor-url',
    log.url,
    '--rekor-api-version',
    '2',
    '--bundle',
    `${file}.bundle`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await readFile(`${file}.bundle`, 'utf8')) as BundleJson;
  return { file, bundle: `${file}.bundle`, json, entry: json.verificationMaterial.tlogEntries[0] as Tle };
}
const verify = (file: string, bundle: string) =>
  cli(['verify-blob', file, '--key', join(dir, 'k.pub'), '--bundle', bundle, '--trusted-root', root(), '--json']);

before(async () => {
  await makeLogKey(join(dir, 'log'));
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'k')])).code, 0);
  log = await startLog(join(dir, 'data'), join(dir, 'log.key'));
  await writeTrustedRootFor(log, root());
});

describe('signing with --rekor-url against airlock log serve', () => {
  it('the bundle verifies with airlock verify-blob and with plain @sigstore/verify', async () => {
    for (let i = 0; i < 4; i++) await signed(`warm-${i}.txt`, `warm ${i}\n`); // a tree with a real proof path
    const { file, bundle, json, entry } = await signed('a.txt', 'artifact a\n');
    assert.equal(entry.kindVersion.kind, 'hashedrekord');
    assert.ok(entry.inclusionProof.hashes.length > 0);
    const v = await verify(file, bundle);
    assert.equal(v.code, 0, v.stderr);
    assert.ok(JSON.parse(v.stdout).checks.some((c: { name: string }) => c.name === 'log key validity'));
    const rootJson = JSON.parse(await readFile(root(), 'utf8'));
    const key = createPublicKey(await readFile(join(dir, 'k.pub')));
    const bytes = await readFile(file);
    assert.doesNotThrow(() =>
      verifyWithSigstoreJs(json, bytes, key, { trustedRoot: rootJson, tlogThreshold: 1, timestampThreshold: 0 }),
    );
  });

  it('says to add --rekor-api-version 2 when the log does not serve the v1 API', async () => {
    const file = join(dir, 'v1.txt');
    await writeFile(file, 'v1 client\n');
    const r = await cli([
      'sign-blob',
      file,
      '--key',
      join(dir, 'k.key'),
      '--rekor-url',
      log.url,
      '--bundle',
      `${file}.bundle`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /E_TLOG_UPLOAD/);
    assert.match(r.stderr, /--rekor-api-version 2/);
  });

  it('records every logged signature in the audit trail, entry 0 included, and the trail verifies', async () => {
    // Bundles leave logIndex 0 out (proto3 JSON); the audit event once got `undefined` for it.
    const verified = await cli(['audit', 'verify', '--json']);
    assert.equal(verified.code, 0, verified.stderr);
    const shown = await cli(['audit', 'show', '--action', 'sign', '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const indices = (
      JSON.parse(shown.stdout) as { events: Array<{ details?: { tlogEntries?: string[] } }> }
    ).events.flatMap((e) => e.details?.tlogEntries ?? []);
    assert.deepEqual(indices.slice(0, 5), ['0', '1', '2', '3', '4']);
  });

  // Each attack edits one part of the log entry a bundle carries.
  it('tampering with the proof, the checkpoint or the entry fails with its code', async () => {
    // An entry before b's, so b's proof has a hash to change or drop even when this test runs alone.
    await signed('b-before.txt', 'artifact before b\n');
    const { file, json } = await signed('b.txt', 'artifact b\n');
    const other = await signed('c.txt', 'artifact c\n');
    assert.ok(
      (json.verificationMaterial.tlogEntries[0] as Tle).inclusionProof.hashes.length > 0,
      "b's proof has a hash to tamper with",
    );
    const cases: Array<[string, (e: Tle) => void, string]> = [
      [
        'a proof hash',
        (e) => (e.inclusionProof.hashes[0] = Buffer.alloc(32, 7).toString('base64')),
        'E_TLOG_INCLUSION',
      ],
      ['a proof hash dropped', (e) => e.inclusionProof.hashes.pop(), 'E_TLOG_INCLUSION'],
      [
        'the checkpoint root',
        (e) =>
          (e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
            /\n[A-Za-z0-9+/]{43}=\n/,
            `\n${Buffer.alloc(32, 1).toString('base64')}\n`,
          )),
        'E_TLOG_CHECKPOINT',
      ],
      [
        'the checkpoint signature',
        (e) =>
          (e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
            / (\S{10})\S*\n$/,
            ` $1${'A'.repeat(90)}\n`,
          )),
        'E_TLOG_CHECKPOINT',
      ],
      [
        'the entry bytes',
        (e) =>
          (e.canonicalizedBody = Buffer.from(
            Buffer.from(e.canonicalizedBody, 'base64').toString().replace('SHA2_256', 'SHA2_384'),
          ).toString('base64')),
        'E_TLOG_INCLUSION',
      ],
      ['another (valid) entry of the log', (e) => Object.assign(e, other.entry), 'E_TLOG_ENTRY'],
    ];
    for (const [what, edit, code] of cases) {
      const bad = structuredClone(json);
      edit(bad.verificationMaterial.tlogEntries[0] as Tle);
      const path = join(dir, `tampered-${code}-${what.length}.bundle`);
      await writeFile(path, JSON.stringify(bad));
      const r = await verify(file, path);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).error.code, code, what);
    }
  });

  // Attack: a Rekor v2 entry's logIndex and integratedTime are not signed by anything; only the index
  // its inclusion proof proves is. A bundle re-labelled with another index (or a time) must not be
  // reported as such.
  it('reports only what the log vouches for: an outer logIndex other than the proven one is refused', async () => {
    const { file, json, entry } = await signed('idx.txt', 'artifact idx\n');
    const proven = String((entry.inclusionProof as { logIndex?: string }).logIndex ?? '0');
    assert.equal(String(entry.logIndex ?? '0'), proven);
    for (const claimed of [String(Number(proven) + 1), '0', '999999']) {
      if (claimed === proven) continue;
      const bad = structuredClone(json);
      (bad.verificationMaterial.tlogEntries[0] as Tle).logIndex = claimed;
      const path = join(dir, `relabelled-${claimed}.bundle`);
      await writeFile(path, JSON.stringify(bad));
      const r = await verify(file, path);
      assert.equal(r.code, 1, `logIndex ${claimed}: ${r.stderr}`);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.error.code, 'E_TLOG_INCLUSION', `logIndex ${claimed}`);
      assert.match(doc.error.message, new RegExp(`proves index ${proven}`));
    }
    // An integratedTime no signed entry timestamp covers is no signing time.
    const timed = structuredClone(json) as BundleJson & {
      verificationMaterial: { tlogEntries: Array<Tle & { integratedTime?: string }> };
    };
    (timed.verificationMaterial.tlogEntries[0] as { integratedTime?: string }).integratedTime = '1000000000';
    await writeFile(join(dir, 'timed.bundle'), JSON.stringify(timed));
    const r = await verify(file, join(dir, 'timed.bundle'));
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.timestamps, []);
    assert.equal(report.tlogEntries[0].integratedTime, undefined);
    assert.equal(report.tlogEntries[0].logIndex, proven);
  });

  it('a trusted root naming another log key refuses the entry', async () => {
    await makeLogKey(join(dir, 'otherlog'));
    const other = join(dir, 'other-root.json');
    await writeTrustedRootFor(log, other, join(dir, 'otherlog.pub'));
    const { file, bundle } = await signed('d.txt', 'artifact d\n');
    const r = await cli([
      'verify-blob',
      file,
      '--key',
      join(dir, 'k.pub'),
      '--bundle',
      bundle,
      '--trusted-root',
      other,
      '--json',
    ]);
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.stdout).error.code, /^E_TLOG_/);
  });
});

describe('the HTTP API', () => {
  it('serves the checkpoint, tiles and entry bundles that agree with each other', async () => {
    const checkpoint = await (await fetch(`${log.url}/checkpoint`)).text();
    const [, sizeText] = checkpoint.split('\n');
    const size = Number(sizeText);
    assert.ok(size >= 5);
    const bundleRes = await fetch(`${log.url}/api/v2/tile/entries/000.p/${size}`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(bundleRes.status, 200);
    assert.match(bundleRes.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(bundleRes.headers.get('content-encoding'), 'gzip');
    const entries = decodeEntryBundle(Buffer.from(await bundleRes.arrayBuffer())); // fetch has inflated it
    const tile = Buffer.from(await (await fetch(`${log.url}/tile/0/000.p/${size}`)).arrayBuffer());
    assert.equal(tile.length, size * 32);
    for (const [i, e] of entries.entries())
      assert.ok(leafHash(e).equals(tile.subarray(i * 32, i * 32 + 32)), `entry ${i}`);
    assert.equal((await fetch(`${log.url}/tile/0/000`)).status, 404, 'not full yet');
    assert.equal((await fetch(`${log.url}/tile/0/000.p/${size + 1}`)).status, 404);
    assert.equal((await fetch(`${log.url}/tile/0/0`)).status, 404, 'non-canonical path');
    const health = (await (await fetch(`${log.url}/healthz`)).json()) as { size: number };
    assert.equal(health.size, size);
    const metrics = await (await fetch(`${log.url}/metrics`)).text();
    assert.match(metrics, /^airlock_log_tree_size \d+$/m);
    assert.match(metrics, /airlock_log_write_seconds_count \d+/);
  });

  it('refuses bad requests with 4xx and a code; a duplicate is 409 with X-Log-Index and the entry', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${log.url}/api/v2/log/entries`, { method: 'POST', headers: { 'content-type': type }, body });
    const notJson = await post('{');
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { code: string }).code, 'E_INPUT_MALFORMED');
    const dsse = await post(JSON.stringify({ dsseRequestV002: {} }));
    assert.equal(dsse.status, 400);
    // The refusal's hint (how to log a DSSE envelope instead) reaches the client through the verify worker.
    assert.match(((await dsse.json()) as { hint?: string }).hint ?? '', /hashedRekordRequestV002/);
    assert.equal((await post('{}', 'text/plain')).status, 415);
    assert.equal((await fetch(`${log.url}/api/v2/log/entries`)).status, 405);
    const huge = await post(JSON.stringify({ x: 'a'.repeat(5 * 1024 * 1024) })).catch(() => undefined);
    assert.ok(!huge || huge.status === 413);
    // the same request twice: Rekor v2's 409 + X-Log-Index, and our entry body
    const { entry: e } = await signed('dup.txt', 'dup\n');
    const body = JSON.parse(Buffer.from(e.canonicalizedBody, 'base64').toString()).spec.hashedRekordV002;
    const request = JSON.stringify({
      hashedRekordRequestV002: { digest: body.data.digest, signature: body.signature },
    });
    const again = await post(request);
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('x-log-index'), String(Number(e.logIndex ?? 0)));
    const text = await again.text();
    assert.equal(again.headers.get('content-length'), String(Buffer.byteLength(text)), 'sized, not chunked');
    assert.equal((JSON.parse(text) as { canonicalizedBody: string }).canonicalizedBody, e.canonicalizedBody);
    const forged = JSON.stringify({
      hashedRekordRequestV002: { digest: Buffer.alloc(32, 9).toString('base64'), signature: body.signature },
    });
    const refused = await post(forged);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { code: string }).code, 'E_SIGNATURE_INVALID');
  });
});
