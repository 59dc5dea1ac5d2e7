// Fixtures shared by the package tests: packages built with writePackage, tars crafted header by
// header, and an acceptHeaders that checks a stand-in signature and records what staging held.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header, type HeaderData } from 'tar';
import { type ErrorCode, isAirlockError } from '../../src/errors.ts';
import { readPackage, type ReadPackageOptions } from '../../src/transfer/package/read-package.ts';
import { type PackageEntry, writePackage } from '../../src/transfer/package/write-package.ts';

export const HEADER_NAMES = ['airlock-transfer.json', 'manifest.sha256', 'manifest.sha256.sig'] as const;
export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

let root: Promise<string> | undefined;
let n = 0;

/** A fresh folder per case, all under one temp folder that removeCaseDirs() deletes. */
export async function caseDir(): Promise<string> {
  root ??= mkdtemp(join(tmpdir(), 'airlock-package-'));
  const dir = join(await root, `case-${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function removeCaseDirs(): Promise<void> {
  if (root) await rm(await root, { recursive: true, force: true });
}

/** Header entries for `files`: a manifest of `<hex>  <path>` lines and a stand-in signature over it. */
export function headerEntries(listed: ReadonlyMap<string, string>): PackageEntry[] {
  const manifest = [...listed].map(([path, hex]) => `${hex}  ${path}\n`).join('');
  return [
    { path: 'airlock-transfer.json', data: Buffer.from('{"format":"airlock-transfer/v1"}') },
    { path: 'manifest.sha256', data: Buffer.from(manifest) },
    { path: 'manifest.sha256.sig', data: Buffer.from(sha256(manifest)) },
  ];
}

export const PAYLOAD: ReadonlyArray<[string, string]> = [
  ['oci/oci-layout', '{"imageLayoutVersion":"1.0.0"}'],
  ['oci/index.json', '{"schemaVersion":2,"manifests":[]}'],
  ['oci/blobs/sha256/aaaa', 'layer bytes '.repeat(1000)],
  ['files/readme.txt', 'hello'],
  ['files/empty', ''],
];

export function payloadEntries(payload: ReadonlyArray<[string, string]> = PAYLOAD): PackageEntry[] {
  return payload.map(([path, text]) => ({ path, data: Buffer.from(text) }));
}

export function listing(entries: readonly PackageEntry[]): Map<string, string> {
  return new Map(entries.map((e) => [e.path, sha256(e.data ?? new Uint8Array())]));
}

let parallelFrom: number | undefined;

/** Reads bodies from this size up side by side in every options() after this call (undefined: the default). */
export function readBodiesInParallelFrom(size: number | undefined): void {
  parallelFrom = size;
}

/** Checks the stand-in signature, then parses the manifest; records what staging held at the time. */
export function options(
  staging: string,
  overrides: Partial<ReadPackageOptions> = {},
): ReadPackageOptions & { seenInStaging: string[][] } {
  const seenInStaging: string[][] = [];
  return {
    headerNames: HEADER_NAMES,
    stagingDir: staging,
    seenInStaging,
    acceptHeaders: async (headers) => {
      seenInStaging.push(existsSync(staging) ? await readdir(staging, { recursive: true }) : []);
      const manifest = headers.get('manifest.sha256')?.toString() ?? '';
      if (headers.get('manifest.sha256.sig')?.toString() !== sha256(manifest))
        throw new Error('signature does not verify');
      const expected = new Map<string, string>();
      for (const line of manifest.split('\n').filter(Boolean)) {
        const [hex = '', path = ''] = line.split('  ');
        expected.set(path, hex);
      }
      return expected;
    },
    ...(parallelFrom === undefined ? {} : { parallelFrom }),
    ...overrides,
  };
}

export async function writeStandard(format: 'tar' | 'dir', dir: string): Promise<string> {
  const payload = payloadEntries();
  const out = join(dir, format === 'tar' ? 'package.tar' : 'package');
  await writePackage(out, [...headerEntries(listing(payload)), ...payload], { format });
  return out;
}

export interface Crafted {
  readonly path: string;
  readonly type?: HeaderData['type'];
  readonly body?: string | Buffer;
  readonly linkpath?: string;
}

/** A raw ustar built header by header, so entries can be what writePackage never writes. */
export function craftTar(entries: readonly Crafted[], end = true): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const block = Buffer.alloc(512);
    new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: body.length,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    }).encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The standard headers for `payload` as crafted entries, followed by `rest`. */
export function craftPackage(listed: ReadonlyMap<string, string>, rest: readonly Crafted[]): Buffer {
  return craftTar([...headerEntries(listed).map((e) => ({ path: e.path, body: Buffer.from(e.data ?? '') })), ...rest]);
}

export async function expectFailure(
  source: string,
  code: ErrorCode,
  staging: string,
  extra?: (e: unknown) => void,
): Promise<void> {
  await assert.rejects(readPackage(source, options(staging)), (e) => {
    assert.ok(isAirlockError(e, code), `expected ${code}, got ${String(e)}`);
    extra?.(e);
    return true;
  });
  assert.deepEqual(
    await readdir(staging, { recursive: true }),
    ['keep.txt'],
    'only what was there before is left in staging',
  );
}

/** A staging folder that already holds a file the failed import must leave alone. */
export async function stagingWithKeep(dir: string): Promise<string> {
  const staging = join(dir, `staging-${n++}`);
  await mkdir(staging);
  await writeFile(join(staging, 'keep.txt'), 'not ours');
  return staging;
}
