// The real-advisories acceptance of issue 25: the 2,661 real PyPI advisories (../shared/fixtures/osv-pypi)
// built into a signed database, and a scan's PyPI findings compared with a straightforward, independent
// evaluation written in Python with Debian's `packaging` (PEP 440 order, PEP 503 names, OSV 1.7's
// reading of `versions` lists and ECOSYSTEM ranges: introduced ≤ v < fixed, v ≤ last_affected,
// `introduced: "0"`, limit; withdrawn records skipped; GIT ranges not evaluated). Both sides are
// compared per package as sets of OSV record ids: a finding carries the ids of the records that matched
// (`records` in the JSON report; airlock merges aliases so one CVE is one finding), Python gives one id
// per matching record. A record whose ranges cannot be read for the version (not PEP 440) is
// "unevaluable" on both sides.
// Two catalogues: the test image's (scanned through `airlock scan IMAGE --db DB --json`; its Debian
// python3 packages are few and may match nothing), and a synthetic one of 500 (name, version) pairs
// drawn from the advisories' own versions and events and versions near them, names written in other
// spellings PEP 503 folds together (scanned with scanCatalogue).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { catalogueImageReference } from '../../src/sbom/image-sbom.ts';
import type { CataloguedPackage } from '../../src/sbom/package.ts';
import { buildVulnDb } from '../../src/vuln/db/build.ts';
import { openVulnDb } from '../../src/vuln/db/open.ts';
import type { Finding } from '../../src/vuln/finding.ts';
import type { ScanReport } from '../../src/vuln/report/report.ts';
import { scanCatalogue } from '../../src/vuln/scan.ts';
import { runCli } from '../helpers/cli.ts';
import { testKey } from '../helpers/osv-records.ts';
import { sbomImageMissing, sbomTestImage } from '../helpers/sbom-image.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/osv-pypi/vulns/', import.meta.url));
const PYTHON = '/usr/bin/python3';
const NOW = new Date('2026-12-01T00:00:00Z');
const SYNTHETIC = 500;
const SEED_VAR = 'AIRLOCK_SCAN_PYPI_SEED';

function packagingMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not installed (apt-get install python3)`;
  const r = spawnSync(PYTHON, ['-I', '-c', 'import packaging.version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} has no packaging module (apt-get install python3-packaging)`;
}

const missing =
  (existsSync(FIXTURES) ? undefined : `${FIXTURES} is absent: the real-advisories scan is skipped`) ??
  packagingMissing();

// The independent evaluation. Input: the advisories folder and the packages ([name, version] pairs);
// output: [package index, record id, "affected" | "unevaluable"] for every record that names the
// package and says it is affected, or whose ranges cannot be read for its version.
const EVALUATE = `
import glob, json, os, re, sys
from packaging.version import InvalidVersion, Version

def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()

class Unevaluable(Exception):
    pass

def V(text):
    try:
        return Version(text)
    except InvalidVersion as e:
        raise Unevaluable(str(e))

def in_range(version, events):
    """introduced <= v < fixed, introduced <= v <= last_affected, "0" before everything, below a limit."""
    limits = [e["limit"] for e in events if "limit" in e]
    points = [e for e in events if "limit" not in e]
    # Sorted by version ("0" first); sorted() is stable, so equal versions keep the record's order.
    ordered = sorted(points, key=lambda e: (0, None) if e.get("introduced") == "0" else (1, V(next(iter(e.values())))))
    intervals, start = [], None
    for e in ordered:
        if "introduced" in e:
            if start is None:
                start = e["introduced"]
        elif start is not None:
            kind = "fixed" if "fixed" in e else "last_affected"
            intervals.append((start, kind, e[kind]))
            start = None
    if start is not None:
        intervals.append((start, None, None))
    if limits and not any(l == "*" or V(version) < V(l) for l in limits):
        return False
    hit, failed = False, None
    for lo, kind, hi in intervals:
        try:
            above = lo == "0" or V(version) >= V(lo)
            below = kind is None or (V(version) < V(hi) if kind == "fixed" else V(version) <= V(hi))
            hit = hit or (above and below)
        except Unevaluable as e:
            failed = failed or e
    if failed:
        raise failed
    return hit

def affected(version, entry):
    if version in entry.get("versions", []):
        return True
    failed = None
    for r in entry.get("ranges", []):
        if r["type"] == "GIT":
            continue
        if r["type"] != "ECOSYSTEM":
            raise SystemExit("unexpected range type " + r["type"])
        try:
            if in_range(version, r["events"]):
                return True
        except Unevaluable as e:
            failed = failed or e
    if failed:
        raise failed
    return False

job = json.load(sys.stdin)
by_name = {}
for path in glob.glob(os.path.join(job["fixtures"], "*", "*.json")):
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    if "withdrawn" in record:
        continue
    for entry in record["affected"]:
        if entry["package"]["ecosystem"] == "PyPI":
            by_name.setdefault(pep503(entry["package"]["name"]), {}).setdefault(record["id"], []).append(entry)

out = []
for index, (name, version) in enumerate(job["packages"]):
    for rid, entries in sorted(by_name.get(pep503(name), {}).items()):
        status, failed = None, False
        for entry in entries:
            try:
                if affected(version, entry):
                    status = "affected"
            except Unevaluable:
                failed = True
        if status is None and failed:
            status = "unevaluable"
        if status:
            out.append([index, rid, status])
print(json.dumps(out))
`;

interface Verdicts {
  readonly affected: Set<string>;
  readonly unevaluable: Set<string>;
}

/** Python's verdicts as `<package index> <record id>` lines. */
function pythonVerdicts(packages: ReadonlyArray<readonly [string, string]>): Verdicts {
  const r = spawnSync(PYTHON, ['-I', '-c', EVALUATE], {
    encoding: 'utf8',
    input: JSON.stringify({ fixtures: FIXTURES, packages }),
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  const verdicts: Verdicts = { affected: new Set(), unevaluable: new Set() };
  for (const [index, id, status] of JSON.parse(r.stdout) as [number, string, string][])
    verdicts[status === 'affected' ? 'affected' : 'unevaluable'].add(`${index} ${id}`);
  return verdicts;
}

interface FixtureRecord {
  readonly id: string;
  readonly aliases?: string[];
  readonly withdrawn?: string;
  readonly affected: ReadonlyArray<{
    readonly package: { readonly name: string };
    readonly versions?: string[];
    readonly ranges?: ReadonlyArray<{ readonly type: string; readonly events: Record<string, string>[] }>;
  }>;
}

async function readFixtures(): Promise<Map<string, FixtureRecord>> {
  const records = new Map<string, FixtureRecord>();
  for (const sub of (await readdir(FIXTURES)).sort())
    for (const file of (await readdir(join(FIXTURES, sub))).sort()) {
      const r = JSON.parse(await readFile(join(FIXTURES, sub, file), 'utf8')) as FixtureRecord;
      records.set(r.id, r);
    }
  return records;
}

/**
 * Airlock's findings against Python's verdicts, per package (`index` gives a finding's package): the
 * records airlock says affect a package are exactly those Python says do; each record of an unevaluable
 * finding is one Python cannot evaluate either; and a record Python cannot evaluate that airlock does not
 * report is one airlock merged (by alias) into a finding another record of the same package decided.
 */
function compare(
  findings: readonly Finding[],
  index: (f: Finding) => number,
  python: Verdicts,
  records: ReadonlyMap<string, FixtureRecord>,
): { affected: number; unevaluable: number; findings: number } {
  const affected = new Set<string>();
  const unevaluable = new Set<string>();
  for (const f of findings)
    for (const id of f.recordIds) (f.unevaluable === undefined ? affected : unevaluable).add(`${index(f)} ${id}`);
  const diff = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();
  assert.deepEqual(diff(affected, python.affected), [], 'airlock says affected, Python does not');
  assert.deepEqual(diff(python.affected, affected), [], 'Python says affected, airlock does not');
  assert.deepEqual(diff(unevaluable, python.unevaluable), [], 'airlock cannot evaluate, Python can');
  for (const line of diff(python.unevaluable, unevaluable)) {
    const [at, id = ''] = line.split(' ');
    const ids = [id, ...(records.get(id)?.aliases ?? [])];
    const merged = findings.some(
      (f) =>
        String(index(f)) === at && f.unevaluable === undefined && ids.some((x) => x === f.id || f.aliases.includes(x)),
    );
    assert.ok(merged, `Python cannot evaluate ${line}, airlock did not report it`);
  }
  return { affected: affected.size, unevaluable: unevaluable.size, findings: findings.length };
}

/** Versions near `v`: its neighbours by the last number, and pre-, post- and dev-release forms. */
function nearby(v: string, pick: <T>(xs: readonly T[]) => T): string {
  const m = /^(.*?)(\d+)([^\d]*)$/.exec(v);
  const variants = [`${v}.post1`, `${v}rc1`, `${v}.dev0`, `${v}.0`, `v${v}`, ` ${v}`, `${v}-1`, `${v}.1`];
  if (m) {
    const n = Number(m[2]);
    variants.push(`${m[1]}${n + 1}${m[3]}`, `${m[1]}${n + 1}`);
    if (n > 0) variants.push(`${m[1]}${n - 1}${m[3]}`, `${m[1]}${n - 1}`);
  }
  return pick(variants);
}

/** Another spelling of a PyPI name that PEP 503 folds to the same project. */
function respell(name: string, pick: <T>(xs: readonly T[]) => T): string {
  return pick([
    name,
    name.toUpperCase(),
    name.replace(/[-_.]/g, '_'),
    name.replace(/[-_.]/g, '.'),
    name.replace(/[-_.]/g, '-_'),
    name.replace(/^./, (c) => c.toUpperCase()),
  ]);
}

/** `count` (name, version) pairs drawn from the advisories: their versions, events and versions near them. */
function syntheticPairs(records: ReadonlyMap<string, FixtureRecord>, seed: number, count: number) {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  // By project first, so the few projects with hundreds of advisories do not crowd out the rest.
  const byProject = new Map<string, FixtureRecord['affected'][number][]>();
  for (const record of records.values())
    for (const entry of record.affected) {
      const name = entry.package.name.replace(/[-_.]+/g, '-').toLowerCase();
      byProject.set(name, [...(byProject.get(name) ?? []), entry]);
    }
  const projects = [...byProject.values()];
  const pairs: [string, string][] = [];
  while (pairs.length < count) {
    const entry = pick(pick(projects));
    const events = (entry.ranges ?? [])
      .filter((r) => r.type === 'ECOSYSTEM')
      .flatMap((r) => r.events.flatMap((e) => Object.values(e)))
      .filter((v) => v !== '0');
    const known = [...(entry.versions ?? []), ...events];
    if (known.length === 0) continue;
    const base = pick(known);
    const version = random() < 0.4 ? base : nearby(base, pick);
    pairs.push([respell(entry.package.name, pick), version]);
  }
  return pairs;
}

function pypiPackage(name: string, version: string, foundIn: string): CataloguedPackage {
  return {
    type: 'pypi',
    name,
    version,
    licenses: [],
    foundIn,
    purl: `pkg:pypi/${encodeURIComponent(name.toLowerCase())}@${encodeURIComponent(version)}`,
    ecosystem: 'PyPI',
  };
}

describe('scanning with the real PyPI advisories, against an evaluation with Python’s packaging', () => {
  const dir = useTempDir('scan-pypi-');
  const dbPath = join(dir, 'pypi.db');
  const keyPath = join(dir, 'db.pub');
  let records: Map<string, FixtureRecord>;

  before(async () => {
    if (missing) return;
    const key = testKey();
    const started = performance.now();
    // Built now: `scan --db` judges a file's age against the real clock (at most 7 days old by default).
    const built = await buildVulnDb({ sources: [FIXTURES], out: dbPath, signer: key.signer, now: new Date() });
    assert.equal(built.manifest.records, 2661);
    await writeFile(keyPath, key.publicKey.export({ type: 'spki', format: 'pem' }));
    records = await readFixtures();
    process.stderr.write(
      `# database of ${built.manifest.records} records built in ${(performance.now() - started).toFixed(0)} ms\n`,
    );
  });

  it("the image's Python packages: `airlock scan IMAGE --db DB --json` finds Python's advisories", async (t) => {
    const why = missing ?? sbomImageMissing();
    if (why) return t.skip(why);
    const image = await sbomTestImage();
    const started = performance.now();
    const r = await runCli([
      'scan',
      image.reference,
      '--db',
      dbPath,
      '--db-key',
      keyPath,
      '--unknown-severity',
      'warn',
      '--json',
    ]);
    const ms = performance.now() - started;
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      findings: Array<{
        id: string;
        aliases: string[];
        records: string[];
        unevaluable?: string;
        package: Finding['package'];
      }>;
      notes: string[];
    };
    // The image's PyPI packages, as the report's findings name them (by the file each was found in).
    const catalogue = await catalogueImageReference(image.reference);
    const installed = catalogue.packages.filter((p) => p.ecosystem === 'PyPI');
    assert.ok(installed.length >= 2, 'packaging and six');
    const where = installed.map((p) => p.foundIn);
    const findings: Finding[] = report.findings
      .filter((f) => f.package.ecosystem === 'PyPI')
      .map((f) => ({
        id: f.id,
        aliases: f.aliases,
        recordIds: f.records,
        package: f.package,
        severity: 'unknown',
        fixedVersions: [],
        ...(f.unevaluable === undefined ? {} : { unevaluable: f.unevaluable }),
      }));
    const python = pythonVerdicts(installed.map((p) => [p.name, p.version] as const));
    const counts = compare(findings, (f) => where.indexOf(f.package.foundIn), python, records);
    assert.ok(findings.every((f) => where.includes(f.package.foundIn)));
    assert.equal(
      report.findings.filter((f) => f.package.ecosystem !== 'PyPI').length,
      0,
      'a PyPI-only database finds nothing else',
    );
    t.diagnostic(
      `image: ${installed.map((p) => `${p.name} ${p.version}`).join(', ')}; ` +
        `${counts.findings} findings, ${counts.affected} matching records ` +
        `(${counts.unevaluable} unevaluable), Python agrees; airlock scan in ${ms.toFixed(0)} ms`,
    );
  });

  it('500 synthetic (name, version) pairs from the advisories’ own versions: scanCatalogue agrees with Python', (t) => {
    if (missing) return t.skip(missing);
    const seed = process.env[SEED_VAR] ? testSeed(SEED_VAR) : 25;
    const pairs = syntheticPairs(records, seed, SYNTHETIC);
    const packages = pairs.map(([name, version], i) => pypiPackage(name, version, `/synthetic/${i}/METADATA`));
    const db = openVulnDb(dbPath);
    let started = performance.now();
    let report: ScanReport;
    try {
      report = scanCatalogue({
        catalogue: { packages, notes: [] },
        subjectName: 'synthetic',
        source: db.source,
        database: { name: 'pypi', version: NOW.toISOString(), built: NOW.toISOString(), contentHash: 'sha256:0' },
        ignores: [],
        gate: { unknownSeverity: 'warn' },
        now: () => NOW,
      });
    } finally {
      db.close();
    }
    const scanMs = performance.now() - started;
    started = performance.now();
    const python = pythonVerdicts(pairs);
    const pythonMs = performance.now() - started;
    const index = (f: Finding) => Number(/^\/synthetic\/(\d+)\//.exec(f.package.foundIn)?.[1]);
    const counts = compare(report.findings, index, python, records);
    const hit = new Set(report.findings.map(index)).size;
    t.diagnostic(
      `seed ${seed} (${SEED_VAR} replays one): ${pairs.length} pairs, ${hit} affected; ${counts.findings} findings ` +
        `carrying ${counts.affected} matching records and ${counts.unevaluable} unevaluable; Python: ` +
        `${python.affected.size} + ${python.unevaluable.size}; ` +
        `scan ${scanMs.toFixed(0)} ms, Python ${pythonMs.toFixed(0)} ms`,
    );
    // Enough of each kind that the comparison means something.
    assert.ok(counts.affected >= 100, `only ${counts.affected} matching records`);
    assert.ok(hit < pairs.length, 'some pairs are not affected');
  });
});
