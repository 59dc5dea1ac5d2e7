// Whether a vulnerability database can be trusted, in two steps: the signature over the manifest's
// bytes by one of the keys given (verified as `verify-blob --key` verifies a bundle: no log, no
// timestamp, only the key), then the content hash recomputed from every row against the manifest's.
import type { KeyObject } from 'node:crypto';
import { keyFingerprint } from '../../crypto/keys.ts';
import { AirlockError } from '../../errors.ts';
import { verifyBlob } from '../../sigstore/verify/verify-blob.ts';
import { bounded } from '../../text.ts';
import { contentHash, type VulnDbManifest } from './format.ts';
import { type OpenedVulnDb, openVulnDb } from './open.ts';

export interface VerifiedVulnDb {
  readonly manifest: VulnDbManifest;
  /** Fingerprint of the key whose signature verified. */
  readonly signer: string;
}

async function checkSignature(path: string, opened: OpenedVulnDb, keys: readonly KeyObject[], now: Date) {
  if (opened.signature === undefined)
    throw new AirlockError('E_VULNDB_SIGNATURE', `${bounded(path)} is unsigned`, {
      hint: 'build it with `airlock vulndb build ... --key REF`',
    });
  if (keys.length === 0) throw new AirlockError('E_USAGE', 'no key to verify the vulnerability database with');
  let bundle: unknown;
  try {
    bundle = JSON.parse(opened.signature);
  } catch (err) {
    throw new AirlockError('E_VULNDB_SIGNATURE', `${bounded(path)}: its signature is not JSON`, { cause: err });
  }
  const problems: string[] = [];
  for (const key of keys) {
    const report = await verifyBlob(
      { bytes: Buffer.from(opened.manifestText, 'utf8') },
      { json: bundle },
      { trust: { kind: 'key', publicKey: key }, tlogThreshold: 0, timestampThreshold: 0, now },
    ).catch((err: unknown) => ({ ok: false as const, error: err as Error }));
    if (report.ok) return keyFingerprint(key);
    problems.push(report.error?.message ?? 'no result');
  }
  throw new AirlockError(
    'E_VULNDB_SIGNATURE',
    `${bounded(path)}: the manifest's signature does not verify with ${keys.length === 1 ? 'the key' : 'any key'} ` +
      `given (${bounded(problems[0] ?? '')})`,
    { details: { keys: keys.map(keyFingerprint) } },
  );
}

const tampered = (path: string, why: string, details?: Record<string, unknown>, cause?: unknown) =>
  new AirlockError('E_VULNDB_TAMPERED', `${bounded(path)}: ${why}`, {
    ...(details ? { details } : {}),
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * The file's structure first (SQLite's integrity check: a damaged file is said to be damaged, not met
 * as a read error half-way), then the content hash. The hash walks each table's b-tree in key order;
 * both tables are WITHOUT ROWID, so every row is a key of that one tree, and a walk equal to the signed
 * sorted sequence means the tree is ordered: a seek finds exactly what was hashed.
 */
function checkContent(path: string, opened: OpenedVulnDb): void {
  let found: string;
  try {
    const rows = opened.db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    if (rows.length !== 1 || rows[0]?.integrity_check !== 'ok')
      throw tampered(
        path,
        `its sqlite structure is damaged (${bounded(rows.map((r) => r.integrity_check).join('; '))})`,
      );
    found = contentHash(opened.db);
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw tampered(path, `it cannot be read whole: ${bounded((err as Error).message)}`, undefined, err);
  }
  if (found !== opened.manifest.contentSha256)
    throw tampered(
      path,
      `its content (sha256 ${found}) is not what its signed manifest records (${opened.manifest.contentSha256})`,
      { expected: opened.manifest.contentSha256, found },
    );
}

/**
 * Verifies a database already open (E_VULNDB_SIGNATURE, then E_VULNDB_TAMPERED): the handle checked is
 * the handle the caller goes on to read, so nothing can be swapped in between. `path` names it in errors.
 */
export async function verifyOpenedVulnDb(
  opened: OpenedVulnDb,
  path: string,
  keys: readonly KeyObject[],
  now: Date,
): Promise<VerifiedVulnDb> {
  const signer = await checkSignature(path, opened, keys, now);
  checkContent(path, opened);
  return { manifest: opened.manifest, signer };
}

/** Verifies the database at `path` against `keys` (E_VULNDB_SIGNATURE, then E_VULNDB_TAMPERED). */
export async function verifyVulnDb(path: string, keys: readonly KeyObject[], now: Date): Promise<VerifiedVulnDb> {
  const opened = openVulnDb(path);
  try {
    return await verifyOpenedVulnDb(opened, path, keys, now);
  } finally {
    opened.close();
  }
}
