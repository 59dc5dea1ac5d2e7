// The place of a package on its channel: every verdict, and the damaged-state refusals.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import type { Sequence } from './format.ts';
import { type ChannelState, checkSequence, readChannel, writeChannel } from './sequence.ts';

const M1 = `sha256:${'1'.repeat(64)}`;
const M2 = `sha256:${'2'.repeat(64)}`;
const M3 = `sha256:${'3'.repeat(64)}`;
const seq = (number: number, previous: string | null): Sequence => ({ channel: 'prod', number, previous });
const last: ChannelState = { number: 1, manifest: M1, at: '2026-01-01T00:00:00Z', packageId: 'p1' };

describe('checkSequence', () => {
  it('an unseen channel accepts #1 with no previous package', () => {
    assert.equal(checkSequence(seq(1, null), M1, undefined, false).kind, 'first');
  });

  // Attack: an old package of a channel this side never imported passing as its "first" package.
  it('an unseen channel refuses a package from mid-way unless --allow-gap', () => {
    assert.throws(() => checkSequence(seq(5, M1), M2, undefined, false), { code: 'E_SEQUENCE' });
    assert.throws(() => checkSequence(seq(1, M1), M2, undefined, false), { code: 'E_SEQUENCE' });
    assert.equal(checkSequence(seq(5, M1), M2, undefined, true).kind, 'gap-allowed');
  });

  it('the next package must name the imported one as previous', () => {
    assert.equal(checkSequence(seq(2, M1), M2, last, false).kind, 'next');
    assert.throws(() => checkSequence(seq(2, M3), M2, last, false), { code: 'E_SEQUENCE', message: /fork/ });
    assert.throws(
      () => checkSequence(seq(2, M3), M2, last, true),
      { code: 'E_SEQUENCE' },
      '--allow-gap does not allow a fork',
    );
  });

  it('the same package again is idempotent; another with an old number is a replay', () => {
    assert.equal(checkSequence(seq(1, null), M1, last, false).kind, 'same-package');
    assert.throws(() => checkSequence(seq(1, null), M2, last, false), { code: 'E_SEQUENCE', message: /replay/ });
    assert.throws(() => checkSequence(seq(1, null), M2, last, true), { code: 'E_SEQUENCE' });
  });

  it('a gap is refused unless allowed', () => {
    assert.throws(() => checkSequence(seq(3, M2), M3, last, false), { code: 'E_SEQUENCE', message: /skips 1/ });
    assert.equal(checkSequence(seq(3, M2), M3, last, true).kind, 'gap-allowed');
  });
});

describe('channel state', () => {
  const dir = useTempDir('airlock-seq-');

  it('round-trips, and a channel never written reads as undefined', async () => {
    assert.equal(await readChannel(dir, 'in', 'prod'), undefined);
    await writeChannel(dir, 'in', 'prod', last);
    assert.deepEqual(await readChannel(dir, 'in', 'prod'), last);
  });

  // A damaged record must stop imports, not reset the channel to "first package".
  it('a damaged record is refused, not read as empty', async () => {
    await mkdir(join(dir, 'channels', 'in'), { recursive: true });
    for (const body of ['{}', 'null', '{"number":"7","manifest":"x"}', `{"number":0,"manifest":"${M1}"}`, 'not json']) {
      await writeFile(join(dir, 'channels', 'in', 'bad.json'), body);
      await assert.rejects(readChannel(dir, 'in', 'bad'), { code: 'E_IO' }, body);
    }
  });
});
