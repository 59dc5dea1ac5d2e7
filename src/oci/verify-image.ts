// `airlock verify` / `verify-attestation`: find every Sigstore bundle attached to an image (referrers,
// or the `sha256-<hex>` fallback) and cosign's legacy `.sig` signatures, verify each offline against the
// image's manifest digest with the same engine as verify-blob, and report which verified and why not.
// One verified signature from the trusted signer suffices; none is a denial.
import { verify as cryptoVerify } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import type { VerificationReport } from '../sigstore/verify/report.ts';
import { defaultHashFor } from '../sigstore/verify/signature-content.ts';
import { type VerifyBlobOptions, verifyBlob } from '../sigstore/verify/verify-blob.ts';
import { legacyTag } from './copy.ts';
import { parseManifestJson } from './manifest.ts';
import { COSIGN_SIMPLE_SIGNING } from './media-types.ts';
import { COSIGN_SIGN_PREDICATE, SIGNATURE_ANNOTATION } from './sign-image.ts';
import type { Descriptor, ImageManifest, ImageStore } from './types.ts';

export interface SignatureResult {
  readonly source: 'referrer' | 'legacy-sig';
  /** The referrer manifest digest, or `<tag>#<layer index>`. */
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
}

async function readBlob(store: ImageStore, desc: Descriptor, max = 16 * 1024 * 1024): Promise<Buffer> {
  if (desc.size > max) throw new AirlockError('E_INPUT_MALFORMED', `attached blob ${desc.digest} is ${desc.size} bytes, more than ${max}`);
  const chunks: Buffer[] = [];
  for await (const chunk of await store.getBlob(desc)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The bundle layer of a referrer manifest, as cosign reads it: exactly one sigstore-bundle layer. */
function bundleLayer(manifest: ImageManifest): Descriptor | undefined {
  const layers = manifest.layers ?? [];
  return layers.length === 1 && typeof layers[0]?.mediaType === 'string' && layers[0].mediaType.startsWith('application/vnd.dev.sigstore.bundle') ? layers[0] : undefined;
}

/** A referrer's Sigstore bundle (parsed JSON) and the referrer manifest's annotations; undefined for other artifacts. */
export async function readReferrerBundle(store: ImageStore, referrer: string): Promise<{ json: unknown; annotations: Readonly<Record<string, string>> } | undefined> {
  const manifest = parseManifestJson(await store.getManifest(referrer)) as ImageManifest;
  const layer = bundleLayer(manifest);
  if (!layer) return undefined;
  return { json: JSON.parse((await readBlob(store, layer)).toString('utf8')), annotations: manifest.annotations ?? {} };
}

async function verifyReferrers(store: ImageStore, subject: Descriptor, options: VerifyBlobOptions): Promise<SignatureResult[]> {
  const results: SignatureResult[] = [];
  for (const ref of await store.listReferrers(subject.digest)) {
    // Anyone who can write to the registry can attach referrers: one that cannot be read or checked is
    // a failed signature, never the end of the verification.
    try {
      const bundle = await readReferrerBundle(store, ref.digest);
      if (!bundle) continue; // SBOMs and other artifacts are not signatures
      const json = bundle.json;
      const report = await verifyBlob({ digest: subject.digest }, { json }, options);
      results.push({ source: 'referrer', where: ref.digest, ok: report.ok, report, ...(report.error ? { code: report.error.code, reason: report.error.message } : {}) });
    } catch (err) {
      const code = err instanceof AirlockError ? err.code : 'E_BUNDLE_MALFORMED';
      results.push({ source: 'referrer', where: ref.digest, ok: false, code, reason: (err as Error).message });
    }
  }
  return results;
}

interface SimpleSigningPayload {
  critical?: { image?: { 'docker-manifest-digest'?: string }; type?: string };
}

function verifyLegacyLayer(payload: Buffer, layer: Descriptor, digest: string, options: VerifyBlobOptions): { ok: boolean; code?: string; reason?: string } {
  if (options.trust.kind !== 'key') return { ok: false, code: 'E_UNSUPPORTED', reason: 'legacy .sig signatures are verified with --key only' };
  // Fail closed: a .sig carries no log checkpoint, so no witness can have cosigned anything for it.
  if (options.witnesses) return { ok: false, code: 'E_TLOG_CHECKPOINT', reason: 'witness cosignatures are required, and legacy signatures carry no log checkpoint to hold them' };
  if (layer.annotations?.['dev.sigstore.cosign/certificate']) return { ok: false, code: 'E_UNSUPPORTED', reason: 'certificate-based legacy signatures are not verified; use the bundle format' };
  if ((options.tlogThreshold ?? 1) > 0) {
    return { ok: false, code: 'E_TLOG_ENTRY', reason: 'legacy signatures carry no verifiable log entry here; with a key, pass --insecure-ignore-tlog' };
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
  if (!valid) return { ok: false, code: 'E_SIGNATURE_INVALID', reason: 'signature does not verify over the payload with the key' };
  let doc: SimpleSigningPayload;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, code: 'E_BUNDLE_MALFORMED', reason: 'payload is not JSON' };
  }
  if (doc.critical?.type !== 'cosign container image signature') return { ok: false, code: 'E_BUNDLE_MALFORMED', reason: 'not a cosign image signature payload' };
  const signed = doc.critical.image?.['docker-manifest-digest'];
  if (signed !== digest) return { ok: false, code: 'E_ARTIFACT_MISMATCH', reason: `payload signs ${signed}, the image is ${digest}` };
  return { ok: true };
}

async function verifyLegacy(store: ImageStore, subject: Descriptor, options: VerifyBlobOptions): Promise<SignatureResult[]> {
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
export async function verifyImage(store: ImageStore, subject: Descriptor, options: VerifyBlobOptions): Promise<ImageVerification> {
  const predicateType = options.predicateType ?? COSIGN_SIGN_PREDICATE;
  const bundles = await verifyReferrers(store, subject, { ...options, predicateType });
  // Attestations of other types are not signatures of this kind: leave them out of the verdict.
  const relevant = bundles.filter((r) => r.code !== 'E_PREDICATE_TYPE');
  const legacy = options.predicateType === undefined ? await verifyLegacy(store, subject, options) : [];
  const results = [...relevant, ...legacy];
  return { ok: results.some((r) => r.ok), digest: subject.digest, results };
}
