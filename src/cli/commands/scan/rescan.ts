// `airlock scan --imported` / `airlock scan --registry HOST/REPO[:TAG]…`: the images already inside,
// scanned again against the installed database (src/transfer/rescan.ts). Order of effects: the report is
// printed, the rescan is recorded in the audit trail (vuln.rescan), and only once that record is durable
// is the "seen" state written (so the next rescan's "new" is relative to a recorded rescan) and the
// Prometheus textfile replaced; a failing gate then exits 1 (E_GATE).
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { bounded, boundedList } from '../../../text.ts';
import type { RescanReport } from '../../../transfer/rescan.ts';
import type { RescanTargets } from '../../../transfer/rescan-targets.ts';
import type { Finding } from '../../../vuln/finding.ts';
import type { FindingSeverity } from '../../../vuln/severity.ts';
import type { CommandContext } from '../../command.ts';
import { registryOptions } from '../../options/registry.ts';
import { databaseChoice, gateOptions, ignoreEntries } from '../../options/scan.ts';

/** Most severe first, as the table shows counts. */
const SHORT: Record<FindingSeverity, string> = {
  critical: 'C',
  high: 'H',
  medium: 'M',
  low: 'L',
  negligible: 'N',
  unknown: '?',
};

function findingLine(f: Finding): string {
  return (
    `    ${bounded(f.id, 60)}  ${f.severity}  ${bounded(f.package.name, 80)}@${bounded(f.package.version, 60)}` +
    `${f.fixedVersions.length ? `  fixed in ${bounded(f.fixedVersions.join(', '), 80)}` : ''}`
  );
}

/** The rescan for people: per image its counts, then the new findings; the images not evaluated; the verdict. */
export function rescanTable(report: RescanReport): string {
  const lines = [`Rescan at ${report.at} against ${report.database.name} (built ${report.database.built})`];
  for (const i of report.images) {
    const counts = Object.entries(SHORT)
      .filter(([s]) => (i.report.counts[s as FindingSeverity] ?? 0) > 0)
      .map(([s, short]) => `${short}:${i.report.counts[s as FindingSeverity]}`)
      .join(' ');
    lines.push(
      `  ${bounded(i.name, 160)} ${i.digest.slice(0, 19)}…  ${i.report.findings.length} finding(s)` +
        `${counts ? ` (${counts})` : ''}, ${i.new.length} new`,
    );
    for (const f of i.new) lines.push(findingLine(f));
  }
  for (const n of report.notEvaluated)
    lines.push(`  ${bounded(n.name, 160)}  NOT EVALUATED: ${bounded(n.reason, 300)}`);
  lines.push(
    `${report.images.length} image(s) scanned, ${report.notEvaluated.length} not evaluated, ` +
      `${report.newFindings} new finding(s)${report.previousAt ? ` since ${report.previousAt}` : ' (first rescan)'}`,
  );
  return `${lines.join('\n')}\n`;
}

export async function rescanJson(report: RescanReport): Promise<Record<string, unknown>> {
  const { findingJson } = await import('../../../vuln/report/json.ts');
  return {
    at: report.at,
    ...(report.previousAt ? { previousRescan: report.previousAt } : {}),
    images: report.images.map((i) => ({
      name: i.name,
      digest: i.digest,
      counts: i.report.counts,
      findings: i.report.findings.map(findingJson),
      new: i.new.map(findingJson),
    })),
    newFindings: report.newFindings,
    notEvaluated: report.notEvaluated,
    database: report.database,
    gate: { pass: report.gate.pass, failing: report.gate.failing },
  };
}

async function targetsOf(ctx: CommandContext): Promise<RescanTargets> {
  const refs = ctx.flags.strings('registry');
  const { importedTargets, registryTargets, auditedImports } = await import('../../../transfer/rescan-targets.ts');
  if (refs.length > 0) return registryTargets(refs, await registryOptions(ctx));
  const { sharedAuditTrail } = await import('../../options/audit-url.ts');
  return importedTargets(ctx.stateDir, await auditedImports(ctx.stateDir, await sharedAuditTrail(ctx.env, 'read')));
}

/** Records the rescan (write-ahead), then keeps its findings as the next rescan's "seen", then the textfile. */
async function recordAndKeep(ctx: CommandContext, report: RescanReport): Promise<void> {
  const { nextRescanState, rescanAuditDetails, rescanPrometheus } = await import('../../../transfer/rescan.ts');
  const { readRescanState, writeRescanState } = await import('../../../transfer/rescan-targets.ts');
  await ctx.audit.record({
    action: 'vuln.rescan',
    result: report.gate.pass ? 'ok' : 'refused',
    subjects: [
      ...report.images.map((i) => ({ name: bounded(i.name, 300), digest: i.digest })),
      ...report.notEvaluated.map((n) => ({ name: bounded(n.name, 300), ...(n.digest ? { digest: n.digest } : {}) })),
    ].slice(0, 1000),
    ...(report.gate.pass ? {} : { reason: boundedList(report.gate.failing, 20, '; ') }),
    details: rescanAuditDetails(report),
  });
  ctx.audit.successRecorded();
  await writeRescanState(ctx.stateDir, nextRescanState(await readRescanState(ctx.stateDir), report));
  const prometheus = ctx.flags.string('prometheus');
  if (prometheus) await writeFileAtomic(resolve(ctx.cwd, prometheus), rescanPrometheus(report), { overwrite: true });
}

export async function runRescan(ctx: CommandContext) {
  if (ctx.positionals.length > 0)
    throw new AirlockError('E_USAGE', '--imported and --registry name what is rescanned: give no IMAGE|SBOM_FILE');
  if (ctx.flags.bool('imported') && ctx.flags.strings('registry').length > 0)
    throw new AirlockError('E_USAGE', '--imported rescans what import kept; --registry reads images: give one');
  const gate = gateOptions(ctx);
  const ignores = await ignoreEntries(ctx);
  const choice = await databaseChoice(ctx);
  await ctx.audit.ready();
  const { openScanDatabase } = await import('../../../vuln/scan-database.ts');
  const db = await openScanDatabase(choice, ctx.stateDir, ctx.now());
  try {
    for (const w of db.warnings) ctx.out.warn(w);
    const { rescan, readRescanState } = await import('../../../transfer/rescan-targets.ts');
    const targets = await targetsOf(ctx);
    for (const n of targets.notes) ctx.out.warn(n);
    if (targets.targets.length + targets.notEvaluated.length === 0)
      ctx.out.warn('no imported image is recorded here: nothing to rescan (import records each image it publishes)');
    const report = await rescan({
      targets,
      source: db.opened.source,
      database: db.database,
      ignores,
      gate,
      now: ctx.now,
      previous: await readRescanState(ctx.stateDir),
      onImage: (name) => ctx.out.debug(`rescanning ${bounded(name, 200)}`),
    });
    if (!ctx.out.json) ctx.io.stdout.write(rescanTable(report));
    await recordAndKeep(ctx, report);
    const json = await rescanJson(report);
    if (report.gate.pass) return { json };
    const error = new AirlockError(
      'E_GATE',
      `the rescan fails the gate: ${report.gate.failing.length} finding(s) or image(s)\n  ` +
        boundedList(report.gate.failing, 20, '\n  '),
    );
    if (!ctx.out.json) throw error;
    return { json: { ...json, error: error.toJSON() }, exitCode: 1 };
  } finally {
    db.opened.close();
  }
}
