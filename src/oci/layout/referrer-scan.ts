// Finds referrers (manifests with a `subject`) among a layout's blobs. `cosign save` rewrites
// index.json per image and leaves v3 bundle referrers only as unreferenced blobs (cosign-formats.md
// §5.1), so the index alone misses them; cosign's own --local-image verifier scans blobs the same way.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestBytes, type DigestAlgorithm } from '../../crypto/digest.ts';
import type { Descriptor } from '../types.ts';
import { BLOBS_DIR } from './layout-files.ts';
import { parseManifestBytes, referrerDescriptor } from './manifest-json.ts';

/** Referrer manifests are small; larger blobs are layers and are not read. */
export const SCAN_LIMIT = 1024 * 1024;
const PARALLEL_READS = 16;
const HEX = /^[0-9a-f]+$/;
const ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha384', 'sha512'];

/** subject digest → referrer digest → descriptor. */
export type ReferrerMap = Map<string, Map<string, Descriptor>>;

export function addToReferrerMap(map: ReferrerMap, subject: string, referrer: Descriptor): void {
  let forSubject = map.get(subject);
  if (!forSubject) map.set(subject, (forSubject = new Map()));
  forSubject.set(referrer.digest, referrer);
}

/** The referrer descriptor of one blob file, or undefined when it is not a manifest with a subject. */
export async function readReferrer(
  path: string,
  digest: string,
  algorithm: DigestAlgorithm,
): Promise<{ subject: string; desc: Descriptor } | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile() || st.size >= SCAN_LIMIT) return undefined;
  const bytes = await readFile(path).catch(() => undefined);
  // Cheap tests first: most small blobs are configs or signature payloads.
  if (!bytes || bytes[0] !== 0x7b || !bytes.includes('"subject"')) return undefined;
  // A corrupt blob is not a referrer: it could not be fetched verified anyway.
  if (`${algorithm}:${digestBytes(bytes, algorithm).hex}` !== digest) return undefined;
  try {
    const parsed = parseManifestBytes(bytes, digest);
    if (!parsed.subject) return undefined;
    return { subject: parsed.subject.digest, desc: referrerDescriptor(parsed, digest, bytes.length) };
  } catch {
    return undefined; // JSON that is not a manifest (a config, a payload) is simply not a referrer.
  }
}

export async function scanReferrers(dir: string): Promise<ReferrerMap> {
  const map: ReferrerMap = new Map();
  const jobs: Array<{ path: string; digest: string; algorithm: DigestAlgorithm }> = [];
  for (const algorithm of ALGORITHMS) {
    const folder = join(dir, BLOBS_DIR, algorithm);
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      if (HEX.test(name)) jobs.push({ path: join(folder, name), digest: `${algorithm}:${name}`, algorithm });
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (!job) break;
      const found = await readReferrer(job.path, job.digest, job.algorithm);
      if (found) addToReferrerMap(map, found.subject, found.desc);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_READS }, worker));
  return map;
}
