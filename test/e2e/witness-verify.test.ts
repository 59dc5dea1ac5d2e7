// Witness cosignatures required at verification, end to end: a real `airlock log serve`, bundles signed
// against it, `airlock log witness` cosigning its checkpoint, and the cosignature line spliced into the
// bundle's checkpoint the way a log that gathers cosignatures would serve it. verify-blob and verify
// (images) with --witness-key / --require-witnesses must pass only with the cosignature; without the
// flags, the extra line changes nothing (Sigstore clients ignore it, and so does our base verifier).
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseNote } from '../../src/log/note.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import type { Descriptor, ImageManifest } from '../../src/oci/types.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { jsonManifest, makeTestImage, sha256 } from '../helpers/oci-images.ts';
import { makeLogKey, startLog, type TestLog, writeTrustedRootFor } from '../helpers/log-server.ts';
import { verifyWithSigstoreJs } from '../helpers/sigstore.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let log: TestLog;
// Registered before the folder below (after hooks run in order): the log stops first.
after(() => log?.stop());
const dir = useTempDir('airlock-witness-verify-');
const cli = (args: string[]) =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') } });
const root = () => join(dir, 'root.json');
const W1 = () => join(dir, 'w1.vkey');
let w1Vkey: string;

interface BundleJson {
  verificationMaterial: { tlogEntries: Array<{ inclusionProof: { checkpoint: { envelope: string } } }> };
}
interface Report {
  ok: boolean;
  checks: Array<{ name: string; result: string; detail: Record<string, unknown> }>;
  error?: { code: string; message: string };
}

const envelopeOf = (b: BundleJson): string =>
  b.verificationMaterial.tlogEntries[0]?.inclusionProof.checkpoint.envelope ?? '';
function withCosignature(b: BundleJson, line: string): BundleJson {
  const copy = structuredClone(b);
  const proof = copy.verificationMaterial.tlogEntries[0]?.inclusionProof;
  assert.ok(proof, 'the bundle has a log entry with a checkpoint');
  proof.checkpoint.envelope += line;
  return copy;
}

async function signed(name: string): Promise<{ file: string; bundle: string; json: BundleJson }> {
  const file = join(dir, name);
  await writeFile(file, `artifact ${name}\n`);
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
  return { file, bundle: `${file}.bundle`, json: JSON.parse(await readFile(`${file}.bundle`, 'utf8')) as BundleJson };
}

/** `airlock log witness` as witness w1: cosigns the log's latest checkpoint; returns its JSON. */
async function witness(): Promise<{ cosignature: string; vkey: string; note: string }> {
  const state = join(dir, 'w1-state.json');
  const args = [
    'log',
    'witness',
    log.url,
    '--vkey',
    join(log.dataDir, 'log.vkey'),
    '--state',
    state,
    '--key',
    join(dir, 'w1.key'),
    '--name',
    'w1.example',
    '--json',
  ];
  const first = w1Vkey === undefined;
  const r = await cli(first ? [...args, '--init'] : args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { cosignature: string; vkey: string; note: string };
}

const verifyBlob = (file: string, bundle: string, extra: string[] = []) =>
  cli([
    'verify-blob',
    file,
    '--key',
    join(dir, 'k.pub'),
    '--bundle',
    bundle,
    '--trusted-root',
    root(),
    '--json',
    ...extra,
  ]);
const report = (stdout: string): Report => JSON.parse(stdout) as Report;
const witnessCheck = (r: Report) => r.checks.find((c) => c.name === 'witness cosignatures');

before(async () => {
  await makeLogKey(join(dir, 'log'));
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'k')])).code, 0);
  assert.equal(
    (await cli(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', join(dir, 'w1')])).code,
    0,
  );
  log = await startLog(join(dir, 'data'), join(dir, 'log.key'));
  await writeTrustedRootFor(log, root());
});

describe('verify-blob --witness-key / --require-witnesses', () => {
  let a: { file: string; bundle: string; json: BundleJson };
  let cosignedPath: string;

  it('passes with the witness cosignature spliced into the checkpoint, and says who cosigned', async () => {
    for (let i = 0; i < 3; i++) await signed(`warm-${i}.txt`); // a tree with a real proof path
    a = await signed('a.txt');
    const w = await witness();
    w1Vkey = w.vkey;
    await writeFile(W1(), `${w.vkey}\n`);
    // The witness cosigned the very checkpoint the bundle's entry is proven in.
    assert.equal(parseNote(w.note).text, parseNote(envelopeOf(a.json)).text);
    const cosigned = withCosignature(a.json, w.cosignature);
    cosignedPath = join(dir, 'a.cosigned.bundle');
    await writeFile(cosignedPath, JSON.stringify(cosigned));
    const v = await verifyBlob(a.file, cosignedPath, ['--witness-key', W1(), '--require-witnesses', '1']);
    assert.equal(v.code, 0, v.stderr);
    const check = witnessCheck(report(v.stdout));
    assert.equal(check?.result, 'pass');
    assert.deepEqual((check?.detail.entries as Array<{ cosigned: string[] }>)[0]?.cosigned, ['w1.example']);
    // --require-witnesses defaults to every witness given; the key may be given inline.
    const inline = await verifyBlob(a.file, cosignedPath, ['--witness-key', w.vkey]);
    assert.equal(inline.code, 0, inline.stderr);
    assert.ok(witnessCheck(report(inline.stdout)));
  });

  it(
    'fails without the cosignature: E_TLOG_CHECKPOINT, exit 1, naming who cosigned and how many ' + 'are required',
    async () => {
      const v = await verifyBlob(a.file, a.bundle, ['--witness-key', W1(), '--require-witnesses', '1']);
      assert.equal(v.code, 1, v.stderr);
      const r = report(v.stdout);
      assert.equal(r.error?.code, 'E_TLOG_CHECKPOINT');
      assert.match(r.error?.message ?? '', /cosigned by 0 of the witnesses w1\.example \(none\); 1 required/);
      assert.match(v.stderr, /E_TLOG_CHECKPOINT/);
    },
  );

  it(
    'without the flags, the cosigned bundle verifies as before, with airlock and with plain ' + '@sigstore/verify',
    async () => {
      const v = await verifyBlob(a.file, cosignedPath);
      assert.equal(v.code, 0, v.stderr);
      assert.equal(witnessCheck(report(v.stdout)), undefined);
      const cosigned = JSON.parse(await readFile(cosignedPath, 'utf8'));
      const key = createPublicKey(await readFile(join(dir, 'k.pub')));
      const rootJson = JSON.parse(await readFile(root(), 'utf8'));
      assert.doesNotThrow(() =>
        verifyWithSigstoreJs(cosigned, Buffer.from('artifact a.txt\n'), key, {
          trustedRoot: rootJson,
          tlogThreshold: 1,
          timestampThreshold: 0,
        }),
      );
    },
  );

  it('a cosignature of a later checkpoint does not vouch for the one in the bundle', async () => {
    await signed('b.txt'); // the log grows
    const later = await witness();
    assert.notEqual(parseNote(later.note).text, parseNote(envelopeOf(a.json)).text);
    const path = join(dir, 'a.later.bundle');
    await writeFile(path, JSON.stringify(withCosignature(a.json, later.cosignature)));
    const v = await verifyBlob(a.file, path, ['--witness-key', W1()]);
    assert.equal(v.code, 1, v.stderr);
    assert.equal(report(v.stdout).error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(report(v.stdout).error?.message ?? '', /does not verify/);
  });

  it(
    'usage errors exit 2: --require-witnesses alone, more than the witnesses given, with ' + '--insecure-ignore-tlog',
    async () => {
      const cases: Array<[string, string[], RegExp]> = [
        ['no witness key', ['--require-witnesses', '1'], /give at least one --witness-key/],
        [
          'N above the witnesses given',
          ['--witness-key', W1(), '--require-witnesses', '2'],
          /exceeds the 1 distinct witness/,
        ],
        [
          'the same witness twice still counts once',
          ['--witness-key', W1(), '--witness-key', w1Vkey, '--require-witnesses', '2'],
          /exceeds the 1 distinct witness/,
        ],
        [
          'no log entry to cosign',
          ['--witness-key', W1(), '--insecure-ignore-tlog'],
          /conflicts with --insecure-ignore-tlog/,
        ],
        ['not a whole number', ['--witness-key', W1(), '--require-witnesses', 'all'], /whole number/],
      ];
      for (const [what, flags, message] of cases) {
        const v = await verifyBlob(a.file, cosignedPath, flags);
        assert.equal(v.code, 2, `${what}: ${v.stderr}`);
        assert.match(v.stderr, message, what);
      }
      const missing = await verifyBlob(a.file, cosignedPath, ['--witness-key', join(dir, 'nope.vkey')]);
      assert.equal(missing.code, 3, missing.stderr);
      // 0 turns the check off, with a warning.
      const off = await verifyBlob(a.file, a.bundle, ['--witness-key', W1(), '--require-witnesses', '0']);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stderr, /witness cosignatures are not checked/);
    },
  );
});

describe('verify (images) --witness-key', () => {
  it(
    'needs a cosigned checkpoint on the signature referrer; other signatures fail with ' + 'E_TLOG_CHECKPOINT',
    async () => {
      const layout = join(dir, 'layout');
      const store = await openLayoutStore(layout, { create: true });
      const image = (await makeTestImage(store, { tag: 'v1', layers: 1 })).manifest;
      await store.close();
      const s = await cli([
        'sign',
        `oci:${layout}:v1`,
        '--key',
        join(dir, 'k.key'),
        '--rekor-url',
        log.url,
        '--rekor-api-version',
        '2',
      ]);
      assert.equal(s.code, 0, s.stderr);
      const verify = (extra: string[] = []) =>
        cli(['verify', `oci:${layout}:v1`, '--key', join(dir, 'k.pub'), '--trusted-root', root(), '--json', ...extra]);
      const plain = await verify();
      assert.equal(plain.code, 0, plain.stderr);
      const refused = await verify(['--witness-key', W1()]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.deepEqual(
        JSON.parse(refused.stdout).results.map((r: { code?: string }) => r.code),
        ['E_TLOG_CHECKPOINT'],
      );

      // Attach a copy of the signature whose checkpoint carries w1's cosignature.
      const w = await witness();
      const rw = await openLayoutStore(layout, {});
      const [referrer] = await rw.listReferrers(image.digest);
      assert.ok(referrer);
      const manifest = JSON.parse((await rw.getManifest(referrer.digest)).bytes.toString('utf8')) as ImageManifest;
      const layer = manifest.layers[0] as Descriptor;
      const chunks: Buffer[] = [];
      for await (const chunk of await rw.getBlob(layer)) chunks.push(chunk as Buffer);
      const original = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BundleJson;
      assert.equal(parseNote(w.note).text, parseNote(envelopeOf(original)).text);
      const bytes = Buffer.from(JSON.stringify(withCosignature(original, w.cosignature)));
      const cosignedLayer: Descriptor = { ...layer, digest: sha256(bytes), size: bytes.length };
      await rw.putBlob(cosignedLayer, bytes);
      const stored = jsonManifest(
        { ...manifest, layers: [cosignedLayer] },
        manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      );
      await rw.putManifest(stored);
      await rw.addReferrer(image, {
        mediaType: stored.mediaType,
        digest: stored.digest,
        size: stored.bytes.length,
        artifactType: manifest.artifactType ?? '',
      });
      await rw.close();

      const v = await verify(['--witness-key', W1(), '--require-witnesses', '1']);
      assert.equal(v.code, 0, v.stderr);
      const results = JSON.parse(v.stdout).results as Array<{
        where: string;
        ok: boolean;
        code?: string;
        report?: Report;
      }>;
      const ok = results.filter((r) => r.ok);
      assert.deepEqual(
        ok.map((r) => r.where),
        [stored.digest],
      );
      assert.deepEqual(
        (witnessCheck(ok[0]?.report as Report)?.detail.entries as Array<{ cosigned: string[] }>)[0]?.cosigned,
        ['w1.example'],
      );
      assert.deepEqual(
        results.filter((r) => !r.ok).map((r) => r.code),
        ['E_TLOG_CHECKPOINT'],
        'the uncosigned referrer still fails',
      );
      // Without the flags both signatures verify.
      const both = await verify();
      assert.equal(both.code, 0, both.stderr);
      assert.deepEqual(
        JSON.parse(both.stdout).results.map((r: { ok: boolean }) => r.ok),
        [true, true],
      );
    },
  );
});
