// `import --rekor-url`: every image signature the import verified is appended to the on-prem
// transparency log, and the bundle, now carrying its on-prem entry (inclusion proof + signed
// checkpoint), is attached to the image as one more referrer — so admission and `verify` inside the
// gap can require a log entry from a log they trust. The original referrer is kept unchanged.
//
// Runs on the import's private copy of the package's layout, before anything is pushed: a log that
// refuses or is out of reach fails the import with nothing pushed. Entries already logged (a re-run)
// come back as the existing entry (409), so a repeated import appends nothing twice.
import type { HttpTransport } from '../net/http/transport.ts';
import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, type TransparencyLogEntry } from '@sigstore/bundle';
import { AirlockError } from '../errors.ts';
import { openCheckpoint } from '../log/checkpoint.ts';
import { leafHash, verifyInclusion } from '../log/merkle.ts';
import type { NoteVerifier } from '../log/note.ts';
import { descriptorOf } from '../oci/manifest.ts';
import { writeBundleReferrer } from '../oci/sign-image.ts';
import type { ImageStore } from '../oci/types.ts';
import { readReferrerBundle } from '../oci/verify-image.ts';
import { createEntryRequestFor, uploadToRekorV2 } from '../sigstore/rekor-v2-client.ts';

export interface LogImportedOptions {
  /** The on-prem log's base URL (`airlock log serve`, or any Rekor v2 log). */
  readonly url: string;
  /** The key the signatures were verified with: the log's entry names it. */
  readonly publicKey: KeyObject;
  /** The log's pinned key: each entry it returns must be included in a checkpoint it signed. */
  readonly logVerifier: NoteVerifier;
  readonly now: Date;
  readonly transport?: HttpTransport;
  readonly timeoutMs?: number;
}

export interface LoggedSignature {
  /** The verified referrer (its bundle as packed). */
  readonly referrer: string;
  readonly logIndex: string;
  /** The new referrer: the same bundle with the on-prem entry added. */
  readonly augmented: string;
}

const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

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
  referrers: readonly string[],
  options: LogImportedOptions,
): Promise<LoggedSignature[]> {
  const subjectDesc = descriptorOf(await layout.getManifest(subjectDigest));
  const logged: LoggedSignature[] = [];
  for (const referrer of referrers) {
    const read = await readReferrerBundle(layout, referrer);
    if (!read) continue;
    const bundle = bundleFromJSON(read.json);
    const entry = await uploadToRekorV2(options.url, createEntryRequestFor(bundle.content, options.publicKey), {
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
    logged.push({ referrer, logIndex: entry.logIndex, augmented: desc.digest });
  }
  return logged;
}
