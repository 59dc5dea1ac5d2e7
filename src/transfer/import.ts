// `airlock import` / `airlock inspect` (air-gapped side). One streaming pass over the package:
//   1. headers first — metadata, manifest, signatures: the signers must be trusted, at least K distinct,
//      the metadata must be covered by the manifest, and the package's place on its channel must be next
//      (no replay, no older package, no fork, no gap unless allowed) — all before any payload byte;
//   2. payload — every entry listed, a plain file at a safe path, hashing to its listed value, none missing;
//   3. every image's signatures verified offline (the trust of `airlock verify`);
//   4. only then (import) images pushed by digest, tags last, and the channel state moved.
// Any failure: nothing tagged, state unchanged, the package untouched, the decision recorded.
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { digestBytes } from '../crypto/digest.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError, fromFsError } from '../errors.ts';
import type { HeldLock } from '../files/lock-file.ts';
import { copyImage } from '../oci/copy.ts';
import type { OpenedImage, RegistryOptions } from '../oci/open-store.ts';
import type { RegistryStore } from '../oci/registry/store.ts';
import { parseImageReference } from '../oci/reference.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { type Authority, type ImagePolicy, requirementsFor } from '../policy/image-policy.ts';
import { type ImageVerification, verifyImage } from '../oci/verify-image.ts';
import { type VerifyBlobOptions, verifyBlob } from '../sigstore/verify/verify-blob.ts';
import type { Recorder } from '../audit/event.ts';
import { AUDIT_CHECKPOINT_NAME, AUDIT_CONSISTENCY_NAME, AUDIT_DIR, AUDIT_KEY_NAME, type AuditCarryCheck, verifyCarriedAudit } from './audit-carry.ts';
import { checkFileArtifacts, type FileArtifactCheck } from './file-artifacts.ts';
import { LayerStreams, LayerUploadError } from './import-layers.ts';
import { HEADER_NAMES, type ImageArtifact, MANIFEST_NAME, METADATA_NAME, parseManifest, parseMetadata, PGP_SIGNATURE_NAME, SIGSTORE_APPROVAL, SIGSTORE_SIGNATURE_NAME, type TransferMetadata } from './format.ts';
import { type Keyring, verifyManifestSignatures } from './openpgp.ts';
import type { PackageFile } from './package-accept.ts';
import type { NoteVerifier } from '../log/note.ts';
import type { LoggedSignature } from './log-imported.ts';
import { readPackage } from './package-io.ts';
import { LAYOUT_DIR } from './pack.ts';
import { type ChannelState, checkSequence, lockChannel, readChannel, type SequenceVerdict, writeChannel } from './sequence.ts';

export interface Signers {
  readonly pgp?: Keyring;
  /** airlock keys whose Sigstore bundles over the manifest count as signers. */
  readonly keys: readonly KeyObject[];
  readonly required: number;
}

/** An image policy with its key files already loaded (by the path the policy names). */
export interface LoadedPolicy {
  readonly policy: ImagePolicy;
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** Trust root and thresholds for the policy's authorities. */
  readonly base: Omit<VerifyBlobOptions, 'trust'>;
}

export interface ImportOptions {
  readonly source: string;
  readonly signers: Signers;
  /** Image trust: one trust for every image (verify's flags), or a policy per image name. */
  readonly imageTrust: VerifyBlobOptions | LoadedPolicy;
  readonly allowGap: boolean;
  readonly stateDir: string;
  readonly now: Date;
  /** Absent for `inspect`: nothing is pushed and no state moves. */
  readonly registry?: { readonly host: string; readonly prefix?: string; readonly options: RegistryOptions };
  readonly onProgress?: (text: string) => void;
  /** Records the decision with each check (the audit trail); nothing is recorded without it. */
  readonly record?: Recorder;
  /** With a registry: append each verified image signature to this on-prem log and attach the bundle with its entry. */
  readonly rekor?: { readonly url: string; readonly logVerifier: NoteVerifier; readonly timeoutMs?: number; readonly fetch?: typeof fetch };
}

/** The key imported signatures are logged under: only key trust says which key that is. */
function loggingKey(options: ImportOptions): KeyObject | undefined {
  if (!options.rekor) return undefined;
  if (!options.registry) throw new AirlockError('E_USAGE', '--rekor-url logs what an import pushes: it needs --registry');
  const trust = options.imageTrust;
  if ('policy' in trust || trust.trust.kind !== 'key') {
    throw new AirlockError('E_UNSUPPORTED', 'import --rekor-url logs signatures verified with --key; with --policy or keyless trust it is not built yet');
  }
  return trust.trust.publicKey;
}

async function logImages(layout: ImageStore, report: ImportReport, rekor: NonNullable<ImportOptions['rekor']>, publicKey: KeyObject, now: Date, onProgress?: (t: string) => void): Promise<void> {
  const { logImportedSignatures } = await import('./log-imported.ts');
  for (const image of report.images) {
    onProgress?.(`logging the signatures of ${image.name} in ${rekor.url}`);
    const referrers = image.verification.results.filter((r) => r.ok && r.source === 'referrer').map((r) => r.where);
    image.logged = await logImportedSignatures(layout, image.digest, referrers, { url: rekor.url, logVerifier: rekor.logVerifier, publicKey, now, ...(rekor.fetch ? { fetch: rekor.fetch } : {}), ...(rekor.timeoutMs ? { timeoutMs: rekor.timeoutMs } : {}) });
  }
}

export interface SignerRecord {
  readonly kind: 'openpgp' | 'sigstore-key';
  readonly id: string;
  readonly detail: string;
}

export interface ImportReport {
  readonly ok: boolean;
  readonly metadata?: TransferMetadata;
  readonly manifest?: string;
  readonly signers: SignerRecord[];
  readonly signatureProblems: string[];
  readonly sequence?: SequenceVerdict;
  readonly files: number;
  readonly bytes: number;
  /** Each file artifact: its hash checked against the manifest, its own signature checked, or not. */
  readonly fileArtifacts: FileArtifactCheck[];
  readonly images: Array<{ name: string; digest: string; verification: ImageVerification; pushedTo?: string; logged?: LoggedSignature[] }>;
  /** The connected side's audit checkpoint the package carried, and how it relates to the one kept. */
  readonly connectedAudit?: { readonly origin: string; readonly size: number; readonly verdict: AuditCarryCheck['verdict'] };
  readonly error?: AirlockError;
}

/**
 * The connected side's audit checkpoint: verified against the key and origin the signed metadata
 * names, and chained to the one kept from this channel's last package. A channel that carried one
 * and now does not is refused: dropping the checkpoint must not be a way around the chain.
 */
async function checkConnectedAudit(metadata: TransferMetadata, files: ReadonlyMap<string, PackageFile>, staging: string, kept: ChannelState | undefined, gapAllowed: boolean): Promise<AuditCarryCheck | undefined> {
  const present = [AUDIT_CHECKPOINT_NAME, AUDIT_KEY_NAME, AUDIT_CONSISTENCY_NAME].filter((n) => files.has(n));
  if (!metadata.audit) {
    if (present.length > 0) throw new AirlockError('E_PACKAGE_TAMPERED', `the package carries ${present.join(', ')}, which its metadata does not name`);
    if (kept?.audit) {
      throw new AirlockError('E_LOG_INCONSISTENT', `this channel has carried the connected side's audit checkpoint (${kept.audit.origin} at size ${kept.audit.size}); this package carries none`, {
        hint: 'pack with an airlock that carries the audit checkpoint, or start a new channel after confirming why out of band',
      });
    }
    return undefined;
  }
  const bytes = new Map(await Promise.all(present.map(async (n) => [n, await readFile(join(staging, n))] as const)));
  const check = verifyCarriedAudit(bytes, kept?.audit, gapAllowed);
  const named = metadata.audit;
  if (named.origin !== check.mark.origin || named.size !== check.mark.size || named.keyFingerprint !== check.mark.keyFingerprint) {
    throw new AirlockError('E_PACKAGE_TAMPERED', `the metadata names audit checkpoint ${named.origin} at size ${named.size}; ${AUDIT_DIR}/ holds ${check.mark.origin} at size ${check.mark.size}`);
  }
  return check;
}

async function verifySigners(headers: Map<string, Buffer>, manifest: Buffer, signers: Signers, now: Date, report: ImportReport): Promise<void> {
  const pgp = headers.get(PGP_SIGNATURE_NAME);
  // Signature files are not covered by the manifest (they sign it): anyone in transit can add one, so
  // an unreadable one is a problem to report, never the end of the check.
  if (pgp && signers.pgp) {
    try {
      const result = await verifyManifestSignatures(manifest, pgp, signers.pgp, { date: now });
      for (const s of result.signers) report.signers.push({ kind: 'openpgp', id: s.fingerprint, detail: s.userIds.join(', ') });
      for (const p of result.problems) report.signatureProblems.push(`openpgp ${p.keyId}: ${p.reason}`);
    } catch (err) {
      report.signatureProblems.push(`${PGP_SIGNATURE_NAME}: ${(err as Error).message}`);
    }
  } else if (pgp) report.signatureProblems.push('an OpenPGP signature is present but no --keyring was given');
  for (const [name, bytes] of headers) {
    if (name !== SIGSTORE_SIGNATURE_NAME && !SIGSTORE_APPROVAL.test(name)) continue;
    let matched = false;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
      if ((json as { messageSignature?: unknown })?.messageSignature === undefined) throw new Error('not a message-signature bundle');
    } catch (err) {
      report.signatureProblems.push(`${name}: ${(err as Error).message}`);
      continue;
    }
    for (const key of signers.keys) {
      const r = await verifyBlob({ bytes: manifest }, { json }, { trust: { kind: 'key', publicKey: key }, tlogThreshold: 0, timestampThreshold: 0 }).catch(
        (err: unknown) => ({ ok: false, error: err }) as const,
      );
      if (r.ok) {
        report.signers.push({ kind: 'sigstore-key', id: keyFingerprint(key), detail: name });
        matched = true;
        break;
      }
    }
    if (!matched) report.signatureProblems.push(`${name}: not a valid signature by any trusted key`);
  }
  const distinct = new Set(report.signers.map((s) => s.id));
  if (distinct.size === 0) {
    throw new AirlockError('E_SIGNERS', 'the manifest has no signature by a trusted signer', {
      hint: 'pass the signers\' public keys: --keyring FILE (OpenPGP) and/or --key REF (airlock/cosign)',
      details: { problems: report.signatureProblems },
    });
  }
  if (distinct.size < signers.required) {
    throw new AirlockError('E_SIGNERS', `the manifest is signed by ${distinct.size} trusted signer(s), ${signers.required} required`, {
      details: { signers: [...distinct], problems: report.signatureProblems },
    });
  }
}

/** Where an image lands: its own repository and tag for registry images; for layouts and archives, the name they carried. */
function destination(artifact: ImageArtifact, registry: NonNullable<ImportOptions['registry']>): string {
  const ref = parseImageReference(artifact.name);
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._/-]/g, '-').replace(/^[-._/]+|[-._/]+$/g, '') || 'image';
  let repo: string;
  let tag: string | undefined;
  if (ref.transport === 'docker') {
    repo = ref.repository;
    tag = ref.tag;
  } else if (ref.transport === 'docker-archive' && ref.name?.includes(':')) {
    repo = clean(ref.name.slice(0, ref.name.lastIndexOf(':')));
    tag = ref.name.slice(ref.name.lastIndexOf(':') + 1);
  } else {
    repo = clean(basename(ref.path).replace(/\.(tar|oci)$/, ''));
    tag = 'tag' in ref ? ref.tag : undefined;
  }
  const prefix = registry.prefix ? `${registry.prefix.replace(/\/+$/, '')}/` : '';
  return `${registry.host}/${prefix}${repo}${tag ? `:${tag}` : ''}`;
}

function authorityTrust(a: Authority, keys: ReadonlyMap<string, KeyObject>): VerifyBlobOptions['trust'] {
  if ('key' in a) {
    const publicKey = keys.get(a.key);
    if (!publicKey) throw new AirlockError('E_INTERNAL', `policy key ${a.key} was not loaded`);
    return { kind: 'key', publicKey };
  }
  return { kind: 'identity', policy: { identity: a.identity, issuer: a.issuer } };
}

/** Every requirement the policy sets for this image must be met by one of its entry's authorities. */
async function checkPolicy(layout: ImageStore, artifact: ImageArtifact, subject: Descriptor, loaded: LoadedPolicy, landsAt: string | undefined): Promise<ImageVerification> {
  const results: ImageVerification['results'][number][] = [];
  for (const req of requirementsFor(loaded.policy, landsAt ? [artifact.name, `docker://${landsAt}`] : artifact.name)) {
    let met = false;
    for (const authority of req.entry.authorities) {
      const v = await verifyImage(layout, subject, { ...loaded.base, trust: authorityTrust(authority, loaded.keys), ...(req.predicateType ? { predicateType: req.predicateType } : {}) });
      results.push(...v.results);
      if (v.ok) {
        met = true;
        break;
      }
    }
    if (!met) {
      const what = req.predicateType ? `a ${req.predicateType} attestation` : 'a signature';
      throw new AirlockError('E_POLICY_DENIED', `${artifact.name}: policy entry ${req.entry.glob} needs ${what} by one of its ${req.entry.authorities.length} authorities; none verified`);
    }
  }
  return { ok: true, digest: subject.digest, results };
}

/**
 * Where each image lands. Two images landing on one repository and tag would leave the tag to
 * whichever is pushed last, so a package like that is refused before anything is pushed.
 */
function destinations(metadata: TransferMetadata, registry: ImportOptions['registry']): Map<ImageArtifact, string> {
  const out = new Map<ImageArtifact, string>();
  if (!registry) return out;
  const seen = new Map<string, string>();
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image') continue;
    const where = destination(artifact, registry);
    const other = seen.get(where);
    if (other !== undefined) {
      throw new AirlockError('E_DESTINATION_CONFLICT', `${other} and ${artifact.name} would both land on ${where}`, {
        hint: 'pack them under distinct repository names or tags',
        details: { destination: where, images: [other, artifact.name] },
      });
    }
    seen.set(where, artifact.name);
    out.set(artifact, where);
  }
  return out;
}

async function verifyImages(layout: ImageStore, metadata: TransferMetadata, trust: VerifyBlobOptions | LoadedPolicy, landing: ReadonlyMap<ImageArtifact, string>, report: ImportReport): Promise<void> {
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image') continue;
    const subject = await layout.resolveTag(artifact.layoutTag);
    if (subject.digest !== artifact.digest) {
      throw new AirlockError('E_ARTIFACT_MISMATCH', `${artifact.name}: the layout holds ${subject.digest}, the metadata says ${artifact.digest}`);
    }
    if ('policy' in trust) {
      const verification = await checkPolicy(layout, artifact, subject, trust, landing.get(artifact));
      report.images.push({ name: artifact.name, digest: artifact.digest, verification });
      continue;
    }
    const verification = await verifyImage(layout, subject, trust);
    report.images.push({ name: artifact.name, digest: artifact.digest, verification });
    if (!verification.ok) {
      const reasons = verification.results.map((r) => `${r.where}: ${r.reason}`).join('; ') || 'no signature';
      throw new AirlockError('E_SIGNATURE_INVALID', `${artifact.name} (${artifact.digest}): no signature verified (${reasons})`);
    }
  }
}

/** Each destination opened once, shared by the layer streams and the push, closed at the end. */
class Destinations {
  readonly #opened = new Map<string, Promise<OpenedImage>>();
  readonly #registry: NonNullable<ImportOptions['registry']>;

  constructor(registry: NonNullable<ImportOptions['registry']>) {
    this.#registry = registry;
  }

  open(where: string): Promise<OpenedImage> {
    let opened = this.#opened.get(where);
    if (!opened) {
      opened = import('../oci/open-store.ts').then(({ openImage }) => openImage(where, 'write', this.#registry.options));
      this.#opened.set(where, opened);
    }
    return opened;
  }

  async registryStore(where: string): Promise<RegistryStore> {
    const { store } = await this.open(where);
    if (!('openUpload' in store)) throw new AirlockError('E_INTERNAL', `${where} is not a registry repository`);
    return store as RegistryStore;
  }

  async close(): Promise<void> {
    for (const opened of this.#opened.values()) await (await opened.catch(() => undefined))?.store.close();
  }
}

/**
 * Commits the layers already streamed to each destination, pushes every image by digest (what is
 * there already is skipped), then writes all tags: a failure half-way leaves no tag.
 */
async function pushImages(layout: ImageStore, metadata: TransferMetadata, destinations: Destinations, layers: LayerStreams | undefined, landing: ReadonlyMap<ImageArtifact, string>, report: ImportReport, onProgress?: (t: string) => void): Promise<void> {
  const pending: Array<{ store: ImageStore; digest: string; tag?: string; where: string }> = [];
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image') continue;
    const where = landing.get(artifact);
    if (where === undefined) throw new AirlockError('E_INTERNAL', `no destination for ${artifact.name}`);
    onProgress?.(`pushing ${artifact.name} → ${where}`);
    const dst = await destinations.open(where);
    await layers?.commit(where);
    const subject = await layout.resolveTag(artifact.layoutTag);
    await copyImage(layout, subject, dst.store, {});
    const tag = 'tag' in dst.ref ? dst.ref.tag : undefined;
    pending.push({ store: dst.store, digest: subject.digest, where, ...(tag ? { tag } : {}) });
    const entry = report.images.find((i) => i.digest === artifact.digest && i.name === artifact.name);
    if (entry) entry.pushedTo = where;
  }
  for (const p of pending) if (p.tag) await p.store.putManifest(await p.store.getManifest(p.digest), p.tag);
}

/** Streams image layers past staging: into upload sessions for an import, nowhere for an inspection. */
function layerStreams(metadata: TransferMetadata, staging: string, registry: ImportOptions['registry'], dests: Destinations | undefined): LayerStreams | undefined {
  let landing: Map<ImageArtifact, string>;
  try {
    landing = destinations(metadata, registry);
  } catch {
    return undefined; // conflicting destinations are refused after the read, with the report filled in
  }
  const images = metadata.artifacts.filter((a): a is ImageArtifact => a.kind === 'image').map((artifact) => ({ artifact, ...(landing.has(artifact) ? { where: landing.get(artifact) } : {}) }));
  if (images.length === 0) return undefined;
  const keep = new Set(metadata.artifacts.flatMap((a) => (a.kind === 'file' ? [a.path, ...(a.bundle ? [a.bundle] : [])] : [])));
  return new LayerStreams({ layoutDir: join(staging, LAYOUT_DIR), layoutPath: LAYOUT_DIR, images, keep, ...(dests ? { open: (where: string) => dests.registryStore(where) } : {}) });
}

export async function importTransfer(options: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = { ok: false, signers: [], signatureProblems: [], files: 0, bytes: 0, fileArtifacts: [], images: [] };
  const staging = await mkdtemp(join(tmpdir(), 'airlock-import-'));
  let metadata: TransferMetadata | undefined;
  let manifestDigest: string | undefined;
  let lock: HeldLock | undefined;
  let kept: ChannelState | undefined;
  const dests = options.registry ? new Destinations(options.registry) : undefined;
  let layers: LayerStreams | undefined;
  // One event per package decision, listing each check that led to it.
  const record = (result: 'ok' | 'refused' | 'failed', reason?: string) =>
    options.record?.({
      action: options.registry ? 'transfer.import' : 'transfer.inspect',
      result,
      subjects: [{ name: options.source, ...(manifestDigest ? { digest: manifestDigest } : {}) }, ...report.images.map((i) => ({ name: i.name, digest: i.digest }))],
      ...(reason ? { reason } : {}),
      details: {
        channel: metadata?.sequence.channel ?? null,
        sequence: report.sequence ?? null,
        signers: report.signers.map((s) => `${s.kind} ${s.id}`),
        signatureProblems: report.signatureProblems,
        connectedAudit: report.connectedAudit ?? null,
        files: { verified: report.files, bytes: report.bytes },
        fileArtifacts: report.fileArtifacts.map((f) => ({ path: f.path, signature: f.signature })),
        images: report.images.map((i) => ({ name: i.name, digest: i.digest, signaturesVerified: i.verification.results.filter((r) => r.ok).length, ...(i.pushedTo ? { pushedTo: i.pushedTo } : {}), ...(i.logged ? { logged: i.logged } : {}) })),
      },
    });
  try {
    const logKey = loggingKey(options);
    await stat(options.source).catch((err: unknown) => {
      throw fromFsError(err, options.source);
    });
    const read = await readPackage(options.source, {
      headerNames: HEADER_NAMES,
      stagingDir: staging,
      onProgress: (bytes) => options.onProgress?.(`verifying payload: ${(bytes / 2 ** 20).toFixed(0)} MiB`),
      divert: (path, size, sha256) => layers?.divert(path, size, sha256) ?? Promise.resolve(undefined),
      acceptHeaders: async (headers) => {
        const manifest = headers.get(MANIFEST_NAME);
        const meta = headers.get(METADATA_NAME);
        if (!manifest || !meta) throw new AirlockError('E_INPUT_MALFORMED', `the package does not start with ${METADATA_NAME} and ${MANIFEST_NAME}`);
        manifestDigest = `sha256:${digestBytes(manifest).hex}`;
        const entries = parseManifest(manifest);
        await verifySigners(headers, manifest, options.signers, options.now, report);
        // The metadata is trusted only through the signed manifest.
        if (entries.get(METADATA_NAME) !== digestBytes(meta).hex) {
          throw new AirlockError('E_PACKAGE_TAMPERED', `${METADATA_NAME} is not covered by the signed manifest (missing or different hash)`);
        }
        metadata = parseMetadata(meta);
        if (options.registry) lock = await lockChannel(options.stateDir, 'in', metadata.sequence.channel);
        const last = await readChannel(options.stateDir, 'in', metadata.sequence.channel);
        kept = last;
        Object.assign(report, { metadata, manifest: manifestDigest, sequence: checkSequence(metadata.sequence, manifestDigest, last, options.allowGap) });
        layers = layerStreams(metadata, staging, options.registry, dests);
        entries.delete(METADATA_NAME);
        return entries;
      },
    }).catch((err: unknown) => {
      // The registry failing under a streamed layer says nothing about the package.
      if (err instanceof LayerUploadError) throw err.cause;
      // Past the headers, anything wrong with the package's contents is a verdict about the package.
      if (err instanceof AirlockError && metadata && ['E_DIGEST_MISMATCH', 'E_INPUT_MALFORMED', 'E_INPUT_MISSING'].includes(err.code)) {
        throw new AirlockError('E_PACKAGE_TAMPERED', err.message, { cause: err, details: { cause: err.code, ...(err.details ?? {}) } });
      }
      throw err;
    });
    Object.assign(report, { files: read.files.size, bytes: [...read.files.values()].reduce((n, f) => n + f.size, 0) });
    if (!metadata || !manifestDigest) throw new AirlockError('E_INTERNAL', 'headers were not accepted');
    report.fileArtifacts.push(...(await checkFileArtifacts(metadata, read.files, staging, options.signers.keys)));
    const audit = await checkConnectedAudit(metadata, read.files, staging, kept, report.sequence?.kind === 'gap-allowed');
    if (audit) Object.assign(report, { connectedAudit: { origin: audit.mark.origin, size: audit.mark.size, verdict: audit.verdict } });
    const { openLayoutStore } = await import('../oci/layout/layout-store.ts');
    const hasImages = metadata.artifacts.some((a) => a.kind === 'image');
    const layout = hasImages ? await openLayoutStore(join(staging, LAYOUT_DIR), {}) : undefined;
    try {
      const landing = destinations(metadata, options.registry);
      if (layout) await verifyImages(layout, metadata, options.imageTrust, landing, report);
      if (layout && logKey && options.rekor) await logImages(layout, report, options.rekor, logKey, options.now, options.onProgress);
      if (dests && layout) await pushImages(layout, metadata, dests, layers, landing, report, options.onProgress);
    } finally {
      await layout?.close();
    }
    if (options.registry) {
      const seq = metadata.sequence;
      await writeChannel(options.stateDir, 'in', seq.channel, { number: seq.number, manifest: manifestDigest, at: options.now.toISOString(), packageId: metadata.packageId, ...(audit ? { audit: { ...audit.mark, checkpoint: audit.checkpoint, ...(audit.verdict.kind === 'unchained' && kept?.audit ? { unchainedFrom: { ...kept.audit, unchainedFrom: undefined } } : {}) } } : {}) });
    }
    try {
      await record('ok');
    } catch (err) {
      // The import happened; that it cannot be recorded is no verdict about the package (never exit
      // 1, never a "refused" report) and must not pass as a recorded success (never exit 0).
      const why = err instanceof Error ? err.message : String(err);
      const done = options.registry ? 'the import completed (images pushed, channel moved)' : 'the inspection completed';
      throw new AirlockError('E_IO', `${done} but its audit event could not be recorded: ${why}`, {
        cause: err,
        hint: 'airlock audit verify says what is wrong with the audit log; record this import by hand until it is fixed',
      });
    }
    Object.assign(report, { ok: true });
    return report;
  } catch (err) {
    const error = err instanceof AirlockError ? err : new AirlockError('E_INTERNAL', (err as Error).message, { cause: err });
    await record(error.exitCode === 1 ? 'refused' : 'failed', `${error.code}: ${error.message}`)?.catch(() => undefined);
    Object.assign(report, { error });
    if (error.exitCode !== 1) throw error;
    return report;
  } finally {
    await layers?.cancel();
    await dests?.close();
    await lock?.release();
    await rm(staging, { recursive: true, force: true });
  }
}
