// SBOM and scan documents travel as files of the package (attachments/LAYOUT-TAG/…), listed in the
// signed manifest whether or not they are also signed attestations: what the metadata says travels,
// travels. The far side recomputes what the metadata summarises from the documents themselves — the
// SBOM's size, the scan's counts, that the gate it claims was passed really passes, and that each
// document is about the image it travels with — and says "as packed" only for packages from before
// the documents travelled.
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { readJsonFile } from '../files/read-json.ts';
import type { ImageStore } from '../oci/types.ts';
import { bounded } from '../text.ts';
import type { DocumentSubject, ImageArtifact, TransferMetadata } from './format.ts';
import { imageDigests } from './image-trust.ts';
import type { PackageFile } from './package-accept.ts';
import { enforceGate, gateFindings, matchSubject, parseSeverity, summariseGrypeScan, summariseSbom } from './scan.ts';

export const ATTACHMENTS_DIR = 'attachments';

export function sbomDocumentPath(layoutTag: string): string {
  return `${ATTACHMENTS_DIR}/${layoutTag}/sbom.json`;
}

export function scanDocumentPath(layoutTag: string): string {
  return `${ATTACHMENTS_DIR}/${layoutTag}/vulnerability-scan.json`;
}

/** What the far side can say of an image's SBOM and scan, and where each figure comes from. */
export interface DocumentsReport {
  readonly name: string;
  readonly sbom?: { readonly format: string; readonly packages: number; readonly from: 'document' | 'as packed'; readonly subject?: DocumentSubject };
  readonly scan?: { readonly result: string; readonly counts: Readonly<Record<string, number>>; readonly gate: string | null; readonly from: 'document' | 'as packed'; readonly subject?: DocumentSubject };
}

function tampered(artifact: ImageArtifact, why: string): AirlockError {
  return new AirlockError('E_PACKAGE_TAMPERED', `${bounded(artifact.name, 160)}: ${why}`);
}

async function readDocument(artifact: ImageArtifact, path: string, files: ReadonlyMap<string, PackageFile>, stagingDir: string, what: string): Promise<unknown> {
  if (!files.has(path)) throw tampered(artifact, `the metadata names the ${what} ${bounded(path)}, which the manifest does not list`);
  return readJsonFile(join(stagingDir, path), what);
}

const sameCounts = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.keys({ ...a, ...b }).every((k) => (a[k] ?? 0) === (b[k] ?? 0));

async function checkImageDocuments(artifact: ImageArtifact, files: ReadonlyMap<string, PackageFile>, stagingDir: string, layout: ImageStore): Promise<DocumentsReport> {
  let digests: Set<string> | undefined;
  const ofImage = async () => (digests ??= await imageDigests(layout, await layout.resolveTag(artifact.layoutTag)));
  const report: { name: string; sbom?: DocumentsReport['sbom']; scan?: DocumentsReport['scan'] } = { name: artifact.name };
  const sbom = artifact.sbom;
  if (sbom?.document !== undefined) {
    const summary = summariseSbom(await readDocument(artifact, sbom.document, files, stagingDir, 'SBOM'), sbom.document);
    if (summary.format !== sbom.format || summary.packages !== sbom.packages) {
      throw tampered(artifact, `the metadata says its SBOM is ${sbom.format} with ${sbom.packages} packages; the document is ${summary.format} with ${summary.packages}`);
    }
    const subject = matchSubject(summary.subjects, await ofImage(), `its SBOM ${bounded(sbom.document)}`, artifact.name);
    report.sbom = { format: summary.format, packages: summary.packages, from: 'document', subject };
  } else if (sbom) {
    report.sbom = { format: sbom.format, packages: sbom.packages, from: 'as packed' };
  }
  const scan = artifact.vulnerabilityScan;
  if (scan?.document !== undefined) {
    const summary = summariseGrypeScan(await readDocument(artifact, scan.document, files, stagingDir, 'scan report'), scan.document);
    if (!sameCounts(summary.counts, scan.counts)) throw tampered(artifact, `the metadata's scan counts ${JSON.stringify(scan.counts)} are not the document's ${JSON.stringify(summary.counts)}`);
    // A gate the metadata says was passed must pass here too, on the document that travelled.
    if (scan.gate !== null) {
      try {
        const gate = parseSeverity(scan.gate);
        enforceGate(gateFindings(summary, gate).map((finding) => ({ image: artifact.name, finding })), gate, 'the metadata says the gate passed');
      } catch (err) {
        throw tampered(artifact, (err as Error).message);
      }
    }
    const subject = matchSubject(summary.subjects, await ofImage(), `its scan report ${bounded(scan.document)}`, artifact.name);
    report.scan = { result: scan.result, counts: summary.counts, gate: scan.gate, from: 'document', subject };
  } else if (scan) {
    report.scan = { result: scan.result, counts: scan.counts, gate: scan.gate, from: 'as packed' };
  }
  return report;
}

/** The SBOM and scan of every image that has one, recomputed from the documents that travelled. */
export async function checkDocuments(metadata: TransferMetadata, files: ReadonlyMap<string, PackageFile>, stagingDir: string, layout: ImageStore | undefined): Promise<DocumentsReport[]> {
  const out: DocumentsReport[] = [];
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image' || (!artifact.sbom && !artifact.vulnerabilityScan)) continue;
    if (!layout) throw new AirlockError('E_INTERNAL', 'images without a layout');
    out.push(await checkImageDocuments(artifact, files, stagingDir, layout));
  }
  return out;
}
