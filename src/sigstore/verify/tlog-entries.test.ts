// The log-entry checks airlock adds to @sigstore/verify, called directly where no real bundle shows the
// case: a log key's validity window when nothing in the bundle signs a time. verify-blob.test.ts runs
// these checks on real bundles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Checks } from './report.ts';
import { checkTlogKeyValidity } from './tlog-entries.ts';

describe('log key validity with no signed time at all', () => {
  // A key-signed bundle whose checkpoint-only entry carries no time, and no TSA timestamp: only the
  // verification time is left, and a log key retired by then cannot vouch for an entry of unknown date.
  const logId = Buffer.from('log-1');
  const bundle = {
    verificationMaterial: { tlogEntries: [{ logIndex: '7', integratedTime: '0', logId: { keyId: logId } }] },
  } as never;
  const entity = { timestamps: [] } as never;
  const material = (start: string, end: string) =>
    ({ tlogs: [{ logID: logId, validFor: { start: new Date(start), end: new Date(end) } }] }) as never;

  it('passes while the log key is valid at the verification time, and says so', () => {
    const checks = new Checks();
    checkTlogKeyValidity(
      bundle,
      material('2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
      entity,
      checks,
      new Date('2026-06-01T00:00:00Z'),
    );
    assert.match(String(checks.list[0]?.detail.at), /verification time/);
  });

  it('refuses once the log key is retired (E_TLOG_ENTRY)', () => {
    assert.throws(
      () =>
        checkTlogKeyValidity(
          bundle,
          material('2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z'),
          entity,
          new Checks(),
          new Date('2026-06-01T00:00:00Z'),
        ),
      { code: 'E_TLOG_ENTRY' },
    );
  });
});
