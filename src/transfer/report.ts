// The Markdown report `airlock inspect --report` writes for an auditor to file with the change record.
import type { ImportReport } from './import.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|');

function connectedAuditCell(audit: ImportReport['connectedAudit']): string {
  return audit ? `${esc(audit.origin)} at size ${audit.size}: ${esc(audit.verdict.detail)}` : 'not carried';
}

export function markdownReport(source: string, report: ImportReport, now: Date): string {
  const m = report.metadata;
  const lines = [
    `# Transfer package report: ${esc(source)}`,
    '',
    `Checked ${now.toISOString()} — verdict: **${report.ok ? 'VERIFIED' : `REFUSED (${report.error?.code})`}**`,
    ...(report.error ? ['', `> ${report.error.message}`] : []),
    '',
    '## Package',
    '',
    '| field | value |',
    '| --- | --- |',
    `| package id | ${m?.packageId ?? '?'} |`,
    `| created | ${m?.createdAt ?? '?'} by ${m?.tool ?? '?'} |`,
    `| channel / number | ${m ? `${m.sequence.channel} / ${m.sequence.number}` : '?'} |`,
    `| previous manifest | ${m?.sequence.previous ?? '(first)'} |`,
    `| manifest sha256 | ${report.manifest ?? '?'} |`,
    `| sequence check | ${report.sequence?.detail ?? 'not reached'} |`,
    `| connected side's audit | ${connectedAuditCell(report.connectedAudit)} |`,
    `| files verified | ${report.files} (${report.bytes} bytes) |`,
    '',
    '## Manifest signers',
    '',
    '| kind | signer | detail |',
    '| --- | --- | --- |',
    ...report.signers.map((s) => `| ${s.kind} | ${s.id} | ${esc(s.detail)} |`),
    ...report.signatureProblems.map((p) => `| untrusted | | ${esc(p)} |`),
    '',
    '## Artifacts',
    '',
    // Recomputed from the documents that travelled; "as packed" only for packages from before they did.
    '| artifact | digest | signatures | SBOM | scan |',
    '| --- | --- | --- | --- | --- |',
    ...(m?.artifacts ?? []).map((a) => {
      if (a.kind === 'file') {
        const c = report.fileArtifacts.find((f) => f.path === a.path);
        const sig = !c
          ? 'not checked'
          : c.signature === 'verified'
            ? `verified: ${c.signer}`
            : c.signature === 'unsigned'
              ? '-'
              : `unverified: ${c.reason}`;
        return `| file ${esc(a.path)} | sha256:${a.sha256} | ${esc(sig)} | | |`;
      }
      const v = report.images.find((i) => i.digest === a.digest);
      const sigs = v
        ? `${v.verification.results.filter((r) => r.ok).length} verified of ${v.verification.results.length}`
        : 'not checked';
      const d = report.documents.find((x) => x.name === a.name);
      const from = (f: string | undefined) => (f === 'document' ? 'from the document' : 'as packed');
      const sbom = d?.sbom
        ? `${d.sbom.format}, ${d.sbom.packages} packages (${from(d.sbom.from)})`
        : a.sbom
          ? 'not checked'
          : '-';
      const scan = d?.scan
        ? `${d.scan.result} ${JSON.stringify(d.scan.counts)} (gate ${d.scan.gate ?? 'none'}, ${from(d.scan.from)})`
        : a.vulnerabilityScan
          ? 'not checked'
          : '-';
      return `| image ${esc(a.name)} | ${a.digest} | ${sigs} | ${sbom} | ${esc(scan)} |`;
    }),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
