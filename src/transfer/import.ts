// `airlock import` / `airlock inspect` (air-gapped side), as named stages over one streaming pass:
//   1. headers — signers (at least K distinct people or teams), the metadata covered by the signed
//      manifest, the channel accepted here, the package's age, its place on the channel (no replay,
//      fork or gap), where its images land and that the channel may write there — before any payload byte;
//   2. payload — every entry listed, a plain file at a safe path, hashing to its listed value, none
//      missing; file artifacts' own signatures; the connected side's audit checkpoint; the SBOM and
//      scan documents recomputed;
//   3. images — every image's signatures verified offline (verify's trust, or an image policy);
//   4. publish (import only) — on-prem log entries, images pushed by digest, then the tags, their
//      owners and the channel state, each only after its audit record is durable (import-publish.ts);
//   5. commit — the completion recorded, the journal dropped.
// Any failure before 4 moves nothing. A failure inside 4 leaves a journal the next run finishes.
// Every decision is recorded; a decision that cannot be recorded has no effect.
import type { HttpTransport } from '../net/http/transport.ts';
import type { KeyObject } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Recorder, recordBeforeEffect } from '../recorder.ts';
import { digestBytes } from '../crypto/digest.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError, fromFsError } from '../errors.ts';
import { makeDirs } from '../files/state-dir.ts';
import type { HeldLock } from '../files/lock-file.ts';
import type { NoteVerifier } from '../log/note.ts';
import type { ImageStore } from '../oci/types.ts';
import { bounded } from '../text.ts';
import { checkDocuments } from './attachments.ts';
import {
  AUDIT_CHECKPOINT_NAME,
  AUDIT_CONSISTENCY_NAME,
  AUDIT_DIR,
  AUDIT_KEY_NAME,
  type AuditCarryCheck,
  verifyCarriedAudit,
} from './audit-carry.ts';
import { type AcceptedChannels, acceptChannel, checkAge, checkRepository, DEFAULT_MAX_AGE_MS } from './channels.ts';
import { type Landing, landings, OpenDestinations, type TargetRegistry } from './destinations.ts';
import {
  type CarriedVulnDbContext,
  type CarriedVulnDbOptions,
  checkCarriedVulnDbs,
  installCarriedVulnDbs,
} from './carried-vulndb.ts';
import { checkFileArtifacts } from './file-artifacts.ts';
import {
  HEADER_NAMES,
  type ImageArtifact,
  MANIFEST_NAME,
  METADATA_NAME,
  parseManifest,
  parseMetadata,
  type TransferMetadata,
} from './format.ts';
import { checkImageTrust, type ImageTrust } from './image-trust.ts';
import { listPending, readPending, removePending } from './import-journal.ts';
import { LayerStreams, LayerUploadError } from './import-layers.ts';
import { finishPending, type IntentLookup, moveTags, planTagMoves, pushImages } from './import-publish.ts';
import { type ImportReport, ReportDraft } from './import-report.ts';
import type { LoggedSignature, VerifiedBy } from './log-imported.ts';
import type { PackageFile } from './package/admit.ts';
import { readPackage } from './package/read-package.ts';
import { LAYOUT_DIR } from './pack.ts';
import { type ChannelState, checkSequence, lockChannel, readChannel, type SequenceVerdict } from './sequence.ts';
import { checkManifestSignatures, requireSigners, type Signers } from './signers.ts';
import type { ProgressSink } from './progress.ts';
import { makeStaging } from './staging-dir.ts';
import { checkTagOwners, ownedTag, readTagOwners } from './tag-owners.ts';

export type { ImportReport } from './import-report.ts';
export type { LoadedPolicy } from './image-trust.ts';

export interface ImportOptions {
  readonly source: string;
  readonly signers: Signers;
  /** Image trust: one trust for every image (verify's flags), or a policy per image name. */
  readonly imageTrust: ImageTrust;
  readonly allowGap: boolean;
  /**
   * The channels this side accepts. Required to import; for inspect, absent means not checked (and the report says so).
   */
  readonly channels?: AcceptedChannels;
  /** Overrides the channel's maximum package age for this run (import --max-age). */
  readonly maxAgeMs?: number;
  readonly stateDir: string;
  readonly now: Date;
  /** Absent for `inspect`: nothing is pushed and no state moves. */
  readonly registry?: TargetRegistry;
  /**
   * inspect: where the images would land, so destinations, the channel's repositories and tag owners are checked as
   * import will.
   */
  readonly landsOn?: TargetRegistry;
  readonly onProgress?: ProgressSink;
  /** Records each decision and intent (the audit trail); nothing is recorded without it. */
  readonly record?: Recorder;
  /** With a registry: append each verified image signature to this on-prem log and attach the bundle with its entry. */
  readonly rekor?: {
    readonly url: string;
    readonly logVerifier: NoteVerifier;
    readonly timeoutMs?: number;
    readonly transport?: HttpTransport;
  };
  /** The id this import carries in the audit trail (a fresh UUID by default). */
  readonly importId: string;
  /** Once every check has passed, each image's SBOM and scan documents are written here (LAYOUT-TAG.sbom.json, …). */
  readonly documentsOut?: string;
  /**
   * The intents the audit trail holds for an import id: an import left half-way is finished only when its journal
   * matches one.
   */
  readonly intents?: IntentLookup;
  /** Carried vulnerability databases: the keys they must be signed by, the install name and freshness. */
  readonly vulndb?: CarriedVulnDbOptions;
}

/** What the headers stage decided, handed to the stages after it. */
interface Headers {
  readonly manifest: string;
  readonly metadata: TransferMetadata;
  readonly sequence: SequenceVerdict;
  readonly kept: ChannelState | undefined;
  readonly landings: ReadonlyMap<ImageArtifact, Landing>;
}

/** Resources a run holds, released in one place whatever happens. */
interface Held {
  lock?: HeldLock;
  dests?: OpenDestinations;
  layers?: LayerStreams;
  layout?: ImageStore;
  staging?: string;
}

/** --rekor-url logs what an import pushes: refused before anything is read when nothing would be pushed. */
function checkLogging(options: ImportOptions): void {
  if (options.rekor && !options.registry)
    throw new AirlockError('E_USAGE', '--rekor-url logs what an import pushes: it needs --registry');
}

// ── stage 1: headers ───────────────────────────────────────────────────────────────────────────────

async function checkSigners(
  headers: Map<string, Buffer>,
  manifest: Buffer,
  options: ImportOptions,
  draft: ReportDraft,
): Promise<void> {
  const check = await checkManifestSignatures(headers, manifest, options.signers, options.now);
  draft.add('signers', ...check.signers);
  draft.add('signatureProblems', ...check.problems);
  requireSigners(check, options.signers.required);
}

/**
 * The channel is accepted here (or, for inspect without --channel, said not to be checked) and the package is fresh.
 */
function checkChannel(metadata: TransferMetadata, options: ImportOptions, draft: ReportDraft) {
  const name = metadata.sequence.channel;
  const rule = options.channels ? acceptChannel(options.channels, name) : undefined;
  draft.set('channel', {
    name,
    accepted: options.channels
      ? `accepted by ${bounded(options.channels.source)}`
      : 'not checked: no --channel or --channels given',
  });
  const maxAgeMs = options.maxAgeMs ?? rule?.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const source =
    options.maxAgeMs !== undefined ? '--max-age' : rule?.maxAgeMs !== undefined ? 'the channels file' : 'the default';
  draft.set('channel', {
    ...(draft.view.channel ?? { name, accepted: '' }),
    maxAge: `${Math.round(maxAgeMs / 3600e3)}h (${source})`,
  });
  checkAge(metadata.createdAt, options.now, maxAgeMs);
  return rule;
}

/** An import left half-way on this channel is finished before this one goes on (the channel lock is held). */
async function finishEarlierImport(channel: string, options: ImportOptions, draft: ReportDraft): Promise<void> {
  const pending = await readPending(options.stateDir, channel);
  if (!pending) return;
  const registry = options.registry;
  if (!registry || !options.record) return; // inspect: listed among the pending imports already
  if (!options.intents)
    throw new AirlockError(
      'E_IMPORT_INCOMPLETE',
      `an earlier import on channel ${channel} stopped half-way, and without the audit trail its ` +
        `record cannot be checked`,
      { hint: 'run airlock import (the CLI), which checks the record against the audit trail' },
    );
  if (pending.registry !== registry.host) {
    throw new AirlockError(
      'E_IMPORT_INCOMPLETE',
      `an earlier import on channel ${channel} (package #${pending.number}) stopped half-way on ` +
        `${pending.registry}; finish it first`,
      {
        hint: `airlock import --recover --registry ${pending.registry} (with that registry's credentials)`,
        details: { importId: pending.importId, registry: pending.registry },
      },
    );
  }
  options.onProgress?.({
    step: `finishing the import of package #${pending.number} on ${channel}, which stopped half-way`,
  });
  if ((await finishPending(options.stateDir, pending, registry, options.record, options.intents)) === 'finished')
    draft.add('recovered', pending.importId);
}

async function acceptHeaders(
  headers: Map<string, Buffer>,
  options: ImportOptions,
  draft: ReportDraft,
  held: Held,
): Promise<{ headers: Headers; entries: Map<string, string> }> {
  const manifestBytes = headers.get(MANIFEST_NAME);
  const meta = headers.get(METADATA_NAME);
  if (!manifestBytes || !meta)
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `the package does not start with ${METADATA_NAME} and ${MANIFEST_NAME}`,
    );
  const manifest = `sha256:${digestBytes(manifestBytes).hex}`;
  draft.set('manifest', manifest);
  const entries = parseManifest(manifestBytes);
  await checkSigners(headers, manifestBytes, options, draft);
  // The metadata is trusted only through the signed manifest.
  if (entries.get(METADATA_NAME) !== digestBytes(meta).hex)
    throw new AirlockError(
      'E_PACKAGE_TAMPERED',
      `${METADATA_NAME} is not covered by the signed manifest (missing or different hash)`,
    );
  const metadata = parseMetadata(meta);
  draft.set('metadata', metadata);
  const rule = checkChannel(metadata, options, draft);
  const channel = metadata.sequence.channel;
  if (options.registry) held.lock = await lockChannel(options.stateDir, 'in', channel);
  await finishEarlierImport(channel, options, draft);
  const kept = await readChannel(options.stateDir, 'in', channel);
  const sequence = checkSequence(metadata.sequence, manifest, kept, options.allowGap);
  draft.set('sequence', sequence);
  const target = options.registry ?? options.landsOn;
  // Without a registry (inspect), destinations are still validated and checked for conflicts.
  const where = target ? landings(metadata, target) : new Map<ImageArtifact, Landing>();
  if (!target) landings(metadata, { host: 'registry.invalid', options: {} });
  if (target) {
    if (rule && options.channels)
      for (const l of where.values()) checkRepository(rule, l.repository, options.channels.source);
    checkTagOwners(
      await readTagOwners(options.stateDir),
      channel,
      [...where.values()].flatMap((l) => (l.tag ? [ownedTag(l.repository, l.tag)] : [])),
    );
  } else if (rule?.repositories) {
    draft.set('channel', {
      ...(draft.view.channel ?? { name: channel, accepted: '' }),
      repositories: 'not checked: give --registry HOST[/PREFIX] to check where the images would land',
    });
  }
  entries.delete(METADATA_NAME);
  return { headers: { manifest, metadata, sequence, kept, landings: where }, entries };
}

/** Streams image layers past staging: into upload sessions for an import, nowhere for an inspection. */
function layerStreams(
  metadata: TransferMetadata,
  where: ReadonlyMap<ImageArtifact, Landing>,
  staging: string,
  dests: OpenDestinations | undefined,
): LayerStreams | undefined {
  const images = metadata.artifacts
    .filter((a): a is ImageArtifact => a.kind === 'image')
    .map((artifact) => ({ artifact, ...(where.has(artifact) ? { where: where.get(artifact)?.reference } : {}) }));
  if (images.length === 0) return undefined;
  const keep = new Set(
    metadata.artifacts.flatMap((a) => (a.kind === 'file' ? [a.path, ...(a.bundle ? [a.bundle] : [])] : [])),
  );
  return new LayerStreams({
    layoutDir: join(staging, LAYOUT_DIR),
    layoutPath: LAYOUT_DIR,
    images,
    keep,
    ...(dests ? { open: (w: string) => dests.registryStore(w) } : {}),
  });
}

// ── stage 2: payload ───────────────────────────────────────────────────────────────────────────────

/** Reads the package: stage 1 on its headers, then every payload file verified against the manifest. */
async function readAndVerify(
  options: ImportOptions,
  draft: ReportDraft,
  held: Held,
  staging: string,
): Promise<{ headers: Headers; files: ReadonlyMap<string, PackageFile> }> {
  let accepted: Headers | undefined;
  const total = (await stat(options.source)).size;
  const read = await readPackage(options.source, {
    headerNames: HEADER_NAMES,
    stagingDir: staging,
    onProgress: (bytes) => options.onProgress?.({ step: 'verifying the payload', bytes: { done: bytes, total } }),
    divert: (path, size, sha256) => held.layers?.divert(path, size, sha256) ?? Promise.resolve(undefined),
    acceptHeaders: async (headers) => {
      const result = await acceptHeaders(headers, options, draft, held);
      accepted = result.headers;
      held.layers = layerStreams(result.headers.metadata, result.headers.landings, staging, held.dests);
      return result.entries;
    },
  }).catch((err: unknown) => {
    // The registry failing under a streamed layer says nothing about the package.
    if (err instanceof LayerUploadError) throw err.cause;
    // Past the headers, anything wrong with the package's contents is a verdict about the package.
    if (
      err instanceof AirlockError &&
      accepted &&
      ['E_DIGEST_MISMATCH', 'E_INPUT_MALFORMED', 'E_INPUT_MISSING'].includes(err.code)
    ) {
      throw new AirlockError('E_PACKAGE_TAMPERED', err.message, {
        cause: err,
        details: { cause: err.code, ...(err.details ?? {}) },
      });
    }
    throw err;
  });
  if (!accepted) throw new AirlockError('E_INTERNAL', 'headers were not accepted');
  draft.set('files', read.files.size);
  draft.set(
    'bytes',
    [...read.files.values()].reduce((n, f) => n + f.size, 0),
  );
  return { headers: accepted, files: read.files };
}

/**
 * The connected side's audit checkpoint: verified against the key and origin the signed metadata
 * names, and chained to the one kept from this channel's last package. A channel that carried one
 * and now does not is refused: dropping the checkpoint must not be a way around the chain.
 */
async function checkConnectedAudit(
  h: Headers,
  files: ReadonlyMap<string, PackageFile>,
  staging: string,
): Promise<AuditCarryCheck | undefined> {
  const present = [AUDIT_CHECKPOINT_NAME, AUDIT_KEY_NAME, AUDIT_CONSISTENCY_NAME].filter((n) => files.has(n));
  const { metadata, kept } = h;
  if (!metadata.audit) {
    if (present.length > 0)
      throw new AirlockError(
        'E_PACKAGE_TAMPERED',
        `the package carries ${present.join(', ')}, which its metadata does not name`,
      );
    if (kept?.audit) {
      throw new AirlockError(
        'E_LOG_INCONSISTENT',
        `this channel has carried the connected side's audit checkpoint (${kept.audit.origin} at ` +
          `size ${kept.audit.size}); this package carries none`,
        {
          hint:
            'pack with an airlock that carries the audit checkpoint, or start a new channel after ' +
            'confirming why out of band',
        },
      );
    }
    return undefined;
  }
  const bytes = new Map(await Promise.all(present.map(async (n) => [n, await readFile(join(staging, n))] as const)));
  const check = verifyCarriedAudit(bytes, kept?.audit, h.sequence.kind === 'gap-allowed');
  const named = metadata.audit;
  if (
    named.origin !== check.mark.origin ||
    named.size !== check.mark.size ||
    named.keyFingerprint !== check.mark.keyFingerprint
  ) {
    throw new AirlockError(
      'E_PACKAGE_TAMPERED',
      `the metadata names audit checkpoint ${bounded(named.origin, 120)} at size ${named.size}; ` +
        `${AUDIT_DIR}/ holds ${check.mark.origin} at size ${check.mark.size}`,
    );
  }
  return check;
}

/** What the carried databases are checked and installed with: this import's options and its signers. */
function carriedContext(metadata: TransferMetadata, staging: string, options: ImportOptions): CarriedVulnDbContext {
  const { vulndb, stateDir, now } = options;
  return { metadata, staging, options: vulndb, signerKeys: signerKeys(options), stateDir, now };
}

/** Once the images are published: each one's SBOM kept for rescans inside (never fails the import). */
async function keepSboms(h: Headers, held: Held, options: ImportOptions): Promise<string[]> {
  const { keepImportedSboms } = await import('./imported-sboms.ts');
  const dests = held.dests;
  if (!dests) return [];
  return keepImportedSboms({
    stateDir: options.stateDir,
    importId: options.importId,
    now: options.now,
    images: [...h.landings].map(([a, l]) => ({
      name: a.name,
      reference: l.reference,
      digest: a.digest,
      ...(a.sbom?.document && held.staging ? { carried: join(held.staging, a.sbom.document) } : {}),
    })),
    ...(held.layout ? { layout: held.layout } : {}),
    destination: async (reference) => (await dests.open(reference)).store,
  });
}

/** The keys of the people whose signatures the package's manifest carries. */
function signerKeys(options: ImportOptions): KeyObject[] {
  return options.signers.signers.flatMap((s) => s.keys);
}

async function checkPayload(
  h: Headers,
  files: ReadonlyMap<string, PackageFile>,
  staging: string,
  options: ImportOptions,
  draft: ReportDraft,
  held: Held,
): Promise<AuditCarryCheck | undefined> {
  draft.add(
    'fileArtifacts',
    ...(await checkFileArtifacts(h.metadata, files, staging, signerKeys(options), options.now)),
  );
  await checkCarriedVulnDbs(carriedContext(h.metadata, staging, options));
  const audit = await checkConnectedAudit(h, files, staging);
  if (audit) draft.set('connectedAudit', { origin: audit.mark.origin, size: audit.mark.size, verdict: audit.verdict });
  if (h.metadata.artifacts.some((a) => a.kind === 'image')) {
    const { openLayoutStore } = await import('../oci/layout/layout-store.ts');
    held.layout = await openLayoutStore(join(staging, LAYOUT_DIR), {});
  }
  draft.add('documents', ...(await checkDocuments(h.metadata, files, staging, held.layout)));
  return audit;
}

// ── stage 3: images ────────────────────────────────────────────────────────────────────────────────

async function checkImages(h: Headers, layout: ImageStore, options: ImportOptions, draft: ReportDraft): Promise<void> {
  for (const artifact of h.metadata.artifacts) {
    if (artifact.kind !== 'image') continue;
    const subject = await layout.resolveTag(artifact.layoutTag);
    if (subject.digest !== artifact.digest) {
      throw new AirlockError(
        'E_ARTIFACT_MISMATCH',
        `${bounded(artifact.name, 160)}: the layout holds ${subject.digest}, the metadata says ${artifact.digest}`,
      );
    }
    const landsAt = h.landings.get(artifact);
    // A policy sees both names, so a name chosen on the connected side never escapes the entry guarding a repository
    // here.
    const names = landsAt ? [artifact.name, `docker://${landsAt.reference}`] : [artifact.name];
    const { verification, denial } = await checkImageTrust(layout, names, subject, options.imageTrust);
    draft.image({
      name: artifact.name,
      digest: artifact.digest,
      verification,
      ...(landsAt ? { landsAt: landsAt.reference } : {}),
    });
    if (denial) throw denial;
  }
}

/** The SBOM and scan documents, verified through the signed manifest and checked against their images, written out. */
async function writeDocuments(metadata: TransferMetadata, staging: string, out: string): Promise<void> {
  const { copyFile } = await import('node:fs/promises');
  await makeDirs(out, 0o755);
  for (const a of metadata.artifacts) {
    if (a.kind !== 'image') continue;
    const scans = (a.vulnerabilityScan?.documents ?? []).map(
      (d, n) => [d, n === 0 ? 'vulnerability-scan.json' : `vulnerability-scan-${n + 1}.json`] as const,
    );
    for (const [doc, suffix] of [[a.sbom?.document, 'sbom.json'] as const, ...scans]) {
      if (doc === undefined) continue;
      const target = join(out, `${a.layoutTag}.${suffix}`);
      await copyFile(join(staging, doc), target).catch((err: unknown) => {
        throw fromFsError(err, target, 'write');
      });
    }
  }
}

// ── stage 4: publish ───────────────────────────────────────────────────────────────────────────────

/** What an entry's verifier is, for the record: the key's fingerprint, or the signature's own certificate. */
function describeVerifier(by: VerifiedBy): string {
  return by.kind === 'key' ? `key ${keyFingerprint(by.publicKey)}` : `certificate of ${bounded(by.identity ?? '?')}`;
}

/** Appends every verified signature to the on-prem log, after recording that it will (write-ahead). */
async function logSignatures(
  layout: ImageStore,
  options: ImportOptions,
  draft: ReportDraft,
  record: Recorder,
): Promise<void> {
  const rekor = options.rekor;
  if (!rekor) return;
  const { logImportedSignatures, verifiedReferrers } = await import('./log-imported.ts');
  // Each signature is logged under what verified it: a key (--key, a policy's key) or its certificate.
  const toLog = draft.view.images.map((i) => ({
    image: i,
    referrers: verifiedReferrers(i.verification.results, options.imageTrust),
  }));
  await recordBeforeEffect(
    record,
    {
      action: 'transfer.import.log',
      result: 'ok',
      subjects: toLog.map((t) => ({ name: t.image.name, digest: t.image.digest })),
      details: {
        importId: draft.view.importId,
        phase: 'intent',
        log: rekor.url,
        referrers: toLog.flatMap((t) => t.referrers.map((r) => r.referrer)),
        verifiers: toLog.flatMap((t) => t.referrers.map((r) => describeVerifier(r.verifiedBy))),
      },
    },
    'logging the signatures in the on-prem log',
  );
  for (const { image, referrers } of toLog) {
    options.onProgress?.({ step: `logging the signatures of ${image.name} in ${rekor.url}` });
    const logged: LoggedSignature[] = await logImportedSignatures(layout, image.digest, referrers, {
      url: rekor.url,
      logVerifier: rekor.logVerifier,
      now: options.now,
      ...(rekor.transport ? { transport: rekor.transport } : {}),
      ...(rekor.timeoutMs ? { timeoutMs: rekor.timeoutMs } : {}),
    });
    draft.updateImage(image.name, { logged });
  }
}

/** The channel state this import leaves, with the audit checkpoint it carried. */
function nextChannelState(h: Headers, audit: AuditCarryCheck | undefined, options: ImportOptions): ChannelState {
  const seq = h.metadata.sequence;
  const kept = h.kept;
  return {
    number: seq.number,
    manifest: h.manifest,
    at: options.now.toISOString(),
    packageId: h.metadata.packageId,
    ...(audit
      ? {
          audit: {
            ...audit.mark,
            checkpoint: audit.checkpoint,
            ...(audit.verdict.kind === 'unchained' && kept?.audit
              ? { unchainedFrom: { ...kept.audit, unchainedFrom: undefined } }
              : {}),
          },
        }
      : {}),
  };
}

async function publish(
  h: Headers,
  audit: AuditCarryCheck | undefined,
  options: ImportOptions,
  draft: ReportDraft,
  held: Held,
  record: Recorder,
): Promise<void> {
  const registry = options.registry;
  if (!registry || !held.dests) return;
  if (held.layout && options.rekor) await logSignatures(held.layout, options, draft, record);
  const pushed = held.layout
    ? await pushImages(held.layout, h.metadata, held.dests, held.layers, h.landings, options.onProgress)
    : [];
  for (const p of pushed) draft.updateImage(p.name, { pushedTo: p.reference });
  const tags = await planTagMoves(pushed, h.landings, held.dests);
  draft.set('tags', tags);
  if (h.sequence.kind === 'same-package' && tags.every((t) => t.from === t.to)) return; // a re-run: nothing moves
  const seq = h.metadata.sequence;
  options.onProgress?.({ step: `moving ${tags.length} tag(s)` });
  const images = pushed.map(({ name, reference, digest }) => ({ name, reference, digest }));
  const legacy = pushed.flatMap((p) => p.legacy.map((l) => l.digest));
  await moveTags(
    options.stateDir,
    {
      importId: draft.view.importId,
      channel: seq.channel,
      source: options.source,
      manifest: h.manifest,
      number: seq.number,
      registry: registry.host,
      images,
      pushed: legacy,
      tags,
      channelState: nextChannelState(h, audit, options),
      startedAt: options.now.toISOString(),
    },
    held.dests,
    record,
  );
}

// ── stage 5: commit, and the record of every outcome ──────────────────────────────────────────────

function decisionDetails(draft: ReportDraft) {
  const r = draft.view;
  return {
    importId: r.importId,
    channel: r.metadata?.sequence.channel ?? null,
    channelAccepted: r.channel?.accepted ?? null,
    createdAt: r.metadata?.createdAt ?? null,
    maxAge: r.channel?.maxAge ?? null,
    sequence: r.sequence ?? null,
    signers: r.signers.map((s) => `${s.signer}: ${s.kind} ${s.id}`),
    signatureProblems: r.signatureProblems,
    connectedAudit: r.connectedAudit ?? null,
    files: { verified: r.files, bytes: r.bytes },
    fileArtifacts: r.fileArtifacts.map((f) => ({ path: f.path, signature: f.signature })),
    documents: r.documents,
    images: r.images.map((i) => ({
      name: i.name,
      digest: i.digest,
      signaturesVerified: i.verification.results.filter((x) => x.ok).length,
      ...(i.pushedTo ? { pushedTo: i.pushedTo } : {}),
      ...(i.logged ? { logged: i.logged } : {}),
    })),
    ...(r.tags ? { tags: r.tags.map((t) => ({ tag: t.reference, from: t.from, to: t.to })) } : {}),
    ...(r.recovered.length ? { recovered: r.recovered } : {}),
  };
}

function recordDecision(
  options: ImportOptions,
  draft: ReportDraft,
  result: 'ok' | 'refused' | 'failed',
  reason?: string,
): Promise<void> | undefined {
  const r = draft.view;
  return options.record?.({
    action: options.registry ? 'transfer.import' : 'transfer.inspect',
    result,
    subjects: [
      { name: options.source, ...(r.manifest ? { digest: r.manifest } : {}) },
      ...r.images.map((i) => ({ name: i.name, digest: i.digest })),
    ],
    ...(reason ? { reason } : {}),
    details: decisionDetails(draft),
  });
}

/** The recorder an import's intents go to: without one (a library caller), nothing is recorded. */
const NO_RECORD: Recorder = async () => undefined;

export async function importTransfer(options: ImportOptions): Promise<ImportReport> {
  const draft = new ReportDraft(options.importId);
  const held: Held = {};
  let publishing = false;
  try {
    checkLogging(options);
    await stat(options.source).catch((err: unknown) => {
      throw fromFsError(err, options.source);
    });
    if (options.registry) held.dests = new OpenDestinations(options.registry);
    held.staging = await makeStaging(options.stateDir, options.registry ? 'import' : 'inspect');
    for (const p of await listPending(options.stateDir))
      draft.add('pendingElsewhere', `${p.importId} (channel ${p.channel}, package #${p.number})`);
    const { headers, files } = await readAndVerify(options, draft, held, held.staging);
    const audit = await checkPayload(headers, files, held.staging, options, draft, held);
    if (held.layout) await checkImages(headers, held.layout, options, draft);
    if (options.documentsOut) await writeDocuments(headers.metadata, held.staging, options.documentsOut);
    const record = options.record ?? NO_RECORD;
    publishing = true; // from here on, a failure may leave a journal to finish
    await publish(headers, audit, options, draft, held, record);
    if (options.registry) {
      const carried = carriedContext(headers.metadata, held.staging ?? '', options);
      draft.add('vulnDbs', ...(await installCarriedVulnDbs(carried, record)));
    }
    if (options.registry) draft.add('warnings', ...(await keepSboms(headers, held, options)));
    // The completion: once recorded, the journal has done its work.
    await recordDecision(options, draft, 'ok');
    if (options.registry) await removePending(options.stateDir, headers.metadata.sequence.channel);
    return draft.done(true);
  } catch (err) {
    const error =
      err instanceof AirlockError ? err : new AirlockError('E_INTERNAL', (err as Error).message, { cause: err });
    const incomplete =
      publishing &&
      options.registry &&
      (await readPending(options.stateDir, draft.view.metadata?.sequence.channel ?? '').catch(() => undefined));
    const reported = incomplete
      ? new AirlockError('E_IMPORT_INCOMPLETE', `the import stopped after it began moving tags: ${error.message}`, {
          cause: error,
          hint: 'its intent is recorded; `airlock import --recover` (or the next import on this channel) finishes it',
          details: { importId: options.importId, cause: error.code },
        })
      : error;
    // Usage errors decide nothing and are never recorded.
    if (reported.exitCode !== 2) {
      try {
        await recordDecision(
          options,
          draft,
          reported.exitCode === 1 ? 'refused' : 'failed',
          `${reported.code}: ${reported.message}`,
        );
      } catch (recordErr) {
        // Said, never swallowed; a verdict keeps its exit code.
        const why = recordErr instanceof Error ? recordErr.message : String(recordErr);
        const unrecorded = new AirlockError(
          reported.code,
          `${reported.message} (and this ${reported.exitCode === 1 ? 'refusal' : 'failure'} ` +
            `could not be recorded in the audit trail: ${bounded(why)})`,
          {
            cause: reported,
            ...(reported.hint ? { hint: reported.hint } : {}),
            ...(reported.details ? { details: reported.details } : {}),
          },
        );
        if (unrecorded.exitCode !== 1) throw unrecorded;
        return draft.done(false, unrecorded);
      }
    }
    if (reported.exitCode !== 1) throw reported;
    return draft.done(false, reported);
  } finally {
    await held.layers?.cancel();
    await held.layout?.close();
    await held.dests?.close();
    await held.lock?.release();
    if (held.staging) await rm(held.staging, { recursive: true, force: true });
  }
}

/** `import --recover`: finishes every import left half-way on `registry` (each under its channel's lock). */
export async function recoverImports(options: {
  readonly stateDir: string;
  readonly registry: TargetRegistry;
  readonly record: Recorder;
  readonly intents: IntentLookup;
  readonly onProgress?: ProgressSink;
}): Promise<Array<{ importId: string; channel: string; number: number; outcome: 'finished' | 'dropped' }>> {
  const done: Array<{ importId: string; channel: string; number: number; outcome: 'finished' | 'dropped' }> = [];
  for (const p of await listPending(options.stateDir)) {
    if (p.registry !== options.registry.host) continue;
    const lock = await lockChannel(options.stateDir, 'in', p.channel);
    try {
      const pending = await readPending(options.stateDir, p.channel); // another run may have finished it
      if (!pending) continue;
      options.onProgress?.({ step: `finishing the import of package #${pending.number} on ${pending.channel}` });
      const outcome = await finishPending(options.stateDir, pending, options.registry, options.record, options.intents);
      done.push({ importId: pending.importId, channel: pending.channel, number: pending.number, outcome });
    } finally {
      await lock.release();
    }
  }
  return done;
}
