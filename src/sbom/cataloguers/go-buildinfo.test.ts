// Finding Go build information in a stream: a synthetic executable with decoys (an unaligned magic, an
// aligned one that is a string literal, not a header) cut into chunks at every place around the header;
// the pre-1.18 pointer format; non-executables left after their first bytes; bounds.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BUILDINFO_MAGIC, decodeHeader, isExecutableFormat, scanBuildInfo } from './go-buildinfo.ts';

const SENTINEL = Buffer.alloc(16, 0xf9);
const uvarint = (n: number): Buffer => {
  const bytes: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) bytes.push((n & 0x7f) | 0x80);
  return Buffer.from([...bytes, n]);
};
const lengthPrefixed = (b: Buffer) => Buffer.concat([uvarint(b.length), b]);

/** A build-info header as the Go ≥ 1.18 linker writes it (flags 2: strings inline). */
function header(goVersion: string, modinfo: string, flags = 2): Buffer {
  const fixed = Buffer.alloc(32);
  BUILDINFO_MAGIC.copy(fixed);
  fixed[14] = 8;
  fixed[15] = flags;
  const mod = Buffer.concat([SENTINEL, Buffer.from(modinfo), SENTINEL]);
  return Buffer.concat([fixed, lengthPrefixed(Buffer.from(goVersion)), lengthPrefixed(mod)]);
}

const MODINFO = 'path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n';

/** An ELF-looking file: decoys first, then the real header at offset 4096. */
function executable(realHeader: Buffer): Buffer {
  const file = Buffer.alloc(4096 + realHeader.length + 500, 0);
  file.write('\x7fELF', 0, 'latin1');
  BUILDINFO_MAGIC.copy(file, 1001); // not 16-byte aligned: not a header
  BUILDINFO_MAGIC.copy(file, 2048); // aligned, but followed by zeros: a string literal, not a header
  realHeader.copy(file, 4096);
  return file;
}

function chunks(buf: Buffer, cuts: number[]): Readable {
  const parts: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    parts.push(buf.subarray(at, cut));
    at = cut;
  }
  return Readable.from(parts);
}

describe('Go build info in a stream', () => {
  const file = executable(header('go1.22.1', MODINFO));
  const expected = { kind: 'inline', goVersion: 'go1.22.1', modinfo: MODINFO };

  it('finds the aligned header past the decoys, however the stream is cut', async () => {
    for (let cut = 1990; cut < 4096 + 80; cut += cut < 2070 || cut > 4080 ? 1 : 97)
      assert.deepEqual(await scanBuildInfo(chunks(file, [cut])), expected, `cut at ${cut}`);
    assert.deepEqual(await scanBuildInfo(chunks(file, [2, 3, 2050, 4100, 4101, 4102])), expected);
    const bytewise = Array.from({ length: file.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(await scanBuildInfo(chunks(file, bytewise)), expected);
  });

  it('stops reading once the header is read', async () => {
    let pulled = 0;
    const rest = Buffer.alloc(1 << 20);
    const stream = Readable.from(
      (function* () {
        yield file;
        for (;;) {
          pulled++;
          yield rest;
        }
      })(),
    );
    assert.deepEqual(await scanBuildInfo(stream), expected);
    assert.ok(pulled <= 1, `pulled ${pulled} chunks after the header`);
  });

  it('reports the pre-1.18 pointer format, and no module information when the framing is missing', async () => {
    assert.deepEqual(await scanBuildInfo(Readable.from([executable(header('', '', 0))])), { kind: 'pointer' });
    const unframed = Buffer.concat([header('go1.20', ''), Buffer.alloc(0)]);
    unframed.writeUInt8(0, 32 + 1 + 6); // the modinfo length: zero
    assert.deepEqual(decodeHeader(unframed), { kind: 'inline', goVersion: 'go1.20', modinfo: '' });
  });

  it('leaves files that are not executables at their first bytes, ELF files without Go build info, UPX', async () => {
    assert.equal(isExecutableFormat(Buffer.from('#!/bin/sh\n')), false);
    for (const magic of ['7f454c46', '4d5a9000', 'cffaedfe', 'feedface', 'cafebabe'])
      assert.equal(isExecutableFormat(Buffer.from(magic, 'hex')), true, magic);
    const script = Buffer.concat([Buffer.from('#!/bin/sh\n'), Buffer.alloc(16), header('go1.22.1', MODINFO)]);
    assert.deepEqual(await scanBuildInfo(Readable.from([script])), { kind: 'none' });
    assert.deepEqual(await scanBuildInfo(Readable.from([Buffer.from('\x7fE'), Buffer.from('LF')])), { kind: 'none' });
    assert.deepEqual(await scanBuildInfo(Readable.from([Buffer.alloc(10_000, 0x7f)])), { kind: 'none' });
    const packed = Buffer.from(executable(header('go1.22.1', MODINFO)));
    packed.write('UPX!', 0xec, 'latin1');
    assert.deepEqual(await scanBuildInfo(Readable.from([packed])), {
      kind: 'unreadable',
      reason: 'the executable is packed with UPX',
    });
  });

  it('reports module information over 4 MiB and a file that ends inside the header', async () => {
    const big = Buffer.concat([header('go1.22.1', ''), Buffer.alloc(0)]).subarray(0, 32 + 9);
    const oversized = Buffer.concat([big, uvarint(5 * 1024 * 1024), Buffer.alloc(100)]);
    const result = await scanBuildInfo(Readable.from([executable(oversized)]));
    assert.equal(result.kind, 'unreadable');
    const cut = executable(header('go1.22.1', MODINFO)).subarray(0, 4096 + 60);
    assert.deepEqual(await scanBuildInfo(Readable.from([cut])), {
      kind: 'unreadable',
      reason: 'the file ends inside its build information',
    });
  });
});
