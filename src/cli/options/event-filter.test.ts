import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import type { AuditEntry } from '../../audit/audit-log.ts';
import { EVENT_FILTER_FLAGS, eventFilter, selectEvents } from './event-filter.ts';

const now = new Date('2026-12-01T12:00:00Z');
const filter = (...argv: string[]) => eventFilter(testContext(argv, EVENT_FILTER_FLAGS, { now }).ctx);
const entry = (index: number, action: string, result: string, time: string) =>
  ({ index, event: { action, result, time } }) as unknown as AuditEntry;
const events = [
  entry(0, 'transfer.import', 'ok', '2026-12-01T09:00:00Z'),
  entry(1, 'transfer.pack', 'refused', '2026-12-01T11:30:00Z'),
  entry(2, 'trust.import', 'ok', '2026-12-01T11:45:00Z'),
  entry(3, 'transferx', 'ok', '2026-12-01T11:50:00Z'),
];
const select = (...argv: string[]) => selectEvents(events, filter(...argv)).map((e) => e.index);

describe('eventFilter and selectEvents', () => {
  it('nothing asked: every event', () => {
    assert.deepEqual(filter(), {});
    assert.deepEqual(select(), [0, 1, 2, 3]);
  });
  it('--since a duration back from the clock, or a time', () => {
    assert.deepEqual(filter('--since', '90m'), { since: new Date('2026-12-01T10:30:00Z') });
    assert.deepEqual(select('--since', '90m'), [1, 2, 3]);
    assert.deepEqual(select('--since', '2026-12-01T11:45:00Z'), [2, 3]);
  });
  it('--action matches the action and its sub-actions only; --result one result', () => {
    assert.deepEqual(select('--action', 'transfer'), [0, 1]);
    assert.deepEqual(select('--action', 'transfer', '--result', 'ok'), [0]);
  });
  it('refuses an unknown result and a time that is neither', () => {
    assert.throws(() => filter('--result', 'maybe'), { code: 'E_USAGE' });
    assert.throws(() => filter('--since', 'yesterday'), { code: 'E_USAGE' });
  });
});
