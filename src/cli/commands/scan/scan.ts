// `airlock scan IMAGE|SBOM_FILE`: the packages of an image (catalogued as `airlock sbom` does) or of an
// SBOM (SPDX or CycloneDX JSON, ours or syft's) matched against an offline vulnerability database, with
// reviewed exceptions and a gate. The report is written whatever the verdict; a failing gate then exits 1
// (E_GATE), so a pipeline keeps the evidence of why it stopped.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { readFileBounded } from '../../../files/read-file.ts';
import type { Catalogue } from '../../../sbom/package.ts';
import type { ScanReport } from '../../../vuln/report/report.ts';
import type { Command, CommandContext } from '../../command.ts';
import { REGISTRY_FLAGS } from '../../options/registry.ts';
import {
  databaseChoice,
  gateOptions,
  ignoreEntries,
  SCAN_DATABASE_FLAGS,
  SCAN_GATE_FLAGS,
} from '../../options/scan.ts';
import { catalogueImageForCommand } from '../../image-catalogue.ts';

const FORMATS = ['table', 'json', 'sarif', 'cosign-vuln'] as const;
type Format = (typeof FORMATS)[number];

function reportFormat(ctx: CommandContext): Format {
  return ctx.flags.choice('output', FORMATS, 'table');
}

/** A positional naming an existing file (and no transport) is an SBOM; anything else an image. */
async function isSbomFile(ctx: CommandContext, arg: string): Promise<boolean> {
  if (/^(oci|oci-archive|docker-archive|docker|containers-storage):/.test(arg)) return false;
  return stat(resolve(ctx.cwd, arg)).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function catalogueOf(ctx: CommandContext, subject: string): Promise<Catalogue> {
  if (await isSbomFile(ctx, subject)) {
    const { readSbom, SBOM_LIMITS } = await import('../../../sbom/formats/index.ts');
    const bytes = await readFileBounded(resolve(ctx.cwd, subject), SBOM_LIMITS.bytes, 'an SBOM');
    return readSbom(bytes, subject);
  }
  return catalogueImageForCommand(ctx, subject);
}

export async function renderReport(report: ScanReport, format: Format): Promise<string> {
  switch (format) {
    case 'json':
      return (await import('../../../vuln/report/json.ts')).renderJson(report);
    case 'sarif':
      return (await import('../../../vuln/report/sarif.ts')).renderSarif(report);
    case 'cosign-vuln':
      return (await import('../../../vuln/report/cosign-vuln.ts')).renderCosignVuln(report);
    case 'table':
      return (await import('../../../vuln/report/table.ts')).renderTable(report);
  }
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'Match an image or SBOM against an offline vulnerability database (OSV), with a gate',
  usage:
    'IMAGE|SBOM_FILE [--db DB [--db-key PUBKEY] | --vulndb NAME] [--fail-on SEVERITY] ' +
    '[--unknown-severity fail|warn] [--ignore FILE] [-o table|json|sarif|cosign-vuln] [--output-file FILE]\n' +
    '       --imported | --registry HOST/REPO[:TAG]... [--vulndb NAME] [--fail-on SEVERITY] [--prometheus FILE]',
  description:
    "Matching follows OSV 1.7 exactly, with each ecosystem's own version order (dpkg, apk, rpm, SemVer, Go,\n" +
    'PEP 440, Maven); distro packages are matched by their source package. Severity comes from CVSS vectors\n' +
    "(v2, v3.x, v4), else the record's own fields, else it is unknown — and unknown fails the gate unless\n" +
    '--unknown-severity warn. A record that cannot be evaluated for a version always fails the gate.\n' +
    'With --imported (or --registry), every image inside is rescanned; findings not seen by the last rescan are\n' +
    'listed as new, and an image with no SBOM kept is not evaluated and fails the gate.\n' +
    'Exit codes: 0 passed, 1 the gate failed (E_GATE; the report is still written), 2 usage, 3 could not scan.',
  flags: {
    ...SCAN_DATABASE_FLAGS,
    ...SCAN_GATE_FLAGS,
    output: {
      type: 'string',
      short: 'o',
      value: 'FORMAT',
      description: 'table, json, sarif or cosign-vuln',
      default: 'table',
    },
    'output-file': { type: 'string', value: 'FILE', description: 'Write the report to FILE instead of stdout' },
    force: { type: 'boolean', description: 'Overwrite --output-file if it exists' },
    imported: {
      type: 'boolean',
      description: 'Rescan every image import recorded (from the SBOMs it kept; no network), reporting what is new',
    },
    registry: {
      type: 'string',
      value: 'HOST/REPO[:TAG]',
      multiple: true,
      description: 'Rescan this image read from its registry, reporting what is new',
    },
    prometheus: {
      type: 'string',
      value: 'FILE',
      description: 'With --imported/--registry: write the findings per image and severity as a node-exporter textfile',
    },
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 0, max: 1 },
  examples: [
    { command: 'airlock scan oci:./app:1.0 --fail-on critical', description: 'The installed "default" database' },
    { command: 'airlock scan app.spdx.json --db vuln.db -o sarif', description: 'An SBOM against a database file' },
    {
      command: 'airlock scan app.spdx.json --vulndb default --ignore reviewed.yaml --unknown-severity warn --json',
      description: 'One JSON document with a findings array',
    },
    {
      command: 'airlock scan --imported --fail-on high --prometheus /var/lib/node_exporter/airlock_rescan.prom',
      description: 'Every imported image against the installed database, offline; what is new since the last rescan',
    },
  ],
  audit: 'vuln.scan',
  verdict: true,
  async run(ctx) {
    if (ctx.flags.bool('imported') || ctx.flags.strings('registry').length > 0)
      return (await import('./rescan.ts')).runRescan(ctx);
    if (ctx.flags.string('prometheus'))
      throw new AirlockError('E_USAGE', '--prometheus writes a rescan: it takes --imported or --registry');
    const [subject] = ctx.positionals;
    if (subject === undefined)
      throw new AirlockError('E_USAGE', 'airlock scan takes IMAGE|SBOM_FILE, or --imported / --registry REF');
    const format = reportFormat(ctx);
    const gate = gateOptions(ctx);
    const ignores = await ignoreEntries(ctx);
    const choice = await databaseChoice(ctx);
    const { openScanDatabase } = await import('../../../vuln/scan-database.ts');
    const db = await openScanDatabase(choice, ctx.stateDir, ctx.now());
    try {
      for (const w of db.warnings) ctx.out.warn(w);
      const catalogue = await catalogueOf(ctx, subject);
      for (const note of catalogue.notes) ctx.out.warn(note);
      const { scanCatalogue } = await import('../../../vuln/scan.ts');
      const report = scanCatalogue({
        catalogue,
        subjectName: subject,
        source: db.opened.source,
        database: db.database,
        ignores,
        gate,
        now: ctx.now,
      });
      ctx.audit.subject(subject, catalogue.subject?.digest);
      return await deliver(ctx, report, format);
    } finally {
      db.opened.close();
    }
  },
};

/** Writes the report, then turns a failed gate into E_GATE (exit 1) — after the evidence is out. */
async function deliver(ctx: CommandContext, report: ScanReport, format: Format) {
  const outputFile = ctx.flags.string('output-file');
  const text = await renderReport(report, format);
  if (outputFile) {
    // Evidence others act on: not written unless the trail can record this scan.
    await ctx.audit.ready();
    await writeFileAtomic(resolve(ctx.cwd, outputFile), text, { overwrite: ctx.flags.bool('force') });
  } else if (!ctx.out.json) ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  for (const e of report.expiredExceptions)
    ctx.out.warn(`exception for ${e.id} expired on ${e.expires}: it no longer applies (${e.reason})`);
  if (report.unknownCount > 0)
    ctx.out.warn(
      `${report.unknownCount} finding(s) of unknown severity ` +
        `(${report.gate?.unknownSeverity === 'warn' ? 'reported only' : 'counted as failing'})`,
    );
  const { scanReportJson } = await import('../../../vuln/report/json.ts');
  const json = scanReportJson(report);
  if (report.gate?.pass === false) {
    // The gate's failing list names what was not evaluated first, then the failing findings.
    const failing = report.gate.failing;
    const notEvaluated = report.notEvaluated.length;
    const counted =
      notEvaluated > 0
        ? `${notEvaluated} item(s) not evaluated and ${failing.length - notEvaluated} finding(s)`
        : `${failing.length} finding(s)`;
    const error = new AirlockError(
      'E_GATE',
      `${counted} fail the gate${report.gate.failOn ? ` (--fail-on ${report.gate.failOn})` : ''}: ` +
        failing.slice(0, 10).join(', ') +
        (failing.length > 10 ? `, … ${failing.length - 10} more` : ''),
    );
    if (!ctx.out.json) throw error;
    return { json: { ...json, error: error.toJSON() }, exitCode: 1 };
  }
  return { json };
}
