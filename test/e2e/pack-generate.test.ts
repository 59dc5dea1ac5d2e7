// Issue 25 across the gap, as a user runs it: pack makes the SBOM and the scan itself (--sbom generate
// --scan) and gates on them — a critical finding refuses, nothing written; unknown severity refuses unless
// --unknown-severity warn; an expired exception no longer suppresses — and carries a signed database
// (--vulndb) that import checks before anything moves and installs after: a tampered, unsigned, older or
// too-old database is refused with its code.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { loadSigner } from '../../src/crypto/key-ref.ts';
import { writeSampleImage } from '../../src/demo/sample-image.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { buildVulnDb } from '../../src/vuln/db/build.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { putLayeredImage } from '../helpers/sbom-layers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
after(() => registry?.stop());
const dir = useTempDir('airlock-pack-generate-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const cli = (args: string[], h = 'pack') =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: '', AIRLOCK_HOME: home(h) } });
const src = () => `oci:${join(dir, 'build')}:myapp-1.0`;
const key = (k: string) => join(dir, k);

/** One OSV record about a package of the sample image (ms 2.1.2 in /app/node_modules). */
function advisory(id: string, vector: string | undefined, modified = '2026-11-01T00:00:00Z') {
  return {
    schema_version: '1.7.0',
    id,
    modified,
    ...(vector ? { severity: [{ type: 'CVSS_V3', score: vector }] } : {}),
    affected: [
      {
        package: { ecosystem: 'npm', name: 'ms' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.1.3' }] }],
      },
    ],
  };
}
/** Records about packages the image does not have, so the database holds records for every ecosystem of the
 * image (Debian:12 and PyPI besides npm): a database with none for an ecosystem cannot clear its packages. */
const COVERING = ['Debian:12', 'PyPI'].map((ecosystem) => ({
  schema_version: '1.7.0',
  id: `COVER-${ecosystem}`,
  modified: '2026-11-01T00:00:00Z',
  affected: [{ package: { ecosystem, name: 'not-in-the-image' }, versions: ['1'] }],
}));
const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const LOW = 'CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N';

/** A database of `records` and COVERING, signed with `signedBy` (default the release key), built at `built`
 * (default now). */
async function database(name: string, records: object[], built?: string, signedBy = 'release.key'): Promise<string> {
  const folder = join(dir, `osv-${name}`);
  await mkdir(folder, { recursive: true });
  for (const [i, r] of [...records, ...COVERING].entries())
    await writeFile(join(folder, `${i}.json`), JSON.stringify(r));
  const out = join(dir, `${name}.db`);
  const signer = await loadSigner(key(signedBy), { env: {}, password: async () => Buffer.alloc(0), warn: () => {} });
  try {
    await buildVulnDb({ sources: [folder], out, signer, now: built ? new Date(built) : new Date() });
  } finally {
    await signer.close();
  }
  return out;
}

const pack = (out: string, extra: string[], h = 'pack', image = src()) =>
  cli(
    [
      'pack',
      image,
      '-o',
      out,
      '--key',
      key('release.key'),
      '--image-key',
      key('release.pub'),
      '--insecure-ignore-tlog',
      '--channel',
      'prod',
      '--sbom',
      'generate',
      ...extra,
      '--json',
    ],
    h,
  );

before(async () => {
  const store = await openLayoutStore(join(dir, 'build'), { create: true });
  await writeSampleImage(store, 'myapp-1.0', 'pack-generate test\n');
  // An npm package whose version no order can read: every record about it is unevaluable.
  await putLayeredImage(
    store,
    [
      [
        { file: 'app/package.json', data: '{"name":"app","version":"1.0.0"}' },
        { file: 'app/node_modules/lodash/package.json', data: '{"name":"lodash","version":"banana"}' },
      ],
    ],
    undefined,
    'unevaluable-1.0',
  );
  await store.close();
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', key('release')])).code, 0);
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', key('other')])).code, 0);
  assert.equal((await cli(['sign', src(), '--key', key('release.key'), '--tlog-upload=false'])).code, 0);
  const unevaluable = `oci:${join(dir, 'build')}:unevaluable-1.0`;
  assert.equal((await cli(['sign', unevaluable, '--key', key('release.key'), '--tlog-upload=false'])).code, 0);
  if (!missingRegistry) registry = await startRegistry();
});

describe('pack --sbom generate --scan: the gate on what airlock finds itself', () => {
  it('a critical finding refuses the pack: exit 1, E_GATE naming it, nothing written', async () => {
    const db = await database('critical', [advisory('GHSA-crit-0001', CRITICAL)]);
    const out = join(dir, 'critical.tar');
    const r = await pack(out, ['--scan', '--vulndb', db, '--fail-on', 'critical'], 'critical');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_GATE');
    assert.match(r.stdout, /GHSA-crit-0001/);
    assert.equal(existsSync(out), false);
  });

  it('unknown severity refuses unless --unknown-severity warn', async () => {
    const db = await database('unknown', [advisory('GHSA-unkn-0001', undefined)]);
    const refused = await pack(join(dir, 'unknown.tar'), ['--scan', '--vulndb', db, '--fail-on', 'critical'], 'u1');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /unknown/);
    assert.equal(existsSync(join(dir, 'unknown.tar')), false);
    const out = join(dir, 'unknown-warn.tar');
    const allowed = await pack(
      out,
      ['--scan', '--vulndb', db, '--fail-on', 'critical', '--unknown-severity', 'warn'],
      'u2',
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(existsSync(out));
  });

  it('an unevaluable finding refuses the pack whatever --unknown-severity says: E_GATE, nothing written', async () => {
    const lodash = {
      schema_version: '1.7.0',
      id: 'GHSA-lodash-0001',
      modified: '2026-11-01T00:00:00Z',
      severity: [{ type: 'CVSS_V3', score: LOW }],
      affected: [
        {
          package: { ecosystem: 'npm', name: 'lodash' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
        },
      ],
    };
    const db = await database('unevaluable', [lodash]);
    const image = `oci:${join(dir, 'build')}:unevaluable-1.0`;
    const gated = ['--scan', '--vulndb', db, '--fail-on', 'critical', '--unknown-severity', 'warn'];
    for (const [n, extra] of [gated, ['--scan', '--vulndb', db]].entries()) {
      const out = join(dir, `unevaluable-${n}.tar`);
      const r = await pack(out, extra, `ue${n}`, image);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(JSON.parse(r.stdout).error.code, 'E_GATE');
      assert.match(r.stdout, /GHSA-lodash-0001.*unevaluable/);
      assert.equal(existsSync(out), false);
    }
  });

  it('an exception suppresses until it expires; expired, the finding refuses again', async () => {
    const db = await database('excepted', [advisory('GHSA-crit-0002', CRITICAL)]);
    const ignore = (expires: string) =>
      `- id: GHSA-crit-0002\n  reason: reviewed, not reachable\n  expires: ${expires}\n`;
    await writeFile(join(dir, 'valid.yaml'), ignore('2999-01-01'));
    await writeFile(join(dir, 'expired.yaml'), ignore('2020-01-01'));
    const base = ['--scan', '--vulndb', db, '--fail-on', 'critical'];
    const valid = await pack(join(dir, 'valid.tar'), [...base, '--ignore', join(dir, 'valid.yaml')], 'i1');
    assert.equal(valid.code, 0, valid.stderr);
    const expired = await pack(join(dir, 'expired.tar'), [...base, '--ignore', join(dir, 'expired.yaml')], 'i2');
    assert.equal(expired.code, 1, expired.stderr);
    assert.equal(JSON.parse(expired.stdout).error.code, 'E_GATE');
    assert.equal(existsSync(join(dir, 'expired.tar')), false);
  });

  it('a database to scan with is judged for age at pack as import judges it: stale is E_VULNDB_STALE', async () => {
    const built = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const db = await database('scan-stale', [advisory('GHSA-ss-0001', LOW)], built);
    const out = join(dir, 'scan-stale.tar');
    const r = await pack(out, ['--scan', '--vulndb', db, '--fail-on', 'critical'], 'scan-stale');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_VULNDB_STALE');
    assert.equal(existsSync(out), false);
  });

  it('a database signed by another key is refused at pack unless --vulndb-key names that key', async () => {
    const db = await database('scan-other', [advisory('GHSA-so-0001', LOW)], undefined, 'other.key');
    const refusedOut = join(dir, 'scan-other.tar');
    const refused = await pack(refusedOut, ['--scan', '--vulndb', db, '--fail-on', 'critical'], 'scan-other');
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(JSON.parse(refused.stdout).error.code, 'E_VULNDB_SIGNATURE');
    assert.equal(existsSync(refusedOut), false);
    const out = join(dir, 'scan-other-named.tar');
    const named = await pack(
      out,
      ['--scan', '--vulndb', db, '--vulndb-key', key('other.pub'), '--fail-on', 'critical'],
      'scan-other-named',
    );
    assert.equal(named.code, 0, named.stderr);
    assert.ok(existsSync(out));
  });

  it('the generated SBOM travels, names the image, and lists its packages', async () => {
    const db = await database('low', [advisory('GHSA-low-0001', LOW)]);
    const out = join(dir, 'docs.tar');
    const r = await pack(out, ['--scan', '--vulndb', db, '--fail-on', 'critical'], 'docs');
    assert.equal(r.code, 0, r.stderr);
    const inspected = await cli(
      [
        'inspect',
        out,
        '--signer-key',
        key('release.pub'),
        '--channel',
        'prod',
        '--key',
        key('release.pub'),
        '--insecure-ignore-tlog',
        '--documents-out',
        join(dir, 'docs-out'),
        '--json',
      ],
      'docs-in',
    );
    assert.equal(inspected.code, 0, inspected.stderr);
    const docs = await readdir(join(dir, 'docs-out'));
    const named = (suffix: string) => join(dir, 'docs-out', docs.find((f) => f.endsWith(suffix)) ?? suffix);
    const sbom = await readFile(named('.sbom.json'), 'utf8');
    for (const p of ['libssl3', 'zlib1g', 'ms', 'requests']) assert.match(sbom, new RegExp(`"name": ?"${p}"`));
    const scan = JSON.parse(await readFile(named('.vulnerability-scan.json'), 'utf8'));
    assert.deepEqual(
      scan.findings.map((f: { id: string; severity: string }) => `${f.id} ${f.severity}`),
      ['GHSA-low-0001 low'],
    );
  });
});

describe('pack --vulndb: a database carried across the gap', { skip: missingRegistry }, () => {
  const importPkg = (pkg: string, h: string, extra: string[] = []) =>
    cli(
      [
        'import',
        pkg,
        '--registry',
        `${registry?.host}/mirror`,
        '--insecure',
        '--signer-key',
        key('release.pub'),
        '--channel',
        'prod',
        '--key',
        key('release.pub'),
        '--insecure-ignore-tlog',
        ...extra,
        '--json',
      ],
      h,
    );
  const carry = async (name: string, db: string, h = `carry-${name}`) => {
    const out = join(dir, `carry-${name}.tar`);
    const r = await pack(out, ['--vulndb', db], h);
    assert.equal(r.code, 0, r.stderr);
    return out;
  };

  it('import installs it (the package signers’ key verifies it); status says so', async () => {
    const db = await database('carried', [advisory('GHSA-low-0002', LOW)]);
    const r = await importPkg(await carry('ok', db), 'in-ok');
    assert.equal(r.code, 0, r.stderr);
    const status = await cli(['vulndb', 'status', '--json'], 'in-ok');
    assert.equal(JSON.parse(status.stdout).databases[0].name, 'default');
    const scan = await cli(['scan', src(), '--json'], 'in-ok');
    assert.equal(scan.code, 0, scan.stderr);
    assert.deepEqual(
      JSON.parse(scan.stdout).findings.map((f: { id: string }) => f.id),
      ['GHSA-low-0002'],
    );
  });

  it('refused before anything moves: signed by another key, tampered, older than installed, too old', async () => {
    // Another key: the package verifies, its database does not.
    const other = await database('other-key', [advisory('GHSA-x-0001', LOW)], undefined, 'other.key');
    const r1 = await importPkg(await carry('other', other), 'in-other');
    assert.equal(r1.code, 1, r1.stderr);
    assert.equal(JSON.parse(r1.stdout).error.code, 'E_VULNDB_SIGNATURE');

    // Tampered after signing: a record edited in place.
    const tampered = join(dir, 'tampered.db');
    await cp(await database('to-tamper', [advisory('GHSA-t-0001', LOW)]), tampered);
    const sql = new DatabaseSync(tampered);
    sql.exec("UPDATE records SET json = replace(json, '2.1.3', '2.1.1')");
    sql.close();
    const r2 = await importPkg(await carry('tampered', tampered), 'in-tampered');
    assert.equal(r2.code, 1, r2.stderr);
    assert.equal(JSON.parse(r2.stdout).error.code, 'E_VULNDB_TAMPERED');

    // Older than the one installed: import a newer one first, then carry the older.
    const older = await database(
      'older',
      [advisory('GHSA-o-0001', LOW)],
      new Date(Date.now() - 86_400_000).toISOString(),
    );
    const newer = await database('newer', [advisory('GHSA-n-0001', LOW)]);
    // Packed in turn on one channel (#1, then #2): only the database can refuse the second.
    assert.equal((await importPkg(await carry('newer', newer, 'c-roll'), 'in-roll')).code, 0);
    const r3 = await importPkg(await carry('older', older, 'c-roll'), 'in-roll');
    assert.equal(r3.code, 1, r3.stderr);
    assert.equal(JSON.parse(r3.stdout).error.code, 'E_VULNDB_ROLLBACK');

    // Built longer ago than the maximum age.
    const stale = await database(
      'stale',
      [advisory('GHSA-s-0001', LOW)],
      new Date(Date.now() - 30 * 86_400_000).toISOString(),
    );
    const r4 = await importPkg(await carry('stale', stale), 'in-stale');
    assert.equal(r4.code, 1, r4.stderr);
    assert.equal(JSON.parse(r4.stdout).error.code, 'E_VULNDB_STALE');
  });

  it('an unsigned database is refused at pack: it could never be installed', async () => {
    const folder = join(dir, 'osv-unsigned');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a.json'), JSON.stringify(advisory('GHSA-u-0001', LOW)));
    const out = join(dir, 'unsigned.db');
    await buildVulnDb({ sources: [folder], out, now: new Date() });
    const r = await pack(join(dir, 'unsigned.tar'), ['--vulndb', out], 'unsigned');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_VULNDB_SIGNATURE');
    assert.equal(existsSync(join(dir, 'unsigned.tar')), false);
  });
});
