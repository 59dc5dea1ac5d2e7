// `airlock approve` (the seed's "approved_by security-team"): one more signature over the same
// manifest.sha256, nothing else changed. An approver co-signs only what they can verify: the
// signatures already on the manifest must come from the signers given (at least K of them) before
// one is added, and the payload is re-read and checked against the manifest on the way (an approver
// never signs what they did not get). The result is written as a new package; the input is untouched.
import type { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestBytes } from '../crypto/digest.ts';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import type { WitnessOptions } from '../sigstore/witnesses.ts';
import {
  HEADER_NAMES,
  MANIFEST_NAME,
  METADATA_NAME,
  parseManifest,
  parseMetadata,
  PGP_SIGNATURE_NAME,
  SIGSTORE_APPROVAL,
  SIGSTORE_SIGNATURE_NAME,
  sigstoreSignatureName,
  type TransferMetadata,
} from './format.ts';
import { combineSignatures, type PgpSigningKey, signDetached } from './openpgp.ts';
import { readPackage } from './package/read-package.ts';
import { writePackage } from './package/write-package.ts';
import { checkManifestSignatures, requireSigners, type SignerRecord, type Signers } from './signers.ts';
import { makeStaging } from './staging-dir.ts';

/** What a Sigstore signature over the manifest is made with: a key, or an ephemeral one and its certificate. */
export interface SigstoreSigning {
  readonly signer: Signer;
  readonly certificate?: X509Certificate;
  readonly witnesses?: WitnessOptions;
}

export interface ApproveOptions {
  readonly source: string;
  readonly out: string;
  readonly format: 'tar' | 'dir';
  readonly overwrite?: boolean;
  readonly signer?: Signer;
  /** Keyless: the certificate the CA issued for `signer`'s ephemeral key, and the log (and TSA) witnessing it. */
  readonly certificate?: X509Certificate;
  readonly witnesses?: WitnessOptions;
  /**
   * Instead of `signer`: opened only once the package verified, so a keyless certificate (which lives
   * minutes) is asked for after a long read, and never for a package that is refused.
   */
  readonly openSigner?: () => Promise<SigstoreSigning>;
  readonly pgpKey?: PgpSigningKey;
  /** Whose signatures must already be on the manifest (at least `required` of them) before it is co-signed. */
  readonly signers: Signers;
  readonly stateDir: string;
  readonly now: Date;
}

export interface ApproveResult {
  readonly added: string[];
  /** sha256:<hex> of the manifest approved: the package's identity on its channel. */
  readonly manifest: string;
  readonly metadata: TransferMetadata;
  /** The signatures found on the manifest, verified, before this one was added. */
  readonly verified: SignerRecord[];
  readonly problems: string[];
}

/** How many airlock-key signatures a package may carry (HEADER_NAMES): the reader takes no more. */
const MAX_SIGSTORE_SIGNATURES = HEADER_NAMES.filter(
  (h) => h === SIGSTORE_SIGNATURE_NAME || SIGSTORE_APPROVAL.test(h),
).length;

/** The first signature slot not taken: manifest.sha256.sigstore.json, then .2., .3., … */
function freeSigstoreSlot(headers: ReadonlyMap<string, unknown>): number {
  let n = 1;
  while (headers.has(sigstoreSignatureName(n))) n++;
  return n;
}

/** This approver's signatures, added to `headers`; the names of the headers written. */
async function addSignatures(headers: Map<string, Buffer>, manifest: Buffer, options: ApproveOptions) {
  const added: string[] = [];
  if (options.pgpKey) {
    const mine = await signDetached(manifest, options.pgpKey.key);
    const existing = headers.get(PGP_SIGNATURE_NAME);
    headers.set(
      PGP_SIGNATURE_NAME,
      Buffer.from(existing ? await combineSignatures([existing.toString('utf8'), mine]) : mine),
    );
    added.push(PGP_SIGNATURE_NAME);
  }
  const { signer, certificate, witnesses } = options.signer ? options : ((await options.openSigner?.()) ?? {});
  if (signer) {
    const n = freeSigstoreSlot(headers);
    const { bundle } = await signBlob(
      { data: manifest, name: MANIFEST_NAME },
      { signer, ...(certificate ? { certificate } : {}), ...(witnesses ? { witnesses } : {}) },
    );
    headers.set(sigstoreSignatureName(n), Buffer.from(`${JSON.stringify(bundle)}\n`));
    added.push(sigstoreSignatureName(n));
  }
  return added;
}

export async function approvePackage(options: ApproveOptions): Promise<ApproveResult> {
  const sigstore = Boolean(options.signer ?? options.openSigner);
  if (!sigstore && !options.pgpKey) throw new AirlockError('E_USAGE', 'approve needs --key and/or --pgp-key');
  const staging = await makeStaging(options.stateDir, 'approve');
  let verified: SignerRecord[] = [];
  let problems: string[] = [];
  let metadata: TransferMetadata | undefined;
  try {
    const read = await readPackage(options.source, {
      headerNames: HEADER_NAMES,
      stagingDir: staging,
      acceptHeaders: async (headers) => {
        const manifest = headers.get(MANIFEST_NAME);
        if (!manifest || !headers.has(METADATA_NAME))
          throw new AirlockError('E_INPUT_MALFORMED', 'not a transfer package: no metadata or manifest');
        const entries = parseManifest(manifest);
        const check = await checkManifestSignatures(headers, manifest, options.signers, options.now);
        ({ signers: verified, problems } = check);
        // Never co-sign what cannot be verified: a signature added to a forged manifest would vouch for it.
        requireSigners(check, options.signers.required);
        const meta = headers.get(METADATA_NAME) as Buffer;
        if (entries.get(METADATA_NAME) !== digestBytes(meta).hex)
          throw new AirlockError(
            'E_PACKAGE_TAMPERED',
            `${METADATA_NAME} is not covered by the signed manifest (missing or different hash)`,
          );
        metadata = parseMetadata(meta);
        if (sigstore && !HEADER_NAMES.includes(sigstoreSignatureName(freeSigstoreSlot(headers)))) {
          throw new AirlockError(
            'E_INPUT_MALFORMED',
            `the package already holds ${MAX_SIGSTORE_SIGNATURES} airlock-key signatures over ` +
              `its manifest: there is no room for another`,
            {
              hint:
                'approve with --pgp-key (OpenPGP signatures share one file), or ask for a package ' +
                'without the extra signatures',
            },
          );
        }
        entries.delete(METADATA_NAME);
        return entries;
      },
    });
    const headers = new Map(read.headers);
    const manifest = headers.get(MANIFEST_NAME) as Buffer;
    const added = await addSignatures(headers, manifest, options);
    const order = [
      METADATA_NAME,
      MANIFEST_NAME,
      ...HEADER_NAMES.filter((h) => h !== METADATA_NAME && h !== MANIFEST_NAME),
    ];
    const headerEntries = order.filter((h) => headers.has(h)).map((h) => ({ path: h, data: headers.get(h) as Buffer }));
    // In the order the package has them (pack puts small files first; see payloadOrder).
    const payload = [...read.files.keys()].map((p) => ({ path: p, file: join(staging, p) }));
    await writePackage(options.out, [...headerEntries, ...payload], {
      format: options.format,
      overwrite: options.overwrite ?? false,
    });
    if (!metadata) throw new AirlockError('E_INTERNAL', 'headers were not accepted');
    return { added, verified, problems, manifest: `sha256:${digestBytes(manifest).hex}`, metadata };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
