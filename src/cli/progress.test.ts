import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatProgress, throttled } from './progress.ts';

describe('formatProgress', () => {
  it('bytes in binary units with the percentage, other units as counts', () => {
    assert.equal(
      formatProgress(
        { done: 12.3 * 2 ** 20, total: 512 * 2 ** 20, unit: 'bytes' },
        { done: 3, total: 9, unit: 'blobs' },
        { done: 1, total: 2, unit: 'images' },
      ),
      '12.3 MiB of 512.0 MiB (2%) · 3 of 9 blobs · 1 of 2 images',
    );
    assert.equal(formatProgress({ done: 0, total: 0, unit: 'bytes' }), '0 B of 0 B');
  });
  it('formatBytes', () => {
    assert.deepEqual([0, 1023, 1536, 3 * 2 ** 30].map(formatBytes), ['0 B', '1023 B', '1.5 KiB', '3.0 GiB']);
  });
});

describe('throttled', () => {
  it('renders at most once per interval, and flush renders what was held back', () => {
    let t = 0;
    const shown: number[] = [];
    const render = throttled(
      (v: number) => shown.push(v),
      100,
      () => t,
    );
    render(1);
    t = 50;
    render(2);
    render(3);
    t = 150;
    render(4);
    t = 160;
    render(5);
    render.flush();
    render.flush();
    assert.deepEqual(shown, [1, 4, 5]);
  });
});
