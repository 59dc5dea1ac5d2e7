import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../../errors.ts';
import { unpackArchive } from './archive-files.ts';
import { openOciArchive } from './oci-archive.ts';
import { resolveArchivePath, safeArchivePath } from './safe-extract.ts';

interface CraftedEntry {
  readonly path: string;
  readonly type?: HeaderData['type'];
  readonly body?: string;
  readonly linkpath?: string;
  readonly mode?: number;
}

/** A raw ustar built header by header, so entries can be what no well-behaved tar writer produces. */
function craftTar(entries: readonly CraftedEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: body.length,
      mode: e.mode ?? 0o644,
      mtime: new Date(0),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const root = useTempDir('airlock-extract-');
let n = 0;

/** Each case gets `<case>/temps` as the temp parent, so escapes would land in `<case>` or above. */
async function caseDir(): Promise<{ dir: string; temps: string }> {
  const dir = join(root, `case-${n++}`);
  await mkdir(join(dir, 'temps'), { recursive: true });
  return { dir, temps: join(dir, 'temps') };
}

const LAYOUT_OK: CraftedEntry[] = [
  { path: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
  { path: 'index.json', body: '{"schemaVersion":2,"manifests":[]}' },
];

describe('safeArchivePath', () => {
  it('normalises harmless spellings and refuses escaping ones', () => {
    assert.equal(safeArchivePath('./blobs//sha256/'), 'blobs/sha256');
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/../b', 'C:/x', 'a\\b', '.', ''])
      assert.equal(safeArchivePath(bad), undefined, bad);
  });
});

describe('oci-archive unpacking refuses crafted entries', () => {
  const cases: Array<[string, CraftedEntry[]]> = [
    ['a ../ path', [...LAYOUT_OK, { path: '../escaped-dotdot', body: 'x' }]],
    ['a nested ../ path', [...LAYOUT_OK, { path: 'blobs/../../escaped-nested', body: 'x' }]],
    ['an absolute path', [...LAYOUT_OK, { path: `${'/'}ABS/escaped-absolute`, body: 'x' }]],
    [
      'a symlink',
      [
        ...LAYOUT_OK,
        { path: 'blobs', type: 'SymbolicLink', linkpath: '..' },
        { path: 'blobs/escaped-link', body: 'x' },
      ],
    ],
    ['a hardlink', [...LAYOUT_OK, { path: 'hard', type: 'Link', linkpath: 'index.json' }]],
    ['a duplicate entry', [...LAYOUT_OK, { path: './index.json', body: '{"schemaVersion":2,"manifests":[{"x":1}]}' }]],
    ['a character device', [...LAYOUT_OK, { path: 'dev', type: 'CharacterDevice' }]],
    ['a fifo', [...LAYOUT_OK, { path: 'fifo', type: 'FIFO' }]],
  ];
  for (const [name, entries] of cases) {
    it(`${name} → E_INPUT_MALFORMED, nothing written outside the temp folder`, async () => {
      const { dir, temps } = await caseDir();
      const abs = join(dir, 'ABS');
      const crafted = entries.map((e) => (e.path.startsWith('/ABS/') ? { ...e, path: join(abs, e.path.slice(5)) } : e));
      const file = join(dir, 'crafted.tar');
      await writeFile(file, craftTar(crafted));
      await assert.rejects(openOciArchive(file, { mode: 'read', tempDir: temps }), (e) =>
        isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
      // `..` entries would land in temps/ (one up from the temp folder), absolute ones under dir/ABS.
      assert.deepEqual(await readdir(temps), [], 'the temp folder is removed again and nothing is beside it');
      assert.deepEqual((await readdir(dir)).sort(), ['crafted.tar', 'temps']);
      assert.equal(existsSync(abs), false);
    });
  }

  it('gzip-compressed and well-formed: unpacks', async () => {
    const { dir, temps } = await caseDir();
    const file = join(dir, 'ok.tar.gz');
    await writeFile(file, gzipSync(craftTar([{ path: './', type: 'Directory' }, ...LAYOUT_OK])));
    const store = await openOciArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await store.listTags(), []);
    await store.close();
    assert.deepEqual(await readdir(temps), []);
  });

  it('garbage and truncated archives → E_INPUT_MALFORMED', async () => {
    const { dir, temps } = await caseDir();
    const file = join(dir, 'bad.tar');
    await writeFile(file, Buffer.from('this is not a tar archive at all'.repeat(40)));
    await assert.rejects(openOciArchive(file, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
    const good = craftTar([...LAYOUT_OK, { path: 'blobs/big', body: 'y'.repeat(5000) }]);
    await writeFile(file, good.subarray(0, 2000));
    await assert.rejects(openOciArchive(file, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
    assert.deepEqual(await readdir(temps), []);
  });

  it('a missing archive → E_INPUT_MISSING', async () => {
    await assert.rejects(openOciArchive(join(root, 'none.tar'), { mode: 'read' }), (e) =>
      isAirlockError(e, 'E_INPUT_MISSING'),
    );
  });
});

describe('docker-archive unpacking records links instead of creating them', () => {
  it('follows in-archive symlinks and hardlinks to the files they name', async () => {
    const { dir, temps } = await caseDir();
    const file = join(dir, 'links.tar');
    await writeFile(
      file,
      craftTar([
        { path: 'abc.tar', body: 'layer' },
        { path: 'legacy/layer.tar', type: 'SymbolicLink', linkpath: '../abc.tar' },
        { path: 'hard.tar', type: 'Link', linkpath: 'abc.tar' },
      ]),
    );
    const { dir: out, contents } = await unpackArchive(file, temps, 'test', 'record');
    assert.equal(resolveArchivePath(contents, 'legacy/layer.tar'), 'abc.tar');
    assert.equal(resolveArchivePath(contents, 'hard.tar'), 'abc.tar');
    assert.equal(existsSync(join(out, 'legacy', 'layer.tar')), false);
    assert.equal(await readFile(join(out, 'abc.tar'), 'utf8'), 'layer');
    await rm(out, { recursive: true });
  });

  it('does not keep the modes of the archive (a 000 folder, a setuid file)', async () => {
    const { dir, temps } = await caseDir();
    const file = join(dir, 'modes.tar');
    await writeFile(
      file,
      craftTar([
        { path: 'locked', type: 'Directory', mode: 0 },
        { path: 'locked/suid', body: 'x', mode: 0o4755 },
      ]),
    );
    const { dir: out } = await unpackArchive(file, temps, 'test', 'record');
    assert.equal((await stat(join(out, 'locked'))).mode & 0o7777, 0o700);
    assert.equal((await stat(join(out, 'locked', 'suid'))).mode & 0o7777, 0o600);
    await rm(out, { recursive: true });
  });

  for (const linkpath of ['../../outside', '/etc/passwd']) {
    it(`refuses a link to ${linkpath}`, async () => {
      const { dir, temps } = await caseDir();
      const file = join(dir, 'links.tar');
      await writeFile(file, craftTar([{ path: 'x/layer.tar', type: 'SymbolicLink', linkpath }]));
      await assert.rejects(unpackArchive(file, temps, 'test', 'record'), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
      assert.deepEqual(await readdir(temps), []);
    });
  }
});
