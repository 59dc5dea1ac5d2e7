// Offline verification of a Sigstore bundle against an artifact (or its digest). Built on
// @sigstore/verify's Verifier, with airlock's own checks around it where it falls short, in a fixed
// order of small named steps; every step lands in the report with its input and result.
// Nothing here opens a socket: trust comes only from the trusted root and the key given.
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm, TrustedRoot } from '@sigstore/protobuf-specs';
import {
  type SignedEntity,
  type Signer,
  type TrustMaterial,
  toSignedEntity,
  toTrustMaterial,
  Verifier,
} from '@sigstore/verify';
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
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from '../in-toto.ts';
import { MAX_BUNDLE_BYTES } from '../limits.ts';
import { leafCertificateFor, withoutStackTraces } from '../ca-cache.ts';
import { type LoadedTrustedRoot, trustMaterialFor } from '../trusted-root.ts';
import { detachedBundle, detachedDigestAlgorithm } from './detached.ts';
import { toAirlockError } from './error-map.ts';
import { checkIdentity, describeMatcher } from './identity.ts';
import { checkSctRequirement } from './sct-requirement.ts';
import { Checks, type SignerSummary, type VerificationReport } from './report.ts';
import {
  DsseSignatureContent,
  type MessageArtifact,
  MessageSignatureContent,
  verifiedSignatures,
} from './signature-content.ts';
import { checkEntryVerifiers } from './entry-verifier.ts';
import {
  checkLogIndices,
  checkTlogEntryPresent,
  checkTlogKeyValidity,
  signedIntegratedTime,
  tsaTimes,
} from './tlog-entries.ts';
import { checkWitnessCosignatures, checkWitnessPolicy, type WitnessPolicy } from './witness-quorum.ts';

export const KNOWN_BUNDLE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
];

/** The leaf certificate's bytes as the bundle carries them (toSignedEntity parses the same ones). */
export function leafBytes(bundle: Bundle): Uint8Array | undefined {
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

/** A --key for a certificate-signed bundle, or an identity for a key-signed one, has nothing to check. */
function checkSignerKind(bundle: Bundle, trust: TrustPolicy): void {
  const keyCase = bundle.verificationMaterial.content.$case;
  if (trust.kind === 'key' && keyCase !== 'publicKey') {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `the bundle is signed with a certificate (${keyCase}), but a --key was given`,
      {
        hint: 'verify keyless bundles with --certificate-identity and --certificate-oidc-issuer',
      },
    );
  }
  if (trust.kind === 'identity' && keyCase === 'publicKey') {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      'the bundle is signed with a key, not a certificate: there is no identity to check',
      {
        hint: 'verify key-signed bundles with --key',
      },
    );
  }
}

/** What the signature covers, matched to the artifact: the message digest, or an in-toto subject. */
function signatureContent(
  bundle: Bundle,
  artifact: Artifact,
  options: VerifyBlobOptions,
  checks: Checks,
): { content: MessageSignatureContent | DsseSignatureContent; predicateType: string | undefined } {
  if (bundle.content.$case === 'dsseEnvelope') return dsseContent(bundle, artifact, options, checks);
  if (options.predicateType !== undefined) {
    // An attestation of a type is a DSSE in-toto statement; a plain signature says nothing about predicates.
    throw new AirlockError(
      'E_PREDICATE_TYPE',
      `an attestation of type ${options.predicateType} is required; the bundle holds a plain message signature`,
      {
        details: { expected: options.predicateType, found: 'messageSignature' },
      },
    );
  }
  return { content: messageContent(bundle, artifact, checks), predicateType: undefined };
}

/** What @sigstore/verify checks: the bundle's entity with airlock's signature content. */
function signedEntity(bundle: Bundle, content: SignedEntity['signature']): SignedEntity {
  const signed = withoutStackTraces(() => toSignedEntity(bundle));
  // The leaf as a LeafCertificate (ca-cache.ts): a copy that encodes once and asks its CA's record.
  const key: SignedEntity['key'] =
    signed.key.$case === 'certificate'
      ? { $case: 'certificate', certificate: leafCertificateFor(signed.key.certificate, leafBytes(bundle)) }
      : signed.key;
  return { ...signed, key, signature: content };
}

type Thresholds = NonNullable<VerificationReport['thresholds']>;

function thresholdsOf(options: VerifyBlobOptions): Thresholds {
  return {
    tlogThreshold: options.tlogThreshold ?? 1,
    ctlogThreshold: options.ctlogThreshold ?? 1,
    timestampThreshold: options.timestampThreshold ?? 1,
  };
}

/** @sigstore/verify's Verifier: the signature, certificate chain and SCTs, timestamps and log entries. */
function verifyWithSigstore(
  bundle: Bundle,
  entity: SignedEntity,
  material: TrustMaterial,
  thresholds: Thresholds,
  trust: TrustPolicy,
  checks: Checks,
): Signer {
  checkTlogEntryPresent(bundle, trust, thresholds.tlogThreshold);
  const signer = withoutStackTraces(() => new Verifier(material, thresholds).verify(entity));
  checks.pass('sigstore verification', {
    ...thresholds,
    // 'remembered': this key's signature over these exact bytes was verified before (signature-memo.ts).
    artifactSignature: verifiedSignatures.lastRemembered ? 'remembered' : 'verified',
    tlogEntries: bundle.verificationMaterial.tlogEntries.length,
    rfc3161Timestamps: tsaTimes(entity).length,
  });
  return signer;
}

/** Who signed: the certificate identity, held to the policy, or the key. */
function checkSigner(trust: TrustPolicy, signer: Signer, checks: Checks): SignerSummary {
  if (trust.kind !== 'identity') return { type: 'key', fingerprint: keyFingerprint(signer.key) };
  const san = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  checkIdentity(trust.policy, san, issuer);
  checks.pass('identity', {
    identity: describeMatcher(trust.policy.identity),
    issuer: describeMatcher(trust.policy.issuer),
    found: { san, issuer },
  });
  return { type: 'certificate', subjectAlternativeName: san, issuer };
}

/**
 * Only what was verified is reported: a log time the Verifier did not count (no signed entry
 * timestamp) is no signing time.
 */
function verifiedTimestamps(entity: SignedEntity): NonNullable<VerificationReport['timestamps']> {
  return entity.timestamps.flatMap((t): NonNullable<VerificationReport['timestamps']> => {
    if (t.$case === 'timestamp-authority') return [{ source: 'tsa', time: t.timestamp.signingTime.toISOString() }];
    const time = signedIntegratedTime(t.tlogEntry);
    return time ? [{ source: 'tlog', time, logIndex: t.tlogEntry.logIndex }] : [];
  });
}

function tlogEntrySummaries(bundle: Bundle): NonNullable<VerificationReport['tlogEntries']> {
  return bundle.verificationMaterial.tlogEntries.map((e) => ({
    logIndex: e.logIndex,
    logId: e.logId?.keyId.toString('base64') ?? '',
    kind: `${e.kindVersion?.kind}/${e.kindVersion?.version}`,
    integratedTime: signedIntegratedTime(e),
    proof: e.inclusionProof ? 'inclusion proof + checkpoint' : 'signed entry timestamp only',
  }));
}

/** The steps in their order; each one that passes adds its check to the report, the first to fail ends it. */
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
  checkSignerKind(bundle, options.trust);
  const thresholds = thresholdsOf(options);
  if (options.trust.kind === 'identity') checkSctRequirement(options.trustedRoot, thresholds.ctlogThreshold);
  const { content, predicateType } = signatureContent(bundle, loaded, options, checks);
  report.artifact.digests = Object.fromEntries([...loaded.digests].map(([a, d]) => [a, formatDigest(d)]));
  const entity = signedEntity(bundle, content);
  const material = trustMaterial(options);
  report.thresholds = thresholds;
  const signer = verifyWithSigstore(bundle, entity, material, thresholds, options.trust, checks);
  checkLogIndices(bundle, checks);
  checkEntryVerifiers(bundle, signer.key, checks);
  // Witnesses vouch for a checkpoint: its log key must have been valid too, whatever the threshold.
  if (thresholds.tlogThreshold > 0 || options.witnesses)
    checkTlogKeyValidity(bundle, material, entity, checks, options.now);
  report.signer = checkSigner(options.trust, signer, checks);
  if (options.witnesses) checkWitnessCosignatures(bundle, options.witnesses, checks);
  // The statement's predicate type is reported once its signature verified, not before.
  if (predicateType !== undefined) report.predicateType = predicateType;
  report.timestamps = verifiedTimestamps(entity);
  report.tlogEntries = tlogEntrySummaries(bundle);
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
  checkWitnessPolicy(options.witnesses);
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
