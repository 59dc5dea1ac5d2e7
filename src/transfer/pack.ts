// `airlock pack` (connected side), as named stages:
//   1. the request: every --scan/--sbom names a packed image; a --fail-on gate has a scan to judge for
//      every image (a gate never passes by having nothing to judge);
//   2. the channel's lock, held to the end (two packs on one channel would both be "next"), and the
//      settling of a pack that died half-way;
//   3. the gate and the documents' subjects, before anything is copied: each scan or SBOM must be
//      about the very image it is packed with; findings at/above the gate (or of unknown severity) refuse;
//   4. images into a staging layout, signed (--sign) and attested, their SBOM/scan documents beside
//      them as files; each image's signatures verified with the trust the far side will use (coverage
//      gaps surface here, where they can still be fixed); files with their bundles;
//   5. metadata, the manifest over every file, signatures over the manifest;
//   6. the package written headers first; just before it takes its place, the decision is recorded
//      and the channel's next state noted (write-ahead); once placed, the state moves.
import { randomUUID, type X509Certificate } from 'node:crypto';
import { copyFile, link, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { type Recorder, recordBeforeEffect } from '../recorder.ts';
import type { Signer } from '../crypto/signer.ts';
import { digestBytes, digestFile } from '../crypto/digest.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError, fromFsError } from '../errors.ts';
import type { HeldLock } from '../files/lock-file.ts';
import { readJsonFile } from '../files/read-json.ts';
import { copyImage } from '../oci/copy.ts';
import { type OpenedImage, openImage, type RegistryOptions, resolveImage } from '../oci/open-store.ts';
import { formatImageReference, type ImageReference } from '../oci/reference.ts';
import { attestImage, signImage } from '../oci/sign-image.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { MAX_PREDICATE_BYTES } from '../sigstore/limits.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import type { WitnessOptions } from '../sigstore/witnesses.ts';
import { bounded } from '../text.ts';
import { VERSION } from '../version.ts';
import { sbomDocumentPath, scanDocumentPath } from './attachments.ts';
import { AUDIT_PROOF_HISTORY, type AuditMark, type AuditSource, type CarriedAudit, carryAudit } from './audit-carry.ts';
import { parseDestinationName, suggestedName } from './destinations.ts';
import {
  type DocumentSubject,
  type FileArtifact,
  FORMAT,
  HEADER_NAMES,
  type ImageArtifact,
  MANIFEST_NAME,
  METADATA_NAME,
  PGP_SIGNATURE_NAME,
  serializeManifest,
  SIGSTORE_SIGNATURE_NAME,
  type TransferMetadata,
} from './format.ts';
import {
  checkImageTrust,
  describeTrust,
  hasAnySignature,
  imageSubjects,
  type ImageTrust,
  unscannedPlatforms,
} from './image-trust.ts';
import { type PgpSigningKey, signDetached } from './openpgp.ts';
import { packageHeadersOnly } from './package/read-package.ts';
import { type PackageEntry, writePackage } from './package/write-package.ts';
import {
  enforceGate,
  type Finding,
  gateFindings,
  matchSubject,
  type SbomSummary,
  type ScanSummary,
  type Severity,
  summariseScan,
  summariseSbom,
} from './scan.ts';
import {
  type ChannelState,
  lockChannel,
  readChannel,
  readPendingOut,
  removePendingOut,
  writeChannel,
  writePendingOut,
} from './sequence.ts';
import type { ProgressSink } from './progress.ts';
import { makeStaging } from './staging-dir.ts';
import { CONTAINERS_STORAGE, exportFromStorage, isContainersStorage, storageImageName } from './containers-storage.ts';

export const LAYOUT_DIR = 'oci';
export const FILES_DIR = 'files';
/** Where a carried vulnerability database goes in the package. */
export const VULNDB_DIR = 'vulndb';
const VULN_PREDICATE = 'https://cosign.sigstore.dev/attestation/vuln/v1';

export interface PackOptions {
  readonly images: readonly string[];
  readonly files: readonly string[];
  /** SBOM / grype scan file per image, keyed by the image reference exactly as given. */
  readonly sboms: ReadonlyMap<string, string>;
  /** grype reports per image: one, or one per platform of a multi-platform image. */
  readonly scans: ReadonlyMap<string, readonly string[]>;
  /** Where each image lands inside the gap (REPO[:TAG], below the registry's prefix), keyed as given. */
  readonly names?: ReadonlyMap<string, string>;
  readonly out: string;
  readonly format: 'tar' | 'dir';
  readonly overwrite?: boolean;
  readonly channel: string;
  readonly stateDir: string;
  readonly now: Date;
  /** airlock key: signs the manifest; with signArtifacts also images, files and attestations. */
  readonly signer?: Signer;
  /** Keyless: the certificate the CA issued for `signer`'s ephemeral key; every bundle carries it. */
  readonly certificate?: X509Certificate;
  /** Keyless: the log (and TSA) every signature is witnessed by; a keyed pack signs offline. */
  readonly witnesses?: WitnessOptions;
  readonly signArtifacts: boolean;
  readonly legacySignature?: boolean;
  readonly pgpKey?: PgpSigningKey;
  readonly failOn?: Severity;
  /** A vulnerability database to carry (vulndb/), installed by import once the package verifies. */
  readonly vulndb?: string;
  /** Whether findings of unknown severity fail the gate (the default) or are only reported. */
  readonly unknownSeverity?: 'fail' | 'warn';
  /** The trust each image's signatures must meet inside the gap (import's flags); checked here. */
  readonly imageTrust?: ImageTrust;
  /** Images with no signature at all may be packed (each marked so in the metadata). */
  readonly allowUnsigned?: boolean;
  readonly registry?: RegistryOptions;
  readonly onProgress?: ProgressSink;
  /** The connected side's audit log: its checkpoint travels in the package (audit/). */
  readonly audit?: AuditSource;
  /**
   * skopeo, to read `containers-storage:` images (podman's store); without it those are refused with how to export
   * them.
   */
  readonly skopeo?: string;
  /** Records the pack before the package takes its place (and the channel moves). */
  readonly record?: Recorder;
}

export interface PackResult {
  readonly out: string;
  readonly metadata: TransferMetadata;
  /** sha256:<hex> of manifest.sha256: the package's identity on its channel. */
  readonly manifestDigest: string;
  readonly files: number;
}

// ── stage 1: the request ───────────────────────────────────────────────────────────────────────────

/** Usage errors, found before anything is read or locked. */
export function checkPackRequest(options: PackOptions): void {
  if (options.images.length + options.files.length === 0)
    throw new AirlockError('E_USAGE', 'nothing to pack: name images and/or files');
  if (!options.signer && !options.pgpKey)
    throw new AirlockError('E_USAGE', 'the manifest must be signed: pass --key and/or --pgp-key');
  for (const [flag, map] of [
    ['scan', options.scans],
    ['sbom', options.sboms],
    ['name', options.names ?? new Map()],
  ] as const) {
    for (const image of map.keys())
      if (!options.images.includes(image))
        throw new AirlockError('E_USAGE', `--${flag} names ${bounded(image, 160)}, which is not packed`, {
          hint: `--${flag} takes IMAGE=…, with IMAGE exactly as given to pack`,
        });
  }
  if (options.failOn) {
    const unjudged = options.images.filter((i) => !options.scans.has(i));
    if (unjudged.length > 0) {
      throw new AirlockError(
        'E_USAGE',
        `--fail-on ${options.failOn} has no scan to judge ` +
          `${unjudged.map((i) => bounded(i, 160)).join(', ')}: a gate never passes by having ` +
          `nothing to judge`,
        {
          hint: `add --scan ${bounded(unjudged[0] ?? '', 160)}=grype.json (grype IMAGE -o json), or drop --fail-on`,
        },
      );
    }
  }
  if (options.images.length > 0 && !options.imageTrust && !options.allowUnsigned) {
    throw new AirlockError('E_USAGE', 'pack checks that each image will verify inside the gap: say with what trust', {
      hint:
        'pass the trust import will use (--image-key REF, or --certificate-identity … ' +
        '--certificate-oidc-issuer …, or --policy FILE), or --sign to sign the images now with ' +
        '--key; --allow-unsigned packs images without checking (marked in the metadata)',
    });
  }
  for (const [image, name] of options.names ?? []) {
    try {
      parseDestinationName(name, `--name ${image}`);
    } catch (err) {
      throw new AirlockError('E_USAGE', (err as Error).message);
    }
  }
}

// ── stage 2: the channel ───────────────────────────────────────────────────────────────────────────

/** A pack that died between noting the channel's next state and placing its package: the state follows the package. */
async function settlePendingOut(stateDir: string, channel: string): Promise<void> {
  const pending = await readPendingOut(stateDir, channel);
  if (!pending) return;
  const headers = await packageHeadersOnly(pending.out, HEADER_NAMES).catch(() => undefined);
  const manifest = headers?.get(MANIFEST_NAME);
  if (manifest && `sha256:${digestBytes(manifest).hex}` === pending.state.manifest)
    await writeChannel(stateDir, 'out', channel, pending.state);
  await removePendingOut(stateDir, channel);
}

// ── stage 3: the gate and the documents' subjects ──────────────────────────────────────────────────

/**
 * Each document with its size: one too large to be an attestation's predicate (its bundle would be more
 * than a verifier reads, sigstore/limits.ts) travels as a file only, and the metadata says so.
 */
interface Documents {
  sbom?: { doc: unknown; size: number; summary: SbomSummary; subject: DocumentSubject };
  scans?: Array<{ doc: unknown; size: number; summary: ScanSummary; subject: DocumentSubject }>;
}

/** Each image's source, opened once: its digests are needed before anything is copied. */
interface Source {
  readonly ref: string;
  readonly opened: OpenedImage;
  readonly subject: Descriptor;
}

async function openSources(options: PackOptions, exports: string): Promise<Source[]> {
  const sources: Source[] = [];
  try {
    for (const [i, ref] of options.images.entries()) {
      const readable = isContainersStorage(ref)
        ? await exportFromStorage(ref, join(exports, String(i)), options.skopeo)
        : ref;
      const opened = await openImage(readable, 'read', options.registry ?? {});
      sources.push({
        ref,
        opened,
        subject: await resolveImage(opened).catch(async (err: unknown) => {
          await opened.store.close();
          throw err;
        }),
      });
    }
  } catch (err) {
    await closeSources(sources);
    throw err;
  }
  return sources;
}

/**
 * What the image is called in the metadata: its reference, or for podman's store the reference as given (not the
 * export).
 */
function sourceName(source: Source): string {
  return isContainersStorage(source.ref)
    ? `${CONTAINERS_STORAGE}${storageImageName(source.ref)}`
    : formatImageReference(source.opened.ref);
}

async function closeSources(sources: readonly Source[]): Promise<void> {
  for (const s of sources) await s.opened.store.close().catch(() => undefined);
}

/**
 * Reads every SBOM and scan, checks each is about its image — and, for a gate, that the scans cover
 * every platform of a multi-platform image (grype scans one at a time) — then runs the gate over all
 * scans at once.
 */
async function readDocuments(sources: readonly Source[], options: PackOptions): Promise<Map<string, Documents>> {
  const out = new Map<string, Documents>();
  const failing: Array<{ image: string; finding: Finding }> = [];
  for (const source of sources) {
    const docs: Documents = {};
    const sbomPath = options.sboms.get(source.ref);
    const scanPaths = options.scans.get(source.ref) ?? [];
    if (sbomPath || scanPaths.length > 0) {
      const subjects = await imageSubjects(source.opened.store, source.subject);
      if (sbomPath) {
        const doc = await readJsonFile(sbomPath, 'SBOM');
        const summary = summariseSbom(doc, sbomPath);
        docs.sbom = {
          doc,
          size: JSON.stringify(doc).length,
          summary,
          subject: matchSubject(summary.subjects, subjects.digests, `the SBOM ${bounded(sbomPath)}`, source.ref),
        };
      }
      if (scanPaths.length > 0) docs.scans = [];
      for (const scanPath of scanPaths) {
        const doc = await readJsonFile(scanPath, 'scan report');
        const summary = summariseScan(doc, scanPath);
        docs.scans?.push({
          doc,
          size: JSON.stringify(doc).length,
          summary,
          subject: matchSubject(summary.subjects, subjects.digests, `the scan report ${bounded(scanPath)}`, source.ref),
        });
        // Unevaluable findings fail with or without --fail-on (gateFindings): never packed as if judged.
        failing.push(
          ...gateFindings(summary, options.failOn, options.unknownSeverity).map((finding) => ({
            image: source.ref,
            finding,
          })),
        );
      }
      const missing = options.failOn
        ? unscannedPlatforms(
            subjects,
            (docs.scans ?? []).map((d) => d.summary.subjects),
          )
        : [];
      if (missing.length > 0) {
        throw new AirlockError(
          'E_USAGE',
          `--fail-on ${options.failOn}: no scan of ${bounded(source.ref, 160)} is about ` +
            `${missing.map((p) => `${p.name} (${p.manifest})`).join(', ')}: a gate never passes by ` +
            `having nothing to judge`,
          {
            hint:
              `scan each platform (grype IMAGE@${missing[0]?.manifest ?? 'sha256:…'} -o json) and ` +
              `give each with --scan ${bounded(source.ref, 160)}=FILE`,
          },
        );
      }
    }
    out.set(source.ref, docs);
  }
  enforceGate(failing, options.failOn, 'refusing to pack');
  return out;
}

/**
 * Where each image will land inside the gap (--name, or what its reference suggests): two on one
 * repository and tag are refused here, where a --name fixes it, rather than at the far side.
 */
function plannedDestinations(sources: readonly Source[], options: PackOptions): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const source of sources) {
    const s = suggestedName(sourceName(source));
    const destination = options.names?.get(source.ref) ?? `${s.repository}${s.tag ? `:${s.tag}` : ''}`;
    const other = seen.get(destination);
    if (other !== undefined) {
      throw new AirlockError(
        'E_DESTINATION_CONFLICT',
        `${bounded(other, 160)} and ${bounded(source.ref, 160)} would both land on ${destination}`,
        {
          hint: `name one of them: --name ${bounded(source.ref, 160)}=REPO:TAG`,
          details: { destination, images: [other, source.ref] },
        },
      );
    }
    seen.set(destination, source.ref);
    out.set(source.ref, destination);
  }
  return out;
}

// ── stage 4: images and files into staging ─────────────────────────────────────────────────────────

function sumCounts(all: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of all) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function layoutTag(ref: string, i: number): string {
  const last = ref.split('/').pop() ?? 'image';
  return `${i + 1}-${last.replace(/[@:]/g, '-').replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 120);
}

/**
 * From an `oci:` layout into a tar package, blobs are hardlinked into the staging layout instead of
 * copied (immutable, content-addressed files), and their bytes are verified once, while the tar is
 * written: one read and one write of each blob instead of two of each.
 */
function linkFromLayout(
  ref: ImageReference,
  layout: ImageStore,
  options: PackOptions,
): { linkBlob?: (desc: Descriptor) => Promise<boolean> } {
  const dstDir = (layout as { dir?: string }).dir;
  if (ref.transport !== 'oci' || options.format !== 'tar' || !dstDir) return {};
  return {
    linkBlob: async (desc) => {
      const [algorithm, hex] = desc.digest.split(':');
      if (algorithm !== 'sha256' || !hex) return false;
      const target = join(dstDir, 'blobs', 'sha256', hex);
      await mkdir(dirname(target), { recursive: true });
      return link(join(ref.path, 'blobs', 'sha256', hex), target).then(
        () => true,
        () => false, // another filesystem, or no permission: copy instead
      );
    },
  };
}

/**
 * The image's signatures as they will travel, against the trust the far side will use. An image with
 * no signature at all is refused unless --allow-unsigned (then marked); one whose signatures do not
 * verify is refused: the gap would refuse it anyway, later and further from the fix.
 */
async function checkCoverage(
  layout: ImageStore,
  subject: Descriptor,
  ref: string,
  options: PackOptions,
): Promise<NonNullable<ImageArtifact['coverage']>> {
  const trust = options.imageTrust;
  if (!(await hasAnySignature(layout, subject))) {
    if (options.allowUnsigned) return { allowedUnsigned: true };
    throw new AirlockError(
      'E_SIGNATURE_INVALID',
      `${bounded(ref, 160)} (${subject.digest}) has no signature: the far side would refuse it`,
      {
        hint:
          'sign it first (airlock sign IMAGE --key …, or pack --sign --key …), or pack it with ' +
          '--allow-unsigned (marked in the metadata)',
      },
    );
  }
  if (!trust) return { allowedUnsigned: true };
  const { denial } = await checkImageTrust(layout, [ref], subject, trust);
  if (denial) {
    throw new AirlockError(
      denial.code,
      `${denial.message} — caught at pack time: with this trust the far side would refuse it`,
      {
        hint:
          'fix the signature now (re-sign, or attach the missing attestation), or check that the ' +
          'trust flags are the ones the far side uses',
      },
    );
  }
  return { verified: describeTrust(trust) };
}

async function writeFileBytes(path: string, bytes: Uint8Array): Promise<void> {
  const { writeFileAtomic } = await import('../files/atomic-write.ts');
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes, { overwrite: true });
}

/** The image into the package's layout under its tag, with progress. */
async function copyIntoLayout(source: Source, tag: string, layout: ImageStore, images: Count, options: PackOptions) {
  const ref = source.ref;
  const progress = options.onProgress;
  progress?.({ step: `copying ${ref}`, images });
  return copyImage(source.opened.store, source.subject, layout, {
    tag,
    ...linkFromLayout(source.opened.ref, layout, options),
    ...(progress
      ? {
          onProgress: (p) =>
            progress({
              step: `copying ${ref}`,
              images,
              bytes: { done: p.bytesDone, total: p.bytesTotal },
              blobs: { done: p.blobsDone, total: p.blobsTotal },
            }),
        }
      : {}),
  });
}

type Count = { readonly done: number; readonly total: number };

/** What every signature of a keyless pack carries besides the signer: its certificate and witnesses. */
function keylessParts(options: PackOptions): { certificate?: X509Certificate; witnesses?: WitnessOptions } {
  return {
    ...(options.certificate ? { certificate: options.certificate } : {}),
    ...(options.witnesses ? { witnesses: options.witnesses } : {}),
  };
}

/** With --sign: the image signed in the layout (and a legacy .sig for a registry source, if asked); who signed. */
async function signPacked(source: Source, layout: ImageStore, subject: Descriptor, options: PackOptions) {
  const signer = options.signer;
  if (!signer || !options.signArtifacts) return [];
  const src = source.opened.ref;
  const legacy =
    options.legacySignature && src.transport === 'docker'
      ? { legacy: { dockerReference: `${src.registry}/${src.repository}` } }
      : {};
  await signImage(layout, subject, { signer, now: options.now, ...legacy, ...keylessParts(options) });
  return [keyFingerprint(signer.publicKey)];
}

interface PackedDocuments {
  readonly tag: string;
  readonly layout: ImageStore;
  readonly subject: Descriptor;
  readonly staging: string;
  readonly options: PackOptions;
}

/** The SBOM as a file; with a key, also a signed attestation when it is small enough to be one. */
async function packSbom(sbom: NonNullable<Documents['sbom']>, at: PackedDocuments): Promise<ImageArtifact['sbom']> {
  const { signer, now } = at.options;
  const document = sbomDocumentPath(at.tag);
  await writeFileBytes(join(at.staging, document), Buffer.from(`${JSON.stringify(sbom.doc)}\n`));
  const attest = Boolean(signer) && sbom.size <= MAX_PREDICATE_BYTES;
  if (signer && attest) {
    await attestImage(at.layout, at.subject, {
      signer,
      ...keylessParts(at.options),
      now,
      predicateType: sbom.summary.predicateType,
      predicate: sbom.doc,
    });
  }
  const { format, packages } = sbom.summary;
  return { format, packages, attestation: attest, document, subject: sbom.subject };
}

/** Each scan as a file (one per platform); with a key, also signed attestations. */
async function packScans(
  scans: NonNullable<Documents['scans']>,
  at: PackedDocuments,
): Promise<ImageArtifact['vulnerabilityScan']> {
  const { signer, now } = at.options;
  const documents: string[] = [];
  for (const [n, scan] of scans.entries()) {
    const document = scanDocumentPath(at.tag, n);
    await writeFileBytes(join(at.staging, document), Buffer.from(`${JSON.stringify(scan.doc)}\n`));
    if (signer && scan.size <= MAX_PREDICATE_BYTES) {
      await attestImage(at.layout, at.subject, {
        signer,
        ...keylessParts(at.options),
        now,
        predicateType: VULN_PREDICATE,
        predicate: scan.doc,
      });
    }
    documents.push(document);
  }
  const counts = sumCounts(scans.map((d) => d.summary.counts));
  return {
    result: 'passed',
    counts,
    gate: at.options.failOn ?? null,
    documents,
    subjects: scans.map((d) => d.subject),
  };
}

async function packImage(
  source: Source,
  i: number,
  total: number,
  docs: Documents,
  destination: string,
  layout: ImageStore,
  staging: string,
  options: PackOptions,
): Promise<ImageArtifact> {
  const tag = layoutTag(source.ref, i);
  const images = { done: i, total };
  const { digest } = await copyIntoLayout(source, tag, layout, images, options);
  const subject = await layout.resolveTag(tag);
  const signedBy = await signPacked(source, layout, subject, options);
  // The documents travel as files whatever happens; with --key they are also signed attestations.
  const at: PackedDocuments = { tag, layout, subject, staging, options };
  const sbom = docs.sbom ? await packSbom(docs.sbom, at) : undefined;
  const vulnerabilityScan = docs.scans ? await packScans(docs.scans, at) : undefined;
  options.onProgress?.({ step: `checking the signatures of ${source.ref}`, images });
  const coverage = await checkCoverage(layout, subject, source.ref, options);
  return {
    kind: 'image',
    name: sourceName(source),
    digest,
    layoutTag: tag,
    destination,
    signedBy,
    coverage,
    ...(sbom ? { sbom } : {}),
    ...(vulnerabilityScan ? { vulnerabilityScan } : {}),
  };
}

async function packFile(path: string, staging: string, options: PackOptions, dir = FILES_DIR): Promise<FileArtifact> {
  const name = `${dir}/${basename(path)}`;
  await mkdir(join(staging, dir), { recursive: true });
  try {
    await copyFile(path, join(staging, name));
  } catch (err) {
    throw fromFsError(err, path);
  }
  const digest = await digestFile(join(staging, name));
  const signer = options.signArtifacts ? options.signer : undefined;
  if (!signer) return { kind: 'file', path: name, sha256: digest.hex, signedBy: [] };
  const { bundle } = await signBlob({ path: join(staging, name) }, { signer, ...keylessParts(options) });
  await writeFileBytes(join(staging, `${name}.sigstore.json`), Buffer.from(`${JSON.stringify(bundle)}\n`));
  return {
    kind: 'file',
    path: name,
    sha256: digest.hex,
    bundle: `${name}.sigstore.json`,
    signedBy: [keyFingerprint(signer.publicKey)],
  };
}

/**
 * A vulnerability database travels as a file under vulndb/, with what its manifest says in the metadata.
 * Only a signed one: the far side installs it only after its own signature verifies, so an unsigned one
 * could never be installed and is refused here, before anything is written.
 */
async function packVulnDb(path: string, staging: string, options: PackOptions): Promise<FileArtifact> {
  const { openVulnDb } = await import('../vuln/db/open.ts');
  const opened = openVulnDb(path);
  try {
    if (opened.signature === undefined)
      throw new AirlockError('E_VULNDB_SIGNATURE', `${bounded(path)} is unsigned: it could not be installed inside`, {
        hint: 'build it with `airlock vulndb build ... --key REF`',
      });
    const { built, records, contentSha256 } = opened.manifest;
    const file = await packFile(path, staging, options, VULNDB_DIR);
    return { ...file, vulndb: { built, records, contentSha256 } };
  } finally {
    opened.close();
  }
}

async function stageArtifacts(
  sources: readonly Source[],
  docs: ReadonlyMap<string, Documents>,
  destinations: ReadonlyMap<string, string>,
  staging: string,
  options: PackOptions,
): Promise<Array<ImageArtifact | FileArtifact>> {
  const artifacts: Array<ImageArtifact | FileArtifact> = [];
  if (sources.length > 0) {
    const { openLayoutStore } = await import('../oci/layout/layout-store.ts');
    const layout = await openLayoutStore(join(staging, LAYOUT_DIR), { create: true });
    try {
      for (const [i, source] of sources.entries())
        artifacts.push(
          await packImage(
            source,
            i,
            sources.length,
            docs.get(source.ref) ?? {},
            destinations.get(source.ref) ?? '',
            layout,
            staging,
            options,
          ),
        );
    } finally {
      await layout.close();
    }
  }
  for (const file of options.files) artifacts.push(await packFile(file, staging, options));
  if (options.vulndb) artifacts.push(await packVulnDb(options.vulndb, staging, options));
  return artifacts;
}

// ── stage 5: metadata, manifest, signatures ────────────────────────────────────────────────────────

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/**
 * Smallest first (ties by path): the files that describe the images — manifests, configs,
 * signatures — then come before the layers they describe, so an importer can send each layer on to
 * the registry as it arrives instead of staging it. Importers never depend on the order.
 */
async function payloadOrder(staging: string, paths: readonly string[]): Promise<string[]> {
  const sized = await Promise.all(paths.map(async (p) => ({ p, size: (await stat(join(staging, p))).size })));
  return sized.sort((a, b) => a.size - b.size || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0)).map((x) => x.p);
}

const BLOB_PATH = new RegExp(`^${LAYOUT_DIR}/blobs/sha256/([0-9a-f]{64})$`);

/**
 * Hashes for the manifest. Blobs of the layout were digest-verified when written and are named by
 * their sha256: their name is their hash, so the bytes are not read a second time.
 */
async function manifestEntries(staging: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const path of await listFiles(staging))
    entries.set(path, BLOB_PATH.exec(path)?.[1] ?? (await digestFile(join(staging, path))).hex);
  return entries;
}

async function signatureHeaders(
  manifest: Buffer,
  options: PackOptions,
): Promise<Array<{ path: string; data: Uint8Array }>> {
  const headers: Array<{ path: string; data: Uint8Array }> = [];
  if (options.pgpKey)
    headers.push({ path: PGP_SIGNATURE_NAME, data: Buffer.from(await signDetached(manifest, options.pgpKey.key)) });
  if (options.signer) {
    const { bundle } = await signBlob(
      { data: manifest, name: MANIFEST_NAME },
      { signer: options.signer, ...keylessParts(options) },
    );
    headers.push({ path: SIGSTORE_SIGNATURE_NAME, data: Buffer.from(`${JSON.stringify(bundle)}\n`) });
  }
  return headers;
}

// ── stage 6: write, record, place, move the channel ────────────────────────────────────────────────

function packRecordDetails(metadata: TransferMetadata, out: string) {
  return {
    out,
    sequence: metadata.sequence,
    artifacts: metadata.artifacts.map((a) =>
      a.kind === 'image'
        ? {
            image: a.name,
            digest: a.digest,
            destination: a.destination,
            signedBy: a.signedBy,
            coverage: a.coverage,
            ...(a.vulnerabilityScan
              ? {
                  scan: {
                    result: a.vulnerabilityScan.result,
                    counts: a.vulnerabilityScan.counts,
                    gate: a.vulnerabilityScan.gate,
                  },
                }
              : {}),
          }
        : { file: a.path, signedBy: a.signedBy },
    ),
  };
}

function buildMetadata(
  options: PackOptions,
  previous: ChannelState | undefined,
  artifacts: TransferMetadata['artifacts'],
  carried: CarriedAudit | undefined,
): TransferMetadata {
  return {
    format: FORMAT,
    packageId: randomUUID(),
    createdAt: options.now.toISOString(),
    tool: `airlock ${VERSION}`,
    sequence: { channel: options.channel, number: (previous?.number ?? 0) + 1, previous: previous?.manifest ?? null },
    artifacts,
    approvedBy: [],
    ...(carried
      ? {
          audit: {
            origin: carried.mark.origin,
            size: carried.mark.size,
            keyFingerprint: carried.mark.keyFingerprint,
          },
        }
      : {}),
  };
}

/** Every staged file but the metadata, in package order; layout blobs carry the digest their name promises. */
async function payloadEntries(staging: string): Promise<Array<PackageEntry & { file: string }>> {
  const paths = await payloadOrder(
    staging,
    (await listFiles(staging)).filter((p) => p !== METADATA_NAME),
  );
  // Layout blobs are verified against their names while the package is written (some were linked).
  return paths.map((p) => ({
    path: p,
    file: join(staging, p),
    ...(BLOB_PATH.exec(p) ? { sha256: BLOB_PATH.exec(p)?.[1] } : {}),
  }));
}

function nextChannelState(
  metadata: TransferMetadata,
  manifestDigest: string,
  carried: CarriedAudit | undefined,
  history: readonly AuditMark[],
): ChannelState {
  return {
    number: metadata.sequence.number,
    manifest: manifestDigest,
    at: metadata.createdAt,
    packageId: metadata.packageId,
    ...(carried ? { audit: carried.mark, auditHistory: [carried.mark, ...history].slice(0, AUDIT_PROOF_HISTORY) } : {}),
  };
}

interface SealedPackage {
  readonly metadata: TransferMetadata;
  readonly manifestDigest: string;
  readonly entries: readonly PackageEntry[];
  readonly payloadFiles: readonly string[];
  readonly next: ChannelState;
}

/**
 * Writes the package; just before it takes its name, records the pack and the pending channel move, so
 * a package in place always has its record and a crash after it still moves the channel.
 */
async function writeRecorded(sealed: SealedPackage, options: PackOptions): Promise<void> {
  const { metadata, manifestDigest } = sealed;
  const sizes = await Promise.all(sealed.payloadFiles.map((file) => stat(file).then((s) => s.size)));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  await writePackage(options.out, sealed.entries, {
    format: options.format,
    overwrite: options.overwrite ?? false,
    onProgress: (bytes) =>
      options.onProgress?.({ step: 'writing the package', bytes: { done: bytes, total: totalBytes } }),
    beforePlace: async () => {
      if (options.record) {
        const subjects = [
          { name: options.out, digest: manifestDigest },
          ...metadata.artifacts.map((a) =>
            a.kind === 'image' ? { name: a.name, digest: a.digest } : { name: a.path, digest: `sha256:${a.sha256}` },
          ),
        ];
        await recordBeforeEffect(
          options.record,
          { action: 'transfer.pack', result: 'ok', subjects, details: packRecordDetails(metadata, options.out) },
          `writing ${options.out}`,
        );
      }
      await writePendingOut(options.stateDir, options.channel, { state: sealed.next, out: resolve(options.out) });
    },
  });
}

/** Metadata, manifest and signatures over the staged files: everything the package will hold, named. */
async function seal(
  staging: string,
  metadata: TransferMetadata,
  options: PackOptions,
  next: (manifestDigest: string) => ChannelState,
): Promise<SealedPackage> {
  await writeFileBytes(join(staging, METADATA_NAME), Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
  options.onProgress?.({ step: 'hashing the payload' });
  const manifest = serializeManifest(await manifestEntries(staging));
  const manifestDigest = `sha256:${digestBytes(manifest).hex}`;
  const headers = [
    { path: METADATA_NAME, data: await readFile(join(staging, METADATA_NAME)) },
    { path: MANIFEST_NAME, data: manifest },
    ...(await signatureHeaders(manifest, options)),
  ];
  const payload = await payloadEntries(staging);
  return {
    metadata,
    manifestDigest,
    entries: [...headers, ...payload],
    payloadFiles: payload.map((p) => p.file),
    next: next(manifestDigest),
  };
}

export async function packTransfer(options: PackOptions): Promise<PackResult> {
  checkPackRequest(options);
  let lock: HeldLock | undefined;
  let sources: Source[] = [];
  let staging: string | undefined;
  try {
    lock = await lockChannel(options.stateDir, 'out', options.channel);
    await settlePendingOut(options.stateDir, options.channel);
    const previous = await readChannel(options.stateDir, 'out', options.channel);
    staging = await makeStaging(options.stateDir, 'pack');
    sources = await openSources(options, join(staging, '.exports'));
    const destinations = plannedDestinations(sources, options);
    const docs = await readDocuments(sources, options);
    const artifacts = await stageArtifacts(sources, docs, destinations, staging, options);
    const history = previous?.auditHistory ?? (previous?.audit ? [previous.audit] : []);
    const carried = options.audit ? await carryAudit(options.audit, history) : undefined;
    for (const f of carried?.files ?? []) await writeFileBytes(join(staging, f.path), f.data);
    const metadata = buildMetadata(options, previous, artifacts, carried);
    const sealed = await seal(staging, metadata, options, (digest) =>
      nextChannelState(metadata, digest, carried, history),
    );
    await writeRecorded(sealed, options);
    await writeChannel(options.stateDir, 'out', options.channel, sealed.next);
    await removePendingOut(options.stateDir, options.channel);
    return { out: options.out, metadata, manifestDigest: sealed.manifestDigest, files: sealed.entries.length };
  } finally {
    await closeSources(sources);
    if (staging) await rm(staging, { recursive: true, force: true });
    await lock?.release();
  }
}
