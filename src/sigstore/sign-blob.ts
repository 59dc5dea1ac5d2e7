// sign-blob and attest-blob: a Sigstore bundle v0.3 over a file, signed by any Signer, optionally
// witnessed by a transparency log and a timestamp authority. The bundle carries everything an offline
// verifier needs: the key hint (or, keyless, the signing certificate), the signature, and any log
// entry or timestamp.
import { readFileSync, statSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { basename } from 'node:path';
import {
  type Bundle,
  bundleToJSON,
  type SerializedBundle,
  toDSSEBundle,
  toMessageSignatureBundle,
} from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { type Digest, type DigestAlgorithm, digestBytes, digestFile } from '../crypto/digest.ts';
import { keyHint } from '../crypto/keys.ts';
import { SIGNING_ALGORITHMS, type Signer } from '../crypto/signer.ts';
import { fromFsError } from '../errors.ts';
import { readFileBounded } from '../files/read-file.ts';
import { IN_TOTO_PAYLOAD_TYPE, makeStatement, type Statement } from './in-toto.ts';
import { type WitnessOptions, witnessSignature } from './witnesses.ts';

/** Files up to this size are signed in memory by OpenSSL; larger ones are streamed once. */
const IN_MEMORY_LIMIT = 16 * 1024 * 1024;

export type BlobInput = { readonly path: string } | { readonly data: Uint8Array; readonly name?: string };

export interface SignOptions {
  readonly signer: Signer;
  /**
   * Keyless: the certificate the CA issued for the signer's key (keyless.ts). The bundle carries it
   * (v0.3 `certificate`) instead of a key hint, and logs get it as the verifier.
   */
  readonly certificate?: X509Certificate;
  readonly witnesses?: WitnessOptions;
  readonly onProgress?: (bytes: number) => void;
}

export interface SignedBlob {
  readonly bundle: SerializedBundle;
  readonly signature: Uint8Array;
  readonly digest: Digest;
}

const BUNDLE_HASH: Record<string, HashAlgorithm> = {
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
};

/** The message digest goes in the bundle; P-384 signs SHA-384, everything else SHA-256. */
function messageDigestAlgorithm(signer: Signer): DigestAlgorithm {
  return SIGNING_ALGORITHMS[signer.algorithm].hash === 'sha384' ? 'sha384' : 'sha256';
}

/**
 * How the input is read: a small file in memory; a large file, or anything that is not a regular file
 * (a FIFO, a device, a shell's `<(...)`: its size says nothing and it can be read only once), as a
 * stream.
 */
function readingOf(input: BlobInput): 'memory' | 'large file' | 'stream' {
  if ('data' in input) return 'memory';
  try {
    const st = statSync(input.path);
    return !st.isFile() ? 'stream' : st.size > IN_MEMORY_LIMIT ? 'large file' : 'memory';
  } catch (err) {
    throw fromFsError(err, input.path);
  }
}

/**
 * Small files are read synchronously: four thread-pool round trips per file (open, stat, read,
 * close) cost more than the read itself, and signing many small files is a hot path.
 */
function readSmall(input: BlobInput): Uint8Array {
  if ('data' in input) return input.data;
  try {
    return readFileSync(input.path);
  } catch (err) {
    throw fromFsError(err, input.path);
  }
}

/** One pass over the bytes: the digest, and the signature (over the digest where the key allows). */
async function signMessage(input: BlobInput, options: SignOptions): Promise<{ digest: Digest; signature: Uint8Array }> {
  const { signer } = options;
  const algorithm = messageDigestAlgorithm(signer);
  const signsOwnHash = SIGNING_ALGORITHMS[signer.algorithm].hash === algorithm;
  const reading = readingOf(input);
  if ('path' in input && reading !== 'memory') {
    if (signer.signDigest && signsOwnHash) {
      const digest = await digestFile(input.path, { algorithm, onProgress: options.onProgress });
      return { digest, signature: await signer.signDigest(Buffer.from(digest.hex, 'hex')) };
    }
    if (signer.startStream) {
      const stream = signer.startStream();
      const digest = await digestFile(input.path, { algorithm, onProgress: options.onProgress, alsoUpdate: [stream] });
      return { digest, signature: await stream.finish() };
    }
    // Pure Ed25519 signs the message itself, which it must hold whole: a large regular file is read
    // as before, but a stream (no size to trust) only up to the in-memory bound.
    if (reading === 'stream') {
      const data = await readFileBounded(
        input.path,
        IN_MEMORY_LIMIT,
        `a stream a ${signer.algorithm} key signs (it signs the whole message, held in memory)`,
      );
      return { digest: digestBytes(data, algorithm), signature: await signer.sign(data) };
    }
  }
  const data = readSmall(input);
  return { digest: digestBytes(data, algorithm), signature: await signer.sign(data) };
}

async function finishBundle(bundle: Bundle, signature: Uint8Array, options: SignOptions): Promise<SerializedBundle> {
  if (options.witnesses) {
    const material = await witnessSignature(
      bundle.content,
      signature,
      options.certificate ?? options.signer.publicKey,
      options.witnesses,
    );
    bundle.verificationMaterial.tlogEntries = material.tlogEntries;
    bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: material.rfc3161Timestamps };
  }
  return bundleToJSON(bundle);
}

/** The leaf alone, as v0.3 `certificate` (certificateChain false): verifiers take the chain from their root. */
function verificationMaterial(options: SignOptions): { certificate: Buffer } | { keyHint: string } {
  return options.certificate
    ? { certificate: Buffer.from(options.certificate.raw) }
    : { keyHint: keyHint(options.signer.publicKey) };
}

/** A message-signature bundle over the blob (cosign sign-blob --bundle). */
export async function signBlob(input: BlobInput, options: SignOptions): Promise<SignedBlob> {
  const { digest, signature } = await signMessage(input, options);
  const bundle = toMessageSignatureBundle({
    digest: Buffer.from(digest.hex, 'hex'),
    signature: Buffer.from(signature),
    ...verificationMaterial(options),
  });
  if (bundle.content.$case === 'messageSignature' && bundle.content.messageSignature.messageDigest) {
    bundle.content.messageSignature.messageDigest.algorithm = BUNDLE_HASH[digest.algorithm] ?? HashAlgorithm.SHA2_256;
  }
  return { bundle: await finishBundle(bundle, signature, options), signature, digest };
}

export interface AttestOptions extends SignOptions {
  readonly predicateType: string;
  readonly predicate: unknown;
}

export interface AttestedBlob extends SignedBlob {
  readonly statement: Statement;
}

/** A DSSE bundle over an in-toto Statement whose subject is the blob (cosign attest-blob). */
export async function attestBlob(input: BlobInput, options: AttestOptions): Promise<AttestedBlob> {
  const name = 'path' in input ? basename(input.path) : (input.name ?? 'blob');
  const digest =
    'path' in input ? await digestFile(input.path, { onProgress: options.onProgress }) : digestBytes(input.data);
  const statement = makeStatement([{ name, digest: { sha256: digest.hex } }], options.predicateType, options.predicate);
  return signStatement(statement, digest, options);
}

/** Signs an already-built Statement as a DSSE bundle (shared with image attestations). */
export async function signStatement(statement: Statement, digest: Digest, options: SignOptions): Promise<AttestedBlob> {
  const payload = Buffer.from(JSON.stringify(statement));
  const signature = await options.signer.sign(dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload));
  const bundle = toDSSEBundle({
    artifact: payload,
    artifactType: IN_TOTO_PAYLOAD_TYPE,
    signature: Buffer.from(signature),
    ...verificationMaterial(options),
  });
  return { bundle: await finishBundle(bundle, signature, options), signature, digest, statement };
}
