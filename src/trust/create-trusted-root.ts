// Builds a trusted_root.json (protobuf-specs TrustedRoot, JSON form) for a private Sigstore deployment
// from PEM files, as `cosign trusted-root create` does (trusted-root-summary.ts reads one back).
// Stricter than cosign where a lax root fails later and far away: every CA and key needs an explicit
// validFor.start, chains must be in Sigstore's order and actually chain, and the result must load in
// our own parser and in @sigstore/verify before anyone gets to write it.
// Field meanings: design/notes/tuf-mirror.md §4.3; log IDs: design/notes/tlog-anchors.md §2.2–2.3.
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { toTrustMaterial } from '@sigstore/verify';
import { parsePemBlocks, parseSinglePem } from '../crypto/pem.ts';
import { AirlockError } from '../errors.ts';
import { checkpointKeyId, rfc6962LogId } from '../log/note-keys.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';

// Moved to log/ with the rest of the signed-note code; still exported from here for existing callers.
export { checkpointKeyId };

export const TRUSTED_ROOT_MEDIA_TYPE = {
  /** What production Sigstore and sigstore-go (cosign) accept; the default. */
  'v0.1': 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  /** Adds checkpointKeyId and operator; sigstore-go refuses it (tlog-anchors.md §0.5). */
  'v0.2': 'application/vnd.dev.sigstore.trustedroot.v0.2+json',
} as const;

export type TrustedRootVersion = keyof typeof TRUSTED_ROOT_MEDIA_TYPE;

export interface ValidFor {
  readonly start: Date;
  readonly end?: Date;
}

export interface Subject {
  readonly organization?: string;
  readonly commonName?: string;
}

/** A Fulcio CA or an RFC 3161 TSA. */
export interface CaInput {
  /** PEM certificates in Sigstore's order: leaf-most first, the self-signed trust anchor last. */
  readonly certChainPem: string;
  readonly uri?: string;
  readonly validFor: ValidFor;
  /** Default: the trust anchor's O and CN, as the production root names its CAs and TSA. */
  readonly subject?: Subject;
  /** Media type v0.2 only. */
  readonly operator?: string;
}

/** A Rekor log or a CT log. */
export interface LogInput {
  readonly publicKeyPem: string;
  readonly baseUrl: string;
  /** The checkpoint origin (signed-note key name) of a Rekor v2 log; it decides the log ID. */
  readonly origin?: string;
  readonly validFor: ValidFor;
  /** Media type v0.2 only. */
  readonly operator?: string;
}

export interface CreateTrustedRootInput {
  readonly certificateAuthorities?: readonly CaInput[];
  readonly tlogs?: readonly LogInput[];
  readonly ctlogs?: readonly LogInput[];
  readonly timestampAuthorities?: readonly CaInput[];
  readonly mediaType?: TrustedRootVersion;
}

export interface CreateTrustedRootOptions {
  /** Told about choices that are valid but that some Sigstore client will trip over. */
  readonly warn?: (message: string) => void;
}

interface ValidForJson {
  start: string;
  end?: string;
}

export interface LogJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: string; validFor: ValidForJson };
  logId: { keyId: string };
  checkpointKeyId?: { keyId: string };
  operator?: string;
}

export interface AuthorityJson {
  subject: Subject;
  uri?: string;
  certChain: { certificates: Array<{ rawBytes: string }> };
  validFor: ValidForJson;
  operator?: string;
}

export interface TrustedRootJson {
  mediaType: string;
  tlogs: LogJson[];
  certificateAuthorities: AuthorityJson[];
  ctlogs: LogJson[];
  timestampAuthorities: AuthorityJson[];
}

const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';
/** RFC 3161 §2.3: a TSA certificate's only extended key usage. */
const OID_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** RFC 3339 as the production root writes it: whole seconds lose the ".000". */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

function checkValidFor(validFor: ValidFor | undefined, what: string): ValidForJson {
  const { start, end } = validFor ?? ({} as Partial<ValidFor>);
  // A missing start reads as "valid since the beginning of time" in @sigstore/verify: a key would then
  // vouch for entries from before it existed (see parseTrustedRoot).
  if (!(start instanceof Date) || Number.isNaN(start.getTime())) {
    throw new AirlockError('E_USAGE', `${what} has no validFor.start`, {
      hint:
        'say when the key or CA began to be used (start-time=RFC3339); Sigstore clients treat a ' +
        'missing start as "always"',
    });
  }
  if (end !== undefined && (!(end instanceof Date) || Number.isNaN(end.getTime()) || end < start)) {
    throw new AirlockError('E_USAGE', `${what}: validFor.end must be a time at or after validFor.start`);
  }
  return end === undefined ? { start: rfc3339(start) } : { start: rfc3339(start), end: rfc3339(end) };
}

// ---------------------------------------------------------------------------------------------------
// Log keys and log IDs

const EC_DETAILS: Record<string, string> = {
  prime256v1: 'PKIX_ECDSA_P256_SHA_256',
  secp384r1: 'PKIX_ECDSA_P384_SHA_384',
  secp521r1: 'PKIX_ECDSA_P521_SHA_512',
};

/**
 * rawBytes and keyDetails of a log key. RSA is written as PKCS1_RSA_PKCS1V5 with PKCS#1 bytes, as the
 * Sigstore staging root does: @sigstore/verify 4.1 parses every PKIX_RSA_* value as PKCS#1 and fails
 * on SPKI bytes, while sigstore-go reads PKCS1_RSA_PKCS1V5 as PKCS#1 too. Both then agree.
 */
function encodeLogKey(key: KeyObject, what: string): { rawBytes: Buffer; keyDetails: string } {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return { rawBytes: key.export({ type: 'spki', format: 'der' }), keyDetails: 'PKIX_ED25519' };
  if (type === 'ec') {
    const details = EC_DETAILS[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (details) return { rawBytes: key.export({ type: 'spki', format: 'der' }), keyDetails: details };
  }
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) {
    return { rawBytes: key.export({ type: 'pkcs1', format: 'der' }), keyDetails: 'PKCS1_RSA_PKCS1V5' };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyDetails?.modulusLength;
  throw new AirlockError(
    'E_KEY_UNSUPPORTED',
    `${what}: ${type}${curve ? ` (${curve})` : ''} is not a Sigstore log key type`,
    {
      hint: 'use Ed25519 or ECDSA P-256 (P-384, P-521 and RSA ≥ 2048 are accepted)',
    },
  );
}

function loadLogKey(pem: string, what: string): KeyObject {
  const block = parseSinglePem(pem, `${what} public key`);
  if (block.type !== 'PUBLIC KEY' && block.type !== 'RSA PUBLIC KEY') {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: expected a PUBLIC KEY PEM, found ${block.type}`);
  }
  try {
    return createPublicKey({ key: block.der, format: 'der', type: block.type === 'PUBLIC KEY' ? 'spki' : 'pkcs1' });
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: not a public key: ${(err as Error).message}`, { cause: err });
  }
}

/** C2SP signed-note: key names are non-empty, without Unicode spaces or '+'. */
function checkOrigin(origin: string, what: string): void {
  if (origin === '' || /[\s+]/u.test(origin)) {
    throw new AirlockError('E_USAGE', `${what}: origin '${origin}' is not a signed-note key name (no spaces, no '+')`);
  }
}

export function hostnameOf(baseUrl: string): string | undefined {
  try {
    return new URL(baseUrl.includes('://') ? baseUrl : `https://${baseUrl}`).hostname;
  } catch {
    return undefined;
  }
}

function buildLog(
  log: LogInput,
  kind: 'tlog' | 'ctlog',
  version: TrustedRootVersion,
  warn: (m: string) => void,
): LogJson {
  const what = `${kind} ${log.baseUrl || '(no URL)'}`;
  if (!log.baseUrl) throw new AirlockError('E_USAGE', `a ${kind} needs a URL`);
  const validFor = checkValidFor(log.validFor, what);
  const key = loadLogKey(log.publicKeyPem, what);
  const { rawBytes, keyDetails } = encodeLogKey(key, what);
  let logId = rfc6962LogId(key.export({ type: 'spki', format: 'der' }));
  let checkpointId: Buffer | undefined;
  if (log.origin !== undefined) {
    if (kind === 'ctlog') throw new AirlockError('E_USAGE', `${what}: origin is for Rekor v2 logs, not CT logs`);
    checkOrigin(log.origin, what);
    logId = checkpointId = checkpointKeyId(log.origin, key);
    // sigstore-go builds the note verifier from Hostname(baseUrl); sigstore-js wants the key name inside
    // baseUrl (tlog-anchors.md §0.4).
    if (hostnameOf(log.baseUrl) !== log.origin) {
      warn(
        `${what}: origin '${log.origin}' is not the host name of the URL; cosign and sigstore-js ` +
          `will not match its checkpoints`,
      );
    }
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      warn(
        `${what}: sigstore-js and sigstore-go hash checkpoints differently for ECDSA keys other ` +
          `than P-256 (tlog-anchors.md §0.8)`,
      );
    }
  } else if (kind === 'tlog' && key.asymmetricKeyType === 'ed25519') {
    warn(
      `${what}: Ed25519 key without origin: log ID is SHA-256(SPKI), the Rekor v1 rule; a Rekor ` +
        `v2 log needs origin=HOST`,
    );
  }
  if (log.operator !== undefined && version !== 'v0.2') {
    throw new AirlockError('E_USAGE', `${what}: operator needs media type v0.2`);
  }
  return {
    baseUrl: log.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: rawBytes.toString('base64'), keyDetails, validFor },
    logId: { keyId: logId.toString('base64') },
    // proto v0.2 field; @sigstore/verify prefers it over logId. Rekor sets it equal to the log ID.
    ...(version === 'v0.2' && checkpointId ? { checkpointKeyId: { keyId: checkpointId.toString('base64') } } : {}),
    ...(log.operator !== undefined ? { operator: log.operator } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Certificate chains

function subjectOf(der: Uint8Array): Subject {
  const name = AsnConvert.parse(der, Certificate).tbsCertificate.subject;
  let organization: string | undefined;
  let commonName: string | undefined;
  for (const rdn of name) {
    for (const atv of rdn) {
      if (atv.type === OID_ORGANIZATION) organization ??= atv.value.toString();
      if (atv.type === OID_COMMON_NAME) commonName ??= atv.value.toString();
    }
  }
  return {
    ...(organization !== undefined ? { organization } : {}),
    ...(commonName !== undefined ? { commonName } : {}),
  };
}

function parseChain(pem: string, what: string): X509Certificate[] {
  const blocks = parsePemBlocks(pem);
  if (blocks.length === 0) throw new AirlockError('E_INPUT_MALFORMED', `${what}: no PEM certificate found`);
  return blocks.map((block, i) => {
    if (block.type !== 'CERTIFICATE')
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: PEM block ${i + 1} is ${block.type}, expected CERTIFICATE`);
    try {
      return new X509Certificate(block.der);
    } catch (err) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${what}: certificate ${i + 1} does not parse: ${(err as Error).message}`,
        { cause: err },
      );
    }
  });
}

const ORDER_HINT =
  'Sigstore wants the chain leaf-most first and the self-signed root last (cat intermediate.pem root.pem)';

/** Checks Sigstore's order: each certificate issued and signed by the next, the last self-signed. */
function checkChainOrder(certs: readonly X509Certificate[], what: string): void {
  const seen = new Set<string>();
  for (const [i, cert] of certs.entries()) {
    if (seen.has(cert.fingerprint256))
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: certificate ${i + 1} appears twice`);
    seen.add(cert.fingerprint256);
    const issuer = certs[i + 1] ?? cert;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      const message =
        issuer === cert
          ? `the last certificate (${cert.subject.replace(/\n/g, ', ')}) is not self-signed`
          : `certificate ${i + 1} is not issued by certificate ${i + 2}`;
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: ${message}`, { hint: ORDER_HINT });
    }
    if (issuer !== cert && !issuer.ca)
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${what}: certificate ${i + 2} issues certificate ${i + 1} but is not a CA`,
      );
  }
}

/** RFC 5280 §4.2.1.12 codeSigning, and anyExtendedKeyUsage. */
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_ANY_EKU = '2.5.29.37.0';

/**
 * fulcio-private-ca.md pitfall 7: sigstore-go (cosign) verifies the chain with Go's EKU chaining, so an
 * intermediate that lists extended key usages without codeSigning makes every certificate it issued fail
 * there, while sigstore-js (which ignores EKUs) accepts them. Said, not refused: the root is still valid.
 */
function warnCodeSigningChain(certs: readonly X509Certificate[], what: string, warn: (m: string) => void): void {
  for (const [i, cert] of certs.slice(0, -1).entries()) {
    const eku = cert.keyUsage ?? [];
    if (eku.length === 0 || eku.includes(OID_CODE_SIGNING) || eku.includes(OID_ANY_EKU)) continue;
    warn(
      `${what}: certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) restricts extended key usage without ` +
        'codeSigning: cosign and sigstore-go will refuse the certificates it issues',
    );
  }
}

function buildAuthority(
  ca: CaInput,
  kind: 'ca' | 'tsa',
  version: TrustedRootVersion,
  warn: (m: string) => void = () => undefined,
): AuthorityJson {
  const what =
    kind === 'ca' ? `certificate authority ${ca.uri ?? ''}`.trim() : `timestamp authority ${ca.uri ?? ''}`.trim();
  const validFor = checkValidFor(ca.validFor, what);
  const certs = parseChain(ca.certChainPem ?? '', what);
  checkChainOrder(certs, what);
  const first = certs[0] as X509Certificate;
  if (kind === 'ca' && !certs.every((c) => c.ca)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: every certificate of a CA chain must be a CA certificate`, {
      hint: 'give the issuing CA (intermediate) and its root, not a signing certificate',
    });
  }
  if (kind === 'ca') warnCodeSigningChain(certs, what, warn);
  // The same rules as cosign's --tsa: the chain starts at the TSA's own signing certificate (RFC 3161 §2.3).
  if (kind === 'tsa') {
    if (first.ca || certs.length < 2) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${what}: the chain must start with the TSA's signing certificate and end with its root`,
      );
    }
    if (!(first.keyUsage ?? []).includes(OID_TIME_STAMPING)) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${what}: the first certificate has no timeStamping extended key usage (RFC 3161 §2.3)`,
      );
    }
  }
  if (ca.operator !== undefined && version !== 'v0.2')
    throw new AirlockError('E_USAGE', `${what}: operator needs media type v0.2`);
  const anchor = certs.at(-1) as X509Certificate;
  return {
    subject: ca.subject ?? subjectOf(anchor.raw),
    ...(ca.uri ? { uri: ca.uri } : {}),
    certChain: { certificates: certs.map((c) => ({ rawBytes: c.raw.toString('base64') })) },
    validFor,
    ...(ca.operator !== undefined ? { operator: ca.operator } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------

/** Sigstore's rotation rule (tuf-mirror.md §4.3): instances sorted by validFor.start, ascending. */
function byStart<T>(items: T[], validFor: (item: T) => ValidForJson): T[] {
  return items.sort((a, b) => Date.parse(validFor(a).start) - Date.parse(validFor(b).start));
}

function rejectDuplicateIds(logs: readonly LogJson[], kind: string): void {
  const seen = new Set<string>();
  for (const log of logs) {
    // sigstore-go indexes logs by ID: a second log with the same ID silently replaces the first.
    if (seen.has(log.logId.keyId))
      throw new AirlockError(
        'E_USAGE',
        `two ${kind}s have the same log ID ${log.logId.keyId} (the same key given twice?)`,
      );
    seen.add(log.logId.keyId);
  }
}

/** Builds the trusted root, then proves it loads in parseTrustedRoot and @sigstore/verify. */
export function createTrustedRoot(
  input: CreateTrustedRootInput,
  options: CreateTrustedRootOptions = {},
): TrustedRootJson {
  const warn = options.warn ?? (() => undefined);
  const version = input.mediaType ?? 'v0.1';
  const mediaType = TRUSTED_ROOT_MEDIA_TYPE[version];
  if (!mediaType) throw new AirlockError('E_USAGE', `unknown trusted root media type '${version}': use v0.1 or v0.2`);
  if (version === 'v0.2') warn('media type v0.2: cosign and sigstore-go accept only v0.1 trusted roots');
  const tlogs = byStart(
    (input.tlogs ?? []).map((l) => buildLog(l, 'tlog', version, warn)),
    (l) => l.publicKey.validFor,
  );
  const ctlogs = byStart(
    (input.ctlogs ?? []).map((l) => buildLog(l, 'ctlog', version, warn)),
    (l) => l.publicKey.validFor,
  );
  rejectDuplicateIds(tlogs, 'tlog');
  rejectDuplicateIds(ctlogs, 'ctlog');
  const json: TrustedRootJson = {
    mediaType,
    tlogs,
    certificateAuthorities: byStart(
      (input.certificateAuthorities ?? []).map((c) => buildAuthority(c, 'ca', version, warn)),
      (c) => c.validFor,
    ),
    ctlogs,
    timestampAuthorities: byStart(
      (input.timestampAuthorities ?? []).map((c) => buildAuthority(c, 'tsa', version)),
      (c) => c.validFor,
    ),
  };
  if (
    json.tlogs.length + json.ctlogs.length + json.certificateAuthorities.length + json.timestampAuthorities.length ===
    0
  ) {
    throw new AirlockError('E_USAGE', 'a trusted root needs at least one CA, log or timestamp authority');
  }
  const loaded = parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'the new trusted root');
  try {
    toTrustMaterial(loaded.root);
  } catch (err) {
    throw new AirlockError(
      'E_TRUST_ROOT',
      `the new trusted root would not load in @sigstore/verify: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return json;
}
