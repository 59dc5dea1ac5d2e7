// The real PyPI advisories (../shared/fixtures/osv-pypi) built into a database: every record is found
// under each package it names, and the figures (build time, size, lookups per second) are reported.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { testKey } from '../../../test/helpers/osv-records.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { buildVulnDb } from './build.ts';
import { openVulnDb } from './open.ts';
import { verifyVulnDb } from './verify.ts';

const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/osv-pypi/vulns/', import.meta.url));
const NOW = new Date('2026-12-01T00:00:00Z');

describe('the real PyPI advisories as a database', () => {
  const dir = useTempDir('vulndb-pypi-');
  it('builds, verifies, and finds every record under each package it names', async (t) => {
    if (!existsSync(FIXTURES)) return t.skip(`${FIXTURES} is absent: the real-data build is skipped`);
    const key = testKey();
    const out = join(dir, 'pypi.db');
    let started = performance.now();
    const built = await buildVulnDb({ sources: [FIXTURES], out, signer: key.signer, now: NOW });
    const buildMs = performance.now() - started;
    assert.equal(built.manifest.records, 2661);
    assert.equal(built.manifest.withdrawn, 10);
    assert.equal(built.manifest.duplicates, 0);
    started = performance.now();
    await verifyVulnDb(out, [key.publicKey], NOW);
    const verifyMs = performance.now() - started;

    const expected = new Map<string, Set<string>>(); // package name as written → ids
    for (const sub of await readdir(FIXTURES))
      for (const file of await readdir(join(FIXTURES, sub))) {
        const r = JSON.parse(await readFile(join(FIXTURES, sub, file), 'utf8'));
        for (const a of r.affected) {
          const ids = expected.get(a.package.name) ?? new Set<string>();
          expected.set(a.package.name, ids.add(r.id));
        }
      }
    const db = openVulnDb(out);
    try {
      for (const [name, ids] of expected) {
        const found = new Set(db.source.recordsFor('PyPI', name.toUpperCase().replace(/-/g, '_')).map((r) => r.id));
        for (const id of ids) assert.ok(found.has(id), `${id} under ${name}`);
      }
      // A fresh database: the first lookup of each package parses its records; later ones find them parsed.
      const fresh = openVulnDb(out);
      const names = [...expected.keys()];
      const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));
      let records = 0;
      started = performance.now();
      for (const name of names) records += fresh.source.recordsFor('PyPI', name).length;
      const firstMs = performance.now() - started;
      const rounds = 20;
      started = performance.now();
      for (let i = 0; i < rounds; i++) for (const name of names) fresh.source.recordsFor('PyPI', name);
      const againMs = performance.now() - started;
      const misses = 20_000;
      started = performance.now();
      for (let i = 0; i < misses; i++) fresh.source.recordsFor('PyPI', `no-such-package-${i}`);
      const missMs = performance.now() - started;
      fresh.close();
      t.diagnostic(
        `build ${Math.round(buildMs)} ms, verify ${Math.round(verifyMs)} ms, ` +
          `size ${(built.bytes / 2 ** 20).toFixed(1)} MiB; lookups over ${names.length} packages ` +
          `(${(records / names.length).toFixed(1)} records each): first ${rate(names.length, firstMs)}/s (parsed), ` +
          `again ${rate(rounds * names.length, againMs)}/s, misses ${rate(misses, missMs)}/s`,
      );
    } finally {
      db.close();
    }
  });
});
