// RFC 3161 client: asks a timestamp authority (TSA) to countersign a signature, as cosign's
// `--timestamp-server-url` does, so that a bundle signed with a long-lived key or a short-lived
// certificate carries trusted evidence of *when* it was signed.
//
// What a Sigstore bundle stores: `verificationMaterial.timestampVerificationData.rfc3161Timestamps[]
// .signedTimestamp` is the DER *TimeStampResp* (RFC 3161 §2.4.2: PKIStatusInfo + TimeStampToken), not the
// bare TimeStampToken ContentInfo. The protobuf-specs field comment says "the DER encoded
// TimeStampResponse", and @sigstore/core's RFC3161Timestamp.parse reads `root.subs[0]` as PKIStatusInfo
// and `root.subs[1]` as the token; cosign and sigstore-go store the TSA's HTTP body likewise. So the
// reply body is returned byte for byte, after checking it answers our query.
//
// The TSA's signature is deliberately not verified here: which TSAs to trust is decided by the trusted
// root at verification time, and verifying against whatever certificate the reply embeds would prove
// nothing. What is checked is that the reply is bound to this request (imprint and nonce, §2.4.2).
import { createHash, randomBytes } from 'node:crypto';
import { id_signedData, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert, AsnParser, OctetString } from '@peculiar/asn1-schema';
import { id_ct_tstInfo, MessageImprint, TimeStampReq, TimeStampResp, TSTInfo } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { fromBER } from 'asn1js';
import { AirlockError } from '../errors.ts';
import { type Exchange, exchange, failureReason, header } from '../net/http/exchange.ts';
import { HttpFailure } from '../net/http/failure.ts';
import type { HttpTransport } from '../net/http/transport.ts';

export type TimestampHashAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface TimestampRequestOptions {
  /** The TSA endpoint that accepts RFC 3161 §3.4 HTTP POSTs, e.g. `https://tsa.example/api/v1/timestamp`. */
  readonly url: string;
  /** Defaults to the transport services share (net/http/exchange.ts). */
  readonly transport?: HttpTransport;
  /** Hash of the signature sent as the message imprint. Default sha256. */
  readonly hashAlgorithm?: TimestampHashAlgorithm;
  /** Source of the nonce bytes; defaults to node:crypto randomBytes. */
  readonly random?: (n: number) => Uint8Array;
  /** Whole exchange, connect to last byte. Default 30 s. */
  readonly timeoutMs?: number;
}

const HASH_OIDS: Record<TimestampHashAlgorithm, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

/** RFC 3161 §2.4.2 suggests a 64-bit nonce. */
export const NONCE_BYTES = 8;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Replies are a few KiB (token plus a certificate chain); a bound keeps a hostile server from filling memory. */
const MAX_REPLY_BYTES = 1024 * 1024;

/** PKIStatus values, RFC 3161 §2.4.2. */
const STATUS_NAMES = [
  'granted',
  'grantedWithMods',
  'rejection',
  'waiting',
  'revocationWarning',
  'revocationNotification',
];
const GRANTED = new Set([0, 1]);

// PKIFailureInfo named bits, RFC 3161 §2.4.2. Read from the BIT STRING here because
// @peculiar/asn1-tsp 2.6.0's PKIFailureInfoFlags number most bits one position too low.
const FAILURE_BITS: ReadonlyArray<readonly [number, string]> = [
  [0, 'badAlg'],
  [2, 'badRequest'],
  [5, 'badDataFormat'],
  [14, 'timeNotAvailable'],
  [15, 'unacceptedPolicy'],
  [16, 'unacceptedExtension'],
  [17, 'addInfoNotAvailable'],
  [25, 'systemFailure'],
];

interface ExpectedReply {
  readonly hashOid: string;
  readonly digest: Uint8Array;
  readonly nonce: bigint;
}

/**
 * Gets an RFC 3161 timestamp over `signature` from the TSA at `options.url` and returns the DER
 * TimeStampResp, ready for a bundle's `rfc3161Timestamps[].signedTimestamp`. E_TSA on any failure.
 */
export async function requestTimestamp(signature: Uint8Array, options: TimestampRequestOptions): Promise<Uint8Array> {
  const url = parseTsaUrl(options.url);
  const algorithm = options.hashAlgorithm ?? 'sha256';
  const expected: ExpectedReply = {
    hashOid: HASH_OIDS[algorithm],
    digest: createHash(algorithm).update(signature).digest(),
    nonce: nonceFrom((options.random ?? randomBytes)(NONCE_BYTES)),
  };
  const query = encodeQuery(expected);
  const reply = await post(url, query, options);
  checkReply(reply, expected, displayUrl(url));
  return reply;
}

function parseTsaUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new AirlockError('E_TSA', `timestamp authority URL ${JSON.stringify(text)} is not a valid URL`, {
      cause: err,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AirlockError('E_TSA', `timestamp authority URL ${displayUrl(url)} must be http: or https:`);
  }
  // A URL's credentials would be sent to the TSA, and an error message would echo the password.
  if (url.username || url.password) {
    throw new AirlockError('E_TSA', `timestamp authority URL ${displayUrl(url)} must not contain credentials`);
  }
  return url;
}

/** The URL as shown in messages: without userinfo or query, which may carry secrets. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function tsaError(where: string, message: string, cause?: unknown): AirlockError {
  return new AirlockError('E_TSA', `timestamp authority ${where}: ${message}`, cause === undefined ? {} : { cause });
}

// ---------------------------------------------------------------------------------------------------
// Query (RFC 3161 §2.4.1)

/** Nonce bytes read as an unsigned number: a negative INTEGER nonce is legal but trips some TSAs. */
function nonceFrom(bytes: Uint8Array): bigint {
  if (bytes.length !== NONCE_BYTES)
    throw new AirlockError('E_INTERNAL', `nonce source returned ${bytes.length} bytes, want ${NONCE_BYTES}`);
  return BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

// The INTEGER content octets are built here because @peculiar/asn1-schema's ArrayBuffer INTEGER
// converter copies bytes verbatim: 8 random bytes with the top bit set would encode a negative number,
// and a leading zero octet would be non-minimal DER that OpenSSL rejects.
/** The minimal big-endian two's-complement content octets of a non-negative integer (X.690 §8.3.2). */
function integerOctets(value: bigint): ArrayBuffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return Uint8Array.from(Buffer.from(hex, 'hex')).buffer;
}

function octetsToBigint(bytes: ArrayBuffer): bigint {
  const hex = Buffer.from(bytes).toString('hex');
  return hex === '' ? 0n : BigInt(`0x${hex}`);
}

/**
 * A DER TimeStampReq over a digest already made, with an unsigned nonce read from `nonceBytes` and
 * certReq set: what the TSA server builds from Sigstore's JSON request form.
 */
export function timestampQueryFor(
  digest: Uint8Array,
  hashAlgorithm: TimestampHashAlgorithm,
  nonceBytes: Uint8Array,
): Uint8Array {
  return encodeQuery({ hashOid: HASH_OIDS[hashAlgorithm], digest, nonce: nonceFrom(nonceBytes) });
}

function encodeQuery(expected: ExpectedReply): Uint8Array {
  const request = new TimeStampReq({
    messageImprint: new MessageImprint({
      // RFC 5754 §2: SHA-2 AlgorithmIdentifiers are generated with absent parameters.
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: expected.hashOid }),
      hashedMessage: new OctetString(expected.digest),
    }),
    nonce: integerOctets(expected.nonce),
    // §2.4.1: certReq TRUE (as cosign sends) makes the TSA embed its certificate in the token, so
    // verifiers that hold only the CA, such as `openssl ts -verify -CAfile`, can check it too.
    certReq: true,
  });
  return new Uint8Array(AsnConvert.serialize(request));
}

// ---------------------------------------------------------------------------------------------------
// Transport (RFC 3161 §3.4)

async function post(url: URL, query: Uint8Array, options: TimestampRequestOptions): Promise<Uint8Array> {
  const where = displayUrl(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let response: Exchange;
  try {
    response = await exchange(
      {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
        body: query,
        // A redirect to another host would send our query somewhere the user never named.
        redirects: 'none',
      },
      { maxBytes: MAX_REPLY_BYTES, deadlineMs: timeoutMs },
      options.transport,
    );
  } catch (err) {
    if (err instanceof HttpFailure && err.code === 'ETOOLARGE')
      throw tsaError(where, `reply could not be read: ${failureReason(err)}`, err);
    throw tsaError(where, `could not be reached: ${failureReason(err)}`, err);
  }
  if (response.status >= 300 && response.status < 400 && header(response.headers, 'location')) {
    throw tsaError(where, 'answered with a redirect, which is not followed; configure the final URL instead');
  }
  if (response.status !== 200)
    throw tsaError(where, `answered HTTP ${response.status} ${response.statusText}`.trimEnd());
  const mediaType = (header(response.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/timestamp-reply') {
    throw tsaError(
      where,
      `answered with content-type ${JSON.stringify(mediaType)}, expected application/timestamp-reply`,
    );
  }
  return new Uint8Array(response.body);
}

// ---------------------------------------------------------------------------------------------------
// Reply (RFC 3161 §2.4.2)

/** DER `der` as `type`, rejecting trailing bytes (sigstore-go refuses them, so the bundle would break). */
function parseDer<T>(der: Uint8Array | ArrayBuffer, type: new () => T, what: string): T {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const { offset, result } = fromBER(bytes);
  if (offset === -1) throw new Error(`${what} is not DER: ${result.error}`);
  if (offset !== bytes.byteLength) throw new Error(`${what} has ${bytes.byteLength - offset} trailing bytes`);
  return AsnParser.fromASN(result, type);
}

function checkReply(der: Uint8Array, expected: ExpectedReply, where: string): void {
  let resp: TimeStampResp;
  try {
    resp = parseDer(der, TimeStampResp, 'TimeStampResp');
  } catch (err) {
    throw tsaError(where, `reply is not an RFC 3161 TimeStampResp: ${(err as Error).message}`, err);
  }
  checkStatus(resp, where);
  let info: TSTInfo;
  try {
    info = tstInfoOf(resp);
  } catch (err) {
    throw tsaError(where, `reply carries no usable TimeStampToken: ${(err as Error).message}`, err);
  }
  checkBinding(info, expected, where);
}

function checkStatus(resp: TimeStampResp, where: string): void {
  const { status, statusString, failInfo } = resp.status;
  if (GRANTED.has(status)) {
    // §2.4.2: a granted reply MUST carry the token.
    if (!resp.timeStampToken)
      throw tsaError(where, `status ${STATUS_NAMES[status]} but the reply has no TimeStampToken`);
    return;
  }
  const parts = [`refused the request: status ${STATUS_NAMES[status] ?? status}`];
  if (statusString?.length) parts.push(`"${statusString.join('; ')}"`);
  const failures = failInfo ? failureNames(new Uint8Array(failInfo.value)) : [];
  if (failures.length) parts.push(`failInfo ${failures.join(', ')}`);
  throw tsaError(where, parts.join(', '));
}

function failureNames(bits: Uint8Array): string[] {
  // X.690 §8.6.2: bit 0 is the most significant bit of the first octet.
  return FAILURE_BITS.filter(([n]) => ((bits[n >> 3] ?? 0) >> (7 - (n & 7))) & 1).map(([, name]) => name);
}

/** TimeStampToken → SignedData → eContent (RFC 3161 §2.4.2, RFC 5652 §5.2) → TSTInfo. */
function tstInfoOf(resp: TimeStampResp): TSTInfo {
  const token = resp.timeStampToken;
  if (!token) throw new Error('token missing');
  if (token.contentType !== id_signedData)
    throw new Error(`token content type is ${token.contentType}, not signedData`);
  const signed = parseDer(token.content, SignedData, 'SignedData');
  const encap = signed.encapContentInfo;
  if (encap.eContentType !== id_ct_tstInfo)
    throw new Error(`signed content type is ${encap.eContentType}, not TSTInfo`);
  const content = encap.eContent?.single;
  if (!content) throw new Error('signed content is absent or not a primitive OCTET STRING');
  return parseDer(content.buffer, TSTInfo, 'TSTInfo');
}

function checkBinding(info: TSTInfo, expected: ExpectedReply, where: string): void {
  // §2.4.2: messageImprint "MUST have the same value as the similar field in TimeStampReq". Without this
  // check a TSA (or anyone on the path) could hand us a valid timestamp over some other signature.
  const imprint = info.messageImprint;
  const digest = new Uint8Array(imprint.hashedMessage.buffer);
  if (imprint.hashAlgorithm.algorithm !== expected.hashOid || !Buffer.from(digest).equals(expected.digest)) {
    throw tsaError(
      where,
      `reply timestamps other data than requested (imprint ${imprint.hashAlgorithm.algorithm}` +
        `:${Buffer.from(digest).toString('hex')}, ` +
        `expected ${expected.hashOid}:${Buffer.from(expected.digest).toString('hex')})`,
    );
  }
  // §2.4.2: the nonce MUST be echoed when it was sent; a different one means a replayed reply.
  if (info.nonce === undefined || octetsToBigint(info.nonce) !== expected.nonce) {
    const got = info.nonce === undefined ? 'none' : octetsToBigint(info.nonce).toString(16);
    throw tsaError(
      where,
      `reply nonce ${got} does not match the request's ${expected.nonce.toString(16)} (replayed reply?)`,
    );
  }
}
