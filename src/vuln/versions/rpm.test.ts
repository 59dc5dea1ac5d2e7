import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from '../../../test/helpers/seeded-random.ts';
import * as fixtures from '../../../test/fixtures/versions/vectors.ts';
import { parseRpmEvr, rpmOrder, rpmvercmp } from './rpm.ts';

const PYTHON = '/usr/bin/python3';
/** rpm's own parse (rpm.ver) and comparison (rpm.labelCompare), one line of input per pair. */
const ORACLE = `
import sys, rpm
for line in sys.stdin.read().split("\\n"):
    if not line: continue
    a, b = line.split("\\t")
    x, y = rpm.ver(a), rpm.ver(b)
    print(rpm.labelCompare((x.e, x.v, x.r), (y.e, y.v, y.r)))
`;

/** EVRs with what rpmvercmp must handle: epochs, ~, ^, letters of both cases, long digit runs, odd separators. */
function generatedEvrs(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const segment = () =>
    pick([
      () => String(Math.floor(random() * 20)),
      () => '0' + String(Math.floor(random() * 10)),
      () => String(Math.floor(random() * 1e9)) + String(Math.floor(random() * 1e9)) + '7',
      () => pick(['a', 'b', 'rc', 'alpha', 'Beta', 'el9', 'fc39', 'git', 'Z', 'z']),
    ])();
  const separator = () => pick(['.', '.', '.', '~', '^', '_', '+', '', '..', 'é', '~~', '^~']);
  const part = () => {
    let s = segment();
    for (let n = Math.floor(random() * 4); n > 0; n--) s += separator() + segment();
    return s;
  };
  return Array.from({ length: count }, () => {
    const epoch = random() < 0.2 ? `${pick(['0', '1', '2', '01', '10'])}:` : '';
    return epoch + part() + (random() < 0.7 ? `-${part()}` : '');
  });
}

describe('rpmOrder (rpmvercmp, rpm 4.18)', () => {
  it('orders ~ before the end and ^ after it, digits after letters', () => {
    const ascending = ['1.0~rc1', '1.0', '1.0^git1', '1.0^git2', '1.0a', '1.0.0', '1.0.01', '1.1'];
    fixtures.assertAscending(rpmvercmp, ascending);
    assert.equal(rpmvercmp('1.0', '1_0'), 0, 'separators only separate');
    assert.equal(rpmvercmp('1.01', '1.1'), 0);
    assert.ok(rpmvercmp('1.a', '1.1') < 0, 'a digit run is newer than a letter run');
    assert.ok(rpmvercmp('A', 'a') < 0, 'letters compare as bytes');
    assert.ok(rpmvercmp('1.' + '9'.repeat(40), '1.1' + '0'.repeat(40)) < 0, 'long digit runs');
  });

  it('parses [epoch:]version[-release] as rpm does and compares like labelCompare', () => {
    assert.deepEqual(parseRpmEvr('1:2.0-3.el9'), { epoch: '1', version: '2.0', release: '3.el9' });
    assert.deepEqual(parseRpmEvr(':2.0'), { epoch: '0', version: '2.0', release: undefined });
    assert.deepEqual(parseRpmEvr('abc:1.0-'), { epoch: undefined, version: 'abc:1.0', release: '' });
    assert.equal(rpmOrder('0:1.0-1', '1.0-1'), 0, 'a missing epoch is 0');
    assert.ok(rpmOrder('1:0.1-1', '9.9-9') > 0);
    assert.ok(rpmOrder('1.0', '1.0-1') < 0, 'a missing release sorts first');
    assert.ok(rpmOrder('1.0', '1.0-') < 0);
    assert.throws(() => rpmOrder('', '1.0'), { code: 'E_VERSION_INVALID' });
  });

  it("agrees with osv-scalibr's Red Hat vectors", () => {
    const vectors = fixtures.readVectors('scalibr-redhat-versions.txt');
    assert.ok(vectors.length > 100);
    assert.deepEqual(fixtures.disagreements(vectors, rpmOrder), []);
  });

  it('agrees with rpm.labelCompare (python3-rpm) on thousands of pairs', (t) => {
    if (!fixtures.hasTool(PYTHON, ['-c', 'import rpm'])) return t.skip('python3-rpm is not installed');
    const seed = testSeed('AIRLOCK_VERSION_SEED');
    const random = seededRandom(seed);
    const real = fixtures.debianVersionsFromApt();
    const debian = typeof real === 'string' ? [] : real.versions;
    if (typeof real === 'string') t.diagnostic(`no real Debian versions (${real}): generated pairs only`);
    const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)]!;
    const generated = generatedEvrs(random, 3000);
    const rpmLike = debian.map((v) => v.replace(/\+/g, random() < 0.5 ? '.' : '^').replace(/~bpo/, '~'));
    const pool = [...generated, ...rpmLike];
    const pairs: [string, string][] = [];
    for (let i = 0; i < 6000; i++) pairs.push([pick(pool), pick(pool)]);
    for (let i = 0; i < 3000; i++) pairs.push([pick(generated), pick(generated)]);
    // Near pairs: one EVR against itself with one separator or mark changed.
    for (let i = 0; i < 2000; i++) {
      const v = pick(pool);
      pairs.push([v, v.replace(/[.~^_+]/, pick(['.', '~', '^', '_', '', '-']))]);
    }
    const started = performance.now();
    const answers = fixtures
      .runTool(PYTHON, ['-c', ORACLE], pairs.map((p) => p.join('\t')).join('\n'))
      .trim()
      .split('\n');
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const { wrong } = fixtures.oracleDisagreements(pairs, answers, rpmOrder);
    t.diagnostic(`seed ${seed}: ${pairs.length - wrong.length}/${pairs.length} pairs agree, python3-rpm ${seconds} s`);
    assert.equal(answers.length, pairs.length);
    assert.deepEqual(wrong.slice(0, 20), []);
  });
});
