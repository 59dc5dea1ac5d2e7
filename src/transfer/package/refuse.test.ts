// Every way a package can be wrong, and that a refused import leaves staging as it found it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ErrorCode, isAirlockError } from '../../errors.ts';
import { readPackage } from './read-package.ts';
import { type PackageEntry, writePackage } from './write-package.ts';
import {
  caseDir,
  type Crafted,
  craftPackage,
  craftTar,
  expectFailure,
  headerEntries,
  options,
  PAYLOAD,
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
  describe(`readPackage refuses a bad tar and leaves staging as it was (${mode})`, () => {
    before(() => readBodiesInParallelFrom(from));
    after(() => readBodiesInParallelFrom(undefined));

    const good: Crafted[] = PAYLOAD.map(([path, body]) => ({ path, body }));
    const listed = new Map(PAYLOAD.map(([p, t]) => [p, sha256(t)]));

    it('acceptHeaders throws: its error, nothing staged', async () => {
      const dir = await caseDir();
      const out = await writeStandard('tar', dir);
      const staging = await stagingWithKeep(dir);
      const boom = new Error('signature does not verify');
      await assert.rejects(
        readPackage(out, options(staging, { acceptHeaders: () => Promise.reject(boom) })),
        (e) => e === boom,
      );
      assert.deepEqual(await readdir(staging), ['keep.txt']);
    });

    it('a payload byte changed after signing → E_DIGEST_MISMATCH naming path, expected and found', async () => {
      const dir = await caseDir();
      const tar = craftPackage(listed, good);
      const at = tar.indexOf('layer bytes layer');
      tar[at] = 'L'.charCodeAt(0);
      const file = join(dir, 'p.tar');
      await writeFile(file, tar);
      const staging = await stagingWithKeep(dir);
      await expectFailure(file, 'E_DIGEST_MISMATCH', staging, (e) => {
        const details = (e as { details?: Record<string, unknown> }).details;
        assert.equal(details?.['path'], 'oci/blobs/sha256/aaaa');
        assert.equal(details?.['expected'], `sha256:${listed.get('oci/blobs/sha256/aaaa')}`);
        assert.match(String(details?.['found']), /^sha256:[0-9a-f]{64}$/);
      });
    });

    it('a file the manifest lists is missing → E_INPUT_MISSING listing it', async () => {
      const dir = await caseDir();
      const file = join(dir, 'p.tar');
      await writeFile(file, craftPackage(new Map([...listed, ['oci/blobs/sha256/gone', sha256('gone')]]), good));
      await expectFailure(file, 'E_INPUT_MISSING', await stagingWithKeep(dir), (e) => {
        assert.deepEqual((e as { details?: Record<string, unknown> }).details?.['missing'], ['oci/blobs/sha256/gone']);
      });
    });

    const cases: Array<[string, Crafted[]]> = [
      ['a file the manifest does not list', [...good, { path: 'extra', body: 'smuggled' }]],
      ['the same payload path twice', [...good, { path: 'files/readme.txt', body: 'hello' }]],
      ['a header name again after the payload', [...good, { path: 'manifest.sha256', body: '' }]],
      ['a ../ path', [...good, { path: '../x', body: 'x' }]],
      ['an absolute path', [...good, { path: '/abs-escape', body: 'x' }]],
      ['a nested ../ path', [...good, { path: 'a/../../b', body: 'x' }]],
      ['a ./ spelling of a listed path', [...good.slice(1), { path: './oci/oci-layout', body: PAYLOAD[0]?.[1] ?? '' }]],
      ['an empty path segment', [...good.slice(1), { path: 'oci//oci-layout', body: PAYLOAD[0]?.[1] ?? '' }]],
      ['a backslash', [...good, { path: 'a\\b', body: 'x' }]],
      ['a symlink', [...good, { path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }]],
      ['a hardlink', [...good, { path: 'hard', type: 'Link', linkpath: 'files/readme.txt' }]],
      ['a character device', [...good, { path: 'dev', type: 'CharacterDevice' }]],
      ['a fifo', [...good, { path: 'fifo', type: 'FIFO' }]],
      ['a path both file and folder', [...good, { path: 'files/readme.txt/x', body: 'x' }]],
      ['a folder entry with contents', [...good, { path: 'dir/', type: 'Directory', body: 'hidden' }]],
      [
        'a global pax header',
        [{ path: 'pax_global_header', type: 'GlobalExtendedHeader', body: '16 path=smuggle\n' }, ...good],
      ],
    ];
    for (const [name, entries] of cases) {
      it(`${name} → E_INPUT_MALFORMED`, async () => {
        const dir = await caseDir();
        const file = join(dir, 'p.tar');
        await writeFile(file, craftPackage(listed, entries));
        const staging = await stagingWithKeep(dir);
        await expectFailure(file, 'E_INPUT_MALFORMED', staging);
        assert.ok(
          !existsSync(join(dir, 'x')) && !existsSync(join(dir, 'b')) && !existsSync('/abs-escape'),
          'nothing escaped staging',
        );
      });
    }

    it('a symlink or hardlink under a header name → E_INPUT_MALFORMED before acceptHeaders', async () => {
      for (const entry of [
        { path: 'manifest.sha256', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'manifest.sha256.sig', type: 'Link', linkpath: 'x' },
      ] as const) {
        const dir = await caseDir();
        const file = join(dir, 'p.tar');
        await writeFile(file, craftTar([{ path: 'airlock-transfer.json', body: '{}' }, entry, ...good]));
        const staging = await stagingWithKeep(dir);
        const opts = options(staging);
        await assert.rejects(readPackage(file, opts), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
        assert.deepEqual(opts.seenInStaging, [], 'acceptHeaders was never called');
      }
    });

    it('a header larger than maxHeaderSize → E_INPUT_MALFORMED', async () => {
      const dir = await caseDir();
      const out = await writeStandard('tar', dir);
      const staging = await stagingWithKeep(dir);
      await assert.rejects(readPackage(out, options(staging, { maxHeaderSize: 8 })), (e) =>
        isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
      assert.deepEqual(await readdir(staging), ['keep.txt']);
    });

    it('a payload larger than maxEntrySize → E_INPUT_MALFORMED', async () => {
      const dir = await caseDir();
      const out = await writeStandard('tar', dir);
      const staging = await stagingWithKeep(dir);
      await assert.rejects(readPackage(out, options(staging, { maxEntrySize: 100 })), (e) =>
        isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
      assert.deepEqual(await readdir(staging), ['keep.txt']);
    });

    // A cut file gets one code wherever it was cut (test/e2e/package-truncated.test.ts tries every offset).
    it('cut in the middle of a payload entry → E_PACKAGE_TRUNCATED, the staged part removed', async () => {
      const dir = await caseDir();
      const tar = craftPackage(listed, good);
      const file = join(dir, 'p.tar');
      await writeFile(file, tar.subarray(0, tar.indexOf('layer bytes') + 3000));
      await expectFailure(file, 'E_PACKAGE_TRUNCATED', await stagingWithKeep(dir));
    });

    it('complete entries but no end-of-archive marker → E_PACKAGE_TRUNCATED', async () => {
      const dir = await caseDir();
      const file = join(dir, 'p.tar');
      const tar = craftPackage(listed, good);
      await writeFile(file, tar.subarray(0, tar.length - 1024));
      await expectFailure(file, 'E_PACKAGE_TRUNCATED', await stagingWithKeep(dir));
    });

    it('data after the end-of-archive marker → E_INPUT_MALFORMED', async () => {
      const dir = await caseDir();
      const file = join(dir, 'p.tar');
      await writeFile(file, Buffer.concat([craftPackage(listed, good), craftTar([{ path: 'hidden', body: 'x' }])]));
      await expectFailure(file, 'E_INPUT_MALFORMED', await stagingWithKeep(dir));
    });

    it('a damaged header checksum → E_INPUT_MALFORMED', async () => {
      const dir = await caseDir();
      const tar = craftPackage(listed, good);
      const at = tar.indexOf('files/readme.txt\0'); // the header's name field, not the manifest line
      tar[at] = 'F'.charCodeAt(0);
      const file = join(dir, 'p.tar');
      await writeFile(file, tar);
      await expectFailure(file, 'E_INPUT_MALFORMED', await stagingWithKeep(dir));
    });

    it('a 64 MiB payload streams through without being held in memory', async () => {
      const dir = await caseDir();
      const big = join(dir, 'big.bin');
      const chunk = Buffer.alloc(1024 * 1024);
      const hash = createHash('sha256');
      const handle = await open(big, 'w');
      for (let i = 0; i < 64; i++) {
        chunk.fill(i);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.close();
      const hex = hash.digest('hex');
      const out = join(dir, 'big.tar');
      const payload: PackageEntry[] = [{ path: 'oci/blobs/sha256/big', file: big }];
      await writePackage(out, [...headerEntries(new Map([['oci/blobs/sha256/big', hex]])), ...payload], {
        format: 'tar',
      });
      await truncate(big, 0); // the only copy is inside the tar now
      const staging = join(dir, 'staging');
      const base = process.memoryUsage().rss;
      let peak = base;
      let progress = 0;
      const result = await readPackage(
        out,
        options(staging, {
          onProgress: (bytes) => {
            progress = bytes;
            peak = Math.max(peak, process.memoryUsage().rss);
          },
        }),
      );
      assert.deepEqual(result.files.get('oci/blobs/sha256/big'), { sha256: hex, size: 64 * 1024 * 1024 });
      assert.ok(progress >= 64 * 1024 * 1024);
      assert.ok(
        peak - base < 48 * 1024 * 1024,
        `rss grew by ${Math.round((peak - base) / 1048576)} MiB reading a 64 MiB payload`,
      );
    });
  });
}

describe('readPackage on a folder', () => {
  it('a symlink anywhere in the folder → E_INPUT_MALFORMED', async () => {
    const dir = await caseDir();
    const out = await writeStandard('dir', dir);
    await symlink('/etc/passwd', join(out, 'oci', 'blobs', 'sha256', 'link'));
    await expectFailure(out, 'E_INPUT_MALFORMED', await stagingWithKeep(dir));
  });

  it('a symlink in place of a header → E_INPUT_MALFORMED', async () => {
    const dir = await caseDir();
    const out = await writeStandard('dir', dir);
    await rm(join(out, 'manifest.sha256.sig'));
    await symlink(join(out, 'manifest.sha256'), join(out, 'manifest.sha256.sig'));
    await expectFailure(out, 'E_INPUT_MALFORMED', await stagingWithKeep(dir));
  });

  it(
    'a changed file → E_DIGEST_MISMATCH; an extra file → E_INPUT_MALFORMED; a removed one → ' + 'E_INPUT_MISSING',
    async () => {
      const changes: Array<[ErrorCode, (out: string) => Promise<void>]> = [
        ['E_DIGEST_MISMATCH', (out) => writeFile(join(out, 'files', 'readme.txt'), 'HELLO')],
        ['E_INPUT_MALFORMED', (out) => writeFile(join(out, 'files', 'extra'), 'x')],
        ['E_INPUT_MISSING', (out) => rm(join(out, 'oci', 'index.json'))],
      ];
      for (const [code, change] of changes) {
        const dir = await caseDir();
        const out = await writeStandard('dir', dir);
        await change(out);
        await expectFailure(out, code, await stagingWithKeep(dir));
      }
    },
  );
});
