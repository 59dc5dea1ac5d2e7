import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { list } from 'tar';
import { isAirlockError } from '../../errors.ts';
import { packageHeadersOnly, readPackage } from './read-package.ts';
import { type PackageEntry, writePackage } from './write-package.ts';
import {
  caseDir,
  craftPackage,
  expectFailure,
  HEADER_NAMES,
  headerEntries,
  listing,
  options,
  PAYLOAD,
  payloadEntries,
  readBodiesInParallelFrom,
  removeCaseDirs,
  sha256,
  stagingWithKeep,
  writeStandard,
} from '../../../test/helpers/package-kit.ts';

after(removeCaseDirs);

for (const [mode, from] of [
  ['one pass', undefined],
  ['bodies side by side', 1],
] as const) {
  describe(`writePackage + readPackage round trip (${mode})`, () => {
    before(() => readBodiesInParallelFrom(from));
    after(() => readBodiesInParallelFrom(undefined));

    for (const format of ['tar', 'dir'] as const) {
      it(`${format}: headers first, accepted before any payload is staged, every payload hashed`, async () => {
        const dir = await caseDir();
        const out = await writeStandard(format, dir);
        const staging = join(dir, 'staging');
        const opts = options(staging);
        const before = format === 'tar' ? sha256(await readFile(out)) : '';
        const result = await readPackage(out, opts);
        assert.deepEqual(opts.seenInStaging, [[]], 'acceptHeaders ran once, with nothing staged yet');
        assert.deepEqual([...result.headers.keys()].sort(), [...HEADER_NAMES].sort());
        assert.deepEqual([...result.files.keys()].sort(), PAYLOAD.map(([p]) => p).sort());
        for (const [path, text] of PAYLOAD) {
          assert.deepEqual(result.files.get(path), { sha256: sha256(text), size: Buffer.byteLength(text) });
          assert.equal(await readFile(join(staging, path), 'utf8'), text);
        }
        if (format === 'tar') assert.equal(sha256(await readFile(out)), before, 'the source is never modified');
      });
    }

    it('tar: exact entry order, deterministic headers, readable by tar itself', async () => {
      const a = await writeStandard('tar', await caseDir());
      const b = await writeStandard('tar', await caseDir());
      assert.equal(sha256(await readFile(a)), sha256(await readFile(b)), 'equal contents give equal bytes');
      const seen: Array<{ path: string; mode?: number; uid?: number; gid?: number; mtime?: Date; uname?: string }> = [];
      await list({
        file: a,
        strict: true,
        onReadEntry: (e) =>
          seen.push({ path: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, uname: e.uname }),
      });
      assert.deepEqual(
        seen.map((e) => e.path),
        [...HEADER_NAMES, ...PAYLOAD.map(([p]) => p)],
      );
      for (const e of seen) {
        assert.equal(e.mode, 0o644);
        assert.equal(e.uid, 0);
        assert.equal(e.gid, 0);
        assert.equal(e.mtime?.getTime(), 0);
        assert.ok(!e.uname);
      }
    });

    it('tar: long and non-ASCII paths go through pax; files are streamed from disk', async () => {
      const dir = await caseDir();
      const long = `${'deep/'.repeat(40)}${'n'.repeat(120)}.txt`; // beyond ustar: pax
      const medium = `${'m'.repeat(90)}/${'n'.repeat(60)}.txt`; // fits ustar's prefix + name
      const source = join(dir, 'src.bin');
      await writeFile(source, 'from disk');
      const payload: PackageEntry[] = [
        { path: long, data: Buffer.from('long') },
        { path: medium, data: Buffer.from('medium') },
        { path: 'ünïcødé/ファイル', data: Buffer.from('utf8') },
        { path: 'from-disk', file: source },
      ];
      const listed = new Map([...listing(payload.slice(0, 3)), ['from-disk', sha256('from disk')]]);
      const out = join(dir, 'p.tar');
      await writePackage(out, [...headerEntries(listed), ...payload], { format: 'tar' });
      const names: string[] = [];
      await list({ file: out, strict: true, onReadEntry: (e) => names.push(e.path) });
      assert.deepEqual(names.slice(3), [long, medium, 'ünïcødé/ファイル', 'from-disk']);
      const result = await readPackage(out, options(join(dir, 'staging')));
      assert.equal(await readFile(join(dir, 'staging', long), 'utf8'), 'long');
      assert.equal(await readFile(join(dir, 'staging', medium), 'utf8'), 'medium');
      assert.equal(await readFile(join(dir, 'staging', 'ünïcødé/ファイル'), 'utf8'), 'utf8');
      assert.equal(result.files.get('from-disk')?.size, 9);
    });

    it('tar: small and MiB-sized entries, in memory and on disk, keep their bytes and order', async () => {
      const dir = await caseDir();
      const onDisk = join(dir, 'three-mib');
      await writeFile(onDisk, Buffer.alloc(3 * 1024 * 1024 + 7, 'd'));
      const payload: PackageEntry[] = [
        { path: 'a', data: Buffer.from('small a') },
        { path: 'b', data: Buffer.alloc(2.5 * 1024 * 1024, 'b') },
        { path: 'c', data: Buffer.from('small c') },
        { path: 'd', file: onDisk },
        { path: 'e', data: Buffer.from('small e') },
      ];
      const listed = new Map(payload.map((e) => [e.path, sha256(e.data ?? Buffer.alloc(3 * 1024 * 1024 + 7, 'd'))]));
      const out = join(dir, 'p.tar');
      let progress = 0;
      await writePackage(out, [...headerEntries(listed), ...payload], {
        format: 'tar',
        onProgress: (b) => (progress = b),
      });
      assert.ok(progress >= 5.5 * 1024 * 1024);
      const result = await readPackage(out, options(join(dir, 'staging')));
      assert.deepEqual([...result.files.keys()], ['a', 'b', 'c', 'd', 'e']);
    });

    it('a header listed in the manifest is checked from memory', async () => {
      const dir = await caseDir();
      const payload = payloadEntries();
      const transfer = Buffer.from('{"format":"airlock-transfer/v1"}');
      const out = join(dir, 'p.tar');
      await writePackage(
        out,
        [...headerEntries(new Map([...listing(payload), ['airlock-transfer.json', sha256(transfer)]])), ...payload],
        { format: 'tar' },
      );
      const result = await readPackage(out, options(join(dir, 'staging')));
      assert.ok(!result.files.has('airlock-transfer.json'));
      const staging = await stagingWithKeep(dir);
      const lying = join(dir, 'lying.tar');
      await writePackage(
        lying,
        [...headerEntries(new Map([...listing(payload), ['airlock-transfer.json', sha256('other')]])), ...payload],
        { format: 'tar' },
      );
      await expectFailure(lying, 'E_DIGEST_MISMATCH', staging);
    });

    it('writePackage refuses to replace an existing output unless told to', async () => {
      for (const format of ['tar', 'dir'] as const) {
        const dir = await caseDir();
        const out = await writeStandard(format, dir);
        await assert.rejects(writePackage(out, payloadEntries(), { format }), (e) =>
          isAirlockError(e, 'E_OUTPUT_EXISTS'),
        );
        await writePackage(out, [{ path: 'only', data: Buffer.from('x') }], { format, overwrite: true });
        if (format === 'dir') assert.deepEqual(await readdir(out), ['only']);
        assert.deepEqual(
          (await readdir(dir)).filter((f) => f.startsWith('.')),
          [],
          'no temp files left',
        );
      }
    });

    it('writePackage refuses unsafe and clashing paths', async () => {
      const dir = await caseDir();
      for (const entries of [
        [{ path: '../x', data: Buffer.from('') }],
        [
          { path: 'a', data: Buffer.from('') },
          { path: 'a/b', data: Buffer.from('') },
        ],
        [{ path: 'a\nb', data: Buffer.from('') }],
      ]) {
        await assert.rejects(writePackage(join(dir, 'p.tar'), entries, { format: 'tar' }), (e) =>
          isAirlockError(e, 'E_INPUT_MALFORMED'),
        );
      }
    });
  });
}

describe('packageHeadersOnly', () => {
  it('returns the headers without reading the payload (a broken payload does not matter)', async () => {
    const dir = await caseDir();
    const tar = join(dir, 'p.tar');
    const good = craftPackage(new Map(), [{ path: 'payload', body: 'x'.repeat(5000) }]);
    await writeFile(tar, good.subarray(0, good.length - 3000)); // cut inside the payload
    const headers = await packageHeadersOnly(tar, HEADER_NAMES);
    assert.deepEqual([...headers.keys()], [...HEADER_NAMES]);
    const folder = await writeStandard('dir', dir);
    assert.deepEqual([...(await packageHeadersOnly(folder, HEADER_NAMES)).keys()].sort(), [...HEADER_NAMES].sort());
  });
});
