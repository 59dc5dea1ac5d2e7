import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECORD_LIMITS, boundForRecord, bounded, boundedList, counted, textColumns } from './text.ts';

describe('bounded', () => {
  it('escapes control characters, so an outside string cannot forge a line or a terminal sequence', () => {
    assert.equal(bounded('a\nerror: forged\r\u001b[2Kb\u0000\u2028'), 'a\\nerror: forged\\r\\u001b[2Kb\\u0000\\u2028');
  });
  it('cuts long strings, saying how much was left out', () => {
    const out = bounded('x'.repeat(10_000), 100);
    assert.ok(out.startsWith('x'.repeat(100)));
    assert.match(out, /…\(9900 more characters\)$/);
    assert.equal(bounded('short', 100), 'short');
  });
  it('never ends on half a surrogate pair', () => {
    const out = bounded(`${'a'.repeat(99)}😀😀`, 100);
    assert.ok(out.startsWith('a'.repeat(99)));
    assert.doesNotMatch(out.slice(0, out.indexOf('…')), /[\ud800-\udbff]$/);
  });
  it('lists show at most N items and the total', () => {
    assert.equal(boundedList(['a', 'b', 'c'], 2), 'a, b, …and 1 more (3 in all)');
    assert.equal(boundedList(['a', 'b'], 2), 'a, b');
  });
});

describe('boundForRecord', () => {
  it('bounds strings, lists, keys and depth at every level', () => {
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 20; i++) at = (at.next = {}) as Record<string, unknown>;
    const out = boundForRecord({
      long: 'y'.repeat(100_000),
      list: Array.from({ length: 1000 }, (_, i) => `item ${i}`),
      keys: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])),
      deep,
      nothing: undefined,
    }) as Record<string, unknown>;
    assert.ok((out.long as string).length < RECORD_LIMITS.string + 40);
    const list = out.list as string[];
    assert.equal(list.length, RECORD_LIMITS.items + 1);
    assert.match(list.at(-1) ?? '', /968 more \(1000 in all\)/);
    assert.equal(Object.keys(out.keys as object).length, RECORD_LIMITS.keys + 1);
    assert.match(JSON.stringify(out.deep), /nested too deep/);
    assert.equal('nothing' in out, false);
  });
});

describe('textColumns', () => {
  it('aligns columns two spaces apart, the last cell unpadded, lines trimmed', () => {
    assert.deepEqual(
      textColumns([
        ['NAME', 'V'],
        ['a', 'longer'],
        ['bb', ''],
      ]),
      ['NAME  V', 'a     longer', 'bb'],
    );
  });
  it('takes more rows than a call takes arguments', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [`p${i}`, '1']);
    assert.equal(textColumns(rows).length, 300_000);
  });
});

describe('counted', () => {
  it('gives the noun an s unless the count is one', () => {
    assert.deepEqual(
      [0, 1, 2].map((n) => counted(n, 'event')),
      ['0 events', '1 event', '2 events'],
    );
  });
});
