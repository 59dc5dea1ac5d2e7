// Retrying while the database is busy, on a clock the test drives: backoff doubling to its cap with
// the clock's jitter, giving up at the deadline, and never retrying what is not "busy".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BusyClock, retryWhileBusy } from './sqlite-storage.ts';

const busy = () => Object.assign(new Error('database is locked'), { errcode: 5 });

function fakeClock(random: number): BusyClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    wait: (ms) => {
      waits.push(ms);
      now += ms;
    },
    random: () => random,
  };
}

describe('retryWhileBusy', () => {
  it('backs off 5 ms doubling to 250 ms, jittered by the clock, until the step gets through', () => {
    const clock = fakeClock(0.5);
    let calls = 0;
    const value = retryWhileBusy(() => {
      if (++calls < 9) throw busy();
      return 'open';
    }, clock);
    assert.equal(value, 'open');
    // delay/2 + random*delay with random 0.5: the delay itself.
    assert.deepEqual(clock.waits, [5, 10, 20, 40, 80, 160, 250, 250]);
  });

  it('gives up at the deadline with the busy error, and at once on any other error', () => {
    const clock = fakeClock(0);
    assert.throws(
      () =>
        retryWhileBusy(() => {
          throw busy();
        }, clock),
      /database is locked/,
    );
    const waited = clock.waits.reduce((a, b) => a + b, 0);
    assert.ok(waited >= 15_000 && waited < 15_000 + 250, `waited ${waited} ms`);
    const other = fakeClock(0);
    assert.throws(
      () =>
        retryWhileBusy(() => {
          throw new Error('disk I/O error');
        }, other),
      /disk I\/O error/,
    );
    assert.deepEqual(other.waits, []);
  });
});
