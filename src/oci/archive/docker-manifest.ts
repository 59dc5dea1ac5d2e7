// The `manifest.json` of `docker save` / `podman save` / `skopeo copy ... docker-archive:` (moby
// image/spec "Combined Image JSON + Filesystem Changeset Format", v1.2 docker save layout):
// `[{"Config":"<hex>.json","RepoTags":["repo:tag"],"Layers":["<hex>.tar", ...]}]`, paths relative to
// the archive root. RepoTags are matched the way docker normalises names (docker.io/library/...).
import { AirlockError } from '../../errors.ts';

export interface DockerArchiveEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

export const DOCKER_MANIFEST_FILE = 'manifest.json';
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

export function parseDockerManifestJson(text: string, where: string): DockerArchiveEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${where}: manifest.json is not valid JSON`, { cause: err });
  }
  if (!Array.isArray(doc))
    throw new AirlockError('E_INPUT_MALFORMED', `${where}: manifest.json is not an array of images`);
  return doc.map((raw: unknown, i) => {
    const e = raw as { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (
      typeof e?.Config !== 'string' ||
      !strings(e.Layers) ||
      !(e.RepoTags === null || e.RepoTags === undefined || strings(e.RepoTags))
    ) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${where}: manifest.json entry ${i} lacks Config, Layers or a RepoTags list`,
      );
    }
    return { Config: e.Config, RepoTags: e.RepoTags ?? [], Layers: e.Layers };
  });
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOCKER_NAME_TAG = new RegExp(
  `^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?${COMPONENT}(?:/${COMPONENT})*:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`,
);

/** A RepoTag must be NAME:TAG, as `docker load` and skopeo's docker-archive transport require. */
export function isDockerNameTag(text: string): boolean {
  return DOCKER_NAME_TAG.test(text);
}

/** `alpine` → `docker.io/library/alpine:latest`, so `alpine:3` and `docker.io/library/alpine:3` match. */
export function normalizeDockerName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  let full = hasRegistry ? name : `docker.io/${slash < 0 ? 'library/' : ''}${name}`;
  full = full.replace(/^index\.docker\.io\//, 'docker.io/');
  const lastPart = full.slice(full.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? full : `${full}:latest`;
}

export function sameDockerName(a: string, b: string): boolean {
  return a === b || normalizeDockerName(a) === normalizeDockerName(b);
}
