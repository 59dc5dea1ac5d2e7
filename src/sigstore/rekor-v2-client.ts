// Logging a signature in a Rekor v2 log (rekor-tiles, or `airlock log serve`) when signing with
// `--rekor-api-version 2`. @sigstore/sign's RekorWitness cannot be used for it: it sends a certificate
// verifier with a hard-coded P-256 keyDetails, and DSSE as dsseRequestV002, which Rekor v2 now refuses
// and sigstore-go cannot read (shared/design/notes/tlog-anchors.md §0, §5.3).
//
// Every signature is logged as hashedrekord v0.0.2, DSSE included (digest = SHA-256 of the PAE), in
// exactly the form the verifiers rebuild it (§2.4, §5.4); signatures no verifier could match to such an
// entry are refused before anything is sent.
import { createHash, type KeyObject, X509Certificate } from 'node:crypto';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { publicKeyDetailsToJSON, TransparencyLogEntry as ProtoTransparencyLogEntry } from '@sigstore/protobuf-specs';
import type { SignatureBundle } from '@sigstore/sign';
import { AirlockError, isAirlockError } from '../errors.ts';
import { ENTRY_API_VERSION, ENTRY_KIND, entryAlgorithmFor, entryHashAlgorithm } from '../log/rekor-entry.ts';
import { type CreateEntryRequestJSON, parseCreateEntryRequest, toCreateEntryRequest } from '../log/rekor-request.ts';
import { type Exchange, exchange, failureReason, header, SERVICE_TIMEOUT_MS } from '../net/http/exchange.ts';
import type { HttpTransport } from '../net/http/transport.ts';

/** A TLE is a few KiB even with many cosignatures; the bound keeps a hostile server from filling memory. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

const KEYS_THAT_LOG = 'ECDSA P-256 or RSA PKCS#1 v1.5 (2048–4096) keys; P-384 for blobs too';

export interface RekorV2Options {
  /** Defaults to the transport services share (net/http/exchange.ts). */
  readonly transport?: HttpTransport;
  /** The whole exchange. Default SERVICE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

function refuse(message: string, hint: string): AirlockError {
  return new AirlockError('E_KEY_UNSUPPORTED', message, { hint });
}

/**
 * The CreateEntryRequest for what signing produced: the message digest of a message signature, or
 * SHA-256(PAE) of a DSSE envelope, with the bundle's signature and the key as SPKI DER (keyless: the
 * certificate as x509Certificate, keyDetails from its key). Refuses (E_KEY_UNSUPPORTED) signatures a
 * v2 entry cannot carry in a form every verifier accepts.
 */
export function createEntryRequestFor(
  content: SignatureBundle,
  verifier: KeyObject | X509Certificate,
): CreateEntryRequestJSON {
  const publicKey = verifier instanceof X509Certificate ? verifier.publicKey : verifier;
  if (publicKey.asymmetricKeyType === 'ed25519') {
    throw refuse(
      'an Ed25519 signature cannot be logged in a Rekor v2 log: the key signs the whole message ' +
        '(pure Ed25519), but the log checks hashedrekord signatures over a digest',
      `Rekor v2 logs signatures from ${KEYS_THAT_LOG}`,
    );
  }
  const { keyDetails, hash } = entryAlgorithmFor(publicKey);
  let digest: Uint8Array;
  let signature: Uint8Array;
  if (content.$case === 'dsseEnvelope') {
    // @sigstore/verify ≥ 4.1 compares SHA-256(PAE); sigstore-go rebuilds with the key's own hash.
    if (hash !== 'sha256') {
      throw refuse(
        `a DSSE envelope signed with ${publicKeyDetailsToJSON(keyDetails)} cannot be logged in a ` +
          `Rekor v2 log in a form every verifier accepts: ` +
          `@sigstore/verify expects the entry digest to be SHA-256 of the PAE, cosign and sigstore-go ${hash} of it`,
        'sign attestations with a P-256 or RSA key to log them in a v2 log, or log them with --rekor-api-version 1',
      );
    }
    const { payloadType, payload, signatures } = content.dsseEnvelope;
    digest = createHash('sha256').update(dsse.preAuthEncoding(payloadType, payload)).digest();
    signature = signatures[0]?.sig ?? Buffer.alloc(0);
  } else {
    const { messageDigest } = content.messageSignature;
    if (messageDigest?.algorithm !== entryHashAlgorithm(hash)) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `the bundle's message digest is not ${hash}, the digest a ${publicKeyDetailsToJSON(keyDetails)} key logs`,
        {
          hint: "sign the blob again: airlock picks the key's hash",
        },
      );
    }
    digest = messageDigest.digest;
    signature = content.messageSignature.signature;
  }
  const request = toCreateEntryRequest({ digest, signature, verifier });
  selfCheck(request, publicKey);
  return request;
}

/** The log would refuse what does not verify; say why here, where the cause is known. */
function selfCheck(request: CreateEntryRequestJSON, publicKey: KeyObject): void {
  try {
    parseCreateEntryRequest(request);
  } catch (err) {
    if (isAirlockError(err, 'E_SIGNATURE_INVALID') && publicKey.asymmetricKeyType === 'rsa') {
      throw refuse(
        'the RSA signature is not PKCS#1 v1.5 over the digest: Rekor v2 logs no RSA-PSS signatures',
        'sign with --signing-algorithm rsa-sign-pkcs1-<bits>-sha256 to log in a v2 log',
      );
    }
    throw err;
  }
}

function uploadError(url: string, reason: string, options: { cause?: unknown; hint?: string } = {}): AirlockError {
  return new AirlockError(
    'E_TLOG_UPLOAD',
    `could not upload the signature to the transparency log ${url}: ${reason}`,
    options,
  );
}

/**
 * POSTs `request` to `${url}/api/v2/log/entries` and returns the log's entry for the bundle. A 409
 * (already logged) is accepted when the log returns the existing entry, as `airlock log serve` does.
 * E_TLOG_UPLOAD on network errors, refusals, and entries that do not match the request.
 */
export async function uploadToRekorV2(
  url: string,
  request: CreateEntryRequestJSON,
  options: RekorV2Options = {},
): Promise<TransparencyLogEntry> {
  const expectedBody = parseCreateEntryRequest(request).body;
  const timeoutMs = options.timeoutMs ?? SERVICE_TIMEOUT_MS;
  let response: Exchange;
  try {
    response = await exchange(
      {
        method: 'POST',
        url: new URL(`${url}/api/v2/log/entries`),
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: Buffer.from(JSON.stringify(request)),
        // A redirect would send the entry to a log the user never named.
        redirects: 'none',
      },
      { maxBytes: MAX_RESPONSE_BYTES, deadlineMs: timeoutMs },
      options.transport,
    );
  } catch (err) {
    throw uploadError(url, failureReason(err), { cause: err });
  }
  const text = response.body.toString('utf8');
  if (response.status === 201) return checkedEntry(parseEntry(text, url), expectedBody, url);
  if (response.status === 409) {
    const index = header(response.headers, 'x-log-index') ?? '(not given)';
    if (text.trim() === '') {
      throw uploadError(
        url,
        `the log already holds this entry at index ${index} and, like Rekor v2, does not return it`,
        {
          hint: 'fetch the entry from the log, or sign again: a new ECDSA signature makes a new entry',
        },
      );
    }
    const entry = checkedEntry(parseEntry(text, url), expectedBody, url);
    if (entry.logIndex !== index)
      throw uploadError(url, `409 names index ${index} but returns the entry at ${entry.logIndex}`);
    return entry;
  }
  if (response.status >= 300 && response.status < 400)
    throw uploadError(url, `HTTP ${response.status}: the log answered with a redirect, which is not followed`);
  throw uploadError(url, `HTTP ${response.status}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}`);
}

function parseEntry(text: string, url: string): ProtoTransparencyLogEntry {
  try {
    return ProtoTransparencyLogEntry.fromJSON(JSON.parse(text));
  } catch (err) {
    throw uploadError(url, `the answer is not a TransparencyLogEntry: ${(err as Error).message}`, { cause: err });
  }
}

/** Why the entry would leave the bundle unverifiable, if it would: a broken bundle is never written. */
function entryProblem(entry: ProtoTransparencyLogEntry, expectedBody: Uint8Array): string | undefined {
  const { kindVersion, inclusionProof } = entry;
  if (kindVersion?.kind !== ENTRY_KIND || kindVersion.version !== ENTRY_API_VERSION) {
    return `the entry is ${kindVersion?.kind}/${kindVersion?.version}, not ${ENTRY_KIND}/${ENTRY_API_VERSION}`;
  }
  if (!Buffer.from(entry.canonicalizedBody).equals(expectedBody)) {
    return 'the log stored another entry body than the one sent, which verifiers that rebuild the entry would reject';
  }
  if (!entry.logId?.keyId.length) return 'the entry has no logId';
  if (!inclusionProof?.checkpoint?.envelope) return 'the entry has no inclusion proof with a checkpoint';
  // sigstore-js proves inclusion at inclusionProof.logIndex, sigstore-go at logIndex.
  if (inclusionProof.logIndex !== entry.logIndex) {
    return `the inclusion proof is for index ${inclusionProof.logIndex}, the entry is at ${entry.logIndex}`;
  }
  if (entry.inclusionPromise)
    return 'the entry carries a Rekor v1 inclusion promise, which makes sigstore-go skip a v2 entry';
  return undefined;
}

function checkedEntry(entry: ProtoTransparencyLogEntry, expectedBody: Uint8Array, url: string): TransparencyLogEntry {
  const problem = entryProblem(entry, expectedBody);
  const { logId, kindVersion } = entry;
  if (problem || !logId || !kindVersion) throw uploadError(url, problem ?? 'the entry is incomplete');
  return { ...entry, logId, kindVersion };
}
