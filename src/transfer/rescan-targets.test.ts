import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { AuditLog, auditDir } from '../audit/audit-log.ts';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { formatCatalogue } from '../sbom/formats/index.ts';
import {
  IMPORTED_SBOMS_DIR,
  keepImportedSboms,
  mergeIndex,
  readImportedIndex,
  sbomFileName,
} from './imported-sboms.ts';
import {
  auditedFromEvents,
  auditedImports,
  importedTargets,
  readRescanState,
  writeRescanState,
} from './rescan-targets.ts';
import { RESCAN_STATE_FORMAT } from './rescan.ts';

const tempDir = useTempDirs();
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const NOW = new Date('2026-12-07T10:00:00Z');
const noDestination = () => Promise.reject(new Error('no registry here'));

const spdx = formatCatalogue(
  {
    subject: { name: 'app', digest: D1 },
    packages: [
      {
        name: 'left-pad',
        version: '1.0.0',
        type: 'npm',
        foundIn: '/app/node_modules/left-pad/package.json',
        licenses: ['MIT'],
        purl: 'pkg:npm/left-pad@1.0.0',
        ecosystem: 'npm',
      },
    ],
    notes: [],
  },
  'spdx-json',
  { now: NOW, uuid: '00000000-0000-4000-8000-000000000000', toolVersion: '0' },
);

describe('imported-sboms: kept at import', () => {
  it('keeps a carried document byte for byte and names the image in the index', async () => {
    const home = await tempDir('airlock-kept-');
    const carried = join(home, 'carried.json');
    await writeFile(carried, spdx);
    const warnings = await keepImportedSboms({
      stateDir: home,
      importId: 'imp-1',
      now: NOW,
      images: [{ name: 'app', reference: 'reg.example/app:1', digest: D1, carried }],
      destination: noDestination,
    });
    assert.deepEqual(warnings, []);
    assert.equal(await readFile(join(home, IMPORTED_SBOMS_DIR, sbomFileName(D1)), 'utf8'), spdx);
    const index = await readImportedIndex(home);
    assert.deepEqual(index, [
      {
        reference: 'reg.example/app:1',
        digest: D1,
        name: 'app',
        importId: 'imp-1',
        at: NOW.toISOString(),
        sbom: { file: sbomFileName(D1), from: 'carried' },
      },
    ]);
  });

  it('an SBOM that cannot be kept is a warning and an index entry without SBOM, never a throw', async () => {
    const home = await tempDir('airlock-kept-');
    const warnings = await keepImportedSboms({
      stateDir: home,
      importId: 'imp-2',
      now: NOW,
      images: [{ name: 'b', reference: 'reg.example/b:1', digest: D2 }],
      destination: noDestination,
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /reg\.example\/b:1: its SBOM could not be kept/);
    const [entry] = await readImportedIndex(home);
    assert.equal(entry?.sbom, undefined);
    assert.match(entry?.problem ?? '', /no staging layout/);
  });

  it('a state dir that cannot hold the index is a warning too', async () => {
    const home = await tempDir('airlock-kept-');
    await writeFile(join(home, 'imports'), 'a file where a folder should be');
    const warnings = await keepImportedSboms({
      stateDir: home,
      importId: 'imp-3',
      now: NOW,
      images: [{ name: 'b', reference: 'reg.example/b:1', digest: D2 }],
      destination: noDestination,
    });
    assert.match(warnings.join('\n'), /could not be recorded for rescans/);
  });

  it('a newer import of the same reference replaces its entry', () => {
    const e = (reference: string, digest: string) => ({ reference, digest, name: 'n', importId: 'i', at: 't' });
    const merged = mergeIndex([e('r/a:1', D1), e('r/b:1', D1)], [e('r/a:1', D2)]);
    assert.deepEqual(
      merged.map((m) => [m.reference, m.digest]),
      [
        ['r/b:1', D1],
        ['r/a:1', D2],
      ],
    );
  });
});

describe('rescan-targets: what a rescan covers', () => {
  it('kept SBOMs are targets, a deleted one fails to load, no SBOM or audit-only: not evaluated', async () => {
    const home = await tempDir('airlock-targets-');
    const carried = join(home, 'c.json');
    await writeFile(carried, spdx);
    const image = (reference: string, digest: string, c?: string) => ({
      name: reference,
      reference,
      digest,
      ...(c ? { carried: c } : {}),
    });
    await keepImportedSboms({
      stateDir: home,
      importId: 'imp-1',
      now: NOW,
      images: [image('reg/app:1', D1, carried), image('reg/none:1', D2)],
      destination: noDestination,
    });
    const audited = auditedFromEvents([
      {
        action: 'transfer.import',
        result: 'ok',
        details: { importId: 'imp-0', images: [{ digest: D2, pushedTo: 'reg/app:1' }] },
      },
      {
        action: 'transfer.import',
        result: 'ok',
        details: { importId: 'imp-1', images: [{ digest: D1, pushedTo: 'reg/app:1' }] },
      },
      {
        action: 'transfer.import',
        result: 'refused',
        details: { importId: 'x', images: [{ digest: D1, pushedTo: 'reg/z:1' }] },
      },
      {
        action: 'transfer.import',
        result: 'ok',
        details: { importId: 'imp-9', images: [{ digest: D1, pushedTo: 'reg/lost:1' }] },
      },
    ]);
    assert.equal(audited.length, 3);
    const intent = auditedFromEvents([
      {
        action: 'transfer.import.tags',
        result: 'ok',
        subjects: [{ name: 'reg/stopped:1', digest: D2 }],
        details: { importId: 'imp-7', phase: 'intent' },
      },
      {
        action: 'transfer.import.tags',
        result: 'ok',
        subjects: [{ name: 'x', digest: D2 }],
        details: { phase: 'done' },
      },
    ]);
    assert.deepEqual(intent, [{ reference: 'reg/stopped:1', digest: D2, importId: 'imp-7' }]);
    const t = await importedTargets(home, audited);
    assert.deepEqual(
      t.targets.map((x) => [x.name, x.digest]),
      [['reg/app:1', D1]],
    );
    assert.deepEqual(
      t.notEvaluated.map((n) => n.name),
      ['reg/none:1', 'reg/lost:1'],
    );
    const catalogue = await t.targets[0]?.catalogue();
    assert.deepEqual(
      catalogue?.packages.map((p) => p.purl),
      ['pkg:npm/left-pad@1.0.0'],
    );
    assert.deepEqual(catalogue?.subject, { name: 'reg/app:1', digest: D1 });
    await rm(join(home, IMPORTED_SBOMS_DIR, sbomFileName(D1)));
    await assert.rejects(() => t.targets[0]?.catalogue() ?? Promise.resolve(), { code: 'E_INPUT_MISSING' });
    assert.deepEqual((await importedTargets(home, undefined)).notes, ['the audit trail was not cross-checked']);
  });

  it('an index entry naming a file elsewhere is not evaluated, never read', async () => {
    const home = await tempDir('airlock-targets-');
    await mkdir(join(home, IMPORTED_SBOMS_DIR), { recursive: true });
    const entry = { reference: 'reg/x:1', digest: D1, name: 'x', importId: 'i', at: 't' };
    await writeFile(
      join(home, IMPORTED_SBOMS_DIR, 'index.json'),
      JSON.stringify({ images: [{ ...entry, sbom: { file: '../../escape.json', from: 'carried' } }, 7] }),
    );
    const t = await importedTargets(home, []);
    assert.deepEqual(t.targets, []);
    assert.deepEqual(
      t.notEvaluated.map((n) => [n.name, n.reason]),
      [
        ['reg/x:1', 'no SBOM kept at import i: the index names no valid SBOM file'],
        ['(unnamed)', 'no SBOM kept at import (unknown)'],
      ],
    );
  });

  it('the state file round-trips; absent means no previous rescan', async () => {
    const home = await tempDir('airlock-state-');
    assert.equal(await readRescanState(home), undefined);
    const state = { format: RESCAN_STATE_FORMAT, at: NOW.toISOString(), images: { [D1]: ['a|b|c'] } } as const;
    await writeRescanState(home, state);
    assert.deepEqual(await readRescanState(home), state);
  });
});

describe('rescan-targets: the audit trail cross-check fails closed', () => {
  const importEvent = (n: number) => ({
    time: new Date(Date.UTC(2026, 11, 7, 10, 0, n)).toISOString(),
    actor: 'alice',
    host: 'inside-1',
    tool: 'airlock test',
    action: 'transfer.import',
    result: 'ok' as const,
    subjects: [{ name: `reg/app:${n}`, digest: D1 }],
    details: { importId: `imp-${n}`, images: [{ digest: D1, pushedTo: `reg/app:${n}` }] },
  });
  async function audited(count: number): Promise<string> {
    const home = await tempDir('airlock-targets-audit-');
    const log = await AuditLog.open(home);
    try {
      for (let n = 0; n < count; n++) await log.append(importEvent(n));
    } finally {
      await log.close();
    }
    return home;
  }

  it('a trail that verifies gives the imports it records', async () => {
    const home = await audited(2);
    assert.deepEqual(
      (await auditedImports(home)).map((a) => a.reference),
      ['reg/app:0', 'reg/app:1'],
    );
  });

  it('a trail that does not verify fails the rescan (E_LOG_CORRUPT), never a note', async () => {
    const home = await audited(3);
    const db = new DatabaseSync(join(auditDir(home), 'audit.db'));
    try {
      db.prepare('DELETE FROM entries WHERE idx = 1').run();
    } finally {
      db.close();
    }
    await assert.rejects(auditedImports(home), { code: 'E_LOG_CORRUPT' });
  });

  it('no trail at all: nothing imported is nothing to cross-check; an index without one fails', async () => {
    const empty = await tempDir('airlock-targets-audit-');
    assert.deepEqual(await auditedImports(empty), []);
    const carried = join(empty, 'c.json');
    await writeFile(carried, spdx);
    await keepImportedSboms({
      stateDir: empty,
      importId: 'imp-1',
      now: NOW,
      images: [{ name: 'reg/app:1', reference: 'reg/app:1', digest: D1, carried }],
      destination: noDestination,
    });
    await assert.rejects(auditedImports(empty), { code: 'E_LOG_CORRUPT' });
  });
});
