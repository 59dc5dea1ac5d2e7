// `airlock scan -o cosign-vuln`: the predicate of cosign's vulnerability attestation
// (`https://cosign.sigstore.dev/attestation/vuln/v1`, cosign specs/COSIGN_VULN_ATTESTATION_SPEC.md and
// pkg/cosign/attestation's CosignVulnPredicate), so `attest` and `pack` can sign it:
//   { invocation: { parameters, uri, event_id, builder.id },
//     scanner: { uri, version, db: { uri, version }, result },
//     metadata: { scanStartedOn, scanFinishedOn } }
// `result` is the scanner's own report; airlock writes it in grype's JSON shape (matches[] with
// vulnerability {id, severity} and artifact {name, version, type, purl, locations}), because that is what
// readers of this predicate read — airlock's own admission reader (src/admission/vuln-predicate.ts) among
// them. An unevaluable finding is written with severity `Unknown`, so every such reader counts it as over
// any limit, as airlock's gate does; its own rating and the reason stay beside it under `airlock`.
import type { Finding } from '../finding.ts';
import type { ScanReport } from './report.ts';
import { severityWord, TYPE_NAMES } from './grype-names.ts';

export const COSIGN_VULN_PREDICATE_TYPE = 'https://cosign.sigstore.dev/attestation/vuln/v1';

/** Where the scan ran, when the caller knows (a CI run, a build); empty strings otherwise, as cosign writes. */
export interface VulnInvocation {
  readonly parameters?: unknown;
  readonly uri?: string;
  readonly eventId?: string;
  readonly builderId?: string;
}

function match(f: Finding) {
  return {
    vulnerability: {
      id: f.id,
      dataSource: `https://osv.dev/vulnerability/${encodeURIComponent(f.id)}`,
      severity: f.unevaluable !== undefined ? 'Unknown' : severityWord(f.severity),
      fix: { versions: f.fixedVersions, state: f.fixedVersions.length > 0 ? 'fixed' : 'unknown' },
      ...(f.summary === undefined ? {} : { description: f.summary }),
    },
    relatedVulnerabilities: f.aliases.map((id) => ({ id })),
    artifact: {
      name: f.package.name,
      version: f.package.version,
      type: TYPE_NAMES[f.package.type] ?? f.package.type,
      purl: f.package.purl,
      locations: [{ path: f.package.foundIn }],
    },
    airlock: {
      severity: f.severity,
      ...(f.severitySource === undefined ? {} : { severitySource: f.severitySource }),
      ecosystem: f.package.ecosystem,
      records: f.recordIds,
      ...(f.unevaluable === undefined ? {} : { unevaluable: f.unevaluable }),
    },
  };
}

/** The scanner's report inside the predicate, in grype's JSON shape. */
function result(report: ScanReport) {
  return {
    matches: report.findings.map(match),
    ignoredMatches: report.ignored.map((i) => ({ ...match(i.finding), appliedIgnoreRules: [i.exception] })),
    source: {
      type: 'image',
      target: {
        userInput: report.subject.name,
        ...(report.subject.digest ? { manifestDigest: report.subject.digest } : {}),
      },
    },
    descriptor: {
      name: report.scanner.name,
      version: report.scanner.version,
      db: {
        name: report.database.name,
        version: report.database.version,
        built: report.database.built,
        contentHash: report.database.contentHash,
      },
    },
    counts: report.counts,
    unknownCount: report.unknownCount,
    unevaluableCount: report.unevaluableCount,
    notEvaluatedCount: report.notEvaluated.length,
    notEvaluated: report.notEvaluated,
    expiredExceptions: report.expiredExceptions,
    notes: report.notes,
  };
}

export function cosignVulnPredicate(report: ScanReport, invocation: VulnInvocation = {}): Record<string, unknown> {
  const db = report.database;
  return {
    invocation: {
      parameters: invocation.parameters ?? null,
      uri: invocation.uri ?? '',
      event_id: invocation.eventId ?? '',
      'builder.id': invocation.builderId ?? '',
    },
    scanner: {
      uri: report.scanner.uri,
      version: report.scanner.version,
      db: { uri: db.uri ?? `airlock-vulndb:${db.name}@${db.contentHash}`, version: db.version },
      result: result(report),
    },
    metadata: { scanStartedOn: report.startedAt, scanFinishedOn: report.finishedAt },
  };
}

export function renderCosignVuln(report: ScanReport, invocation?: VulnInvocation): string {
  return `${JSON.stringify(cosignVulnPredicate(report, invocation), null, 2)}\n`;
}
