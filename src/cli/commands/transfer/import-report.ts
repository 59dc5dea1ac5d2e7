// The report of an inspected or imported package: printed for people (stderr), and as the --json
// document without the per-signature verification reports.
import { bounded } from '../../../text.ts';
import type { DocumentSubject } from '../../../transfer/format.ts';
import type { ImportReport } from '../../../transfer/import.ts';
import type { CommandContext } from '../../command.ts';

export function printReport(ctx: CommandContext, report: ImportReport, what: string): void {
  const m = report.metadata;
  if (m)
    ctx.out.info(
      `Package ${m.packageId}: channel ${m.sequence.channel} #${m.sequence.number}, created ` +
        `${m.createdAt} by ${bounded(m.tool, 80)}`,
    );
  for (const id of report.recovered)
    ctx.out.info(`  recovered  import ${id}, which had stopped half-way, finished first`);
  for (const p of report.pendingElsewhere)
    ctx.out.warn(`an earlier import stopped half-way: ${p}; \`airlock import --recover --registry HOST\` finishes it`);
  for (const s of report.signers) ctx.out.info(`  signed by  ${s.signer}: ${s.kind} ${s.id} ${s.detail}`);
  for (const p of report.signatureProblems) ctx.out.info(`  ${ctx.out.paint('yellow', 'untrusted')}  ${p}`);
  if (report.channel)
    ctx.out.info(
      `  channel    ${report.channel.name}: ${report.channel.accepted}` +
        `${report.channel.maxAge ? `, packages up to ${report.channel.maxAge} old` : ''}` +
        `${report.channel.repositories ? `; repositories ${report.channel.repositories}` : ''}`,
    );
  if (report.sequence) ctx.out.info(`  sequence   ${report.sequence.detail}`);
  if (report.connectedAudit)
    ctx.out.info(`  audit      ${bounded(report.connectedAudit.origin, 120)}: ${report.connectedAudit.verdict.detail}`);
  if (report.files) ctx.out.info(`  files      ${report.files} verified (${(report.bytes / 2 ** 20).toFixed(1)} MiB)`);
  for (const d of report.vulnDbs)
    ctx.out.info(
      `  vulndb     ${d.path} → installed as '${d.name}' (built ${d.built})${d.unchanged ? ', already installed' : ''}`,
    );
  for (const i of report.images) {
    ctx.out.info(
      `  image      ${bounded(i.name, 200)} ${i.digest}: ` +
        `${i.verification.results.filter((r) => r.ok).length} signature(s) ` +
        `verified${i.pushedTo ? ` → ${i.pushedTo}` : i.landsAt ? ` (lands as ${i.landsAt})` : ''}`,
    );
    for (const l of i.logged ?? [])
      ctx.out.info(
        `  logged     ${l.referrer.slice(0, 19)}… as entry ${l.logIndex} (under its ${l.verifier}); ` +
          `bundle with the entry attached as ${l.augmented.slice(0, 19)}…`,
      );
  }
  for (const t of report.tags ?? []) ctx.out.debug(`  tag        ${t.reference}: ${t.from ?? '(new)'} → ${t.to}`);
  for (const f of report.fileArtifacts) {
    const sig =
      f.signature === 'verified'
        ? `signature verified (${f.signer})`
        : f.signature === 'unsigned'
          ? 'unsigned'
          : ctx.out.paint('yellow', `signature unverified: ${bounded(f.reason ?? '', 200)}`);
    ctx.out.info(`  file       ${bounded(f.path, 200)} sha256:${f.sha256.slice(0, 12)}…: ${sig}`);
  }
  for (const d of report.documents) {
    const about = (s: DocumentSubject | undefined) =>
      s === undefined ? '' : 'matched' in s ? `, about ${s.matched.slice(0, 19)}…` : ', names no image';
    if (d.sbom)
      ctx.out.info(
        `  sbom       ${bounded(d.name, 200)}: ${d.sbom.format}, ${d.sbom.packages} packages ` +
          `(${d.sbom.from === 'document' ? 'from the document' : 'as packed'}` +
          `${about(d.sbom.subject)})`,
      );
    if (d.scan)
      ctx.out.info(
        `  scan       ${bounded(d.name, 200)}: ${d.scan.result} ${JSON.stringify(d.scan.counts)} ` +
          `(gate ${d.scan.gate ?? 'none'}, ` +
          `${d.scan.from === 'document' ? `from ${d.scan.subjects?.length ?? 0} document(s)` : 'as packed'}` +
          `${(d.scan.subjects ?? []).map(about).join('')})`,
      );
  }
  for (const w of report.warnings ?? []) ctx.out.warn(w);
  if (report.ok) ctx.out.info(ctx.out.paint('green', `${what} OK`));
  else ctx.out.error(`${what} refused: ${bounded(report.error?.message ?? '', 8192, true)} [${report.error?.code}]`);
}

export function reportJson(report: ImportReport) {
  return {
    ...report,
    error: report.error?.toJSON(),
    images: report.images.map((i) => ({
      ...i,
      verification: { ...i.verification, results: i.verification.results.map((r) => ({ ...r, report: undefined })) },
    })),
  };
}
