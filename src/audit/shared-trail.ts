// An audit trail several machines write (admission replicas, import stations): a Merkle log in a
// shared database (PostgreSQL, AIRLOCK_AUDIT_URL) instead of $AIRLOCK_HOME/audit/. What the sqlite
// trail keeps in files beside its database lives in the database, so every writer and reader sees it:
//   meta 'origin', 'public-key'   the trail's name and the key its checkpoints verify with, fixed by the
//                                 first writer (write-once)
//   checkpoints                   every checkpoint recorded as signed
// The private key is never there: every writer brings it (AIRLOCK_AUDIT_KEY). Each machine that writes
// also keeps the last checkpoint it signed in $AIRLOCK_HOME/audit-shared/ (a database restored from an
// older copy then shows on every machine that wrote past it).
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { keyFingerprint, publicKeyPem } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import type { LastSignedStore } from '../log/engine.ts';
import type { LogStorage } from '../log/storage.ts';
import { bounded } from '../text.ts';

/** What a shared trail needs of its storage: PostgresLogStorage is one. */
export interface SharedTrailStorage extends LogStorage {
  /** Where it is, for messages (user@host:port/db: never a password). */
  readonly target: string;
  meta(name: string): Promise<string | undefined>;
  claimMeta(name: string, value: string): Promise<string>;
  lastSignedStore(sizeOf: (note: string) => number): LastSignedStore;
}

export interface SharedTrail {
  /** Opens the storage (one connection pool per call; closing the trail closes it). */
  readonly open: () => Promise<SharedTrailStorage>;
  /** The origin a new trail is created with; an existing trail keeps the one it was created with. */
  readonly origin: string;
  /** The operator named the origin: a trail created with another one is then refused, not joined. */
  readonly originRequired?: boolean;
}

export interface TrailIdentity {
  readonly origin: string;
  readonly publicKey: KeyObject;
}

export const SHARED_CHECKPOINTS_DIR = 'audit-shared';

/** This machine's record of the last checkpoint it signed into the shared trail `origin`. */
export function sharedCheckpointPath(stateDir: string, origin: string): string {
  // An origin is a key name (no space, '+' or control character) but may hold '/': such a name is hashed.
  const name = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(origin)
    ? origin
    : `sha256-${createHash('sha256').update(origin).digest('hex').slice(0, 32)}`;
  return join(stateDir, SHARED_CHECKPOINTS_DIR, `${name}.checkpoint`);
}

function checkOrigin(storage: SharedTrailStorage, trail: SharedTrail, origin: string): void {
  if (!trail.originRequired || origin === trail.origin) return;
  throw new AirlockError(
    'E_USAGE',
    `the audit trail in ${storage.target} is named ${bounded(origin, 100)}, not ${bounded(trail.origin, 100)}`,
    { hint: `unset AIRLOCK_AUDIT_ORIGIN, or set it to ${bounded(origin, 100)}, to write to this trail` },
  );
}

/**
 * The trail's identity, claimed for `publicKey` when the trail has none yet: of writers starting at once
 * on a new database, the first claim stands, and a writer with another key is refused.
 */
export async function claimTrailIdentity(
  storage: SharedTrailStorage,
  trail: SharedTrail,
  publicKey: KeyObject,
): Promise<TrailIdentity> {
  // The key first: a writer refused for its key never names the trail.
  const stored = createPublicKey(await storage.claimMeta('public-key', publicKeyPem(publicKey)));
  if (keyFingerprint(stored) !== keyFingerprint(publicKey)) {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `the audit trail in ${storage.target} was created with key ${keyFingerprint(stored)}, not ` +
        `${keyFingerprint(publicKey)}`,
      { hint: 'set AIRLOCK_AUDIT_KEY to the key (file or pkcs11: URI) the trail was created with' },
    );
  }
  const origin = await storage.claimMeta('origin', trail.origin);
  checkOrigin(storage, trail, origin);
  return { origin, publicKey: stored };
}

/** The trail's identity as its first writer fixed it, for readers (no key needed). */
export async function readTrailIdentity(storage: SharedTrailStorage): Promise<TrailIdentity> {
  const [origin, pem] = await Promise.all([storage.meta('origin'), storage.meta('public-key')]);
  if (origin === undefined || pem === undefined)
    throw new AirlockError('E_INPUT_MISSING', `no audit trail in ${storage.target}`, {
      hint: 'a command run with AIRLOCK_AUDIT_URL (and AIRLOCK_AUDIT_KEY) records one as it makes a decision',
    });
  try {
    return { origin, publicKey: createPublicKey(pem) };
  } catch (err) {
    throw new AirlockError('E_LOG_CORRUPT', `the audit trail in ${storage.target} holds no usable public key`, {
      cause: err,
    });
  }
}
