// Offline verification of a Sigstore bundle against an artifact (or its digest). Built on
// @sigstore/verify's Verifier, with airlock's own checks around it where it falls short, in a fixed
// order of small named steps; every step lands in the report with its input and result.
// Nothing here opens a socket: trust comes only from the trusted root and the key given.
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm, TrustedRoot } from '@sigstore/protobuf-specs';
import { type SignedEntity, type TrustMaterial, toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  type Digest,
  type DigestAlgorithm,
  digestBytes,
  digestInput,
  formatDigest,
  parseDigest,
} from '../../crypto/digest.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { AirlockError, EXIT } from '../../errors.ts';
import { readFileBounded } from '../../files/read-file.ts';
import { bounded } from '../../text.ts';
import {
  type CosignatureVerifier,
  checkWitnessQuorumPolicy,
  verifyWitnessQuorum,
  type WitnessQuorum,
} from '../../log/cosignature.ts';
import { checkpointMeetsPolicy, type TlogPolicy } from '../../log/tlog-policy.ts';
import { keyIdHex } from '../../log/note.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from '../in-toto.ts';
import { MAX_BUNDLE_BYTES } from '../limits.ts';
import { leafCertificateFor, withoutStackTraces } from '../ca-cache.ts';
import { type LoadedTrustedRoot, trustMaterialFor } from '../trusted-root.ts';
import { detachedBundle, detachedDigestAlgorithm } from './detached.ts';
import { toAirlockError } from './error-map.ts';
import { checkIdentity, describeMatcher } from './identity.ts';
import { Checks, type VerificationReport } from './report.ts';
import {
  DsseSignatureContent,
  type MessageArtifact,
  MessageSignatureContent,
  verifiedSignatures,
} from './signature-content.ts';

export const KNOWN_BUNDLE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
];

/** The leaf certificate's bytes as the bundle carries them (toSignedEntity parses the same ones). */
function leafBytes(bundle: Bundle): Uint8Array | undefined {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'certificate') return content.certificate.rawBytes;
  if (content.$case === 'x509CertificateChain') return content.x509CertificateChain.certificates[0]?.rawBytes;
  return undefined;
}

/** Files up to this size are verified from memory by OpenSSL; larger ones through their digest. */
const IN_MEMORY_LIMIT = 64 * 1024 * 1024;

export type ArtifactInput = { readonly path: string } | { readonly bytes: Uint8Array } | { readonly digest: string };
/** A bundle file, parsed bundle JSON, or a detached signature (verified with a key; see detached.ts). */
export type BundleInput =
  { readonly path: string } | { readonly json: unknown } | { readonly detachedSignature: Uint8Array };

export type { TrustPolicy } from './identity.ts';
import type { TrustPolicy } from './identity.ts';

/**
 * Witness cosignatures (C2SP tlog-cosignature) required on the log checkpoints of a bundle. Sigstore
 * clients ignore signature lines other than the log's; with this, every checkpoint in the bundle must
 * carry verified cosignatures of at least `required` distinct witness names.
 */
export type WitnessPolicy =
  | {
      /** The witnesses' keys: `parseCosignerKey(vkey).verifier`. Several keys of one name count once. */
      readonly verifiers: readonly CosignatureVerifier[];
      /** 1 to the number of distinct names in `verifiers`. */
      readonly required: number;
    }
  | {
      /**
       * A C2SP tlog-policy (`parseTlogPolicy`), as `log serve --witness-policy` takes: its witnesses
       * must satisfy its quorum (groups nest), and when it names logs, the checkpoint must be one of theirs.
       */
      readonly policy: TlogPolicy;
      /** Where it came from, for messages (a file name). */
      readonly source: string;
    };

/** What one witness requirement asks of a checkpoint, and how to say it. */
interface WitnessRule {
  /** "2 of the witnesses a, b" or "the quorum 'q' of FILE". */
  readonly wanted: string;
  readonly details: Readonly<Record<string, unknown>>;
  evaluate(envelope: string): Omit<WitnessQuorum, 'required'>;
  /** Why a checkpoint cosigned by `cosigned` falls short. */
  shortfall(cosigned: readonly string[]): string;
}

function witnessRule(policy: WitnessPolicy): WitnessRule {
  if ('policy' in policy) {
    const { quorum, witnesses } = policy.policy;
    return {
      wanted: `the quorum '${quorum}' of ${policy.source}`,
      details: { policy: policy.source, quorum, witnesses: witnesses.map((w) => w.name) },
      evaluate: (envelope) => checkpointMeetsPolicy(policy.policy, envelope),
      shortfall: (cosigned) =>
        `its checkpoint is cosigned by ${cosigned.join(', ') || "none of the policy's witnesses"}` +
        `: not enough for the quorum '${quorum}' of ${policy.source}`,
    };
  }
  const names = checkWitnessQuorumPolicy(policy.verifiers, policy.required);
  return {
    wanted: `${policy.required} of the witnesses ${names.join(', ')}`,
    details: { required: policy.required, witnesses: names },
    evaluate: (envelope) => verifyWitnessQuorum(envelope, policy.verifiers, policy.required),
    shortfall: (cosigned) =>
      `its checkpoint is cosigned by ${cosigned.length} of the witnesses ${names.join(', ')} ` +
      `(${cosigned.join(', ') || 'none'}); ${policy.required} required`,
  };
}

export interface VerifyBlobOptions {
  readonly trust: TrustPolicy;
  /** Required except for key-based verification with no log and no timestamps required. */
  readonly trustedRoot?: LoadedTrustedRoot;
  readonly tlogThreshold?: number;
  readonly ctlogThreshold?: number;
  readonly timestampThreshold?: number;
  /** Require a DSSE bundle whose statement has this predicate type. */
  readonly predicateType?: string;
  /**
   * The verification time, used only where a bundle carries no signed time at all (a key-signed,
   * checkpoint-only log entry with no timestamp): the log key must be valid then. The caller's clock.
   */
  readonly now: Date;
  /** Require witness cosignatures on every log checkpoint the bundle carries (fail closed: none is a denial). */
  readonly witnesses?: WitnessPolicy;
}

/** For key-based verification with no log and no timestamps: nothing is trusted but the key. */
const EMPTY_TRUST_MATERIAL = toTrustMaterial(
  TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  }),
);

const HASH_NAMES: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

async function readBundleJson(input: { readonly path: string } | { readonly json: unknown }): Promise<unknown> {
  if ('json' in input) return input.json;
  const text = (await readFileBounded(input.path, MAX_BUNDLE_BYTES, 'a Sigstore bundle')).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_BUNDLE_MALFORMED', `${input.path}: bundle is not JSON`, { cause: err });
  }
}

function parseBundle(json: unknown): Bundle {
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  // bundleFromJSON treats any version it does not know as the latest; a bundle from the future must
  // be refused, not read under rules it was not written for.
  if (typeof mediaType !== 'string' || !KNOWN_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw new AirlockError('E_BUNDLE_MALFORMED', `unknown bundle media type ${JSON.stringify(mediaType ?? null)}`, {
      details: { expected: KNOWN_BUNDLE_MEDIA_TYPES, found: mediaType ?? null },
    });
  }
  try {
    return withoutStackTraces(() => bundleFromJSON(json));
  } catch (err) {
    throw toAirlockError(err);
  }
}

interface Artifact {
  /** The bytes, when held in memory (small files, or given as bytes). */
  readonly bytes?: Buffer;
  readonly path?: string;
  /** Digests known so far, by algorithm. */
  readonly digests: Map<DigestAlgorithm, Digest>;
  readonly mode: 'file' | 'digest';
}

/**
 * The digest algorithms the bundle compares the artifact by: the message digest's, or those of the
 * in-toto subjects. An artifact that can be read only once (a FIFO, a `<(...)`) is hashed with all of
 * them in its one pass. A DSSE payload that does not parse names none: dsseContent refuses it.
 */
function comparedAlgorithms(bundle: Bundle): DigestAlgorithm[] {
  if (bundle.content.$case === 'messageSignature') {
    const algorithm = bundle.content.messageSignature.messageDigest
      ? HASH_NAMES[bundle.content.messageSignature.messageDigest.algorithm]
      : undefined;
    return algorithm ? [algorithm] : [];
  }
  try {
    return subjectAlgorithms(parseStatement(bundle.content.dsseEnvelope.payload));
  } catch {
    return [];
  }
}

function subjectAlgorithms(statement: ReturnType<typeof parseStatement>): DigestAlgorithm[] {
  return [...new Set(statement.subject.flatMap((s) => Object.keys(s.digest)))].filter(
    (a): a is DigestAlgorithm => a === 'sha256' || a === 'sha384' || a === 'sha512',
  );
}

async function loadArtifact(input: ArtifactInput, algorithms: readonly DigestAlgorithm[]): Promise<Artifact> {
  if ('digest' in input) {
    const d = parseDigest(input.digest);
    return { digests: new Map([[d.algorithm, d]]), mode: 'digest' };
  }
  if ('bytes' in input) return { bytes: Buffer.from(input.bytes), digests: new Map(), mode: 'file' };
  // One pass whatever the path is: small inputs are kept for OpenSSL, larger ones only hashed.
  const read = await digestInput(input.path, { algorithms, keepUpTo: IN_MEMORY_LIMIT });
  return {
    ...(read.bytes ? { bytes: read.bytes } : {}),
    path: input.path,
    digests: new Map(read.digests),
    mode: 'file',
  };
}

function artifactDigest(artifact: Artifact, algorithm: DigestAlgorithm): Digest | undefined {
  const known = artifact.digests.get(algorithm);
  if (known) return known;
  if (!artifact.bytes) return undefined;
  const d = digestBytes(artifact.bytes, algorithm);
  artifact.digests.set(algorithm, d);
  return d;
}

/** Message signature: the artifact must be the one whose digest was signed. */
function messageContent(bundle: Bundle, artifact: Artifact, checks: Checks): MessageSignatureContent {
  if (bundle.content.$case !== 'messageSignature') throw new Error('not a message signature');
  const { messageDigest, signature } = bundle.content.messageSignature;
  const algorithm = messageDigest ? HASH_NAMES[messageDigest.algorithm] : undefined;
  if (!messageDigest || !algorithm)
    throw new AirlockError('E_BUNDLE_MALFORMED', 'message signature has no supported message digest');
  const expected = { algorithm, hex: messageDigest.digest.toString('hex') };
  const found = artifactDigest(artifact, algorithm);
  if (!found || found.hex !== expected.hex) {
    const given = found ? formatDigest(found) : [...artifact.digests.values()].map(formatDigest).join(', ');
    throw new AirlockError(
      'E_ARTIFACT_MISMATCH',
      `artifact digest ${given} is not the signed ${formatDigest(expected)}`,
      {
        details: { expected: formatDigest(expected), found: given },
      },
    );
  }
  checks.pass('artifact digest', { expected: formatDigest(expected), found: formatDigest(found) });
  const hashName = algorithm === 'sha512' ? 'sha512' : algorithm;
  const input: MessageArtifact = artifact.bytes
    ? { kind: 'bytes', bytes: artifact.bytes }
    : {
        kind: 'digest',
        algorithm,
        digest: Buffer.from(found.hex, 'hex'),
        ...(artifact.mode === 'file'
          ? {
              hint:
                `an Ed25519 or RSA signature covers the bytes themselves, and inputs over ` +
                `${IN_MEMORY_LIMIT / 1024 / 1024} MiB are verified through their digest (never ` +
                `held in memory), which only ECDSA signatures allow`,
            }
          : {}),
      };
  return new MessageSignatureContent(signature, messageDigest.digest, hashName, input);
}

/** DSSE: an in-toto statement whose subject is the artifact (the gap @sigstore/verify leaves open). */
function dsseContent(
  bundle: Bundle,
  artifact: Artifact,
  options: VerifyBlobOptions,
  checks: Checks,
): { content: DsseSignatureContent; predicateType: string } {
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE envelope');
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AirlockError('E_BUNDLE_MALFORMED', `DSSE payload type ${env.payloadType} is not in-toto`);
  }
  const statement = parseStatement(env.payload);
  if (options.predicateType !== undefined && statement.predicateType !== options.predicateType) {
    throw new AirlockError(
      'E_PREDICATE_TYPE',
      `attestation predicate type is ${statement.predicateType}, required ${options.predicateType}`,
      {
        details: { expected: options.predicateType, found: statement.predicateType },
      },
    );
  }
  for (const algorithm of subjectAlgorithms(statement)) {
    const d = artifactDigest(artifact, algorithm);
    const subject = d && statement.subject.find((s) => s.digest[algorithm]?.toLowerCase() === d.hex);
    if (subject) {
      checks.pass('in-toto subject', { subject: subject.name, digest: formatDigest(d) });
      return {
        content: new DsseSignatureContent(env.payloadType, env.payload, env.signatures[0]?.sig ?? Buffer.alloc(0)),
        predicateType: statement.predicateType,
      };
    }
  }
  const given = [...artifact.digests.values()].map(formatDigest).join(', ');
  const subjects = statement.subject.map(
    (s) =>
      `${s.name ?? '(unnamed)'} ${Object.entries(s.digest)
        .map(([a, h]) => `${a}:${h}`)
        .join(' ')}`,
  );
  throw new AirlockError(
    'E_ARTIFACT_MISMATCH',
    `artifact ${given || '(no comparable digest)'} is not a subject of the attestation`,
    {
      details: { expected: subjects, found: given },
    },
  );
}

/**
 * Bundle shapes @sigstore/verify would crash on or silently accept, refused by name:
 * - a chain that carries a self-signed (root) certificate: roots come from the trust root only;
 * - an inclusion proof with no checkpoint: there is nothing signed to check the proof against.
 */
function checkBundleShape(bundle: Bundle): void {
  const material = bundle.verificationMaterial;
  if (material.content.$case === 'x509CertificateChain') {
    for (const { rawBytes } of material.content.x509CertificateChain.certificates) {
      let cert: X509Certificate;
      try {
        cert = X509Certificate.parse(Buffer.from(rawBytes));
      } catch (err) {
        throw new AirlockError('E_BUNDLE_MALFORMED', `bundle certificate does not parse: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (cert.subject.equals(cert.issuer) && cert.verify()) {
        throw new AirlockError(
          'E_CERT_CHAIN',
          'the bundle carries a self-signed root certificate; roots must come from the trust root',
        );
      }
    }
  }
  for (const entry of material.tlogEntries) {
    if (entry.inclusionProof && !entry.inclusionProof.checkpoint?.envelope) {
      throw new AirlockError(
        'E_TLOG_INCLUSION',
        `log entry ${entry.logIndex}: inclusion proof has no checkpoint to verify it against`,
      );
    }
  }
}

function trustMaterial(options: VerifyBlobOptions): TrustMaterial {
  const base = options.trustedRoot ? trustMaterialFor(options.trustedRoot) : EMPTY_TRUST_MATERIAL;
  if (options.trust.kind !== 'key') return base;
  const publicKey = options.trust.publicKey;
  // As cosign's --key: the key given is the key; the bundle's hint only names it.
  return { ...base, publicKey: () => ({ publicKey, validFor: () => true }) };
}

function tsaTimes(entity: SignedEntity): Date[] {
  return entity.timestamps.flatMap((t) => (t.$case === 'timestamp-authority' ? [t.timestamp.signingTime] : []));
}

/**
 * @sigstore/verify ignores the log key's validity window for checkpoint-only (Rekor v2) entries. A log
 * key vouches only for what it signed while valid: with no signed entry time, that is checked at
 * every verified TSA time; with no signed time at all (key trust, no timestamps), at `now`, because
 * a retired log key cannot vouch for an entry made at an unknown time.
 */
export function checkTlogKeyValidity(
  bundle: Bundle,
  material: TrustMaterial,
  entity: SignedEntity,
  checks: Checks,
  now: Date,
): void {
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const integrated = Number(entry.integratedTime);
    const signedTimes = entry.inclusionPromise && integrated > 0 ? [new Date(integrated * 1000)] : tsaTimes(entity);
    const times = signedTimes.length > 0 ? signedTimes : [now];
    const logs = material.tlogs.filter((l) => l.logID.equals(entry.logId?.keyId ?? Buffer.alloc(0)));
    if (logs.length === 0) continue; // the Verifier already refused or counted it
    const valid = logs.some((l) => times.every((t) => l.validFor.start <= t && t <= l.validFor.end));
    if (!valid) {
      const window = logs.map((l) => `${l.validFor.start.toISOString()}..${l.validFor.end.toISOString()}`).join(', ');
      throw new AirlockError(
        'E_TLOG_ENTRY',
        `log entry ${entry.logIndex}: the log key was not valid at ` +
          `${times.map((t) => t.toISOString()).join(', ')} (valid ${window})`,
      );
    }
    checks.pass('log key validity', {
      logIndex: entry.logIndex,
      times: times.map((t) => t.toISOString()),
      ...(signedTimes.length === 0 ? { at: 'verification time: the entry carries no signed time' } : {}),
    });
  }
}

/**
 * An entry's outer logIndex and integratedTime are signed only by a signed entry timestamp (Rekor
 * v1's inclusion promise). Without one — a Rekor v2 entry, checkpoint and inclusion proof only — the
 * index the proof proves is the only index the log vouches for, so the outer one must equal it
 * before it is reported. A Rekor v1 entry with a promise may differ: its outer
 * index is the log's global one, signed by the promise, and the proof's is the shard's.
 */
export function checkLogIndices(bundle: Bundle, checks: Checks): void {
  const proven: string[] = [];
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const proof = entry.inclusionProof;
    if (entry.inclusionPromise || !proof) continue;
    if (!sameIndex(entry.logIndex, proof.logIndex)) {
      throw new AirlockError(
        'E_TLOG_INCLUSION',
        `log entry ${short(entry.logIndex)}: the bundle says index ${short(entry.logIndex)}, its ` +
          `inclusion proof proves index ${short(proof.logIndex)}`,
        {
          hint: 'the bundle was edited after the log answered: only the proven index is signed by the log',
          details: { expected: short(proof.logIndex), found: short(entry.logIndex) },
        },
      );
    }
    proven.push(proof.logIndex);
  }
  if (proven.length > 0) checks.pass('log index', { proven });
}

const short = (text: string) => bounded(text, 24);

function sameIndex(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return false;
  }
}

/** The time a log entry vouches for: its integratedTime, only when a signed entry timestamp covers it. */
function signedIntegratedTime(entry: {
  readonly inclusionPromise?: unknown;
  readonly integratedTime: string;
}): string | undefined {
  return entry.inclusionPromise && Number(entry.integratedTime) > 0
    ? new Date(Number(entry.integratedTime) * 1000).toISOString()
    : undefined;
}

/**
 * Every checkpoint in the bundle must carry cosignatures of `required` distinct witnesses. Runs after
 * @sigstore/verify has checked each checkpoint's log signature and each inclusion proof against it, so
 * what the witnesses vouch for is the tree head the entry is proven in. A checkpoint text has no empty
 * line, so @sigstore/verify (first empty line) and the note parser (last one) read the same text.
 */
export function checkWitnessCosignatures(bundle: Bundle, policy: WitnessPolicy, checks: Checks): void {
  const rule = witnessRule(policy);
  const entries = bundle.verificationMaterial.tlogEntries.flatMap((entry) => {
    const envelope = entry.inclusionProof?.checkpoint?.envelope;
    return envelope ? [{ logIndex: entry.logIndex, envelope }] : [];
  });
  if (entries.length === 0) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `cosignatures of ${rule.wanted} are required, but the bundle has no log entry with a ` +
        `checkpoint for them to cosign`,
      {
        details: { ...rule.details, cosigned: [] },
      },
    );
  }
  const results = entries.map(({ logIndex, envelope }) => {
    let quorum: Omit<WitnessQuorum, 'required'>;
    try {
      quorum = rule.evaluate(envelope);
    } catch (err) {
      // A malformed note, a cosignature naming a given witness key that does not verify over it, or
      // (with a policy) a checkpoint of a log the policy does not name.
      if (err instanceof AirlockError && err.code === 'E_TLOG_CHECKPOINT') {
        throw new AirlockError('E_TLOG_CHECKPOINT', `log entry ${logIndex}: ${err.message}`, {
          cause: err,
          ...(err.hint ? { hint: err.hint } : {}),
          details: { logIndex, ...rule.details },
        });
      }
      throw err;
    }
    if (!quorum.ok) {
      throw new AirlockError('E_TLOG_CHECKPOINT', `log entry ${logIndex}: ${rule.shortfall(quorum.cosigned)}`, {
        details: { logIndex, ...rule.details, cosigned: quorum.cosigned },
      });
    }
    return {
      logIndex,
      cosigned: quorum.cosigned,
      cosignatures: quorum.cosignatures.map((c) => ({
        name: c.name,
        keyId: keyIdHex(c.keyId),
        time: c.time.toISOString(),
      })),
    };
  });
  checks.pass('witness cosignatures', { ...rule.details, entries: results });
}

/** The bundle (read and shape-checked, or built from a detached signature) and the artifact, read once. */
async function bundleAndArtifact(
  artifact: ArtifactInput,
  input: BundleInput,
  options: VerifyBlobOptions,
  checks: Checks,
): Promise<{ bundle: Bundle; loaded: Artifact }> {
  if ('detachedSignature' in input) {
    const algorithm = detachedDigestAlgorithm(options.trust);
    const loaded = await loadArtifact(artifact, [algorithm]);
    const bundle = detachedBundle(input.detachedSignature, artifactDigest(loaded, algorithm), algorithm);
    checks.pass('detached signature', { bytes: input.detachedSignature.length, digest: algorithm });
    return { bundle, loaded };
  }
  const bundle = parseBundle(await readBundleJson(input));
  checkBundleShape(bundle);
  checks.pass('bundle', { mediaType: bundle.mediaType, content: bundle.content.$case });
  return { bundle, loaded: await loadArtifact(artifact, comparedAlgorithms(bundle)) };
}

/**
 * A bundle with no log entry where one is required: the Verifier would say "expected 1 tlog entries,
 * got 0". Said here with why it happens (signed offline) and what can be done, which differs for a
 * key (check it against the key alone) and a certificate (nothing: its log entry is its proof).
 */
function checkTlogEntryPresent(bundle: Bundle, trust: TrustPolicy, required: number): void {
  if (required === 0 || bundle.verificationMaterial.tlogEntries.length > 0) return;
  const why = `the bundle has no transparency-log entry and ${required} ${required === 1 ? 'is' : 'are'} required`;
  throw new AirlockError(
    'E_TLOG_ENTRY',
    trust.kind === 'key'
      ? `${why}: it was signed offline (--tlog-upload=false)? with --key, --insecure-ignore-tlog ` +
          `verifies it against the key alone`
      : `${why}: a keyless signature is trustworthy only through its log entry (sign it with a transparency log)`,
    { details: { required, found: 0 } },
  );
}

async function runVerification(
  artifact: ArtifactInput,
  bundleInput: BundleInput,
  options: VerifyBlobOptions,
  report: VerificationReport,
  checks: Checks,
) {
  const { bundle, loaded } = await bundleAndArtifact(artifact, bundleInput, options, checks);
  report.bundle = { mediaType: bundle.mediaType, content: bundle.content.$case };
  report.artifact.mode = loaded.mode;
  const keyCase = bundle.verificationMaterial.content.$case;
  if (options.trust.kind === 'key' && keyCase !== 'publicKey') {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `the bundle is signed with a certificate (${keyCase}), but a --key was given`,
      {
        hint: 'verify keyless bundles with --certificate-identity and --certificate-oidc-issuer',
      },
    );
  }
  if (options.trust.kind === 'identity' && keyCase === 'publicKey') {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      'the bundle is signed with a key, not a certificate: there is no identity to check',
      {
        hint: 'verify key-signed bundles with --key',
      },
    );
  }
  if (options.predicateType !== undefined && bundle.content.$case === 'messageSignature') {
    // An attestation of a type is a DSSE in-toto statement; a plain signature says nothing about predicates.
    throw new AirlockError(
      'E_PREDICATE_TYPE',
      `an attestation of type ${options.predicateType} is required; the bundle holds a plain message signature`,
      {
        details: { expected: options.predicateType, found: 'messageSignature' },
      },
    );
  }
  const { content, predicateType } =
    bundle.content.$case === 'messageSignature'
      ? { content: messageContent(bundle, loaded, checks), predicateType: undefined }
      : dsseContent(bundle, loaded, options, checks);
  report.artifact.digests = Object.fromEntries([...loaded.digests].map(([a, d]) => [a, formatDigest(d)]));
  const signed = withoutStackTraces(() => toSignedEntity(bundle));
  // The leaf as a LeafCertificate (ca-cache.ts): a copy that encodes once and asks its CA's record.
  const key: SignedEntity['key'] =
    signed.key.$case === 'certificate'
      ? { $case: 'certificate', certificate: leafCertificateFor(signed.key.certificate, leafBytes(bundle)) }
      : signed.key;
  const entity: SignedEntity = { ...signed, key, signature: content };
  const material = trustMaterial(options);
  const thresholds = {
    tlogThreshold: options.tlogThreshold ?? 1,
    ctlogThreshold: options.ctlogThreshold ?? 1,
    timestampThreshold: options.timestampThreshold ?? 1,
  };
  report.thresholds = thresholds;
  checkTlogEntryPresent(bundle, options.trust, thresholds.tlogThreshold);
  const signer = withoutStackTraces(() => new Verifier(material, thresholds).verify(entity));
  checks.pass('sigstore verification', {
    ...thresholds,
    // 'remembered': this key's signature over these exact bytes was verified before (signature-memo.ts).
    artifactSignature: verifiedSignatures.lastRemembered ? 'remembered' : 'verified',
    tlogEntries: bundle.verificationMaterial.tlogEntries.length,
    rfc3161Timestamps: tsaTimes(entity).length,
  });
  checkLogIndices(bundle, checks);
  // Witnesses vouch for a checkpoint: its log key must have been valid too, whatever the threshold.
  if (thresholds.tlogThreshold > 0 || options.witnesses)
    checkTlogKeyValidity(bundle, material, entity, checks, options.now);
  if (options.trust.kind === 'identity') {
    const san = signer.identity?.subjectAlternativeName;
    const issuer = signer.identity?.extensions?.issuer;
    checkIdentity(options.trust.policy, san, issuer);
    checks.pass('identity', {
      identity: describeMatcher(options.trust.policy.identity),
      issuer: describeMatcher(options.trust.policy.issuer),
      found: { san, issuer },
    });
    report.signer = { type: 'certificate', subjectAlternativeName: san, issuer };
  } else {
    report.signer = { type: 'key', fingerprint: keyFingerprint(signer.key) };
  }
  if (options.witnesses) checkWitnessCosignatures(bundle, options.witnesses, checks);
  // The statement's predicate type is reported once its signature verified, not before.
  if (predicateType !== undefined) report.predicateType = predicateType;
  // Only what was verified is reported: a log time the Verifier did not count (no signed entry
  // timestamp) is no signing time.
  report.timestamps = entity.timestamps.flatMap((t): NonNullable<VerificationReport['timestamps']> => {
    if (t.$case === 'timestamp-authority') return [{ source: 'tsa', time: t.timestamp.signingTime.toISOString() }];
    const time = signedIntegratedTime(t.tlogEntry);
    return time ? [{ source: 'tlog', time, logIndex: t.tlogEntry.logIndex }] : [];
  });
  report.tlogEntries = bundle.verificationMaterial.tlogEntries.map((e) => ({
    logIndex: e.logIndex,
    logId: e.logId?.keyId.toString('base64') ?? '',
    kind: `${e.kindVersion?.kind}/${e.kindVersion?.version}`,
    integratedTime: signedIntegratedTime(e),
    proof: e.inclusionProof ? 'inclusion proof + checkpoint' : 'signed entry timestamp only',
  }));
}

/**
 * Verifies `bundle` over `artifact`. Returns the report: `ok` true, or false with `error` for a
 * verdict (exit 1). Throws AirlockError when the question cannot be asked (a missing file: exit 3;
 * a request airlock cannot evaluate, like digest-only RSA: exit 2).
 */
export async function verifyBlob(
  artifact: ArtifactInput,
  bundle: BundleInput,
  options: VerifyBlobOptions,
): Promise<VerificationReport> {
  // A policy that could never be met is a usage error before anything is verified, not a verdict after.
  if (options.witnesses && 'verifiers' in options.witnesses)
    checkWitnessQuorumPolicy(options.witnesses.verifiers, options.witnesses.required);
  const checks = new Checks();
  const report: VerificationReport = {
    ok: false,
    artifact: {
      input: 'digest' in artifact ? artifact.digest : 'path' in artifact ? artifact.path : '(bytes)',
      mode: 'file',
    },
    trustedRoot: options.trustedRoot
      ? { source: options.trustedRoot.source, digest: options.trustedRoot.digest }
      : undefined,
    checks: checks.list,
  };
  try {
    await runVerification(artifact, bundle, options, report, checks);
    report.ok = true;
  } catch (err) {
    const error = toAirlockError(err);
    if (error.exitCode !== EXIT.DENIED) throw error;
    checks.fail(error);
    report.error = error;
  }
  return report;
}
