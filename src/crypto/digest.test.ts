import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../errors.ts';
import {
  DigestStream,
  digestBytes,
  digestFile,
  digestInput,
  formatDigest,
  isDigestString,
  parseDigest,
  READ_CHUNK_SIZE,
} from './digest.ts';

const dir = useTempDir('airlock-digest-');

describe('parseDigest / formatDigest', () => {
  it('round-trips sha256 and sha512', () => {
    const s = `sha256:${'a'.repeat(64)}`;
    assert.equal(formatDigest(parseDigest(s)), s);
    assert.equal(parseDigest(`sha512:${'0'.repeat(128)}`).algorithm, 'sha512');
  });
  // Hex is case-insensitive (sha256sum -b prints lowercase, some tools and people write uppercase):
  // the same digest in either case, always kept in lowercase.
  it('reads uppercase and mixed-case hex as the same digest, written in lowercase', () => {
    const lower = `sha256:${'ab'.repeat(32)}`;
    for (const text of [`sha256:${'AB'.repeat(32)}`, `sha256:${'aB'.repeat(32)}`]) {
      assert.equal(isDigestString(text), true, text);
      assert.deepEqual(parseDigest(text), { algorithm: 'sha256', hex: 'ab'.repeat(32) });
      assert.equal(formatDigest(parseDigest(text)), lower);
    }
    assert.equal(isDigestString(`sha512:${'F'.repeat(128)}`), true);
    assert.equal(parseDigest(`sha384:${'C'.repeat(96)}`).hex, 'c'.repeat(96));
  });
  for (const bad of [
    'sha256:abc',
    `SHA256:${'a'.repeat(64)}`,
    `sha256:${'g'.repeat(64)}`,
    `md5:${'a'.repeat(32)}`,
    `sha512:${'a'.repeat(64)}`,
    '',
  ]) {
    it(`rejects '${bad.slice(0, 20)}'`, () => {
      assert.throws(
        () => parseDigest(bad),
        (e) => isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
      assert.equal(isDigestString(bad), false);
    });
  }
  it('quotes at most a bounded part of a long non-digest in its message', () => {
    assert.throws(
      () => parseDigest(`sha256:${'x'.repeat(100_000)}`),
      (e) => isAirlockError(e, 'E_INPUT_MALFORMED') && e.message.length < 300,
    );
  });
});

describe('digestBytes', () => {
  it('matches the FIPS 180-2 "abc" vectors', () => {
    assert.equal(digestBytes('abc').hex, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.match(digestBytes('abc', 'sha512').hex, /^ddaf35a193617aba/);
  });
});

describe('digestFile', () => {
  it('hashes files across chunk boundaries like createHash does', async () => {
    for (const size of [0, 1, READ_CHUNK_SIZE - 1, READ_CHUNK_SIZE, READ_CHUNK_SIZE * 2 + 17]) {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      await writeFile(path, data);
      const seen: number[] = [];
      const d = await digestFile(path, { onProgress: (n) => seen.push(n) });
      assert.equal(d.hex, createHash('sha256').update(data).digest('hex'), `size ${size}`);
      assert.equal(d.size, size);
      assert.equal(seen.at(-1) ?? 0, size);
    }
  });

  it('verifies an expected digest and reports a mismatch with both values', async () => {
    const path = join(dir, 'x');
    await writeFile(path, 'hello');
    const good = digestBytes('hello');
    assert.equal((await digestFile(path, { expected: good })).hex, good.hex);
    await assert.rejects(digestFile(path, { expected: digestBytes('hellO') }), (e) => {
      assert.ok(isAirlockError(e, 'E_DIGEST_MISMATCH'));
      assert.equal(e.details?.found, formatDigest(good));
      return true;
    });
  });

  it('a missing file is E_INPUT_MISSING', async () => {
    await assert.rejects(digestFile(join(dir, 'nope')), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
  });

  it('feeds the same bytes to extra consumers', async () => {
    const path = join(dir, 'y');
    await writeFile(path, 'abc');
    const extra = createHash('sha512');
    await digestFile(path, { alsoUpdate: [extra] });
    assert.equal(extra.digest('hex'), digestBytes('abc', 'sha512').hex);
  });
});

describe('digestInput', () => {
  it('hashes with every algorithm in one pass and keeps the bytes only up to keepUpTo', async () => {
    const data = randomBytes(READ_CHUNK_SIZE + 4096);
    const path = join(dir, 'input.bin');
    await writeFile(path, data);
    const kept = await digestInput(path, { algorithms: ['sha256', 'sha512', 'sha256'], keepUpTo: data.length });
    assert.equal(kept.size, data.length);
    assert.deepEqual([...kept.digests.keys()], ['sha256', 'sha512']);
    assert.equal(kept.digests.get('sha512')?.hex, createHash('sha512').update(data).digest('hex'));
    assert.ok(kept.bytes?.equals(data));
    const dropped = await digestInput(path, { algorithms: ['sha256'], keepUpTo: data.length - 1 });
    assert.equal(dropped.bytes, undefined);
    assert.equal(dropped.digests.get('sha256')?.hex, createHash('sha256').update(data).digest('hex'));
  });
});

describe('DigestStream', () => {
  it('passes bytes through and exposes the digest at the end', async () => {
    const s = new DigestStream();
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('c')]), s, async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) chunks.push(c);
    });
    assert.equal(Buffer.concat(chunks).toString(), 'abc');
    assert.equal(s.digest.hex, digestBytes('abc').hex);
  });

  it('fails the pipeline when the bytes do not match the expected digest', async () => {
    const s = new DigestStream({ expected: digestBytes('abd'), subject: 'blob' });
    await assert.rejects(
      pipeline(Readable.from([Buffer.from('abc')]), s, async (src: AsyncIterable<Buffer>) => {
        for await (const _ of src);
      }),
      (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'),
    );
  });
});
