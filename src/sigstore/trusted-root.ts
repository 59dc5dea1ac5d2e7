// trusted_root.json (Sigstore protobuf-specs TrustedRoot): parsing, the checks @sigstore/verify skips,
// and a cache of the trust material built from it, so repeated verifications parse keys and CA
// chains once. Only derived, verdict-free material is cached.
import { createHash } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { AirlockError } from '../errors.ts';
import { readFileBounded } from '../files/read-file.ts';
import { withRememberingCas } from './ca-cache.ts';
import { MAX_TRUSTED_ROOT_BYTES } from './limits.ts';

export const TRUSTED_ROOT_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

export interface LoadedTrustedRoot {
  readonly root: TrustedRoot;
  /** sha256 of the file bytes: names the root in reports and keys the cache. */
  readonly digest: string;
  readonly source: string;
}

function fail(source: string, message: string): never {
  throw new AirlockError('E_TRUST_ROOT', `${source}: ${message}`);
}

/**
 * Parses and checks a trusted root. Beyond the schema: every transparency-log and CT-log key must have
 * a validFor.start. @sigstore/verify treats a missing start as "valid since the beginning of time",
 * which would let a key vouch for entries from before it existed.
 */
export function parseTrustedRoot(bytes: Uint8Array, source: string): LoadedTrustedRoot {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_TRUST_ROOT', `${source}: not JSON`, { cause: err });
  }
  const mediaType = (json as { mediaType?: unknown })?.mediaType;
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType)) {
    fail(source, `unknown trusted root media type ${JSON.stringify(mediaType)}`);
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (err) {
    throw new AirlockError('E_TRUST_ROOT', `${source}: not a trusted root: ${(err as Error).message}`, { cause: err });
  }
  for (const [kind, logs] of [
    ['tlog', root.tlogs],
    ['ctlog', root.ctlogs],
  ] as const) {
    for (const log of logs) {
      if (!log.publicKey?.validFor?.start) {
        fail(
          source,
          `${kind} ${log.baseUrl || '(no URL)'} has no validFor.start: a log key must say when it became valid`,
        );
      }
      if (!log.publicKey.rawBytes?.length) fail(source, `${kind} ${log.baseUrl} has no public key`);
    }
  }
  return { root, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, source };
}

export async function loadTrustedRootFile(path: string): Promise<LoadedTrustedRoot> {
  return parseTrustedRoot(await readFileBounded(path, MAX_TRUSTED_ROOT_BYTES, 'a trusted root'), path);
}

const materialCache = new Map<string, TrustMaterial>();

/** Trust material for keyless verification, built once per trusted-root content. */
export function trustMaterialFor(loaded: LoadedTrustedRoot): TrustMaterial {
  let material = materialCache.get(loaded.digest);
  if (!material) {
    try {
      material = withRememberingCas(toTrustMaterial(loaded.root));
    } catch (err) {
      throw new AirlockError(
        'E_TRUST_ROOT',
        `${loaded.source}: unusable key or certificate: ${(err as Error).message}`,
        { cause: err },
      );
    }
    materialCache.set(loaded.digest, material);
  }
  return material;
}
