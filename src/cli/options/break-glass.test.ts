import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AirlockError } from '../../errors.ts';
import { testContext } from '../../../test/helpers/command-context.ts';
import { breakGlassFlags, breakGlassOption } from './break-glass.ts';

const NOW = new Date('2026-12-01T00:00:00Z');
const FLAGS = breakGlassFlags('an old thing');
const option = (...argv: string[]) => breakGlassOption(testContext(argv, FLAGS).ctx.flags, NOW);

describe('breakGlassOption', () => {
  it('none without --break-glass; --reason or --until alone is a usage error', () => {
    assert.equal(option(), undefined);
    for (const argv of [
      ['--reason', 'x'],
      ['--until', '2026-12-02T00:00:00Z'],
    ])
      assert.throws(
        () => option(...argv),
        (err: unknown) => err instanceof AirlockError && err.code === 'E_USAGE',
      );
  });
  it('a reason and a deadline, 7 days ahead unless --until says', () => {
    assert.deepEqual(option('--break-glass', '--reason', 'CHG-1'), {
      reason: 'CHG-1',
      until: new Date('2026-12-08T00:00:00Z'),
    });
    assert.deepEqual(option('--break-glass', '--until', '2026-12-03T00:00:00Z'), {
      reason: '',
      until: new Date('2026-12-03T00:00:00Z'),
    });
    assert.equal(FLAGS['break-glass'].description, 'Accept an old thing (recorded, time-boxed)');
  });
});
