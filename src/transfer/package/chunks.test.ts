import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { READ_CHUNK_SIZE } from '../../crypto/digest.ts';
import { ChunkReader } from './chunks.ts';

const dir = useTempDir('airlock-chunks-');

describe('ChunkReader', () => {
  it('with an end, hands out only its range and never reads past it, read ahead included', async () => {
    // A body read beside others: bytes past its end belong to the next entry and its own reader.
    const path = join(dir, 'file');
    const bytes = Buffer.alloc(2 * READ_CHUNK_SIZE + 100);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    await writeFile(path, bytes);
    const handle = await open(path, 'r');
    const reads: Array<{ position: number; length: number }> = [];
    const read = handle.read.bind(handle) as (...args: unknown[]) => ReturnType<typeof handle.read>;
    (handle as unknown as { read: unknown }).read = (
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
    ) => {
      reads.push({ position, length });
      return read(buffer, offset, length, position);
    };
    try {
      const start = 10;
      const end = READ_CHUNK_SIZE + 20;
      const reader = new ChunkReader(handle, path, undefined, start, end);
      const got: Buffer[] = [];
      for (let part = await reader.next(Infinity); part; part = await reader.next(Infinity))
        got.push(Buffer.from(part));
      await reader.settle();
      assert.deepEqual(Buffer.concat(got), bytes.subarray(start, end));
      assert.ok(
        reads.every((r) => r.position + r.length <= end),
        JSON.stringify(reads),
      );
    } finally {
      await handle.close();
    }
  });
});
