// The I/O edges of a rescan (rescan.ts is the pure core): which images to rescan — every image the
// index of imported images names (imported-sboms.ts), cross-checked with the audit trail's
// `transfer.import` events, or images read from a registry — each one's catalogue, the scans, and the
// state file holding the previous rescan's findings (written only by the caller, after its audit record).
import { join } from 'node:path';
import type { SharedTrail } from '../audit/shared-trail.ts';
import { AirlockError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { readFileBounded } from '../files/read-file.ts';
import { readJsonFile } from '../files/read-json.ts';
import { makeStateDir } from '../files/state-dir.ts';
import type { RegistryOptions } from '../oci/open-store.ts';
import type { Catalogue } from '../sbom/package.ts';
import { bounded } from '../text.ts';
import type { ScanInput } from '../vuln/scan.ts';
import { IMPORTED_SBOMS_DIR, type ImportedImage, readImportedIndex } from './imported-sboms.ts';
import {
  diffImages,
  type NotEvaluated,
  parseRescanState,
  type RescanReport,
  rescanReport,
  type RescanState,
} from './rescan.ts';

/** An image to rescan: its name, its digest when known before reading, and how its catalogue is read. */
export interface RescanTarget {
  readonly name: string;
  readonly digest?: string;
  readonly catalogue: () => Promise<Catalogue>;
}

export interface RescanTargets {
  readonly targets: readonly RescanTarget[];
  readonly notEvaluated: readonly NotEvaluated[];
  readonly notes: readonly string[];
}

/** An image an import recorded in the audit trail as published: where, which digest, which import. */
export interface AuditedImport {
  readonly reference: string;
  readonly digest: string;
  readonly importId: string;
}

type EventView = {
  readonly action: string;
  readonly result: string;
  readonly subjects?: unknown;
  readonly details?: unknown;
};

/**
 * The images imports published, from the audit trail: each `transfer.import.tags` intent (written before an import
 * moves its tags, by then its images are pushed; its subjects are the images at their destinations), so an import
 * that stopped after its publish is named too; and each successful `transfer.import` (details.images[].pushedTo).
 */
export function auditedFromEvents(events: readonly EventView[]): AuditedImport[] {
  const out: AuditedImport[] = [];
  for (const e of events) {
    const details = (e.details ?? {}) as { importId?: unknown; images?: unknown; phase?: unknown };
    const importId = String(details.importId ?? '');
    if (e.action === 'transfer.import.tags' && details.phase === 'intent' && Array.isArray(e.subjects)) {
      for (const s of e.subjects as Array<{ name?: unknown; digest?: unknown }>)
        if (typeof s.name === 'string' && typeof s.digest === 'string')
          out.push({ reference: s.name, digest: s.digest, importId });
    }
    if (e.action !== 'transfer.import' || e.result !== 'ok' || !Array.isArray(details.images)) continue;
    for (const i of details.images as Array<{ digest?: unknown; pushedTo?: unknown }>)
      if (typeof i.pushedTo === 'string' && typeof i.digest === 'string')
        out.push({ reference: i.pushedTo, digest: i.digest, importId });
  }
  return out;
}

/**
 * The audited imports of this machine's audit trail. A trail that does not verify fails the rescan
 * (E_LOG_CORRUPT, as `audit export` refuses it): what it cannot cross-check is not passed silently. No
 * trail at all is nothing to cross-check only while nothing is recorded as imported either (every import
 * records); an index of imported images without a trail fails the same way.
 */
export async function auditedImports(stateDir: string, shared?: SharedTrail): Promise<AuditedImport[]> {
  const { verifyAuditLog } = await import('../audit/audit-log.ts');
  const v = await verifyAuditLog(stateDir, shared ? { shared } : {}).catch(async (err: unknown) => {
    if ((err as { code?: string }).code !== 'E_INPUT_MISSING') throw err;
    const index = await readImportedIndex(stateDir);
    if (index.length === 0) return undefined;
    throw new AirlockError(
      'E_LOG_CORRUPT',
      `the index of imported images names ${index.length} image(s) but there is no audit trail to cross-check it`,
      { hint: 'every import records in the audit trail: restore it from a backup, or find out who removed it' },
    );
  });
  if (v === undefined) return [];
  if (!v.ok)
    throw new AirlockError(
      'E_LOG_CORRUPT',
      `the audit trail does not verify (${v.problems.length} problem(s)): the rescan cannot cross-check what ` +
        'was imported',
      { hint: 'airlock audit verify lists the problems' },
    );
  return auditedFromEvents(v.events.map((e) => e.event));
}

const STATE_NAME = join('imports', 'rescan-state.json');

function keptCatalogue(stateDir: string, image: ImportedImage, file: string): () => Promise<Catalogue> {
  return async () => {
    const { readSbom, SBOM_LIMITS } = await import('../sbom/formats/index.ts');
    const path = join(stateDir, IMPORTED_SBOMS_DIR, file);
    const catalogue = readSbom(await readFileBounded(path, SBOM_LIMITS.bytes, 'a kept SBOM'), path);
    return { ...catalogue, subject: { name: image.reference, digest: image.digest } };
  };
}

/**
 * Every imported image the index names, and any image the audit trail says was imported (the latest import per
 * reference) that the index does not hold at that digest: not evaluated.
 */
export async function importedTargets(
  stateDir: string,
  audited: readonly AuditedImport[] | undefined,
): Promise<RescanTargets> {
  const index = await readImportedIndex(stateDir);
  const targets: RescanTarget[] = [];
  const notEvaluated: NotEvaluated[] = [];
  for (const image of index) {
    if (image.sbom)
      targets.push({
        name: image.reference,
        digest: image.digest,
        catalogue: keptCatalogue(stateDir, image, image.sbom.file),
      });
    else
      notEvaluated.push({
        name: image.reference,
        digest: image.digest,
        reason: `no SBOM kept at import ${image.importId || '(unknown)'}${image.problem ? `: ${image.problem}` : ''}`,
      });
  }
  const latest = new Map<string, AuditedImport>();
  for (const a of audited ?? []) latest.set(a.reference, a);
  for (const a of latest.values()) {
    if (index.some((i) => i.reference === a.reference && i.digest === a.digest)) continue;
    notEvaluated.push({
      name: a.reference,
      digest: a.digest,
      reason: `the audit trail records its import (${a.importId}); the index of imported images does not hold it`,
    });
  }
  const notes = audited === undefined ? ['the audit trail was not cross-checked'] : [];
  return { targets, notEvaluated, notes };
}

/** Images named on the command line, read from their registry (needs the network). */
export function registryTargets(references: readonly string[], registry: RegistryOptions): RescanTargets {
  return {
    targets: references.map((reference) => ({
      name: reference,
      catalogue: async () => {
        const { catalogueImageReference } = await import('../sbom/image-sbom.ts');
        return catalogueImageReference(`docker://${reference}`, registry);
      },
    })),
    notEvaluated: [],
    notes: [],
  };
}

export async function readRescanState(stateDir: string): Promise<RescanState | undefined> {
  const doc = await readJsonFile(join(stateDir, STATE_NAME), 'the last rescan state').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'E_INPUT_MISSING') return undefined;
    throw err;
  });
  return parseRescanState(doc);
}

export async function writeRescanState(stateDir: string, state: RescanState): Promise<void> {
  await makeStateDir(stateDir, 'imports');
  await writeFileAtomic(join(stateDir, STATE_NAME), `${JSON.stringify(state, null, 2)}\n`, { overwrite: true });
}

export interface RescanInput extends Omit<ScanInput, 'catalogue' | 'subjectName'> {
  readonly targets: RescanTargets;
  readonly previous: RescanState | undefined;
  readonly onImage?: (name: string) => void;
}

/** Scans every target; one whose catalogue cannot be read is not evaluated (and fails the gate). */
export async function rescan(input: RescanInput): Promise<RescanReport> {
  const { scanCatalogue } = await import('../vuln/scan.ts');
  const at = input.now();
  const scans: Array<{ name: string; digest: string; report: ReturnType<typeof scanCatalogue> }> = [];
  const notEvaluated: NotEvaluated[] = [...input.targets.notEvaluated];
  for (const t of input.targets.targets) {
    input.onImage?.(t.name);
    let catalogue: Catalogue;
    try {
      catalogue = await t.catalogue();
    } catch (err) {
      const why = bounded(err instanceof Error ? err.message : String(err), 300);
      notEvaluated.push({ name: t.name, ...(t.digest ? { digest: t.digest } : {}), reason: why });
      continue;
    }
    const digest = t.digest ?? catalogue.subject?.digest ?? '';
    const report = scanCatalogue({
      catalogue,
      subjectName: t.name,
      source: input.source,
      database: input.database,
      ignores: input.ignores,
      gate: input.gate,
      now: input.now,
    });
    scans.push({ name: t.name, digest, report });
  }
  const images = diffImages(scans, input.previous);
  return rescanReport({
    at,
    database: input.database,
    images,
    notEvaluated,
    previous: input.previous,
    gate: input.gate,
  });
}
