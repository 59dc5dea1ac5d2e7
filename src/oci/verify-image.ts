// `airlock verify` / `verify-attestation`: find every Sigstore bundle attached to an image (referrers,
// or the `sha256-<hex>` fallback) and cosign's legacy `.sig` signatures, verify each offline against the
// image's manifest digest with the same engine as verify-blob, and report which verified and why not.
// One verified signature from the trusted signer suffices; none is a denial.
import { verify as cryptoVerify } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { parseStatement } from '../sigstore/in-toto.ts';
import type { VerificationReport } from '../sigstore/verify/report.ts';
import { defaultHashFor } from '../sigstore/verify/signature-content.ts';
import { type VerifyBlobOptions, verifyBlob } from '../sigstore/verify/verify-blob.ts';
import { legacyTag } from './copy.ts';
import { parseManifestJson } from './manifest.ts';
import { COSIGN_SIMPLE_SIGNING } from './media-types.ts';
import { COSIGN_SIGN_PREDICATE, SIGNATURE_ANNOTATION } from './sign-image.ts';
import type { Descriptor, ImageManifest, ImageStore } from './types.ts';

export interface SignatureResult {
  readonly source: 'referrer' | 'legacy-sig' | 'bundle-file';
  /** The referrer manifest digest, `<tag>#<layer index>`, or the bundle file's name. */
  readonly where: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly reason?: string;
  readonly report?: VerificationReport;
}

export interface ImageVerification {
  readonly ok: boolean;
  readonly digest: string;
  readonly results: readonly SignatureResult[];
  /** With `keepPredicates`: the predicate of each attestation that verified, in the order found. */
  readonly predicates?: readonly unknown[];
}

export interface ImageVerifyExtras {
  /** Keep the predicates of the attestations that verified (to hand an SBOM on), only those. */
  readonly keepPredicates?: boolean;
}

interface CheckedBundle {
  readonly result: SignatureResult;
  /** Set only when the bundle verified and holds an in-toto statement. */
  readonly predicate?: unknown;
}

/**
 * The predicate of a bundle that has just verified: its DSSE payload decoded as the verifier decoded it
 * (base64 of the same JSON), so what is handed on is exactly what the signature covers.
 */
function verifiedPredicate(json: unknown): unknown {
  const payload = (json as { dsseEnvelope?: { payload?: unknown } }).dsseEnvelope?.payload;
  return typeof payload === 'string' ? parseStatement(Buffer.from(payload, 'base64')).predicate : undefined;
}

/** One Sigstore bundle against the image's manifest digest; a bundle that cannot be checked is a failed signature. */
async function checkBundle(
  json: unknown,
  subject: Descriptor,
  options: VerifyBlobOptions,
  source: SignatureResult['source'],
  where: string,
): Promise<CheckedBundle> {
  try {
    const report = await verifyBlob({ digest: subject.digest }, { json }, options);
    const result: SignatureResult = {
      source,
      where,
      ok: report.ok,
      report,
      ...(report.error ? { code: report.error.code, reason: report.error.message } : {}),
    };
    return report.ok ? { result, predicate: verifiedPredicate(json) } : { result };
  } catch (err) {
    return { result: failed(source, where, err) };
  }
}

function failed(source: SignatureResult['source'], where: string, err: unknown): SignatureResult {
  const code = err instanceof AirlockError ? err.code : 'E_BUNDLE_MALFORMED';
  return { source, where, ok: false, code, reason: (err as Error).message };
}

async function readBlob(store: ImageStore, desc: Descriptor, max = 16 * 1024 * 1024): Promise<Buffer> {
  if (desc.size > max)
    throw new AirlockError('E_INPUT_MALFORMED', `attached blob ${desc.digest} is ${desc.size} bytes, more than ${max}`);
  const chunks: Buffer[] = [];
  for await (const chunk of await store.getBlob(desc)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The bundle layer of a referrer manifest, as cosign reads it: exactly one sigstore-bundle layer. */
function bundleLayer(manifest: ImageManifest): Descriptor | undefined {
  const layers = manifest.layers ?? [];
  return layers.length === 1 &&
    typeof layers[0]?.mediaType === 'string' &&
    layers[0].mediaType.startsWith('application/vnd.dev.sigstore.bundle')
    ? layers[0]
    : undefined;
}

/**
 * A referrer's Sigstore bundle (parsed JSON) and the referrer manifest's annotations; undefined for other artifacts.
 */
export async function readReferrerBundle(
  store: ImageStore,
  referrer: string,
): Promise<{ json: unknown; annotations: Readonly<Record<string, string>> } | undefined> {
  const manifest = parseManifestJson(await store.getManifest(referrer)) as ImageManifest;
  const layer = bundleLayer(manifest);
  if (!layer) return undefined;
  return { json: JSON.parse((await readBlob(store, layer)).toString('utf8')), annotations: manifest.annotations ?? {} };
}

async function verifyReferrers(
  store: ImageStore,
  subject: Descriptor,
  options: VerifyBlobOptions,
): Promise<CheckedBundle[]> {
  const results: CheckedBundle[] = [];
  for (const ref of await store.listReferrers(subject.digest)) {
    // Anyone who can write to the registry can attach referrers: one that cannot be read or checked is
    // a failed signature, never the end of the verification.
    let bundle: Awaited<ReturnType<typeof readReferrerBundle>>;
    try {
      bundle = await readReferrerBundle(store, ref.digest);
    } catch (err) {
      results.push({ result: failed('referrer', ref.digest, err) });
      continue;
    }
    // SBOMs and other artifacts are not signatures.
    if (bundle) results.push(await checkBundle(bundle.json, subject, options, 'referrer', ref.digest));
  }
  return results;
}

interface SimpleSigningPayload {
  critical?: { image?: { 'docker-manifest-digest'?: string }; type?: string };
}

function verifyLegacyLayer(
  payload: Buffer,
  layer: Descriptor,
  digest: string,
  options: VerifyBlobOptions,
): { ok: boolean; code?: string; reason?: string } {
  if (options.trust.kind !== 'key')
    return { ok: false, code: 'E_UNSUPPORTED', reason: 'legacy .sig signatures are verified with --key only' };
  // Fail closed: a .sig carries no log checkpoint, so no witness can have cosigned anything for it.
  if (options.witnesses)
    return {
      ok: false,
      code: 'E_TLOG_CHECKPOINT',
      reason: 'witness cosignatures are required, and legacy signatures carry no log checkpoint to hold them',
    };
  if (layer.annotations?.['dev.sigstore.cosign/certificate'])
    return {
      ok: false,
      code: 'E_UNSUPPORTED',
      reason: 'certificate-based legacy signatures are not verified; use the bundle format',
    };
  if ((options.tlogThreshold ?? 1) > 0) {
    return {
      ok: false,
      code: 'E_TLOG_ENTRY',
      reason: 'legacy signatures carry no verifiable log entry here; with a key, pass --insecure-ignore-tlog',
    };
  }
  if ((options.timestampThreshold ?? 1) > 0) {
    return { ok: false, code: 'E_TIMESTAMP', reason: 'legacy signatures carry no verifiable timestamp here' };
  }
  const sig = Buffer.from(layer.annotations?.[SIGNATURE_ANNOTATION] ?? '', 'base64');
  const key = options.trust.publicKey;
  let valid = false;
  try {
    valid = cryptoVerify(defaultHashFor(key), payload, key, sig);
  } catch {
    valid = false;
  }
  if (!valid)
    return {
      ok: false,
      code: 'E_SIGNATURE_INVALID',
      reason: 'signature does not verify over the payload with the key',
    };
  let doc: SimpleSigningPayload;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, code: 'E_BUNDLE_MALFORMED', reason: 'payload is not JSON' };
  }
  if (doc.critical?.type !== 'cosign container image signature')
    return { ok: false, code: 'E_BUNDLE_MALFORMED', reason: 'not a cosign image signature payload' };
  const signed = doc.critical.image?.['docker-manifest-digest'];
  if (signed !== digest)
    return { ok: false, code: 'E_ARTIFACT_MISMATCH', reason: `payload signs ${signed}, the image is ${digest}` };
  return { ok: true };
}

async function verifyLegacy(
  store: ImageStore,
  subject: Descriptor,
  options: VerifyBlobOptions,
): Promise<SignatureResult[]> {
  const tag = legacyTag(subject.digest, 'sig');
  if (!(await store.listTags()).includes(tag)) return [];
  const manifest = parseManifestJson(await store.getManifest((await store.resolveTag(tag)).digest)) as ImageManifest;
  const results: SignatureResult[] = [];
  for (const [i, layer] of (manifest.layers ?? []).entries()) {
    if (layer.mediaType !== COSIGN_SIMPLE_SIGNING) continue;
    const verdict = verifyLegacyLayer(await readBlob(store, layer, 1024 * 1024), layer, subject.digest, options);
    results.push({ source: 'legacy-sig', where: `${tag}#${i}`, ...verdict });
  }
  return results;
}

/**
 * Verifies the signatures (predicateType undefined: cosign's sign/v1 statements) or attestations of one
 * type attached to `subject`. Legacy `.sig` signatures count for signatures only.
 */
export async function verifyImage(
  store: ImageStore,
  subject: Descriptor,
  options: VerifyBlobOptions,
  extras: ImageVerifyExtras = {},
): Promise<ImageVerification> {
  const predicateType = options.predicateType ?? COSIGN_SIGN_PREDICATE;
  const bundles = await verifyReferrers(store, subject, { ...options, predicateType });
  // Attestations of other types are not signatures of this kind: leave them out of the verdict.
  const relevant = bundles.filter((b) => b.result.code !== 'E_PREDICATE_TYPE');
  const legacy = options.predicateType === undefined ? await verifyLegacy(store, subject, options) : [];
  return verdict(subject, [...relevant, ...legacy.map((result) => ({ result }))], extras);
}

/**
 * Verifies one bundle kept beside the image (cosign's `verify --bundle FILE`) against the image's
 * manifest digest: the bundle must be about exactly that digest, and for an attestation, of the type
 * asked for.
 */
export async function verifyImageBundle(
  subject: Descriptor,
  json: unknown,
  where: string,
  options: VerifyBlobOptions,
  extras: ImageVerifyExtras = {},
): Promise<ImageVerification> {
  const predicateType = options.predicateType ?? COSIGN_SIGN_PREDICATE;
  return verdict(
    subject,
    [await checkBundle(json, subject, { ...options, predicateType }, 'bundle-file', where)],
    extras,
  );
}

function verdict(subject: Descriptor, checked: readonly CheckedBundle[], extras: ImageVerifyExtras): ImageVerification {
  const results = checked.map((c) => c.result);
  const predicates = checked.filter((c) => c.result.ok && c.predicate !== undefined).map((c) => c.predicate);
  return {
    ok: results.some((r) => r.ok),
    digest: subject.digest,
    results,
    ...(extras.keepPredicates ? { predicates } : {}),
  };
}
