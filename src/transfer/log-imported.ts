// `import --rekor-url`: every image signature the import verified is appended to the on-prem
// transparency log, and the bundle, now carrying its on-prem entry (inclusion proof + signed
// checkpoint), is attached to the image as one more referrer — so admission and `verify` inside the
// gap can require a log entry from a log they trust. The original referrer is kept unchanged.
//
// Runs on the import's private copy of the package's layout, before anything is pushed: a log that
// refuses or is out of reach fails the import with nothing pushed. Entries already logged (a re-run)
// come back as the existing entry (409), so a repeated import appends nothing twice.
//
// The entry names what verified the signature, in the form Sigstore verifiers rebuild it from the bundle:
// the trusted key for a key-signed bundle (--key, or a policy's key authority), the bundle's own leaf
// certificate for a keyless one (its chain and identity were verified against the trust root).
import type { HttpTransport } from '../net/http/transport.ts';
import { type KeyObject, X509Certificate } from 'node:crypto';
import { type Bundle, bundleFromJSON, bundleToJSON, type TransparencyLogEntry } from '@sigstore/bundle';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { openCheckpoint } from '../log/checkpoint.ts';
import { leafHash, verifyInclusion } from '../log/merkle.ts';
import type { NoteVerifier } from '../log/note.ts';
import { descriptorOf } from '../oci/manifest.ts';
import { writeBundleReferrer } from '../oci/sign-image.ts';
import type { ImageStore } from '../oci/types.ts';
import { readReferrerBundle, type SignatureResult } from '../oci/verify-image.ts';
import { createEntryRequestFor, uploadToRekorV2 } from '../sigstore/rekor-v2-client.ts';
import { leafBytes } from '../sigstore/verify/verify-blob.ts';
import type { ImageTrust } from './image-trust.ts';

/** What verified a referrer's signature: a trusted key, or the bundle's own certificate (keyless). */
export type VerifiedBy =
  | { readonly kind: 'key'; readonly publicKey: KeyObject }
  | { readonly kind: 'certificate'; readonly identity: string | undefined };

export interface VerifiedReferrer {
  /** The referrer manifest digest. */
  readonly referrer: string;
  readonly verifiedBy: VerifiedBy;
}

export interface LogImportedOptions {
  /** The on-prem log's base URL (`airlock log serve`, or any Rekor v2 log). */
  readonly url: string;
  /** The log's pinned key: each entry it returns must be included in a checkpoint it signed. */
  readonly logVerifier: NoteVerifier;
  readonly now: Date;
  readonly transport?: HttpTransport;
  readonly timeoutMs?: number;
}

export interface LoggedSignature {
  /** The verified referrer (its bundle as packed). */
  readonly referrer: string;
  /** What the entry names as the signature's verifier. */
  readonly verifier: 'key' | 'certificate';
  readonly logIndex: string;
  /** The new referrer: the same bundle with the on-prem entry added. */
  readonly augmented: string;
}

const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/**
 * The referrers among `results` that verified, once each (a policy may verify one for several entries),
 * with what verified each: the certificate, or the one key of `trust` whose fingerprint the report names.
 */
export function verifiedReferrers(results: readonly SignatureResult[], trust: ImageTrust): VerifiedReferrer[] {
  const keys = 'policy' in trust ? [...trust.keys.values()] : trust.trust.kind === 'key' ? [trust.trust.publicKey] : [];
  const found = new Map<string, VerifiedReferrer>();
  for (const result of results) {
    if (!result.ok || result.source !== 'referrer' || found.has(result.where)) continue;
    found.set(result.where, { referrer: result.where, verifiedBy: verifiedBy(result, keys) });
  }
  return [...found.values()];
}

function verifiedBy(result: SignatureResult, keys: readonly KeyObject[]): VerifiedBy {
  const signer = result.report?.signer;
  if (signer?.type === 'certificate') return { kind: 'certificate', identity: signer.subjectAlternativeName };
  const publicKey = signer && keys.find((k) => keyFingerprint(k) === signer.fingerprint);
  // A verified signature always names its signer; one that names no key held here would be logged under a guess.
  if (!publicKey) {
    throw new AirlockError(
      'E_INTERNAL',
      `referrer ${result.where} verified, but its signer is no key this import holds`,
    );
  }
  return { kind: 'key', publicKey };
}

/** The entry's verifier, checked against the bundle: a key only for a key-signed bundle, else its leaf certificate. */
function entryVerifier(bundle: Bundle, referrer: VerifiedReferrer): KeyObject | X509Certificate {
  const content = bundle.verificationMaterial.content;
  const leaf = leafBytes(bundle);
  const by = referrer.verifiedBy;
  if (by.kind === 'key' && content.$case === 'publicKey') return by.publicKey;
  if (by.kind === 'certificate' && leaf) return new X509Certificate(leaf);
  throw new AirlockError(
    'E_INTERNAL',
    `referrer ${referrer.referrer} verified with a ${by.kind}, but its bundle holds ${content.$case}`,
  );
}

/** What the log answered must be provably in the log we pinned: never attach an entry we cannot check. */
function checkReturnedEntry(entry: TransparencyLogEntry, verifier: NoteVerifier, url: string): void {
  const proof = entry.inclusionProof;
  if (!proof?.checkpoint?.envelope)
    throw new AirlockError('E_TLOG_INCLUSION', `${url} returned an entry without an inclusion proof and checkpoint`);
  const { checkpoint } = openCheckpoint(proof.checkpoint.envelope, verifier);
  const index = Number(proof.logIndex);
  const size = Number(proof.treeSize);
  if (
    checkpoint.size !== size ||
    !verifyInclusion(index, size, leafHash(entry.canonicalizedBody), proof.hashes, checkpoint.rootHash)
  ) {
    throw new AirlockError(
      'E_TLOG_INCLUSION',
      `${url} returned entry ${proof.logIndex} with an inclusion proof that does not lead to its signed checkpoint`,
    );
  }
}

/**
 * Logs the bundles of `referrers` (verified referrer digests of `subject`) and attaches the augmented bundles to
 * `layout`.
 */
export async function logImportedSignatures(
  layout: ImageStore,
  subjectDigest: string,
  referrers: readonly VerifiedReferrer[],
  options: LogImportedOptions,
): Promise<LoggedSignature[]> {
  const subjectDesc = descriptorOf(await layout.getManifest(subjectDigest));
  const logged: LoggedSignature[] = [];
  for (const verified of referrers) {
    const { referrer } = verified;
    const read = await readReferrerBundle(layout, referrer);
    if (!read) continue;
    const bundle = bundleFromJSON(read.json);
    const request = createEntryRequestFor(bundle.content, entryVerifier(bundle, verified));
    const entry = await uploadToRekorV2(options.url, request, {
      ...(options.transport ? { transport: options.transport } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    checkReturnedEntry(entry, options.logVerifier, options.url);
    const augmented = bundleToJSON({
      ...bundle,
      verificationMaterial: {
        ...bundle.verificationMaterial,
        tlogEntries: [...bundle.verificationMaterial.tlogEntries, entry],
      },
    });
    const predicateType = read.annotations['dev.sigstore.bundle.predicateType'] ?? SIGN_PREDICATE;
    const desc = await writeBundleReferrer(layout, subjectDesc, augmented, predicateType, options.now);
    logged.push({ referrer, verifier: verified.verifiedBy.kind, logIndex: entry.logIndex, augmented: desc.digest });
  }
  return logged;
}
