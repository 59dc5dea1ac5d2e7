// The options of `npm run bench -- migrate`: defaults, --quick, and a bad value refused before any
// PostgreSQL is started.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ENTRIES, parseMigrateArgs } from './migrate-args.ts';

describe('npm run bench -- migrate options', () => {
  it('defaults to a log of DEFAULT_ENTRIES and three rounds; --quick to a small log and one round', () => {
    assert.deepEqual(parseMigrateArgs([]), { entries: DEFAULT_ENTRIES, rounds: 3 });
    assert.deepEqual(parseMigrateArgs(['--quick']), { entries: 2_000, rounds: 1 });
  });

  it('takes --entries and --rounds, also over --quick', () => {
    assert.deepEqual(parseMigrateArgs(['--entries', '100000', '--rounds=5']), { entries: 100_000, rounds: 5 });
    assert.deepEqual(parseMigrateArgs(['--quick', '--entries', '300']), { entries: 300, rounds: 1 });
  });

  it('refuses what is not a positive whole number, and unknown options', () => {
    for (const bad of ['0', '-1', '1.5', '1e3', 'many', '']) {
      assert.throws(() => parseMigrateArgs([`--entries=${bad}`]), /--entries takes a positive whole number/);
    }
    assert.throws(() => parseMigrateArgs(['--rounds', '0']), /--rounds takes a positive whole number, not "0"/);
    assert.throws(() => parseMigrateArgs(['--storage', 'postgres']), /Unknown option '--storage'/);
  });
});
