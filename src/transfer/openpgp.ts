// OpenPGP signatures over a transfer manifest (manifest.sha256), interoperable with GnuPG. All OpenPGP
// work is done by openpgp.js; this module only decides which form an input has and turns results and
// failures into airlock's terms.
//   airlock writes:  manifest.sha256.asc = detached armored signature(s)   (gpg --verify sig data)
//   airlock reads:   detached signatures, armored or binary, one or many packets
//                    inline signed messages (gpg --armor --sign), whose literal data must be the manifest
import {
  createMessage,
  decryptKey,
  enums,
  type Key,
  type KeyID,
  type Message,
  PacketList,
  type PrivateKey,
  type PublicKey,
  readKeys,
  readMessage,
  readPrivateKeys,
  readSignature,
  sign,
  Signature,
  type SignaturePacket,
  verify,
} from 'openpgp';
import { AirlockError } from '../errors.ts';

export type { PrivateKey } from 'openpgp';

/** What `transfer pack --pgp-key` signs with (src/transfer/pack.ts). */
export interface PgpSigningKey {
  readonly key: PrivateKey;
}

type VerificationResult = Awaited<ReturnType<typeof verify>>['signatures'][number];

export interface KeyringEntry {
  /** Primary key fingerprint, hex uppercase (as `gpg --fingerprint` prints it, without spaces). */
  readonly fingerprint: string;
  readonly userIds: readonly string[];
  readonly key: PublicKey;
}

export interface Keyring {
  readonly keys: readonly KeyringEntry[];
}

export interface ManifestSigner {
  /** The primary key's fingerprint, also when a signing subkey made the signature. */
  readonly fingerprint: string;
  /** The key ID of the (sub)key that made the signature, hex uppercase. */
  readonly keyId: string;
  readonly userIds: string[];
  /** Signature creation time, ISO 8601. */
  readonly created: string;
}

export interface SignatureProblem {
  readonly keyId: string;
  readonly reason: string;
}
export interface ManifestVerification {
  readonly signers: ManifestSigner[];
  readonly problems: SignatureProblem[];
}

const SIGN_HINT = 'sign with `gpg --armor --detach-sign manifest.sha256` or `gpg --armor --sign manifest.sha256`';

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function malformed(what: string, err?: unknown, hint?: string): AirlockError {
  const message = err === undefined ? what : `${what}: ${reasonOf(err)}`;
  return new AirlockError('E_INPUT_MALFORMED', message, { cause: err, ...(hint ? { hint } : {}) });
}

const hexId = (id: KeyID): string => id.toHex().toUpperCase();

/** Every armored block with this label; a file may hold several (`cat a.asc b.asc`), unarmor reads one. */
function armorBlocks(text: string, label: string): string[] {
  return text.match(new RegExp(`-----BEGIN PGP ${label}-----[\\s\\S]*?-----END PGP ${label}-----`, 'g')) ?? [];
}

/** Binary OpenPGP always starts with a packet header, whose top bit is set (RFC 9580 §4.2); armor is ASCII. */
function isBinary(bytes: Uint8Array | string): bytes is Uint8Array {
  return typeof bytes !== 'string' && ((bytes[0] ?? 0) & 0x80) !== 0;
}

/** A key exported by `gpg --export-secret-keys --armor`, decrypted when it is passphrase-protected. */
export async function loadPrivateKey(armored: string, passphrase: string | undefined): Promise<PrivateKey> {
  const hint = 'export one key with `gpg --export-secret-keys --armor KEYID`';
  let keys: PrivateKey[];
  try {
    const blocks = armorBlocks(armored, 'PRIVATE KEY BLOCK');
    keys = (
      await Promise.all((blocks.length > 0 ? blocks : [armored]).map((armoredKeys) => readPrivateKeys({ armoredKeys })))
    ).flat();
  } catch (err) {
    throw malformed('cannot read the OpenPGP private key', err, hint);
  }
  // openpgp.js's readPrivateKey would silently take the first of several keys: never sign with a guess.
  const [key, ...more] = keys;
  if (!key || more.length > 0)
    throw malformed(`expected one OpenPGP private key, found ${keys.length}`, undefined, hint);
  // A gpg key with a stub primary (--export-secret-subkeys) counts as decrypted when its subkeys are.
  if (key.isDecrypted()) return key;
  const fingerprint = key.getFingerprint().toUpperCase();
  if (!passphrase) {
    throw new AirlockError(
      'E_PASSWORD_MISSING',
      `OpenPGP key ${fingerprint} is passphrase-protected and no passphrase was given`,
    );
  }
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (err) {
    // openpgp.js reports a failed S2K checksum or AEAD tag as "Incorrect key passphrase" (RFC 9580 §5.5.3);
    // anything else is a protection it cannot open. Neither message carries the passphrase.
    if (/Incorrect key passphrase/.test(reasonOf(err))) {
      throw new AirlockError('E_KEY_PASSWORD', `the passphrase does not decrypt OpenPGP key ${fingerprint}`, {
        cause: err,
      });
    }
    throw new AirlockError('E_KEY_UNSUPPORTED', `cannot decrypt OpenPGP key ${fingerprint}: ${reasonOf(err)}`, {
      cause: err,
    });
  }
}

/** An armored detached signature over `data` (signature type 0x00, binary: byte-exact, as gpg signs files). */
export async function signDetached(data: Uint8Array, key: PrivateKey, options: { date?: Date } = {}): Promise<string> {
  if (!key.isDecrypted())
    throw new AirlockError('E_PASSWORD_MISSING', 'the OpenPGP key is still encrypted; load it with its passphrase');
  try {
    // openpgp.js picks SHA-512 unless the key's preferences say otherwise, and never less than SHA-256.
    const message = await createMessage({ binary: data, format: 'binary' });
    return await sign({ message, signingKeys: key, detached: true, format: 'armored', date: options.date });
  } catch (err) {
    // Expired, revoked or sign-incapable keys end here.
    throw new AirlockError('E_KEY_UNSUPPORTED', `the OpenPGP key cannot sign: ${reasonOf(err)}`, { cause: err });
  }
}

async function readDetached(blocks: string[]): Promise<Signature> {
  const packets = new PacketList<SignaturePacket>();
  const seen = new Set<string>();
  for (const block of blocks) {
    let signature: Signature;
    try {
      signature = await readSignature({ armoredSignature: block });
    } catch (err) {
      throw malformed('cannot read the OpenPGP signature', err);
    }
    for (const packet of signature.packets) {
      // Re-adding a signature that is already there would only make gpg report it twice.
      const id = Buffer.from(packet.write()).toString('hex');
      if (!seen.has(id)) packets.push(packet);
      seen.add(id);
    }
  }
  return new Signature(packets);
}

/**
 * One armored block holding every signature packet of `armored` (RFC 9580 §10.4: a detached signature
 * is one or more Signature packets), so an approver's signature can join an existing manifest.sha256.asc.
 */
export async function combineSignatures(armored: string[]): Promise<string> {
  const blocks = armored.flatMap((text) => {
    if (armorBlocks(text, 'MESSAGE').length > 0) {
      throw malformed(
        'an inline signed message cannot take more signatures',
        undefined,
        'sign the manifest detached instead',
      );
    }
    return armorBlocks(text, 'SIGNATURE');
  });
  if (blocks.length === 0) throw malformed('no armored OpenPGP signature to combine', undefined, SIGN_HINT);
  return (await readDetached(blocks)).armor();
}

/**
 * Public keys, armored or binary, one or many (as `gpg --export [--armor] A B` writes them); secret keys count as
 * public.
 */
export async function loadKeyring(bytes: Uint8Array): Promise<Keyring> {
  let keys: Key[];
  try {
    if (isBinary(bytes)) {
      keys = await readKeys({ binaryKeys: bytes });
    } else {
      const blocks = armorBlocks(Buffer.from(bytes).toString('utf8'), '(?:PUBLIC|PRIVATE) KEY BLOCK');
      if (blocks.length === 0) throw new Error('no OpenPGP key block found');
      keys = (await Promise.all(blocks.map((armoredKeys) => readKeys({ armoredKeys })))).flat();
    }
  } catch (err) {
    throw malformed('cannot read the OpenPGP keyring', err, 'export it with `gpg --export --armor KEYID...`');
  }
  const byFingerprint = new Map<string, PublicKey>();
  for (const key of keys.map((k) => k.toPublic())) {
    const fingerprint = key.getFingerprint().toUpperCase();
    const known = byFingerprint.get(fingerprint);
    // The same key exported twice (say, before and after a new subkey) is merged, as gpg --import does.
    byFingerprint.set(fingerprint, known ? await known.update(key) : key);
  }
  return { keys: [...byFingerprint].map(([fingerprint, key]) => ({ fingerprint, userIds: key.getUserIDs(), key })) };
}

type SignatureInput =
  { kind: 'detached'; signature: Signature } | { kind: 'inline'; message: Message<Uint8Array | string> };

async function readSignatureInput(input: Uint8Array | string): Promise<SignatureInput> {
  if (isBinary(input)) {
    const header = input[0] ?? 0;
    // The first packet's tag: bits 5..0 in the new format, bits 5..2 in the legacy one (RFC 9580 §4.2).
    const tag = header & 0x40 ? header & 0x3f : (header >> 2) & 0x0f;
    try {
      if (tag === enums.packet.signature)
        return { kind: 'detached', signature: await readSignature({ binarySignature: input }) };
      return { kind: 'inline', message: await readMessage({ binaryMessage: input }) };
    } catch (err) {
      throw malformed('cannot read the OpenPGP signature', err);
    }
  }
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (text.includes('-----BEGIN PGP SIGNED MESSAGE-----')) {
    // The cleartext framework (RFC 9580 §7) signs text with canonical line endings and no trailing
    // whitespace, so what it shows can never be compared byte for byte with the manifest.
    throw malformed(
      'a cleartext signed message (gpg --clearsign) is not accepted for a manifest',
      undefined,
      SIGN_HINT,
    );
  }
  const messages = armorBlocks(text, 'MESSAGE');
  if (messages.length > 1) throw malformed('more than one inline signed message in one file');
  if (messages[0] !== undefined) {
    try {
      return { kind: 'inline', message: await readMessage({ armoredMessage: messages[0] }) };
    } catch (err) {
      throw malformed('cannot read the OpenPGP signed message', err);
    }
  }
  const blocks = armorBlocks(text, 'SIGNATURE');
  if (blocks.length === 0) throw malformed('no OpenPGP signature found', undefined, SIGN_HINT);
  return { kind: 'detached', signature: await readDetached(blocks) };
}

/** The literal data of an inline signed message (`gpg --armor --sign`), for manual comparison. */
export async function extractInlineSignedData(message: string): Promise<Uint8Array> {
  const input = await readSignatureInput(message);
  const data =
    input.kind === 'inline' && input.message.getSigningKeyIDs().length > 0 ? input.message.getLiteralData() : null;
  if (!data) {
    throw malformed(
      'not an inline signed OpenPGP message',
      undefined,
      'a detached signature holds no data: compare the file it signs',
    );
  }
  return data;
}

/**
 * Who signed `data`: each signature in a detached signature or an inline signed message is checked
 * against the keyring, at its own creation time for key expiry and soft revocation (a hard revocation,
 * RFC 9580 §5.2.3.31, voids all signatures). Signers are counted once per primary key.
 */
export async function verifyManifestSignatures(
  data: Uint8Array,
  signature: Uint8Array | string,
  keyring: Keyring,
  options: { readonly date: Date },
): Promise<ManifestVerification> {
  const input = await readSignatureInput(signature);
  const verificationKeys = keyring.keys.map((entry) => entry.key);
  // Key expiry and revocation are judged at the caller's time: openpgp.js would read the clock itself.
  const date = options.date;
  let results: VerificationResult[];
  try {
    if (input.kind === 'detached') {
      const message = await createMessage({ binary: data, format: 'binary' });
      ({ signatures: results } = await verify({
        message,
        signature: input.signature,
        verificationKeys,
        date,
        format: 'binary',
      }));
    } else {
      const verified = await verify({ message: input.message, verificationKeys, date, format: 'binary' });
      if (verified.signatures.length > 0 && !Buffer.from(data).equals(verified.data)) {
        const reason = 'signed content differs';
        // Array.from: openpgp.js hands back a PacketList, whose map() would make another PacketList.
        return { signers: [], problems: Array.from(verified.signatures, (s) => ({ keyId: hexId(s.keyID), reason })) };
      }
      results = verified.signatures;
    }
  } catch (err) {
    throw malformed('cannot check the OpenPGP signature', err);
  }
  if (results.length === 0) throw malformed('the OpenPGP input holds no data signature', undefined, SIGN_HINT);

  const signers: ManifestSigner[] = [];
  const problems: SignatureProblem[] = [];
  for (const result of results) {
    const keyId = hexId(result.keyID);
    // The same first match openpgp.js verified against: the key holding this (sub)key ID.
    const entry = keyring.keys.find((e) => e.key.getKeys(result.keyID).length > 0);
    if (!entry) {
      problems.push({ keyId, reason: 'key not in keyring' });
      continue;
    }
    try {
      await result.verified;
    } catch (err) {
      problems.push({ keyId, reason: `does not verify: ${reasonOf(err)}` });
      continue;
    }
    if (signers.some((s) => s.fingerprint === entry.fingerprint)) continue;
    const created = (await result.signature).packets[0]?.created;
    signers.push({
      fingerprint: entry.fingerprint,
      keyId,
      userIds: [...entry.userIds],
      created: created?.toISOString() ?? '',
    });
  }
  return { signers, problems };
}
