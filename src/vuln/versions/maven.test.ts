import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom, testSeed } from '../../../test/helpers/seeded-random.ts';
import * as fixtures from '../../../test/fixtures/versions/vectors.ts';
import { mavenOrder } from './maven.ts';

/** Debian's maven (3.8.7): its ComparableVersion is the same code as Maven 3.9's. */
const MAVEN_ARTIFACT_JAR = '/usr/share/maven/lib/maven-artifact-3.x.jar';
const ORACLE = `
import java.io.BufferedReader;
import java.io.InputStreamReader;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class Oracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isEmpty()) continue;
            String[] p = line.split("\\t", -1);
            int c = new ComparableVersion(p[0]).compareTo(new ComparableVersion(p[1]));
            out.append(Integer.signum(c)).append('\\n');
        }
        System.out.print(out);
    }
}
`;

// From Maven's own ComparableVersionTest (apache/maven, tag maven-3.9.9,
// maven-artifact/src/test/java/org/apache/maven/artifact/versioning/ComparableVersionTest.java, Apache-2.0).
const VERSIONS_QUALIFIER = [
  '1-alpha2snapshot',
  '1-alpha2',
  '1-alpha-123',
  '1-beta-2',
  '1-beta123',
  '1-m2',
  '1-m11',
  '1-rc',
  '1-cr2',
  '1-rc123',
  '1-SNAPSHOT',
  '1',
  '1-sp',
  '1-sp2',
  '1-sp123',
  '1-abc',
  '1-def',
  '1-pom-1',
  '1-1-snapshot',
  '1-1',
  '1-2',
  '1-123',
];
const VERSIONS_NUMBER = [
  '2.0',
  '2.0.a',
  '2-1',
  '2.0.2',
  '2.0.123',
  '2.1.0',
  '2.1-a',
  '2.1b',
  '2.1-c',
  '2.1-1',
  '2.1.0.1',
  '2.2',
  '2.123',
  '11.a2',
  '11.a11',
  '11.b2',
  '11.b11',
  '11.m2',
  '11.m11',
  '11',
  '11.a',
  '11b',
  '11c',
  '11m',
];
const EQUAL = [
  ['1', '1.0.0'],
  ['1', '1-0'],
  ['1.0', '1.0-0'],
  ['1a', '1.0.0-a'],
  ['1.0.0x', '1-x'],
  ['1ga', '1'],
  ['1release', '1'],
  ['1FINAL', '1'],
  ['1cr', '1rc'],
  ['1a1', '1-alpha-1'],
  ['1b2', '1-beta-2'],
  ['1m3', '1MILESTONE3'],
  ['2-xyz', '2.0.0.xyz'],
  ['1-abcdefghijklmnopqrstuvwxyz', '1-ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
];

/** Where osv-scalibr's Maven vectors and Maven itself (3.8.7, run here) part: Maven's answer. */
const MAVEN_WHERE_SCALIBR_DIFFERS: ReadonlyMap<string, '<' | '=' | '>'> = new Map([['1-1 1-ga-1', '>']]);

function mavenVersions(random: () => number, count: number): string[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const atom = () =>
    pick([
      () => String(Math.floor(random() * 12)),
      () => pick(['0', '00', '007', '2147483648', '9223372036854775808', '123456789012345678901234567890']),
      () =>
        pick([
          'alpha',
          'a',
          'b',
          'm',
          'beta',
          'milestone',
          'rc',
          'CR',
          'SNAPSHOT',
          'ga',
          'final',
          'Release',
          'sp',
          'abc',
          'jre',
          'M',
        ]),
    ])();
  return Array.from({ length: count }, () => {
    let v = atom();
    for (let n = 1 + Math.floor(random() * 5); n > 0; n--) v += pick(['.', '.', '-', '', '..', '-']) + atom();
    return v;
  });
}

describe("mavenOrder (Maven's ComparableVersion)", () => {
  it("orders Maven's own test vectors", () => {
    fixtures.assertAscending(mavenOrder, VERSIONS_QUALIFIER);
    fixtures.assertAscending(mavenOrder, VERSIONS_NUMBER);
    for (const [a, b] of EQUAL) assert.equal(mavenOrder(a!, b!), 0, `${a} = ${b}`);
    fixtures.assertAscending(mavenOrder, ['1.0.0.RC1', '1.0.0-RC2', '1.0.1']);
    fixtures.assertAscending(mavenOrder, ['2.0.1', '2.0.1-xyz', '2.0.1-123']);
  });

  it('compares numbers of any length', () => {
    fixtures.assertAscending(mavenOrder, [
      '1.999999999',
      '1.1000000000',
      '1.999999999999999999',
      '1.1' + '0'.repeat(30),
    ]);
    assert.equal(mavenOrder('1.0000000000000000000001', '1.1'), 0);
  });

  it('refuses with E_VERSION_INVALID only an empty version', () => {
    assert.throws(() => mavenOrder('', '1'), { code: 'E_VERSION_INVALID' });
    assert.ok(mavenOrder('-', '1') < 0, 'anything else is read, as Maven reads it');
  });

  it("agrees with osv-scalibr's Maven vectors (Maven's answer where they differ)", () => {
    for (const name of ['scalibr-maven-versions.txt', 'scalibr-maven-versions-generated.txt']) {
      const vectors = fixtures
        .readVectors(name)
        .map((v) => ({ ...v, op: MAVEN_WHERE_SCALIBR_DIFFERS.get(`${v.a} ${v.b}`) ?? v.op }));
      assert.ok(vectors.length > 100, name);
      assert.deepEqual(fixtures.disagreements(vectors, mavenOrder), [], name);
    }
  });

  it("agrees with Maven's own ComparableVersion (maven-artifact, run by java) on thousands of pairs", (t) => {
    if (!existsSync(MAVEN_ARTIFACT_JAR)) return t.skip(`${MAVEN_ARTIFACT_JAR} is absent (Debian package maven)`);
    if (!fixtures.hasTool('java', ['-version'])) return t.skip('java is not installed');
    const seed = testSeed('AIRLOCK_VERSION_SEED');
    const random = seededRandom(seed);
    const real = fixtures.readVectors('scalibr-maven-versions-generated.txt').flatMap((v) => [v.a, v.b]);
    const versions = [...real, ...mavenVersions(random, 2000)];
    const pick = () => versions[Math.floor(random() * versions.length)]!;
    const pairs = Array.from({ length: 6000 }, (): [string, string] => [pick(), pick()]);
    const started = performance.now();
    const dir = mkdtempSync(join(tmpdir(), 'airlock-maven-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'Oracle.java'), ORACLE);
    const input = pairs.map((p) => p.join('\t')).join('\n');
    const answers = fixtures
      .runTool('java', ['-cp', MAVEN_ARTIFACT_JAR, join(dir, 'Oracle.java')], input)
      .trim()
      .split('\n');
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const { wrong } = fixtures.oracleDisagreements(pairs, answers, mavenOrder);
    t.diagnostic(`seed ${seed}: ${pairs.length - wrong.length}/${pairs.length} pairs agree, java ${seconds} s`);
    assert.equal(answers.length, pairs.length);
    assert.deepEqual(wrong.slice(0, 20), []);
  });
});
