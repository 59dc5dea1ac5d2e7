// Who signed a transfer manifest, counted as people, not keys. A signer is a named person or team with
// one or more keys (OpenPGP keys and airlock/cosign keys), declared in a signers file:
//   { "apiVersion": "airlock/v1", "kind": "Signers",
//     "signers": [ { "name": "release-team", "keys": ["keys/release.pub"], "openpgp": ["keys/release-team.asc"] },
//                  { "name": "security-team", "openpgp": ["keys/security.asc"] } ] }
// Two signatures by keys of one signer count once: `--require-signers 2` means two signers. Loose keys
// (--keyring, --signer-key, no file) are each their own signer, and since nothing then says which keys
// belong to one person, they cannot satisfy a rule of more than one signer.
import type { KeyObject } from 'node:crypto';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { verifyBlob } from '../sigstore/verify/verify-blob.ts';
import { bounded } from '../text.ts';
import { PGP_SIGNATURE_NAME, SIGSTORE_APPROVAL, SIGSTORE_SIGNATURE_NAME } from './format.ts';
import { type Keyring, type KeyringEntry, verifyManifestSignatures } from './openpgp.ts';

/** A signers file as written: key files are paths relative to the file (or key references). */
export interface SignersFileEntry {
  readonly name: string;
  readonly keys: readonly string[];
  readonly openpgp: readonly string[];
}

export interface TrustedSigner {
  readonly name: string;
  /** This signer's OpenPGP keys (primary keys; subkeys sign for them). */
  readonly pgp: readonly KeyringEntry[];
  /** This signer's airlock/cosign public keys. */
  readonly keys: readonly KeyObject[];
}

export interface Signers {
  readonly signers: readonly TrustedSigner[];
  /** Distinct signers the manifest needs. */
  readonly required: number;
}

/** One signature over the manifest that verified, and whose it is. */
export interface SignerRecord {
  readonly kind: 'openpgp' | 'sigstore-key';
  /** The signer's name (from the signers file; for a loose key, its fingerprint). */
  readonly signer: string;
  /** The key: OpenPGP primary fingerprint, or sha256 key fingerprint. */
  readonly id: string;
  readonly detail: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}$/;

function malformed(source: string, why: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${why}`, {
    hint:
      'a signers file is {"apiVersion": "airlock/v1", "kind": "Signers", "signers": [{"name": ' +
      '"...", "keys": ["k.pub"], "openpgp": ["team.asc"]}]}; see docs/transfer-format.md',
  });
}

function stringList(value: unknown, where: string, source: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 4096))
    throw malformed(source, `${where} must be a list of file names`);
  return value as string[];
}

export function parseSignersFile(doc: unknown, source: string): SignersFileEntry[] {
  const d = doc as { apiVersion?: unknown; kind?: unknown; signers?: unknown };
  if (d?.apiVersion !== 'airlock/v1' || d.kind !== 'Signers' || !Array.isArray(d.signers) || d.signers.length === 0) {
    throw malformed(source, 'not an airlock/v1 Signers document with at least one signers[] entry');
  }
  if (d.signers.length > 256) throw malformed(source, `${d.signers.length} signers; at most 256`);
  const names = new Set<string>();
  return d.signers.map((raw, i) => {
    const e = raw as { name?: unknown; keys?: unknown; openpgp?: unknown };
    if (typeof e?.name !== 'string' || !NAME.test(e.name))
      throw malformed(source, `signers[${i}].name must be 1-64 letters, digits, spaces or ._@+-`);
    if (names.has(e.name)) throw malformed(source, `the signer ${e.name} is named twice`);
    names.add(e.name);
    const keys = stringList(e.keys, `signers[${i}].keys`, source);
    const openpgp = stringList(e.openpgp, `signers[${i}].openpgp`, source);
    if (keys.length + openpgp.length === 0) throw malformed(source, `signer ${e.name} has no keys`);
    return { name: e.name, keys, openpgp };
  });
}

/**
 * The signers with their keys loaded. A key that belongs to two signers would let one signature count
 * for both, so it is refused; so is one key file given twice to one signer (harmless, but a typo).
 */
export function namedSigners(
  entries: ReadonlyArray<{ name: string; pgp: readonly KeyringEntry[]; keys: readonly KeyObject[] }>,
  source: string,
): TrustedSigner[] {
  const owner = new Map<string, string>();
  for (const e of entries) {
    const ids = [...e.pgp.map((k) => `openpgp ${k.fingerprint}`), ...e.keys.map((k) => `key ${canonicalKeyId(k)}`)];
    for (const id of new Set(ids)) {
      const other = owner.get(id);
      if (other !== undefined)
        throw malformed(source, `${id} belongs to both ${other} and ${e.name}: a signature by it would count twice`);
      owner.set(id, e.name);
    }
  }
  return entries.map((e) => ({ name: e.name, pgp: e.pgp, keys: e.keys }));
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

/** --keyring / --signer-key without a signers file: each key is a signer of its own. */
export function looseSigners(keyring: Keyring | undefined, keys: readonly KeyObject[]): TrustedSigner[] {
  const seen = new Set<string>();
  const out: TrustedSigner[] = [];
  for (const entry of keyring?.keys ?? []) out.push({ name: `openpgp ${entry.fingerprint}`, pgp: [entry], keys: [] });
  for (const key of keys) {
    const id = canonicalKeyId(key);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ name: `key ${keyFingerprint(key)}`, pgp: [], keys: [key] });
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

async function checkSigstore(
  name: string,
  bytes: Buffer,
  manifest: Buffer,
  signers: readonly TrustedSigner[],
  now: Date,
  out: SignerCheck,
): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
    if ((json as { messageSignature?: unknown })?.messageSignature === undefined)
      throw new Error('not a message-signature bundle');
  } catch (err) {
    out.problems.push(`${name}: ${bounded((err as Error).message)}`);
    return;
  }
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

/** Every signature header over `manifest`, each attributed to its signer or listed as a problem. */
export async function checkManifestSignatures(
  headers: ReadonlyMap<string, Buffer>,
  manifest: Buffer,
  signers: readonly TrustedSigner[],
  now: Date,
): Promise<SignerCheck> {
  const out: SignerCheck = { signers: [], problems: [] };
  const pgp = headers.get(PGP_SIGNATURE_NAME);
  if (pgp) await checkPgp(pgp, manifest, signers, now, out);
  for (const [name, bytes] of headers) {
    if (name === SIGSTORE_SIGNATURE_NAME || SIGSTORE_APPROVAL.test(name))
      await checkSigstore(name, bytes, manifest, signers, now, out);
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
        "pass the signers' public keys: --signers FILE, or --keyring FILE (OpenPGP) and/or " +
        '--signer-key REF (airlock/cosign)',
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
