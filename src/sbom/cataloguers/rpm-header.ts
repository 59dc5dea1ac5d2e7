// An RPM header as rpm stores it in its database (rpm's lib/header.c, "header blob"): big-endian
// int32 index count `il` and data length `dl`, then `il` 16-byte index entries (tag, type, offset,
// count), then `dl` bytes of data the offsets point into. Only the tags a package listing needs are
// read, and every offset and length is checked against the blob before it is used: a bad header is
// an exception the caller turns into a note, never a read past the end. Pure: bytes in.

export const RPM_TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_I18NSTRING = 9;
/** rpm's own limits (hdrchkTags, hdrchkData). */
const MAX_TAGS = 0xffff;
const MAX_DATA = 256 * 1024 * 1024;

export interface RpmHeader {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  readonly epoch?: number;
  readonly arch?: string;
  readonly sourceRpm?: string;
  readonly license?: string;
}

interface IndexEntry {
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

export class RpmHeaderError extends Error {}

function readIndex(blob: Uint8Array): { entries: Map<number, IndexEntry>; data: Uint8Array } {
  if (blob.length < 8) throw new RpmHeaderError(`header is ${blob.length} bytes, shorter than its 8-byte preamble`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  if (il < 1 || il > MAX_TAGS) throw new RpmHeaderError(`header claims ${il} index entries`);
  if (dl > MAX_DATA) throw new RpmHeaderError(`header claims ${dl} bytes of data`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) {
    throw new RpmHeaderError(`header claims ${il} entries and ${dl} data bytes, more than its ${blob.length} bytes`);
  }
  const entries = new Map<number, IndexEntry>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getUint32(at);
    const entry = { type: view.getUint32(at + 4), offset: view.getUint32(at + 8), count: view.getUint32(at + 12) };
    if (entry.offset >= dl && entry.count > 0) throw new RpmHeaderError(`tag ${tag} points past the data`);
    if (!entries.has(tag)) entries.set(tag, entry);
  }
  return { entries, data: blob.subarray(dataStart, dataStart + dl) };
}

function stringAt(data: Uint8Array, tag: number, e: IndexEntry | undefined): string | undefined {
  if (e === undefined) return undefined;
  if (e.type !== TYPE_STRING && e.type !== TYPE_I18NSTRING) throw new RpmHeaderError(`tag ${tag} is not a string`);
  const end = data.indexOf(0, e.offset);
  if (end < 0) throw new RpmHeaderError(`tag ${tag}'s string runs past the data`);
  return Buffer.from(data.buffer, data.byteOffset + e.offset, end - e.offset).toString('utf8');
}

function int32At(data: Uint8Array, tag: number, e: IndexEntry | undefined): number | undefined {
  if (e === undefined) return undefined;
  if (e.type !== TYPE_INT32 || e.count < 1) throw new RpmHeaderError(`tag ${tag} is not an int32`);
  if (e.offset + 4 > data.length) throw new RpmHeaderError(`tag ${tag}'s int32 runs past the data`);
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(e.offset);
}

export function parseRpmHeader(blob: Uint8Array): RpmHeader {
  const { entries, data } = readIndex(blob);
  const str = (tag: number) => stringAt(data, tag, entries.get(tag));
  const name = str(RPM_TAG.NAME);
  const version = str(RPM_TAG.VERSION);
  const release = str(RPM_TAG.RELEASE);
  if (!name || version === undefined || release === undefined) {
    throw new RpmHeaderError('header has no NAME, VERSION or RELEASE');
  }
  const epoch = int32At(data, RPM_TAG.EPOCH, entries.get(RPM_TAG.EPOCH));
  const arch = str(RPM_TAG.ARCH);
  const sourceRpm = str(RPM_TAG.SOURCERPM);
  const license = str(RPM_TAG.LICENSE);
  return {
    name,
    version,
    release,
    ...(epoch !== undefined ? { epoch } : {}),
    ...(arch !== undefined ? { arch } : {}),
    ...(sourceRpm !== undefined ? { sourceRpm } : {}),
    ...(license !== undefined ? { license } : {}),
  };
}

/** `foo-1.2-3.el9.src.rpm` → name `foo`, version `1.2-3.el9`; undefined when it is not shaped so. */
export function parseSourceRpm(file: string): { name: string; version: string } | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(file);
  return m?.[1] && m[2] && m[3] ? { name: m[1], version: `${m[2]}-${m[3]}` } : undefined;
}
