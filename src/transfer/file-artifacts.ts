// What the metadata says about each file artifact, checked rather than repeated. The metadata is
// covered by the signed manifest, but it is the packer's description of the payload: the file's hash
// must be the one the manifest lists, and its own signature is verified against the manifest signer
// keys before any report calls it signed.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { keyFingerprint } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { verifyBlob } from '../sigstore/verify/verify-blob.ts';
import type { FileArtifact, TransferMetadata } from './format.ts';
import type { PackageFile } from './package/admit.ts';

export interface FileArtifactCheck {
  readonly path: string;
  readonly sha256: string;
  /** `verified` by a key in `signer`; `unsigned`; or `unverified` with why (no trusted key made it). */
  readonly signature: 'verified' | 'unsigned' | 'unverified';
  readonly signer?: string;
  readonly reason?: string;
}

function listed(files: ReadonlyMap<string, PackageFile>, path: string, what: string): PackageFile {
  const file = files.get(path);
  if (!file)
    throw new AirlockError(
      'E_PACKAGE_TAMPERED',
      `the metadata names ${what} ${path}, which the manifest does not list`,
    );
  return file;
}

async function checkFile(
  a: FileArtifact,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  keys: readonly KeyObject[],
  now: Date,
): Promise<FileArtifactCheck> {
  const file = listed(files, a.path, 'file');
  if (file.sha256 !== a.sha256) {
    throw new AirlockError(
      'E_PACKAGE_TAMPERED',
      `the metadata says ${a.path} is sha256:${a.sha256}; the manifest lists sha256:${file.sha256}`,
    );
  }
  const base = { path: a.path, sha256: a.sha256 };
  if (a.bundle === undefined) return { ...base, signature: 'unsigned' };
  listed(files, a.bundle, 'signature');
  const problems: string[] = [];
  for (const key of keys) {
    const r = await verifyBlob(
      { path: join(stagingDir, a.path) },
      { path: join(stagingDir, a.bundle) },
      { trust: { kind: 'key', publicKey: key }, tlogThreshold: 0, timestampThreshold: 0, now },
    ).catch((err: unknown) => ({ ok: false, error: err as Error }) as const);
    if (r.ok) return { ...base, signature: 'verified', signer: keyFingerprint(key) };
    if (r.error) problems.push(r.error.message);
  }
  const reason =
    keys.length === 0
      ? 'no --signer-key was given to check it with'
      : `no --signer-key verifies it (${problems[0] ?? 'no result'})`;
  return { ...base, signature: 'unverified', reason };
}

export async function checkFileArtifacts(
  metadata: TransferMetadata,
  files: ReadonlyMap<string, PackageFile>,
  stagingDir: string,
  keys: readonly KeyObject[],
  now: Date,
): Promise<FileArtifactCheck[]> {
  const out: FileArtifactCheck[] = [];
  for (const a of metadata.artifacts) if (a.kind === 'file') out.push(await checkFile(a, files, stagingDir, keys, now));
  return out;
}
