import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as pep440 from '@renovatebot/pep440';
import { affected, numericOrder, semverOrder } from '../../../test/helpers/osv.ts';
import { SHARED_DIR, sharedMissing } from '../../../test/helpers/shared.ts';
import { AirlockError } from '../../errors.ts';
import type { OsvAffected, OsvEvent, OsvRange, VersionCompare } from '../types.ts';
import { fixedVersions, isAffected } from './affected.ts';

function range(type: string, ...events: OsvEvent[]): OsvRange {
  return { type, events };
}

/** Which of `versions` the entry says are affected, with the numeric order as the ecosystem's. */
function hits(ranges: OsvRange[], versions: string[], listed: string[] = []): string[] {
  const entry = affected('Toy', 'p', { ranges, versions: listed });
  return versions.filter((v) => isAffected(v, entry, numericOrder, semverOrder));
}

describe('isAffected (OSV schema 1.7, Evaluation)', () => {
  it('introduced/fixed: from introduced up to, not including, fixed', () => {
    const r = range('ECOSYSTEM', { introduced: '1.2' }, { fixed: '1.10' });
    assert.deepEqual(hits([r], ['1.1', '1.2', '1.9', '1.10', '2']), ['1.2', '1.9']);
  });

  it('introduced "0" is before every version; with no fix everything after is affected', () => {
    assert.deepEqual(hits([range('ECOSYSTEM', { introduced: '0' })], ['0', '0.0.1', '99']), ['0', '0.0.1', '99']);
    assert.deepEqual(hits([range('ECOSYSTEM', { introduced: '0' }, { fixed: '2' })], ['0.1', '1.9', '2']), [
      '0.1',
      '1.9',
    ]);
  });

  it('last_affected includes that version and nothing above it', () => {
    const r = range('ECOSYSTEM', { introduced: '1' }, { last_affected: '1.5' });
    assert.deepEqual(hits([r], ['0.9', '1', '1.5', '1.5.1', '2']), ['1', '1.5']);
  });

  it('several introduced/fixed pairs in one range, events in any order (they are sorted first)', () => {
    const r = range('ECOSYSTEM', { fixed: '3.2.5' }, { introduced: '3' }, { fixed: '1.0.2' }, { introduced: '1' });
    assert.deepEqual(hits([r], ['0.9', '1', '1.0.1', '1.0.2', '2', '3', '3.2.4', '3.2.5']), [
      '1',
      '1.0.1',
      '3',
      '3.2.4',
    ]);
  });

  it('limit: a range counts only below one of its limits; "*" is infinity', () => {
    const limited = range('ECOSYSTEM', { introduced: '0' }, { limit: '2' });
    assert.deepEqual(hits([limited], ['1', '1.9', '2', '3']), ['1', '1.9']);
    const two = range('ECOSYSTEM', { introduced: '1' }, { limit: '1.5' }, { limit: '4' });
    assert.deepEqual(hits([two], ['0.5', '1', '3', '4']), ['1', '3']);
    assert.deepEqual(hits([range('ECOSYSTEM', { introduced: '1' }, { limit: '*' })], ['0.5', '7']), ['7']);
  });

  it('the versions list counts on its own, even with no ranges and for versions no order reads', () => {
    assert.deepEqual(hits([], ['1', '1.1', 'weird~1'], ['1.1', 'weird~1']), ['1.1', 'weird~1']);
  });

  it('several ranges: affected if any range says so', () => {
    const a = range('ECOSYSTEM', { introduced: '1' }, { fixed: '2' });
    const b = range('ECOSYSTEM', { introduced: '5' }, { fixed: '6' });
    assert.deepEqual(hits([a, b], ['1.5', '3', '5.5', '6']), ['1.5', '5.5']);
  });

  it('SEMVER ranges use SemVer precedence whatever the ecosystem; ECOSYSTEM ranges use its order', () => {
    // 1.0.0-rc.1 < 1.0.0 in SemVer; the numeric toy order cannot read it at all.
    const semverRange = range('SEMVER', { introduced: '0' }, { fixed: '1.0.0' });
    assert.equal(
      isAffected('1.0.0-rc.1', affected('Toy', 'p', { ranges: [semverRange] }), numericOrder, semverOrder),
      true,
    );
    // 1.10 vs 1.9: the numeric order says 1.10 is later (fixed), string order would not.
    const eco = range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.9' });
    assert.equal(isAffected('1.10', affected('Toy', 'p', { ranges: [eco] }), numericOrder, semverOrder), false);
  });

  it('GIT ranges are not evaluated: only the versions list counts for them', () => {
    const git = range('GIT', { introduced: 'abc123' }, { fixed: 'def456' });
    assert.deepEqual(hits([git], ['1', '2'], ['2']), ['2']);
  });

  it('a version the order cannot read throws E_VERSION_INVALID (never a silent "not affected")', () => {
    const entry = affected('Toy', 'p', { ranges: [range('ECOSYSTEM', { introduced: '1' }, { fixed: '2' })] });
    assert.throws(
      () => isAffected('1.x', entry, numericOrder, semverOrder),
      (e: unknown) => e instanceof AirlockError && e.code === 'E_VERSION_INVALID',
    );
  });

  it('a range saying "affected" decides even when another range cannot be evaluated', () => {
    const bad = range('ECOSYSTEM', { introduced: 'not-a-version' });
    const good = range('SEMVER', { introduced: '1.0.0' });
    const entry = affected('Toy', 'p', { ranges: [bad, good] });
    assert.equal(isAffected('1.2.0', entry, numericOrder, semverOrder), true);
    assert.throws(() => isAffected('0.5.0', entry, numericOrder, semverOrder), AirlockError);
  });

  it('a range type OSV does not define is refused, not skipped', () => {
    const entry = affected('Toy', 'p', { ranges: [range('CALVER', { introduced: '0' })] });
    assert.throws(
      () => isAffected('1', entry, numericOrder, semverOrder),
      (e: unknown) => e instanceof AirlockError && e.code === 'E_INPUT_MALFORMED',
    );
  });

  it('fixedVersions lists the fixed events of evaluated ranges', () => {
    const entry = affected('Toy', 'p', {
      ranges: [
        range('ECOSYSTEM', { introduced: '0' }, { fixed: '1.2' }, { introduced: '2' }, { fixed: '2.1' }),
        range('GIT', { introduced: 'abc' }, { fixed: 'def' }),
      ],
    });
    assert.deepEqual(fixedVersions(entry), ['1.2', '2.1']);
  });

  describe('against real PyPI advisories (../shared/fixtures/osv-pypi, PyPA at 3ccb612)', () => {
    const root = `${SHARED_DIR}fixtures/osv-pypi/vulns/`;
    // PEP 440 as the oracle's order: osv.dev expanded each ECOSYSTEM range into the `versions` list, so
    // every listed version should be inside the ranges alone.
    const pep440Order: VersionCompare = (a, b) => {
      for (const v of [a, b])
        if (!pep440.valid(v)) throw new AirlockError('E_VERSION_INVALID', `'${v}' is not PEP 440`);
      return pep440.compare(a, b);
    };
    type Raw = {
      id: string;
      affected?: Array<{ package: OsvAffected['package']; ranges?: OsvRange[]; versions?: string[] }>;
    };

    it(
      'every version listed for an ECOSYSTEM range is inside the ranges, but for known data quirks',
      { skip: sharedMissing(root) },
      () => {
        const outside: string[] = [];
        let inside = 0;
        let unreadable = 0;
        for (const dir of readdirSync(root))
          for (const file of readdirSync(join(root, dir))) {
            const raw = JSON.parse(readFileSync(join(root, dir, file), 'utf8')) as Raw;
            for (const a of raw.affected ?? []) {
              const ranges = a.ranges ?? [];
              if (!ranges.some((r) => r.type === 'ECOSYSTEM')) continue;
              const rangesOnly: OsvAffected = { package: a.package, ranges, versions: [], severity: [] };
              for (const v of a.versions ?? []) {
                try {
                  if (isAffected(v, rangesOnly, pep440Order, semverOrder)) inside++;
                  else outside.push(`${raw.id} ${v}`);
                } catch {
                  unreadable++;
                }
              }
            }
          }
        assert.ok(inside > 140_000, `${inside}`);
        assert.ok(unreadable < 200, `${unreadable} listed versions PEP 440 cannot read`);
        // Each of these is listed by osv.dev but outside the record's ECOSYSTEM ranges by the schema's
        // algorithm: pre-releases below `introduced` (django: 3.2a1 < 3.2), versions from a GIT range
        // (gevent 23.9.0 is the fix), and overlapping ranges where the later `fixed` wins (wagtail).
        assert.deepEqual(outside.sort(), [
          'PYSEC-2021-114 2.11.6',
          'PYSEC-2023-177 23.9.0',
          'PYSEC-2023-177 23.9.0.post1',
          'PYSEC-2023-61 3.2a1',
          'PYSEC-2023-61 3.2b1',
          'PYSEC-2023-61 3.2rc1',
          'PYSEC-2023-61 4.2a1',
          'PYSEC-2023-61 4.2b1',
          'PYSEC-2023-61 4.2rc1',
        ]);
      },
    );
  });
});
