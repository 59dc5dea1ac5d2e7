// Where `vulndb build` reads OSV records from, as osv.dev publishes them (sbom-vuln.md §4.3): a folder
// of `*.json` records (any depth), or an `all.zip` with one record per entry. Every source is listed
// first, so progress has a total; then records come one at a time, each file or entry bounded in size
// (a zip entry's size is counted as it inflates, not taken from its header).
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { AirlockError, fromFsError } from '../../errors.ts';
import { readFileBounded } from '../../files/read-file.ts';
import { bounded } from '../../text.ts';

/** One OSV record is kilobytes; the largest known are a few hundred. */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** Folders deeper than this are not walked (a loop of bind mounts, a hostile tree). */
const MAX_DEPTH = 16;

export interface RecordFile {
  /** Where the record came from, for messages: `all.zip:PYSEC-1.json`, `vulns/x/PYSEC-1.json`. */
  readonly origin: string;
  readonly text: string;
}

export interface PlannedSource {
  readonly source: string;
  /** How many records it holds (files, or zip entries ending in .json). */
  readonly count: number;
  read(): AsyncGenerator<RecordFile>;
}

async function jsonFiles(dir: string, depth = 0): Promise<string[]> {
  if (depth > MAX_DEPTH) throw new AirlockError('E_INPUT_MALFORMED', `${bounded(dir)}: folders nested too deep`);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw fromFsError(err, dir, 'list');
  }
  const files: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await jsonFiles(path, depth + 1)));
    else if (e.isFile() && e.name.endsWith('.json')) files.push(path);
  }
  return files;
}

/** Files read ahead of the one being parsed: each read is several thread-pool round trips. */
const READ_AHEAD = 16;

function folderSource(dir: string, files: readonly string[]): PlannedSource {
  const readOne = async (path: string): Promise<RecordFile> => ({
    origin: relative(dir, path) || path,
    text: (await readFileBounded(path, MAX_RECORD_BYTES, 'an OSV record')).toString('utf8'),
  });
  return {
    source: dir,
    count: files.length,
    async *read() {
      const pending: Promise<RecordFile>[] = [];
      let next = 0;
      const start = () => {
        const read = readOne(files[next++] ?? '');
        read.catch(() => undefined); // awaited in its turn below; a failure then ends the build
        pending.push(read);
      };
      while (pending.length < READ_AHEAD && next < files.length) start();
      for (let read = pending.shift(); read; read = pending.shift()) {
        if (next < files.length) start();
        yield await read;
      }
    },
  };
}

const zipError = (path: string, err: unknown) =>
  new AirlockError('E_INPUT_MALFORMED', `${bounded(path)}: not a readable zip: ${bounded(String(err))}`, {
    cause: err,
  });

/**
 * One entry's bytes: the compressed data read whole (an entry is bounded, so it is small) and inflated
 * here in one call, bounded, with its size and CRC-32 checked (yauzl checks neither when asked for the
 * raw data); a zlib stream per entry would cost more than the record.
 */
async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, origin: string): Promise<string> {
  const tooLarge = () =>
    new AirlockError('E_INPUT_MALFORMED', `${bounded(origin)}: entry larger than ${MAX_RECORD_BYTES} bytes`);
  if (entry.uncompressedSize > MAX_RECORD_BYTES || entry.compressedSize > MAX_RECORD_BYTES + 65_536) throw tooLarge();
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(origin)}: compression method ${entry.compressionMethod}`);
  const stream = await zip.openReadStreamPromise(entry, entry.compressionMethod === 8 ? { decompress: false } : {});
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > entry.compressedSize) throw tooLarge();
    parts.push(chunk);
  }
  const raw = Buffer.concat(parts, total);
  let data: Buffer;
  try {
    data = entry.compressionMethod === 8 ? inflateRawSync(raw, { maxOutputLength: MAX_RECORD_BYTES + 1 }) : raw;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(origin)}: does not inflate`, { cause: err });
  }
  if (data.length > MAX_RECORD_BYTES) throw tooLarge();
  if (data.length !== entry.uncompressedSize || crc32(data) !== entry.crc32)
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(origin)}: size or CRC-32 does not match the zip's record`);
  return data.toString('utf8');
}

async function zipSource(path: string): Promise<PlannedSource> {
  const open = () =>
    yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }).catch((err) => {
      throw zipError(path, err);
    });
  const isRecord = (e: yauzl.Entry) => e.fileName.endsWith('.json') && !e.fileName.endsWith('/');
  // The central directory is read once to count the records (for progress), then walked again to read them.
  const counting = await open();
  let count = 0;
  try {
    for await (const entry of counting.eachEntry()) if (isRecord(entry)) count++;
  } catch (err) {
    throw zipError(path, err);
  } finally {
    counting.close();
  }
  return {
    source: path,
    count,
    async *read() {
      const zip = await open();
      try {
        for await (const entry of zip.eachEntry()) {
          if (!isRecord(entry)) continue;
          const origin = `${path}:${entry.fileName}`;
          const text = await readEntry(zip, entry, origin).catch((err: unknown) => {
            throw err instanceof AirlockError ? err : zipError(origin, err);
          });
          yield { origin, text };
        }
      } finally {
        zip.close();
      }
    },
  };
}

/** Lists every source (a folder, or a zip file) so the records can be counted before any is read. */
export async function planSources(sources: readonly string[]): Promise<PlannedSource[]> {
  if (sources.length === 0) throw new AirlockError('E_USAGE', 'no source of OSV records given');
  const planned: PlannedSource[] = [];
  for (const source of sources) {
    const st = await stat(source).catch((err: unknown) => {
      throw fromFsError(err, source);
    });
    if (st.isDirectory()) planned.push(folderSource(source, await jsonFiles(source)));
    else if (st.isFile()) planned.push(await zipSource(source));
    else throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: neither a folder nor a zip file`);
  }
  return planned;
}
