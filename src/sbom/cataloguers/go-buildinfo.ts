// Finding a Go executable's embedded build information in its byte stream, without holding the file:
// the `\xff Go buildinf:` header the linker writes at a 16-byte aligned offset (the `.go.buildinfo`
// section on ELF, the data segment elsewhere), searched chunk by chunk with only the bytes that could
// start the header carried from one chunk to the next.
//
// Layout (Go's src/debug/buildinfo/buildinfo.go, readRawBuildInfo): 14 bytes of magic, a pointer-size
// byte, a flags byte (bit 0 big-endian, bit 1 "strings inline"), padding to 32 bytes; with the inline
// flag (Go ≥ 1.18), two uvarint-length-prefixed strings: the Go version and the module information,
// the latter framed by 16-byte sentinels. Before 1.18 the header holds pointers to the strings instead;
// following them needs the executable's segment table, which a stream does not give: reported, not read.
import type { Readable } from 'node:stream';

export const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ALIGN = 16;
const HEADER = 32;
const MAX_VERSION = 1024;
/** Module information larger than this is reported, not read (Kubernetes' binaries carry ~20 KiB). */
export const MAX_MODINFO = 4 * 1024 * 1024;

export type RawBuildInfo =
  | { readonly kind: 'inline'; readonly goVersion: string; readonly modinfo: string }
  | { readonly kind: 'pointer' }
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable'; readonly reason: string };

/** ELF, PE (`MZ`), Mach-O (32/64-bit, either byte order, universal), XCOFF: the formats Go links. */
export function isExecutableFormat(head: Buffer): boolean {
  const magic = head.readUInt32BE(0);
  return (
    magic === 0x7f454c46 ||
    head.readUInt16BE(0) === 0x4d5a ||
    [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic) ||
    [0x01df, 0x01f7].includes(head.readUInt16BE(0))
  );
}

type Step = RawBuildInfo | 'more' | 'reject';

/** A uvarint-prefixed string at `at`: the string and where it ends, 'more' if cut short, or 'reject'. */
function readString(buf: Buffer, at: number, max: number): { value: string; end: number } | 'more' | 'reject' {
  let length = 0;
  for (let i = 0, shift = 1; ; i++, shift *= 128) {
    if (at + i >= buf.length) return 'more';
    if (i >= 5) return 'reject';
    const byte = buf[at + i] as number;
    length += (byte & 0x7f) * shift;
    if (byte < 0x80) {
      if (length > max) return 'reject';
      const start = at + i + 1;
      if (start + length > buf.length) return 'more';
      return { value: buf.toString('utf8', start, start + length), end: start + length };
    }
  }
}

/** The header starting at buf[0] (the magic), decoded as Go decodes it, or what is missing. */
export function decodeHeader(buf: Buffer): Step {
  if (buf.length < HEADER) return 'more';
  const ptrSize = buf[14];
  const flags = buf[15] as number;
  if ((ptrSize !== 4 && ptrSize !== 8) || (flags & ~3) !== 0) return 'reject';
  if ((flags & 2) === 0) return { kind: 'pointer' };
  const version = readString(buf, HEADER, MAX_VERSION);
  if (typeof version === 'string') return version;
  if (!/^(?:go|devel)/.test(version.value)) return 'reject';
  const mod = readString(buf, version.end, MAX_MODINFO);
  if (mod === 'more') return 'more';
  if (mod === 'reject') return { kind: 'unreadable', reason: 'its module information is over 4 MiB or malformed' };
  // Strip the sentinels that frame the module information; without the framing, Go reads none.
  const framed = mod.value.length >= 33 && mod.value.charAt(mod.value.length - 17) === '\n';
  return { kind: 'inline', goVersion: version.value, modinfo: framed ? mod.value.slice(16, -16) : '' };
}

/** The first aligned header in `window` (whose first byte is at file offset `start`), or how to go on. */
function examine(window: Buffer, start: number): { step: Step; keepFrom: number } {
  for (let i = window.indexOf(BUILDINFO_MAGIC); i >= 0; i = window.indexOf(BUILDINFO_MAGIC, i + 1)) {
    if ((start + i) % ALIGN !== 0) continue;
    const step = decodeHeader(window.subarray(i));
    if (step === 'more') return { step, keepFrom: i };
    if (step !== 'reject') return { step, keepFrom: i };
  }
  // Carry only an aligned tail that is a prefix of the magic: at most one such place in 13 bytes.
  for (let i = Math.max(0, window.length - BUILDINFO_MAGIC.length + 1); i < window.length; i++) {
    if ((start + i) % ALIGN !== 0) continue;
    const tail = window.subarray(i);
    if (tail.equals(BUILDINFO_MAGIC.subarray(0, tail.length))) return { step: 'more', keepFrom: i };
  }
  return { step: 'more', keepFrom: window.length };
}

/**
 * Reads `content` until the build information is found (then destroys it) or the stream ends. Files that
 * are not executables (checked from their first bytes) are left at once: 'none'; executables packed with
 * UPX (its `UPX!` mark in the first KiB) too, as 'unreadable': their build information is compressed.
 */
export async function scanBuildInfo(content: Readable): Promise<RawBuildInfo> {
  let window: Buffer = Buffer.alloc(0);
  let start = 0;
  let checked = false;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    window = window.length === 0 ? chunk : Buffer.concat([window, chunk]);
    if (!checked) {
      if (window.length < 4) continue;
      if (!isExecutableFormat(window)) return done(content, { kind: 'none' });
      if (window.subarray(0, 1024).includes('UPX!'))
        return done(content, { kind: 'unreadable', reason: 'the executable is packed with UPX' });
      checked = true;
    }
    const { step, keepFrom } = examine(window, start);
    if (step !== 'more' && step !== 'reject') return done(content, step);
    window = window.subarray(keepFrom);
    start += keepFrom;
  }
  return window.length >= HEADER && window.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC)
    ? { kind: 'unreadable', reason: 'the file ends inside its build information' }
    : { kind: 'none' };
}

function done(content: Readable, info: RawBuildInfo): RawBuildInfo {
  content.destroy();
  return info;
}
