// A Signer whose private key stays inside a PKCS#11 token (an HSM, a smart card, SoftHSM). ECDSA keys
// sign digests (CKM_ECDSA), so large artifacts are hashed once on the host; RSA keys sign the data with
// CKM_SHA256_RSA_PKCS, letting the token do the hashing and the DigestInfo padding.
import { createHash } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { AirlockError } from '../errors.ts';
import { findPkcs11Module, WELL_KNOWN_PKCS11_MODULES } from './pkcs11-modules.ts';
import { findKeyPair, hexId, type TokenKey } from './pkcs11-keys.ts';
import {
  acquireModule,
  isLastReference,
  type LoadedModule,
  type Pkcs11Handle,
  pkcs11Failure,
  releaseModule,
} from './pkcs11-module.ts';
import { login, resolvePin, selectToken, type SelectedToken } from './pkcs11-token.ts';
import { formatPkcs11UriRedacted, type Pkcs11Uri } from './pkcs11-uri.ts';
import { SIGNING_ALGORITHMS, type Signer } from './signer.ts';

export interface Pkcs11SignerOptions {
  /** Module to use when the URI names none; the caller passes AIRLOCK_PKCS11_MODULE. */
  readonly modulePath?: string;
  /** PIN to use when the URI carries none; the caller passes AIRLOCK_PKCS11_PIN. */
  readonly pin?: string;
  /** Reads a pin-source file (tests and callers with their own file access). */
  readonly readFile?: (path: string) => Promise<string>;
}

const DIGEST_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;

const MODULE_HINT =
  'give module-path= in the URI or set AIRLOCK_PKCS11_MODULE; `airlock doctor` lists the modules it finds';

/**
 * The module file: module-path=, else module-name= among well-known locations, else the caller's, else any well-known
 * one.
 */
async function resolveModule(uri: Pkcs11Uri, options: Pkcs11SignerOptions): Promise<string> {
  if (uri.modulePath !== undefined) {
    const found = await findPkcs11Module(uri.modulePath);
    if (!found)
      throw new AirlockError(
        'E_PKCS11',
        `PKCS#11 module ${uri.modulePath} (module-path=) does not exist or is not readable`,
      );
    return found;
  }
  if (uri.moduleName !== undefined) {
    const name = uri.moduleName;
    for (const candidate of WELL_KNOWN_PKCS11_MODULES) {
      const base = candidate
        .slice(candidate.lastIndexOf('/') + 1)
        .replace(/^lib/, '')
        .replace(/\.so$/, '');
      if (base === name.replace(/^lib/, '') && (await findPkcs11Module(candidate))) return candidate;
    }
    throw new AirlockError('E_PKCS11', `no PKCS#11 module named "${name}" (module-name=) in the well-known locations`, {
      hint: MODULE_HINT,
    });
  }
  const found = await findPkcs11Module(options.modulePath);
  if (found) return found;
  if (options.modulePath !== undefined) {
    throw new AirlockError(
      'E_PKCS11',
      `PKCS#11 module ${options.modulePath} (AIRLOCK_PKCS11_MODULE) does not exist or is not readable`,
    );
  }
  throw new AirlockError('E_PKCS11', 'no PKCS#11 module found', {
    hint: `${MODULE_HINT}; or install softhsm2 or opensc`,
  });
}

function keyName(uri: Pkcs11Uri): string {
  if (uri.object !== undefined) return `object "${uri.object}"`;
  return `id ${hexId(uri.id ?? new Uint8Array())}`;
}

interface OpenSession {
  readonly module: LoadedModule;
  readonly token: SelectedToken;
  readonly session: Pkcs11Handle;
  readonly key: TokenKey;
}

async function openSession(
  uri: Pkcs11Uri,
  options: Pkcs11SignerOptions,
  pin: string | undefined,
): Promise<OpenSession> {
  const module = acquireModule(await resolveModule(uri, options));
  const { lib } = module;
  let session: Pkcs11Handle | undefined;
  try {
    const token = selectToken(lib, uri, module.path);
    try {
      session = lib.C_OpenSession(token.slot, pkcs11js.CKF_SERIAL_SESSION);
    } catch (err) {
      throw pkcs11Failure(err, 'open a session', token.label);
    }
    login(lib, session, token, pin);
    return { module, token, session, key: findKeyPair(lib, session, uri, token.label) };
  } catch (err) {
    // Best effort: the failure that got us here is the one worth reporting.
    try {
      if (session) lib.C_CloseSession(session);
    } catch {
      // already gone
    }
    releaseModule(module);
    throw err;
  }
}

/** Opens the key a pkcs11: URI names. The caller must close() the signer to free the token session. */
export async function openPkcs11Signer(uri: Pkcs11Uri, options: Pkcs11SignerOptions = {}): Promise<Signer> {
  const pin = await resolvePin(uri, options);
  const { module, token, session, key } = await openSession(uri, options, pin);
  const { lib } = module;
  const spec = SIGNING_ALGORITHMS[key.algorithm];
  let closed = false;

  const signRaw = (mechanism: number, input: Uint8Array): Promise<Buffer> =>
    module.serialize(async () => {
      if (closed) throw new AirlockError('E_INTERNAL', `${formatPkcs11UriRedacted(uri)}: signer used after close()`);
      try {
        lib.C_SignInit(session, { mechanism }, key.privateKey);
        if (key.alwaysAuthenticate) lib.C_Login(session, pkcs11js.CKU_CONTEXT_SPECIFIC, pin);
        const data = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
        // Async: an HSM may take a while, and the event loop keeps running meanwhile.
        return await lib.C_SignAsync(session, data, Buffer.alloc(key.signatureLength));
      } catch (err) {
        throw pkcs11Failure(err, 'sign', token.label);
      }
    });

  const curve = key.curve;
  const signDigest = curve
    ? async (digest: Uint8Array): Promise<Uint8Array> => {
        // CKM_ECDSA signs whatever bytes it gets: a digest of the wrong hash would still be signed.
        if (digest.length !== DIGEST_BYTES[spec.hash]) {
          throw new AirlockError('E_INTERNAL', `signDigest needs a ${spec.hash} digest, got ${digest.length} bytes`);
        }
        const raw = await signRaw(pkcs11js.CKM_ECDSA, digest);
        try {
          // CKM_ECDSA returns r||s; Sigstore wants ASN.1 DER.
          return curve.curve.Signature.fromBytes(raw, 'compact').toBytes('der');
        } catch (err) {
          throw new AirlockError('E_PKCS11', `token "${token.label}" returned a malformed ECDSA signature`, {
            cause: err,
          });
        }
      }
    : undefined;

  return {
    algorithm: key.algorithm,
    publicKey: key.publicKey,
    description: `pkcs11 token "${token.label}" ${keyName(uri)}`,
    sign: async (data) => {
      if (signDigest) return signDigest(createHash(spec.hash).update(data).digest());
      return signRaw(pkcs11js.CKM_SHA256_RSA_PKCS, data);
    },
    ...(signDigest ? { signDigest } : {}),
    close: () =>
      module.serialize(async () => {
        if (closed) return;
        closed = true;
        try {
          // Logging out ends the login of every session on the token, so only the last user does it.
          if (isLastReference(module)) lib.C_Logout(session);
        } catch {
          // not logged in (no PIN needed), or the token is gone: nothing to undo
        }
        try {
          lib.C_CloseSession(session);
        } catch {
          // the token was removed: the session died with it
        } finally {
          releaseModule(module);
        }
      }),
  };
}
