import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sharedMissing, SHARED_DIR } from '../../../test/helpers/shared.ts';
import { seededRandom, testSeed } from '../../../test/helpers/seeded-random.ts';
import {
  assertAscending,
  disagreements,
  hasTool,
  oracleDisagreements,
  readVectors,
  runTool,
} from '../../../test/fixtures/versions/vectors.ts';
import { pep440Order } from './pep440.ts';

const PYTHON = '/usr/bin/python3';
const OSV_PYPI = `${SHARED_DIR}fixtures/osv-pypi/vulns/`;
/** packaging.version.Version (Debian's python3-packaging) over stdin pairs: -1/0/1, or "invalid". */
const ORACLE = `
import sys
from packaging.version import Version, InvalidVersion
for line in sys.stdin.read().split("\\n"):
    if not line: continue
    a, b = line.split("\\t")
    try:
        x, y = Version(a), Version(b)
    except InvalidVersion:
        print("invalid"); continue
    print((x > y) - (x < y))
`;

/** Every version named in the real PyPI advisories: `versions` lists and range events. */
function realPypiVersions(): string[] {
  const found = new Set<string>();
  for (const dir of readdirSync(OSV_PYPI)) {
    for (const file of readdirSync(join(OSV_PYPI, dir))) {
      const record = JSON.parse(readFileSync(join(OSV_PYPI, dir, file), 'utf8')) as {
        affected?: { versions?: string[]; ranges?: { type: string; events: Record<string, string>[] }[] }[];
      };
      for (const affected of record.affected ?? []) {
        for (const v of affected.versions ?? []) found.add(v);
        for (const range of affected.ranges ?? [])
          if (range.type !== 'GIT')
            for (const event of range.events) for (const v of Object.values(event)) found.add(v);
      }
    }
  }
  found.delete('0');
  return [...found].sort();
}

/** PEP 440's spellings, normal and not (separators, case, implicit numbers, `v`, blanks), and some invalid. */
function generatedVersions(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const n = () => pick(['0', '1', '2', '10', '01', '2024', '00']);
  const sep = () => pick(['', '.', '-', '_']);
  const parts = [
    () => pick(['', '', '', '1!', '2!', '0!']),
    () => `${n()}${random() < 0.7 ? `.${n()}` : ''}${random() < 0.4 ? `.${n()}` : ''}${random() < 0.1 ? '.0.0' : ''}`,
    () =>
      random() < 0.4
        ? `${sep()}${pick(['a', 'b', 'rc', 'c', 'alpha', 'Beta', 'pre', 'preview'])}${pick(['', n()])}`
        : '',
    () => (random() < 0.3 ? pick([`${sep()}${pick(['post', 'rev', 'r', 'POST'])}${pick(['', n()])}`, `-${n()}`]) : ''),
    () => (random() < 0.3 ? `${sep()}${pick(['dev', 'DEV'])}${pick(['', n()])}` : ''),
    () => (random() < 0.2 ? `+${pick(['ubuntu', 'abc', '1', '01'])}${pick(['', '.1', '-x', '_2', '.A'])}` : ''),
  ];
  const invalid = ['1.0-foo', '1..0', '1.0+', '1.0+a..b', 'one', '1.0.', '.1', '1.0dev-', '1.0a-b', '1.0 0'];
  return Array.from({ length: count }, () => {
    if (random() < 0.05) return pick(invalid);
    const text = parts.map((p) => p()).join('');
    return `${random() < 0.05 ? 'v' : ''}${text}${random() < 0.03 ? ' ' : ''}`;
  });
}

function compareWithPackaging(
  t: { diagnostic(s: string): void },
  label: string,
  versions: readonly string[],
  seed: number,
) {
  const random = seededRandom(seed);
  const pick = () => versions[Math.floor(random() * versions.length)]!;
  const pairs = Array.from({ length: 6000 }, (): [string, string] => [pick(), pick()]);
  // Sorted neighbours: the near pairs (1.2.3 and 1.2.3.post1, 2.0rc1 and 2.0).
  const sorted = [...versions].sort();
  for (let i = 0; i + 1 < sorted.length && i < 4000; i++) pairs.push([sorted[i]!, sorted[i + 1]!]);
  const started = performance.now();
  const answers = runTool(PYTHON, ['-c', ORACLE], pairs.map((p) => p.join('\t')).join('\n'))
    .trim()
    .split('\n');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { wrong, invalid } = oracleDisagreements(pairs, answers, pep440Order);
  t.diagnostic(
    `${label}, seed ${seed}: ${pairs.length - wrong.length}/${pairs.length} pairs agree ` +
      `(${invalid} invalid on both sides), ${versions.length} versions, packaging ${seconds} s`,
  );
  assert.equal(answers.length, pairs.length);
  assert.deepEqual(wrong.slice(0, 20), []);
}

describe('pep440Order (PEP 440 via @renovatebot/pep440)', () => {
  it('compares normalised spellings as equal and orders dev < pre < release < post', () => {
    assert.equal(pep440Order('1.0-1', '1.0.post1'), 0);
    assert.equal(pep440Order('1.0ALPHA', '1.0a0'), 0);
    assert.equal(pep440Order('v1.0', ' 1.0.0 '), 0);
    assert.equal(pep440Order('0!1.0', '1.0'), 0);
    const ascending = [
      '1.0.dev1',
      '1.0a1.dev1',
      '1.0a1',
      '1.0b2',
      '1.0rc1',
      '1.0',
      '1.0+local',
      '1.0.post1.dev1',
      '1.0.post1',
      '1.1',
      '1!0.1',
    ];
    assertAscending(pep440Order, ascending);
  });

  it('refuses with E_VERSION_INVALID what PEP 440 cannot read, and numbers it cannot compare exactly', () => {
    for (const bad of ['', 'one', '1.0-foo', '1..0', '1.0+', 'latest'])
      assert.throws(() => pep440Order(bad, '1.0'), { code: 'E_VERSION_INVALID' }, bad);
    assert.throws(() => pep440Order('1.9007199254740993', '1.0'), { code: 'E_VERSION_INVALID' });
    assert.ok(pep440Order('1.9007199254740991', '1.9007199254740990') > 0);
  });

  it("agrees with osv-scalibr's PyPI vectors that are PEP 440 (its legacy, non-PEP 440 ones are refused)", (t) => {
    for (const name of ['scalibr-pypi-versions.txt', 'scalibr-pypi-versions-generated.txt']) {
      const all = readVectors(name);
      const pep440 = all.filter((v) => {
        try {
          pep440Order(v.a, v.b);
          return true;
        } catch {
          return false;
        }
      });
      t.diagnostic(`${name}: ${pep440.length} of ${all.length} vectors are PEP 440 on both sides`);
      assert.ok(pep440.length > all.length / 2, name);
      assert.deepEqual(disagreements(pep440, pep440Order), [], name);
    }
  });

  it("agrees with Python's packaging on generated PEP 440 spellings", (t) => {
    if (!hasTool(PYTHON, ['-c', 'import packaging.version'])) return t.skip('python3-packaging is not installed');
    const seed = testSeed('AIRLOCK_VERSION_SEED');
    compareWithPackaging(t, 'generated', generatedVersions(seededRandom(seed), 3000), seed);
  });

  it("agrees with Python's packaging on the versions of real PyPI advisories", (t) => {
    if (!hasTool(PYTHON, ['-c', 'import packaging.version'])) return t.skip('python3-packaging is not installed');
    const missing = sharedMissing(OSV_PYPI);
    if (missing) return t.skip(missing);
    compareWithPackaging(t, 'osv-pypi', realPypiVersions(), testSeed('AIRLOCK_VERSION_SEED'));
  });
});
