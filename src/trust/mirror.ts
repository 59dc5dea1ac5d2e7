// `airlock trust mirror` (connected side): a verified TUF update from a source, written out as a
// self-contained mirror folder — every metadata file needed to re-verify the chain from a pinned root,
// the targets byte-exact, and a mirror.json record. The record is informational: the air-gapped side
// re-verifies everything from its own pinned root and trusts nothing because it is in the folder.
import type { HttpTransport } from '../net/http/transport.ts';
import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { pathExists, writeFileAtomic } from '../files/atomic-write.ts';
import { makeDirs } from '../files/state-dir.ts';
import { applyFreshness, type FreshnessPolicy, type RoleFreshness } from './freshness.ts';
import { openSource } from './tuf-source.ts';
import { type VerifiedRepository, verifyRepository } from './tuf-verify.ts';

export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';
export const MIRROR_FORMAT = 'airlock-trust-mirror/v1';

/** The targets a Sigstore client needs: the trust root and the signing configuration. */
export const wantSigstoreTarget = (name: string): boolean =>
  name === 'trusted_root.json' || /^signing_config[\w.-]*\.json$/.test(name);

export interface MirrorRecord {
  readonly format: string;
  readonly source: string;
  readonly mirroredAt: string;
  readonly pinnedRootVersion: number;
  readonly roles: readonly RoleFreshness[];
  readonly files: ReadonlyArray<{ readonly path: string; readonly length: number; readonly sha256: string }>;
}

export function mirrorFiles(
  repo: VerifiedRepository,
  pinnedRoot: Uint8Array,
  pinnedVersion: number,
): Array<[string, Uint8Array]> {
  return [
    [`metadata/${pinnedVersion}.root.json`, pinnedRoot],
    ...repo.roots.map((r): [string, Uint8Array] => [`metadata/${r.version}.root.json`, r.bytes]),
    ['metadata/timestamp.json', repo.timestamp],
    [`metadata/${repo.snapshot.fileName}`, repo.snapshot.bytes],
    [`metadata/${repo.targets.fileName}`, repo.targets.bytes],
    ...repo.files.map((f): [string, Uint8Array] => [`targets/${f.path}`, f.bytes]),
  ];
}

export interface MirrorOptions {
  readonly source: string;
  readonly pinnedRoot: Uint8Array;
  readonly outDir: string;
  readonly now: Date;
  readonly policy: FreshnessPolicy;
  readonly overwrite?: boolean;
  readonly transport?: HttpTransport;
  readonly onFile?: (path: string) => void;
}

export async function mirrorTrustRepository(options: MirrorOptions): Promise<MirrorRecord> {
  if (!options.overwrite && (await pathExists(options.outDir))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${options.outDir} already exists`, {
      hint: 'pass --force to replace it',
    });
  }
  const source = await openSource(options.source, options.transport);
  const repo = await verifyRepository(source, options.pinnedRoot, {
    wantTarget: wantSigstoreTarget,
    requiredTargets: ['trusted_root.json'],
  });
  const roles = applyFreshness(repo.roles, options.now, options.policy);
  const files = mirrorFiles(repo, options.pinnedRoot, repo.pinnedRootVersion);
  const record: MirrorRecord = {
    format: MIRROR_FORMAT,
    source: source.description,
    mirroredAt: options.now.toISOString(),
    pinnedRootVersion: repo.pinnedRootVersion,
    roles,
    files: files.map(([path, bytes]) => ({
      path,
      length: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    })),
  };
  // Build beside the destination, then rename: a half-written mirror never carries the final name.
  const staging = `${options.outDir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    for (const [path, bytes] of files) {
      await makeDirs(dirname(join(staging, path)), 0o755);
      await writeFileAtomic(join(staging, path), bytes);
      options.onFile?.(path);
    }
    await writeFileAtomic(join(staging, 'mirror.json'), `${JSON.stringify(record, null, 2)}\n`);
    if (options.overwrite) await rm(options.outDir, { recursive: true, force: true });
    await rename(staging, options.outDir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return record;
}
