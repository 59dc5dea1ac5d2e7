// Who signed a transfer manifest, counted as people, not keys. A signer is a named person or team with
// one or more keys (OpenPGP keys and airlock/cosign keys) and/or keyless identities (the SAN and OIDC
// issuer a Fulcio-compatible CA certifies), declared in a signers file:
//   { "apiVersion": "airlock/v1", "kind": "Signers",
//     "signers": [ { "name": "release-team", "keys": ["keys/release.pub"], "openpgp": ["keys/release-team.asc"] },
//                  { "name": "security-team", "openpgp": ["keys/security.asc"] },
//                  { "name": "ci", "identities": [{ "issuer": "https://idp.corp", "subject": "ci@corp" }] } ] }
// Two signatures by keys (or identities) of one signer count once: `--require-signers 2` means two
// signers. Loose keys and identities (--keyring, --signer-key, --signer-identity, no file) are each
// their own signer, and since nothing then says which belong to one person, they cannot satisfy a rule
// of more than one signer. A keyless signature counts only once it verifies under the trusted root
// given (its chain, log entry and time), exactly as verify-blob pinned to that identity would.
import { type KeyObject, X509Certificate } from 'node:crypto';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import type { LoadedTrustedRoot } from '../sigstore/trusted-root.ts';
import { anchored, describeMatcher, type IdentityPolicy } from '../sigstore/verify/identity.ts';
import { verifyBlob } from '../sigstore/verify/verify-blob.ts';
import { bounded } from '../text.ts';
import { PGP_SIGNATURE_NAME, SIGSTORE_APPROVAL, SIGSTORE_SIGNATURE_NAME } from './format.ts';
import { type Keyring, type KeyringEntry, verifyManifestSignatures } from './openpgp.ts';

/** A signers file as written: key files are paths relative to the file (or key references). */
export interface SignersFileEntry {
  readonly name: string;
  readonly keys: readonly string[];
  readonly openpgp: readonly string[];
  readonly identities: readonly IdentityPolicy[];
}

export interface TrustedSigner {
  readonly name: string;
  /** This signer's OpenPGP keys (primary keys; subkeys sign for them). */
  readonly pgp: readonly KeyringEntry[];
  /** This signer's airlock/cosign public keys. */
  readonly keys: readonly KeyObject[];
  /** This signer's keyless identities: certificate SAN and OIDC issuer. */
  readonly identities: readonly IdentityPolicy[];
}

/** What a keyless signature over the manifest is verified under (the trust import's images use). */
export interface KeylessSignerTrust {
  readonly trustedRoot: LoadedTrustedRoot;
  readonly tlogThreshold: number;
  readonly ctlogThreshold: number;
  readonly timestampThreshold: number;
}

export interface Signers {
  readonly signers: readonly TrustedSigner[];
  /** Distinct signers the manifest needs. */
  readonly required: number;
  /** Set when some signer has an identity: without it a keyless signature cannot count. */
  readonly keyless?: KeylessSignerTrust;
}

/** One signature over the manifest that verified, and whose it is. */
export interface SignerRecord {
  readonly kind: 'openpgp' | 'sigstore-key' | 'sigstore-identity';
  /** The signer's name (from the signers file; for a loose key, its fingerprint; for a loose identity, it). */
  readonly signer: string;
  /** The key: OpenPGP primary fingerprint, or sha256 key fingerprint; keyless: the certificate's SAN. */
  readonly id: string;
  readonly detail: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$/;

function malformed(source: string, why: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${why}`, {
    hint:
      'a signers file is {"apiVersion": "airlock/v1", "kind": "Signers", "signers": [{"name": ' +
      '"...", "keys": ["k.pub"], "openpgp": ["team.asc"], "identities": [{"issuer": "https://...", ' +
      '"subject": "..."}]}]}; see docs/transfer-format.md',
  });
}

function stringList(value: unknown, where: string, source: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 4096))
    throw malformed(source, `${where} must be a list of file names`);
  return value as string[];
}

const MAX_IDENTITY_CHARS = 4096;

const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_IDENTITY_CHARS;

/** `{issuer, subject}` or `{issuer, subjectRegExp}` (matching the whole SAN); the issuer is exact. */
function parseIdentities(value: unknown, where: string, source: string): IdentityPolicy[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 64) throw malformed(source, `${where} must be a list of identities`);
  return value.map((raw, i) => {
    const e = raw as { issuer?: unknown; subject?: unknown; subjectRegExp?: unknown };
    const at = `${where}[${i}]`;
    if (!text(e?.issuer)) throw malformed(source, `${at}.issuer must be the OIDC issuer URL`);
    if ((e.subject === undefined) === (e.subjectRegExp === undefined))
      throw malformed(source, `${at} needs exactly one of subject (the SAN) or subjectRegExp`);
    const pattern = e.subject ?? e.subjectRegExp;
    if (!text(pattern)) throw malformed(source, `${at}: the subject must be a non-empty string`);
    if (e.subject !== undefined) return { identity: { exact: pattern }, issuer: { exact: e.issuer } };
    try {
      anchored(pattern, `${at}.subjectRegExp`);
    } catch (err) {
      throw malformed(source, (err as Error).message);
    }
    return { identity: { regexp: pattern }, issuer: { exact: e.issuer } };
  });
}

export function parseSignersFile(doc: unknown, source: string): SignersFileEntry[] {
  const d = doc as { apiVersion?: unknown; kind?: unknown; signers?: unknown };
  if (d?.apiVersion !== 'airlock/v1' || d.kind !== 'Signers' || !Array.isArray(d.signers) || d.signers.length === 0) {
    throw malformed(source, 'not an airlock/v1 Signers document with at least one signers[] entry');
  }
  if (d.signers.length > 256) throw malformed(source, `${d.signers.length} signers; at most 256`);
  const names = new Set<string>();
  return d.signers.map((raw, i) => {
    const e = raw as { name?: unknown; keys?: unknown; openpgp?: unknown; identities?: unknown };
    if (typeof e?.name !== 'string' || !NAME.test(e.name))
      throw malformed(source, `signers[${i}].name must be 1-64 letters, digits, spaces or ._@+-`);
    if (names.has(e.name)) throw malformed(source, `the signer ${e.name} is named twice`);
    names.add(e.name);
    const keys = stringList(e.keys, `signers[${i}].keys`, source);
    const openpgp = stringList(e.openpgp, `signers[${i}].openpgp`, source);
    const identities = parseIdentities(e.identities, `signers[${i}].identities`, source);
    if (keys.length + openpgp.length + identities.length === 0)
      throw malformed(source, `signer ${e.name} has no keys and no identities`);
    return { name: e.name, keys, openpgp, identities };
  });
}

/** One identity, as written: its owner is checked by this (a pattern is compared as text). */
export function describeIdentity(policy: IdentityPolicy): string {
  const subject = 'exact' in policy.identity ? policy.identity.exact : describeMatcher(policy.identity);
  return `${subject} (${describeMatcher(policy.issuer).replace(/^"|"$/g, '')})`;
}

/**
 * The signers with their keys loaded. A key (or identity) that belongs to two signers would let one
 * signature count for both, so it is refused; so is one key file given twice to one signer (harmless,
 * but a typo). Two subject patterns that overlap are not caught: a signature counts for the first signer
 * whose identity it matches, never for two.
 */
export function namedSigners(
  entries: ReadonlyArray<{
    name: string;
    pgp: readonly KeyringEntry[];
    keys: readonly KeyObject[];
    identities?: readonly IdentityPolicy[];
  }>,
  source: string,
): TrustedSigner[] {
  const owner = new Map<string, string>();
  for (const e of entries) {
    const ids = [
      ...e.pgp.map((k) => `openpgp ${k.fingerprint}`),
      ...e.keys.map((k) => `key ${canonicalKeyId(k)}`),
      ...(e.identities ?? []).map((p) => `identity ${describeIdentity(p)}`),
    ];
    for (const id of new Set(ids)) {
      const other = owner.get(id);
      if (other !== undefined)
        throw malformed(source, `${id} belongs to both ${other} and ${e.name}: a signature by it would count twice`);
      owner.set(id, e.name);
    }
  }
  return entries.map((e) => ({ name: e.name, pgp: e.pgp, keys: e.keys, identities: e.identities ?? [] }));
}

/**
 * One key, however its file encodes it: an EC point compressed or not, PEM or DER, hashes to another
 * fingerprint, so keys are compared by their public numbers (JWK: crv/x/y, n/e, or x for Ed25519).
 */
export function canonicalKeyId(key: KeyObject): string {
  try {
    const jwk = key.export({ format: 'jwk' });
    return JSON.stringify([jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e]);
  } catch {
    return keyFingerprint(key);
  }
}

/** --keyring / --signer-key / --signer-identity without a signers file: each is a signer of its own. */
export function looseSigners(
  keyring: Keyring | undefined,
  keys: readonly KeyObject[],
  identities: readonly IdentityPolicy[] = [],
): TrustedSigner[] {
  const seen = new Set<string>();
  const out: TrustedSigner[] = [];
  for (const entry of keyring?.keys ?? [])
    out.push({ name: `openpgp ${entry.fingerprint}`, pgp: [entry], keys: [], identities: [] });
  for (const key of keys) {
    const id = canonicalKeyId(key);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ name: `key ${keyFingerprint(key)}`, pgp: [], keys: [key], identities: [] });
  }
  for (const policy of identities) {
    const name = `identity ${describeIdentity(policy)}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, pgp: [], keys: [], identities: [policy] });
  }
  return out;
}

export interface SignerCheck {
  readonly signers: SignerRecord[];
  /** Signatures that did not count, and why; they never end the check (anyone in transit can add one). */
  readonly problems: string[];
}

async function checkPgp(
  signature: Buffer,
  manifest: Buffer,
  signers: readonly TrustedSigner[],
  now: Date,
  out: SignerCheck,
): Promise<void> {
  const entries = signers.flatMap((s) => s.pgp.map((k) => ({ signer: s.name, entry: k })));
  if (entries.length === 0) {
    out.problems.push(`${PGP_SIGNATURE_NAME}: an OpenPGP signature is present but no OpenPGP key was given`);
    return;
  }
  try {
    const result = await verifyManifestSignatures(
      manifest,
      signature,
      { keys: entries.map((e) => e.entry) },
      { date: now },
    );
    for (const s of result.signers) {
      const signer = entries.find((e) => e.entry.fingerprint === s.fingerprint)?.signer ?? s.fingerprint;
      out.signers.push({ kind: 'openpgp', signer, id: s.fingerprint, detail: bounded(s.userIds.join(', ')) });
    }
    for (const p of result.problems) out.problems.push(`openpgp ${p.keyId}: ${bounded(p.reason)}`);
  } catch (err) {
    out.problems.push(`${PGP_SIGNATURE_NAME}: ${bounded((err as Error).message)}`);
  }
}

/** The bundle's leaf certificate (a keyless signature), or undefined for a key-signed one. */
function bundleCertificate(json: unknown): X509Certificate | undefined {
  const m = (json as { verificationMaterial?: Record<string, unknown> }).verificationMaterial;
  const chain = m?.x509CertificateChain as { certificates?: Array<{ rawBytes?: unknown }> } | undefined;
  const raw = (m?.certificate as { rawBytes?: unknown } | undefined)?.rawBytes ?? chain?.certificates?.[0]?.rawBytes;
  if (raw === undefined) return undefined;
  try {
    return new X509Certificate(Buffer.from(String(raw), 'base64'));
  } catch {
    throw new Error('its certificate cannot be parsed');
  }
}

async function checkKeyed(
  name: string,
  json: unknown,
  manifest: Buffer,
  signers: readonly TrustedSigner[],
  now: Date,
  out: SignerCheck,
): Promise<void> {
  for (const signer of signers) {
    for (const key of signer.keys) {
      const r = await verifyBlob(
        { bytes: manifest },
        { json },
        { trust: { kind: 'key', publicKey: key }, tlogThreshold: 0, timestampThreshold: 0, now },
      ).catch(() => ({ ok: false }) as const);
      if (r.ok) {
        out.signers.push({ kind: 'sigstore-key', signer: signer.name, id: keyFingerprint(key), detail: name });
        return;
      }
    }
  }
  out.problems.push(`${name}: not a valid signature by any trusted key`);
}

/**
 * A keyless signature counts for the first signer whose identity it verifies under: the chain to the
 * trusted root, the log entry and the signing time checked for each (a mismatch is only known once the
 * certificate is read, and a pattern may match what an exact identity would not).
 */
async function checkKeyless(
  name: string,
  json: unknown,
  san: string,
  manifest: Buffer,
  context: { signers: readonly TrustedSigner[]; keyless: KeylessSignerTrust | undefined; now: Date },
  out: SignerCheck,
): Promise<void> {
  const candidates = context.signers.flatMap((s) => s.identities.map((policy) => ({ signer: s.name, policy })));
  const signedBy = `signed keylessly by ${bounded(san)}`;
  if (candidates.length === 0 || !context.keyless) {
    const missing = candidates.length === 0 ? 'no signer identity was given' : 'no trust root was given to verify it';
    out.problems.push(`${name}: ${signedBy}, but ${missing}`);
    return;
  }
  const { trustedRoot, tlogThreshold, ctlogThreshold, timestampThreshold } = context.keyless;
  let failure: string | undefined;
  for (const c of candidates) {
    const r = await verifyBlob(
      { bytes: manifest },
      { json },
      {
        trust: { kind: 'identity', policy: c.policy },
        trustedRoot,
        tlogThreshold,
        ctlogThreshold,
        timestampThreshold,
        now: context.now,
      },
    ).catch((err: Error) => ({ ok: false, error: err as Error & { code?: string } }) as const);
    if (r.ok) {
      out.signers.push({ kind: 'sigstore-identity', signer: c.signer, id: bounded(san), detail: name });
      return;
    }
    const error = r.error as (Error & { code?: string }) | undefined;
    if (error && error.code !== 'E_IDENTITY_MISMATCH') failure ??= bounded(error.message);
  }
  out.problems.push(`${name}: ${signedBy}: ${failure ?? 'not the identity of any trusted signer'}`);
}

async function checkSigstore(
  name: string,
  bytes: Buffer,
  manifest: Buffer,
  context: { signers: readonly TrustedSigner[]; keyless: KeylessSignerTrust | undefined; now: Date },
  out: SignerCheck,
): Promise<void> {
  let json: unknown;
  let certificate: X509Certificate | undefined;
  try {
    json = JSON.parse(bytes.toString('utf8'));
    if ((json as { messageSignature?: unknown })?.messageSignature === undefined)
      throw new Error('not a message-signature bundle');
    certificate = bundleCertificate(json);
  } catch (err) {
    out.problems.push(`${name}: ${bounded((err as Error).message)}`);
    return;
  }
  if (!certificate) return checkKeyed(name, json, manifest, context.signers, context.now, out);
  const san = (certificate.subjectAltName ?? '(no subject alternative name)').replace(/^(URI|email|DNS):/, '');
  return checkKeyless(name, json, san, manifest, context, out);
}

/** Every signature header over `manifest`, each attributed to its signer or listed as a problem. */
export async function checkManifestSignatures(
  headers: ReadonlyMap<string, Buffer>,
  manifest: Buffer,
  given: readonly TrustedSigner[] | Signers,
  now: Date,
): Promise<SignerCheck> {
  // A list of signers alone has no keyless trust: its identities then count nothing.
  const { signers, keyless } = 'signers' in given ? given : { signers: given, keyless: undefined };
  const out: SignerCheck = { signers: [], problems: [] };
  const pgp = headers.get(PGP_SIGNATURE_NAME);
  if (pgp) await checkPgp(pgp, manifest, signers, now, out);
  for (const [name, bytes] of headers) {
    if (name === SIGSTORE_SIGNATURE_NAME || SIGSTORE_APPROVAL.test(name))
      await checkSigstore(name, bytes, manifest, { signers, keyless, now }, out);
  }
  return out;
}

/** The distinct signers among the verified signatures, in the order first seen. */
export function distinctSigners(records: readonly SignerRecord[]): string[] {
  return [...new Set(records.map((r) => r.signer))];
}

/** At least `required` distinct signers, or E_SIGNERS naming who did sign and what did not count. */
export function requireSigners(check: SignerCheck, required: number): void {
  const distinct = distinctSigners(check.signers);
  if (distinct.length === 0) {
    throw new AirlockError('E_SIGNERS', 'the manifest has no signature by a trusted signer', {
      hint:
        "pass the signers' public keys or identities: --signers FILE, or --keyring FILE (OpenPGP), " +
        '--signer-key REF (airlock/cosign) and/or --signer-identity SAN --signer-oidc-issuer URL (keyless)',
      details: { problems: check.problems },
    });
  }
  if (distinct.length < required) {
    const keys = check.signers.length;
    throw new AirlockError(
      'E_SIGNERS',
      `the manifest is signed by ${distinct.length} trusted signer(s) ` +
        `(${distinct.map((d) => bounded(d, 80)).join(', ')}), ${required} ` +
        `required${keys > distinct.length ? `: ${keys} signatures, but keys of one signer count once` : ''}`,
      {
        details: { signers: distinct, problems: check.problems },
      },
    );
  }
}
