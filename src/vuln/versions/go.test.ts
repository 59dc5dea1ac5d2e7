import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from '../../../test/helpers/seeded-random.ts';
import { assertAscending, hasTool, oracleDisagreements, runTool } from '../../../test/fixtures/versions/vectors.ts';
import { goOrder } from './go.ts';

/** Go's own golang.org/x/mod/semver (the copy Go vendors into its toolchain) over stdin pairs. */
const ORACLE_MAIN = `package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"oracle/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		p := strings.Split(in.Text(), "\\t")
		if !semver.IsValid(p[0]) || !semver.IsValid(p[1]) {
			fmt.Fprintln(out, "invalid")
			continue
		}
		fmt.Fprintln(out, semver.Compare(p[0], p[1]))
	}
}
`;

/** Hand-checked against Go's module rules (go.dev/ref/mod#pseudo-versions): ascending. */
const ASCENDING = [
  'v0.0.0-20190101000000-aaaaaaaaaaaa',
  'v0.0.0-20230101000000-abcdef123456',
  'v0.0.0-20230101000001-000000000000',
  'v0.1.0',
  'v1.2.3-pre',
  'v1.2.3-pre.0.20230101000000-abcdef123456',
  'v1.2.3',
  'v1.2.4-0.20230101000000-abcdef123456',
  'v1.2.4-0.20240101000000-abcdef123456',
  'v1.2.4',
  'v2.0.0+incompatible',
  'v2.0.1-0.20230101000000-abcdef123456+incompatible',
  'v2.0.1',
];

function goVersions(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const n = () => (random() < 0.02 ? '01' : pick(['0', '1', '2', '9', '10', '123']));
  const stamp = () =>
    `20${pick(['19', '23', '24'])}0${pick(['1', '6'])}0${pick(['1', '2'])}${pick(['000000', '120000'])}`;
  const pre = () =>
    pick([
      '',
      '',
      `-${pick(['pre', 'rc.1', 'rc.10', 'alpha', '0', 'beta.2', random() < 0.1 ? '01' : 'rc'])}`,
      `-0.${stamp()}-abcdef123456`,
    ]);
  return Array.from({ length: count }, () => {
    const core = random() < 0.9 ? `${n()}.${n()}.${n()}` : pick([n(), `${n()}.${n()}`]);
    return `${random() < 0.8 ? 'v' : ''}${core}${pre()}${pick(['', '', '+incompatible', '+meta.1'])}`;
  });
}

function buildOracle(dir: string): string | undefined {
  const goroot = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).stdout.trim();
  const source = join(goroot, 'src/cmd/vendor/golang.org/x/mod/semver/semver.go');
  if (!existsSync(source)) return `${source} is absent`;
  mkdirSync(join(dir, 'semver'));
  copyFileSync(source, join(dir, 'semver/semver.go'));
  writeFileSync(join(dir, 'go.mod'), 'module oracle\n\ngo 1.19\n');
  writeFileSync(join(dir, 'main.go'), ORACLE_MAIN);
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: join(dir, 'cache'), GO111MODULE: 'on' };
  const built = spawnSync('go', ['build', '-o', 'oracle', '.'], { cwd: dir, env, encoding: 'utf8' });
  return built.status === 0 ? undefined : `go build failed: ${built.stderr}`;
}

describe('goOrder (Go module versions)', () => {
  it('orders pseudo-versions and +incompatible by Go module rules', () => {
    assertAscending(goOrder, ASCENDING);
    assert.equal(goOrder('v2.0.0+incompatible', 'v2.0.0'), 0, 'build metadata is ignored');
    assert.equal(goOrder('1.2.3', 'v1.2.3'), 0, 'OSV writes Go versions without the v');
    assert.equal(goOrder('v1', 'v1.0.0'), 0);
    assert.equal(goOrder('v1.2', 'v1.2.0'), 0);
  });

  it('refuses with E_VERSION_INVALID what Go refuses', () => {
    for (const bad of ['', 'v', 'vv1.2.3', 'v01.2.3', 'v1.2-pre', 'v1.2.3-01', ' v1.2.3', 'latest', 'v1.2.3.4'])
      assert.throws(() => goOrder(bad, 'v1.0.0'), { code: 'E_VERSION_INVALID' }, bad);
  });

  it("agrees with Go's own golang.org/x/mod/semver on thousands of pairs", (t) => {
    if (!hasTool('go', ['version'])) return t.skip('go is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'airlock-go-semver-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const failed = buildOracle(dir);
    if (failed !== undefined) return t.skip(failed);
    const seed = testSeed('AIRLOCK_VERSION_SEED');
    const random = seededRandom(seed);
    const versions = [...ASCENDING, ...goVersions(random, 2000)];
    const pick = () => versions[Math.floor(random() * versions.length)]!;
    const pairs = Array.from({ length: 5000 }, (): [string, string] => [pick(), pick()]);
    const withV = (v: string) => (v.startsWith('v') ? v : `v${v}`);
    const started = performance.now();
    const input = pairs.map(([a, b]) => `${withV(a)}\t${withV(b)}`).join('\n');
    const answers = runTool(join(dir, 'oracle'), [], input).trim().split('\n');
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const { wrong, invalid } = oracleDisagreements(pairs, answers, goOrder);
    t.diagnostic(
      `seed ${seed}: ${pairs.length - wrong.length}/${pairs.length} agree (${invalid} invalid), Go ${seconds} s`,
    );
    assert.deepEqual(wrong.slice(0, 20), []);
  });
});
