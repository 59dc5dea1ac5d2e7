// Loading PKCS#11 modules through pkcs11js, and turning Cryptoki return values into coded errors.
// A module is a process-wide singleton: dlopen hands every caller the same library, and C_Initialize /
// C_Finalize / C_Logout act on all of its sessions. So signers share one loaded module, counted, and
// only the last one to close may log out and finalize.
import { endianness } from 'node:os';
import pkcs11js from 'pkcs11js';
import { AirlockError } from '../errors.ts';

export type Pkcs11Lib = InstanceType<typeof pkcs11js.PKCS11>;
export type Pkcs11Handle = Buffer;

export interface LoadedModule {
  readonly path: string;
  readonly lib: Pkcs11Lib;
  /** Runs `op` after every operation queued before it: a session runs one signing operation at a time. */
  serialize<T>(op: () => Promise<T>): Promise<T>;
}

interface Entry extends LoadedModule {
  refs: number;
  /** False when someone else in the process initialized the library; then they finalize it too. */
  readonly ownsInit: boolean;
}

const loaded = new Map<string, Entry>();

/** A CK_ULONG attribute or handle: pkcs11js hands over its native-endian bytes. */
export function readUlong(bytes: Buffer): bigint {
  if (bytes.length === 8) return endianness() === 'LE' ? bytes.readBigUInt64LE() : bytes.readBigUInt64BE();
  if (bytes.length === 4) return BigInt(endianness() === 'LE' ? bytes.readUInt32LE() : bytes.readUInt32BE());
  throw new AirlockError('E_PKCS11', `the PKCS#11 module returned a ${bytes.length}-byte CK_ULONG`);
}

/** The CKR_* name of a Cryptoki failure thrown by pkcs11js, else undefined. */
export function ckrName(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return /^CKR_[A-Z0-9_]+$/.exec(err.message)?.[0];
}

/** Wraps a failure of `action` in E_PKCS11, with the advice that fits the Cryptoki return value. */
export function pkcs11Failure(err: unknown, action: string, tokenLabel?: string): AirlockError {
  if (err instanceof AirlockError) return err;
  const ckr = ckrName(err);
  const token = tokenLabel === undefined ? 'the token' : `token "${tokenLabel}"`;
  const pinHint = 'give the PIN with pin-value= or pin-source= in the URI, or AIRLOCK_PKCS11_PIN';
  const known: Record<string, [string, string?]> = {
    CKR_PIN_INCORRECT: [`wrong PIN for ${token}`, `${pinHint}; repeated wrong PINs lock the token`],
    CKR_PIN_LEN_RANGE: [`wrong PIN for ${token} (its length is out of the token's range)`, pinHint],
    CKR_PIN_LOCKED: [`the user PIN of ${token} is locked`, 'the token security officer must unlock or reset it'],
    CKR_PIN_EXPIRED: [`the user PIN of ${token} has expired`, 'change it with the token vendor tool'],
    CKR_USER_PIN_NOT_INITIALIZED: [
      `${token} has no user PIN yet`,
      'initialize it, e.g. softhsm2-util --init-token or pkcs11-tool --init-pin',
    ],
    CKR_USER_NOT_LOGGED_IN: [`${token} requires a login to ${action}`, pinHint],
    CKR_TOKEN_NOT_PRESENT: [`${token} was removed`],
    CKR_DEVICE_REMOVED: [`${token} was removed`],
    CKR_KEY_FUNCTION_NOT_PERMITTED: [`the key on ${token} is not allowed to sign (CKA_SIGN is false)`],
    CKR_MECHANISM_INVALID: [`${token} does not support the signing mechanism airlock needs`],
    CKR_KEY_TYPE_INCONSISTENT: [`the key on ${token} does not fit the signing mechanism`],
  };
  const [message, hint] = (ckr === undefined ? undefined : known[ckr]) ?? [
    `PKCS#11 module failed to ${action}: ${ckr ?? (err instanceof Error ? err.message : String(err))}`,
  ];
  return new AirlockError('E_PKCS11', message, {
    cause: err,
    ...(hint ? { hint } : {}),
    ...(ckr ? { details: { ckr } } : {}),
  });
}

function initialize(lib: Pkcs11Lib): boolean {
  try {
    // OS locking: signatures run on libuv worker threads, so the library must be told it is shared.
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    return true;
  } catch (err) {
    const ckr = ckrName(err);
    if (ckr === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') return false;
    if (ckr !== 'CKR_CANT_LOCK') throw err;
  }
  // A library that cannot lock still works: airlock already serializes its calls into one module.
  lib.C_Initialize();
  return true;
}

export function acquireModule(path: string): LoadedModule {
  const existing = loaded.get(path);
  if (existing) {
    existing.refs += 1;
    return existing;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(path);
  } catch (err) {
    throw new AirlockError(
      'E_PKCS11',
      `cannot load PKCS#11 module ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
        hint: 'check module-path= in the URI or AIRLOCK_PKCS11_MODULE names a PKCS#11 library for this platform',
      },
    );
  }
  let ownsInit: boolean;
  try {
    ownsInit = initialize(lib);
  } catch (err) {
    lib.close();
    throw pkcs11Failure(err, `initialize module ${path}`);
  }
  let tail: Promise<unknown> = Promise.resolve();
  const entry: Entry = {
    path,
    lib,
    refs: 1,
    ownsInit,
    serialize: <T>(op: () => Promise<T>): Promise<T> => {
      const result = tail.then(op, op);
      tail = result.catch(() => undefined);
      return result;
    },
  };
  loaded.set(path, entry);
  return entry;
}

/** True when no other signer uses `module`: only then may a signer log out, which ends every session's login. */
export function isLastReference(module: LoadedModule): boolean {
  return (loaded.get(module.path)?.refs ?? 0) <= 1;
}

export function releaseModule(module: LoadedModule): void {
  const entry = loaded.get(module.path);
  if (!entry) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  loaded.delete(module.path);
  try {
    if (entry.ownsInit) entry.lib.C_Finalize();
  } finally {
    entry.lib.close();
  }
}
