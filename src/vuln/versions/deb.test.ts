import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from '../../../test/helpers/seeded-random.ts';
import {
  assertAscending,
  debianVersionsFromApt,
  disagreements,
  hasTool,
  opOf,
  readVectors,
} from '../../../test/fixtures/versions/vectors.ts';
import { debOrder, parseDebVersion } from './deb.ts';

const DPKG_OP = { '<': 'lt', '=': 'eq', '>': 'gt' } as const;

/** Asks dpkg, one bash loop per batch, whether each pair stands in the relation given: one exit code a line. */
function dpkgConfirms(lines: readonly string[]): Promise<string[]> {
  const script =
    'while IFS=$\'\\t\' read -r op a b; do dpkg --compare-versions "$a" "$op" "$b" 2>/dev/null; echo $?; done';
  return new Promise((resolve, reject) => {
    const env = { ...process.env, LC_ALL: 'C' }; // no locale files read per call: about half dpkg's system calls
    const child = spawn('bash', ['-c', script], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`bash ${code}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

const LONG = '123456789012345678901234567890';
const EDGE_PAIRS: readonly [string, string][] = [
  ['1.0é', '1.0z'],
  ['1.0é', '1.0.'],
  ['  1.0  ', '1.0'],
  ['+1:2', '1:2'],
  ['abc', '1.0'],
  ['1.0_x', '1.0_y'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0-0', '1.0'],
  [`1.${LONG}`, `1.${LONG.slice(0, -1)}9`],
  [`1.000${LONG}`, `1.${LONG}`],
  ['1.9007199254740993', '1.9007199254740992'],
  ['2147483647:1', '1:2'],
  ['1.0-a-b', '1.0-a'],
];

/** At least `want` distinct pairs of real versions: same-package pairs, sorted neighbours, random ones. */
function drawPairs(versions: readonly string[], relations: readonly [string, string][], seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const pairs = new Map<string, [string, string]>();
  const add = (a: string, b: string) => pairs.set(`${a}\t${b}`, random() < 0.5 ? [a, b] : [b, a]);
  for (let i = 0; i < 5000 && relations.length > 0; i++) add(...pick(relations));
  for (let i = 0; i < 4000; i++) {
    const at = Math.floor(random() * (versions.length - 1));
    add(versions[at]!, versions[at + 1]!);
  }
  for (let i = 0; i < 4000; i++) add(pick(versions), pick(versions));
  // Equal under dpkg but spelled differently: an explicit zero epoch, leading zeros.
  for (let i = 0; i < 500; i++) {
    const v = pick(versions);
    add(v, v.includes(':') ? v.replace(/^(\d+):/, '0$1:') : `0:${v}`);
  }
  // The edges, through dpkg as well: what dpkg only warns about, bytes ≥ 0x80, signed epochs, long runs.
  for (const [a, b] of EDGE_PAIRS) add(a, b);
  return [...pairs.values()];
}

describe('debOrder (deb-version(7))', () => {
  it('orders the cases deb-version(7) describes', () => {
    const ascending = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0-1', '1.0a', '1.0+', '1.0.1', '1.1', '1:0.1', '2:0'];
    assertAscending(debOrder, ascending);
    assert.equal(debOrder('1.0-1', '1.0-1'), 0);
    assert.equal(debOrder('0:1.0', '1.0'), 0);
    assert.equal(debOrder('1.001', '1.1'), 0);
    assert.ok(debOrder('1.0-1~bpo12+1', '1.0-1') < 0);
    assert.ok(debOrder('2.30-1+deb12u1', '2.30-1') > 0);
    assert.ok(debOrder('1.0-a-b', '1.0-a') > 0, 'the revision starts after the last hyphen');
  });

  it('compares digit runs of any length without overflow', () => {
    const big = '123456789012345678901234567890';
    assert.ok(debOrder(`1.${big}`, `1.${big.slice(0, -1)}9`) < 0);
    assert.ok(debOrder(`1.${big}1`, `1.${big}`) > 0);
    assert.equal(debOrder(`1.000${big}`, `1.${big}`), 0);
    assert.ok(debOrder('1.9007199254740993', '1.9007199254740992') > 0, 'beyond 2^53');
  });

  it('is as lenient as dpkg: a version dpkg only warns about is compared', () => {
    assert.ok(debOrder('abc', '1.0') > 0, 'letters sort after the digits-first empty run');
    assert.ok(debOrder('1.0_x', '1.0_y') < 0);
    assert.equal(debOrder('  1.0  ', '1.0'), 0, 'blanks around are trimmed');
    assert.equal(debOrder('+1:2', '1:2'), 0, 'strtol reads a signed epoch');
    assert.ok(debOrder('1.0é', '1.0z') > 0 && debOrder('1.0é', '1.0.') < 0, 'bytes ≥ 0x80 sit between');
  });

  it('refuses with E_VERSION_INVALID what dpkg refuses', () => {
    for (const bad of ['', ' ', '1 2', 'a:1', '1a:2', '-1:2', '99999999999:1', '1:', '1.0-', '-1', '1:-1'])
      assert.throws(() => debOrder(bad, '1.0'), { code: 'E_VERSION_INVALID' }, JSON.stringify(bad));
    assert.equal(parseDebVersion('007:1.0-1').epoch, 7);
    assert.equal(parseDebVersion('2147483647:1').epoch, 2147483647);
    assert.throws(() => parseDebVersion('2147483648:1'), { code: 'E_VERSION_INVALID' });
  });

  it("agrees with osv-scalibr's Debian vectors", () => {
    for (const name of ['scalibr-debian-versions.txt', 'scalibr-debian-versions-generated.txt']) {
      const vectors = readVectors(name);
      assert.ok(vectors.length >= 25, name);
      assert.deepEqual(disagreements(vectors, debOrder), [], name);
    }
  });

  it('agrees with dpkg --compare-versions on ≥ 10,000 pairs of real Debian versions', async (t) => {
    if (!hasTool('dpkg', ['--version'])) return t.skip('dpkg is not installed');
    const real = debianVersionsFromApt();
    if (typeof real === 'string') return t.skip(real);
    const seed = testSeed('AIRLOCK_VERSION_SEED');
    const pairs = drawPairs(real.versions, real.relations, seed);
    if (pairs.length < 10_000)
      return t.skip(
        `apt-cache dumpavail gave ${real.versions.length} versions, ${pairs.length} pairs: run apt-get update`,
      );
    // dpkg confirms or refutes the relation we claim; any refusal is a disagreement.
    const lines = pairs.map(([a, b]) => `${DPKG_OP[opOf(debOrder(a, b))]}\t${a}\t${b}`);
    const started = performance.now();
    const half = Math.ceil(lines.length / 2);
    const answers = (await Promise.all([dpkgConfirms(lines.slice(0, half)), dpkgConfirms(lines.slice(half))])).flat();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const wrong = lines.filter((_, i) => answers[i] !== '0');
    const equal = lines.filter((l) => l.startsWith('eq')).length;
    t.diagnostic(
      `seed ${seed}: ${lines.length - wrong.length}/${lines.length} pairs agree (${equal} equal), dpkg ${seconds} s`,
    );
    assert.equal(answers.length, lines.length);
    assert.deepEqual(wrong.slice(0, 20), []);
  });
});
