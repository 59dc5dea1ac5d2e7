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
import { type ImageSubjects, imageSubjects, unscannedPlatforms } from './image-trust.ts';
import type { PackageFile } from './package/admit.ts';
import { enforceGate, gateFindings, matchSubject, parseSeverity, summariseScan, summariseSbom } from './scan.ts';

export const ATTACHMENTS_DIR = 'attachments';

export function sbomDocumentPath(layoutTag: string): string {
  return `${ATTACHMENTS_DIR}/${layoutTag}/sbom.json`;
}

/** The n-th scan of an image (from 0): one per platform of a multi-platform image. */
export function scanDocumentPath(layoutTag: string, n = 0): string {
  return `${ATTACHMENTS_DIR}/${layoutTag}/vulnerability-scan${n === 0 ? '' : `-${n + 1}`}.json`;
}

/** What the far side can say of an image's SBOM and scan, and where each figure comes from. */
export interface DocumentsReport {
  readonly name: string;
  readonly sbom?: {
    readonly format: string;
    readonly packages: number;
    readonly from: 'document' | 'as packed';
    readonly subject?: DocumentSubject;
  };
  readonly scan?: {
    readonly result: string;
    readonly counts: Readonly<Record<string, number>>;
    readonly gate: string | null;
    readonly from: 'document' | 'as packed';
    readonly subjects?: readonly DocumentSubject[];
  };
}

function tampered(artifact: ImageArtifact, why: string): AirlockError {
  return new AirlockError('E_PACKAGE_TAMPERED', `${bounded(artifact.name, 160)}: ${why}`);
}

async function readDocument(
  artifact: ImageArtifact,
  path: string,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  what: string,
): Promise<unknown> {
  if (!files.has(path))
    throw tampered(artifact, `the metadata names the ${what} ${bounded(path)}, which the manifest does not list`);
  return readJsonFile(join(stagingDir, path), what);
}

const sameCounts = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  Object.keys({ ...a, ...b }).every((k) => (a[k] ?? 0) === (b[k] ?? 0));

/**
 * A package packed since documents travel names a `destination` for each image; one that claims an SBOM
 * or a scan without the document is not what pack writes: a claim with nothing to recompute it from.
 */
function requireDocuments(artifact: ImageArtifact): void {
  if (artifact.destination === undefined) return; // packed before documents travelled: "as packed"
  if (artifact.sbom && artifact.sbom.document === undefined)
    throw tampered(artifact, 'the metadata claims an SBOM but names no document: nothing to recompute it from');
  if (artifact.vulnerabilityScan && !artifact.vulnerabilityScan.documents?.length)
    throw tampered(artifact, 'the metadata claims a scan but names no document: nothing to recompute it from');
}

async function checkSbom(
  artifact: ImageArtifact,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  subjects: () => Promise<ImageSubjects>,
): Promise<DocumentsReport['sbom']> {
  const sbom = artifact.sbom;
  if (!sbom) return undefined;
  if (sbom.document === undefined) return { format: sbom.format, packages: sbom.packages, from: 'as packed' };
  const summary = summariseSbom(await readDocument(artifact, sbom.document, files, stagingDir, 'SBOM'), sbom.document);
  if (summary.format !== sbom.format || summary.packages !== sbom.packages) {
    throw tampered(
      artifact,
      `the metadata says its SBOM is ${sbom.format} with ${sbom.packages} packages; the document ` +
        `is ${summary.format} with ${summary.packages}`,
    );
  }
  const subject = matchSubject(
    summary.subjects,
    (await subjects()).digests,
    `its SBOM ${bounded(sbom.document)}`,
    artifact.name,
  );
  return { format: summary.format, packages: summary.packages, from: 'document', subject };
}

async function checkScans(
  artifact: ImageArtifact,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  subjects: () => Promise<ImageSubjects>,
): Promise<DocumentsReport['scan']> {
  const scan = artifact.vulnerabilityScan;
  if (!scan) return undefined;
  if (!scan.documents?.length) return { result: scan.result, counts: scan.counts, gate: scan.gate, from: 'as packed' };
  const summaries = [];
  for (const document of scan.documents)
    summaries.push({
      document,
      summary: summariseScan(await readDocument(artifact, document, files, stagingDir, 'scan report'), document),
    });
  const counts: Record<string, number> = {};
  for (const { summary } of summaries)
    for (const [k, v] of Object.entries(summary.counts)) counts[k] = (counts[k] ?? 0) + v;
  if (!sameCounts(counts, scan.counts))
    throw tampered(
      artifact,
      `the metadata's scan counts ${JSON.stringify(scan.counts)} are not the documents' ${JSON.stringify(counts)}`,
    );
  const image = await subjects();
  const matched = summaries.map(({ document, summary }) =>
    matchSubject(summary.subjects, image.digests, `its scan report ${bounded(document)}`, artifact.name),
  );
  // What airlock could not evaluate fails import's gate whether or not a gate was packed (an older pack).
  if (scan.gate === null)
    enforceGate(
      summaries.flatMap(({ summary }) =>
        gateFindings(summary, undefined).map((finding) => ({ image: artifact.name, finding })),
      ),
      undefined,
      'refusing to import',
    );
  // A gate the metadata says was passed must pass here too, on the documents that travelled, and over every platform.
  if (scan.gate !== null) {
    try {
      const gate = parseSeverity(scan.gate);
      enforceGate(
        summaries.flatMap(({ summary }) =>
          gateFindings(summary, gate).map((finding) => ({ image: artifact.name, finding })),
        ),
        gate,
        'the metadata says the gate passed',
      );
    } catch (err) {
      throw tampered(artifact, (err as Error).message);
    }
    const missing = unscannedPlatforms(
      image,
      summaries.map(({ summary }) => summary.subjects),
    );
    if (missing.length > 0)
      throw tampered(
        artifact,
        `the metadata says the ${scan.gate} gate passed, but no scan that travelled is about ` +
          `${missing.map((p) => p.name).join(', ')}`,
      );
  }
  return { result: scan.result, counts, gate: scan.gate, from: 'document', subjects: matched };
}

async function checkImageDocuments(
  artifact: ImageArtifact,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  layout: ImageStore,
): Promise<DocumentsReport> {
  requireDocuments(artifact);
  let cached: ImageSubjects | undefined;
  const subjects = async () => (cached ??= await imageSubjects(layout, await layout.resolveTag(artifact.layoutTag)));
  const sbom = await checkSbom(artifact, files, stagingDir, subjects);
  const scan = await checkScans(artifact, files, stagingDir, subjects);
  return { name: artifact.name, ...(sbom ? { sbom } : {}), ...(scan ? { scan } : {}) };
}

/** The SBOM and scans of every image that has one, recomputed from the documents that travelled. */
export async function checkDocuments(
  metadata: TransferMetadata,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  layout: ImageStore | undefined,
): Promise<DocumentsReport[]> {
  const out: DocumentsReport[] = [];
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image' || (!artifact.sbom && !artifact.vulnerabilityScan)) continue;
    if (!layout) throw new AirlockError('E_INTERNAL', 'images without a layout');
    out.push(await checkImageDocuments(artifact, files, stagingDir, layout));
  }
  return out;
}
