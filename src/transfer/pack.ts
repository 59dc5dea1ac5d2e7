// `airlock pack` (connected side): images with their signatures into an OCI layout, files with their
// bundles, SBOM and scan attestations, the gate on scan findings, then metadata, the manifest over
// every file, signatures over the manifest, and the package written headers first. Nothing crosses
// unless it passed the gate; the channel's sequence number moves only when the package is written.
import { randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { Signer } from '../crypto/signer.ts';
import { digestFile, digestBytes } from '../crypto/digest.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError, fromFsError } from '../errors.ts';
import { readJsonFile } from '../files/read-json.ts';
import { copyImage } from '../oci/copy.ts';
import { openImage, type RegistryOptions, resolveImage } from '../oci/open-store.ts';
import { formatImageReference, type ImageReference } from '../oci/reference.ts';
import { attestImage, signImage } from '../oci/sign-image.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import { VERSION } from '../version.ts';
import { AUDIT_PROOF_HISTORY, type AuditSource, carryAudit } from './audit-carry.ts';
import { type FileArtifact, FORMAT, type ImageArtifact, MANIFEST_NAME, METADATA_NAME, PGP_SIGNATURE_NAME, serializeManifest, SIGSTORE_SIGNATURE_NAME, type TransferMetadata } from './format.ts';
import { type PgpSigningKey, signDetached } from './openpgp.ts';
import { writePackage } from './package-io.ts';
import { gateFindings, type Severity, summariseGrypeScan, summariseSbom } from './scan.ts';
import { readChannel, writeChannel } from './sequence.ts';

export const LAYOUT_DIR = 'oci';
export const FILES_DIR = 'files';
const VULN_PREDICATE = 'https://cosign.sigstore.dev/attestation/vuln/v1';

export interface PackOptions {
  readonly images: readonly string[];
  readonly files: readonly string[];
  /** SBOM / grype scan file per image, keyed by the image reference exactly as given. */
  readonly sboms: ReadonlyMap<string, string>;
  readonly scans: ReadonlyMap<string, string>;
  readonly out: string;
  readonly format: 'tar' | 'dir';
  readonly overwrite?: boolean;
  readonly channel: string;
  readonly stateDir: string;
  readonly now: Date;
  /** airlock key: signs the manifest; with signArtifacts also images, files and attestations. */
  readonly signer?: Signer;
  readonly signArtifacts: boolean;
  readonly legacySignature?: boolean;
  readonly pgpKey?: PgpSigningKey;
  readonly failOn?: Severity;
  readonly registry?: RegistryOptions;
  readonly onProgress?: (text: string) => void;
  /** The connected side's audit log: its checkpoint travels in the package (audit/). */
  readonly audit?: AuditSource;
}

export interface PackResult {
  readonly out: string;
  readonly metadata: TransferMetadata;
  /** sha256:<hex> of manifest.sha256: the package's identity on its channel. */
  readonly manifestDigest: string;
  readonly files: number;
}

/** The gate runs first, on every scan, before any image is copied: refused packages cost nothing. */
async function runGate(options: PackOptions) {
  const scans = new Map<string, ReturnType<typeof summariseGrypeScan>>();
  const refused: string[] = [];
  for (const [image, path] of options.scans) {
    if (!options.images.includes(image)) throw new AirlockError('E_USAGE', `--scan names ${image}, which is not packed`);
    const summary = summariseGrypeScan(await readJsonFile(path, 'scan report'), path);
    scans.set(image, summary);
    if (options.failOn) for (const f of gateFindings(summary, options.failOn)) refused.push(`${image}: ${f.id} (${f.severity}) in ${f.package}`);
  }
  if (refused.length > 0) {
    throw new AirlockError('E_GATE', `${refused.length} finding(s) at or above ${options.failOn}: refusing to pack\n  ${refused.join('\n  ')}`, {
      details: { failOn: options.failOn, findings: refused },
    });
  }
  for (const image of options.sboms.keys()) if (!options.images.includes(image)) throw new AirlockError('E_USAGE', `--sbom names ${image}, which is not packed`);
  return scans;
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
function linkFromLayout(ref: ImageReference, layout: ImageStore, options: PackOptions): { linkBlob?: (desc: Descriptor) => Promise<boolean> } {
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

async function packImage(ref: string, i: number, layout: ImageStore, options: PackOptions, scans: Map<string, ReturnType<typeof summariseGrypeScan>>): Promise<ImageArtifact> {
  const src = await openImage(ref, 'read', options.registry ?? {});
  const tag = layoutTag(ref, i);
  let digest: string;
  try {
    const source = await resolveImage(src);
    options.onProgress?.(`copying ${ref}`);
    digest = (await copyImage(src.store, source, layout, { tag, ...linkFromLayout(src.ref, layout, options) })).digest;
  } finally {
    await src.store.close();
  }
  const subject = await layout.resolveTag(tag);
  const signedBy: string[] = [];
  // SBOMs and scans travel as attestations signed with --key; the image itself is signed only with --sign.
  const signer = options.signer;
  if (signer && options.signArtifacts) {
    const legacy = options.legacySignature && src.ref.transport === 'docker' ? { legacy: { dockerReference: `${src.ref.registry}/${src.ref.repository}` } } : {};
    await signImage(layout, subject, { signer, now: options.now, ...legacy });
    signedBy.push(keyFingerprint(signer.publicKey));
  }
  let sbom: ImageArtifact['sbom'];
  const sbomPath = options.sboms.get(ref);
  if (sbomPath) {
    const doc = await readJsonFile(sbomPath, 'SBOM');
    const summary = summariseSbom(doc, sbomPath);
    if (signer) await attestImage(layout, subject, { signer, now: options.now, predicateType: summary.predicateType, predicate: doc });
    sbom = { format: summary.format, packages: summary.packages, attestation: Boolean(signer) };
  }
  const scan = scans.get(ref);
  const scanPath = options.scans.get(ref);
  if (scan && scanPath && signer) await attestImage(layout, subject, { signer, now: options.now, predicateType: VULN_PREDICATE, predicate: await readJsonFile(scanPath, 'scan report') });
  return {
    kind: 'image',
    name: formatImageReference(src.ref),
    digest,
    layoutTag: tag,
    signedBy,
    ...(sbom ? { sbom } : {}),
    ...(scan ? { vulnerabilityScan: { result: 'passed' as const, counts: scan.counts, gate: options.failOn ?? null } } : {}),
  };
}

async function packFile(path: string, staging: string, options: PackOptions): Promise<FileArtifact> {
  const name = `${FILES_DIR}/${basename(path)}`;
  await mkdir(join(staging, FILES_DIR), { recursive: true });
  try {
    await copyFile(path, join(staging, name));
  } catch (err) {
    throw fromFsError(err, path);
  }
  const digest = await digestFile(join(staging, name));
  const signer = options.signArtifacts ? options.signer : undefined;
  if (!signer) return { kind: 'file', path: name, sha256: digest.hex, signedBy: [] };
  const { bundle } = await signBlob({ path: join(staging, name) }, { signer });
  await writeFileBytes(join(staging, `${name}.sigstore.json`), Buffer.from(`${JSON.stringify(bundle)}\n`));
  return { kind: 'file', path: name, sha256: digest.hex, bundle: `${name}.sigstore.json`, signedBy: [keyFingerprint(signer.publicKey)] };
}

async function writeFileBytes(path: string, bytes: Uint8Array): Promise<void> {
  const { writeFileAtomic } = await import('../files/atomic-write.ts');
  await writeFileAtomic(path, bytes, { overwrite: true });
}

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

/**
 * Hashes for the manifest. Blobs of the layout were digest-verified when written and are named by
 * their sha256: their name is their hash, so the bytes are not read a second time.
 */
async function manifestEntries(staging: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const path of await listFiles(staging)) {
    const blob = new RegExp(`^${LAYOUT_DIR}/blobs/sha256/([0-9a-f]{64})$`).exec(path);
    entries.set(path, blob?.[1] ?? (await digestFile(join(staging, path))).hex);
  }
  return entries;
}

export async function packTransfer(options: PackOptions): Promise<PackResult> {
  if (options.images.length + options.files.length === 0) throw new AirlockError('E_USAGE', 'nothing to pack: name images and/or files');
  if (!options.signer && !options.pgpKey) throw new AirlockError('E_USAGE', 'the manifest must be signed: pass --key and/or --pgp-key');
  const scans = await runGate(options);
  const previous = await readChannel(options.stateDir, 'out', options.channel);
  await mkdir(dirname(options.out), { recursive: true });
  const staging = await mkdtemp(join(dirname(options.out), '.airlock-pack-'));
  try {
    const artifacts: Array<ImageArtifact | FileArtifact> = [];
    if (options.images.length > 0) {
      const { openLayoutStore } = await import('../oci/layout/layout-store.ts');
      const layout = await openLayoutStore(join(staging, LAYOUT_DIR), { create: true });
      try {
        for (const [i, ref] of options.images.entries()) artifacts.push(await packImage(ref, i, layout, options, scans));
      } finally {
        await layout.close();
      }
    }
    for (const file of options.files) artifacts.push(await packFile(file, staging, options));
    const history = previous?.auditHistory ?? (previous?.audit ? [previous.audit] : []);
    const carried = options.audit ? await carryAudit(options.audit, history) : undefined;
    for (const f of carried?.files ?? []) {
      await mkdir(dirname(join(staging, f.path)), { recursive: true });
      await writeFileBytes(join(staging, f.path), f.data);
    }
    const metadata: TransferMetadata = {
      format: FORMAT,
      packageId: randomUUID(),
      createdAt: options.now.toISOString(),
      tool: `airlock ${VERSION}`,
      sequence: { channel: options.channel, number: (previous?.number ?? 0) + 1, previous: previous?.manifest ?? null },
      artifacts,
      approvedBy: [],
      ...(carried ? { audit: { origin: carried.mark.origin, size: carried.mark.size, keyFingerprint: carried.mark.keyFingerprint } } : {}),
    };
    await writeFileBytes(join(staging, METADATA_NAME), Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
    options.onProgress?.('hashing the payload');
    const manifest = serializeManifest(await manifestEntries(staging));
    const manifestDigest = `sha256:${digestBytes(manifest).hex}`;
    const headers: Array<{ path: string; data: Uint8Array }> = [
      { path: METADATA_NAME, data: await readFile(join(staging, METADATA_NAME)) },
      { path: MANIFEST_NAME, data: manifest },
    ];
    if (options.pgpKey) headers.push({ path: PGP_SIGNATURE_NAME, data: Buffer.from(await signDetached(manifest, options.pgpKey.key)) });
    if (options.signer) {
      const { bundle } = await signBlob({ data: manifest, name: MANIFEST_NAME }, { signer: options.signer });
      headers.push({ path: SIGSTORE_SIGNATURE_NAME, data: Buffer.from(`${JSON.stringify(bundle)}\n`) });
    }
    // Layout blobs are verified against their names while the package is written (some were linked).
    const blobHash = (p: string) => new RegExp(`^${LAYOUT_DIR}/blobs/sha256/([0-9a-f]{64})$`).exec(p)?.[1];
    const payload = (await payloadOrder(staging, (await listFiles(staging)).filter((p) => p !== METADATA_NAME)))
      .map((p) => ({ path: p, file: join(staging, p), ...(blobHash(p) ? { sha256: blobHash(p) } : {}) }));
    options.onProgress?.('writing the package');
    await writePackage(options.out, [...headers, ...payload], { format: options.format, overwrite: options.overwrite ?? false });
    await writeChannel(options.stateDir, 'out', options.channel, { number: metadata.sequence.number, manifest: manifestDigest, at: metadata.createdAt, packageId: metadata.packageId, ...(carried ? { audit: carried.mark, auditHistory: [carried.mark, ...history].slice(0, AUDIT_PROOF_HISTORY) } : {}) });
    return { out: options.out, metadata, manifestDigest, files: payload.length + headers.length };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
