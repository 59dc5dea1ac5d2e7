// Image references with skopeo's transports: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG|@DIGEST],
// docker-archive:FILE[:NAME:TAG], docker://HOST/REPO[:TAG|@DIGEST]; a bare HOST/REPO[:TAG] means docker://.
// Docker Hub names are normalised as docker does (index.docker.io isn't spelled; library/ is added).
import { isDigestString } from '../crypto/digest.ts';
import { AirlockError } from '../errors.ts';

export type ImageReference =
  | { readonly transport: 'oci' | 'oci-archive'; readonly path: string; readonly tag?: string; readonly digest?: string }
  | { readonly transport: 'docker-archive'; readonly path: string; readonly name?: string }
  | { readonly transport: 'docker'; readonly registry: string; readonly repository: string; readonly tag?: string; readonly digest?: string };

export const DOCKER_HUB = 'docker.io';

function bad(text: string, why: string): never {
  throw new AirlockError('E_USAGE', `invalid image reference '${text}': ${why}`, {
    hint: 'use oci:DIR[:TAG|@sha256:…], oci-archive:FILE, docker-archive:FILE, or [docker://]HOST/REPO[:TAG|@sha256:…]',
  });
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REPO_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function splitDigest(text: string, rest: string): { body: string; digest?: string } {
  const at = rest.lastIndexOf('@');
  if (at < 0) return { body: rest };
  const digest = rest.slice(at + 1);
  if (!isDigestString(digest)) bad(text, `'${digest}' is not a sha256:/sha512: digest`);
  return { body: rest.slice(0, at), digest };
}

function parseLocal(text: string, transport: 'oci' | 'oci-archive', rest: string): ImageReference {
  const { body, digest } = splitDigest(text, rest);
  // A tag follows the last ':' unless that ':' belongs to the path (a '/' after it).
  const colon = body.lastIndexOf(':');
  const hasTag = colon > 0 && !body.slice(colon + 1).includes('/');
  const path = hasTag ? body.slice(0, colon) : body;
  const tag = hasTag ? body.slice(colon + 1) : undefined;
  if (!path) bad(text, 'no path');
  if (tag !== undefined && !TAG.test(tag)) bad(text, `'${tag}' is not a valid tag`);
  return { transport, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function parseDocker(text: string, rest: string): ImageReference {
  const { body, digest } = splitDigest(text, rest);
  const slash = body.indexOf('/');
  const first = slash < 0 ? '' : body.slice(0, slash);
  const explicitRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = explicitRegistry ? first : DOCKER_HUB;
  let path = explicitRegistry ? body.slice(slash + 1) : body;
  const colon = path.lastIndexOf(':');
  const tag = colon > 0 && !path.slice(colon + 1).includes('/') ? path.slice(colon + 1) : undefined;
  if (tag !== undefined) path = path.slice(0, colon);
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!path || !path.split('/').every((p) => REPO_PART.test(p))) bad(text, `'${path}' is not a valid repository name`);
  if (tag !== undefined && !TAG.test(tag)) bad(text, `'${tag}' is not a valid tag`);
  return { transport: 'docker', registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function parseImageReference(text: string): ImageReference {
  const m = /^(oci|oci-archive|docker-archive|docker):(.*)$/.exec(text);
  const transport = m?.[1];
  const rest = m?.[2] ?? '';
  if (transport === 'docker') {
    if (!rest.startsWith('//')) bad(text, 'docker transport references start with docker://');
    return parseDocker(text, rest.slice(2));
  }
  if (transport === 'oci' || transport === 'oci-archive') return parseLocal(text, transport, rest);
  if (transport === 'docker-archive') {
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const name = colon < 0 ? undefined : rest.slice(colon + 1);
    if (!path) bad(text, 'no archive path');
    return { transport: 'docker-archive', path, ...(name ? { name } : {}) };
  }
  if (text.includes('://')) bad(text, 'unknown transport');
  return parseDocker(text, text);
}

export function formatImageReference(ref: ImageReference): string {
  switch (ref.transport) {
    case 'docker':
      return `docker://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.name ? `:${ref.name}` : ''}`;
    default:
      return `${ref.transport}:${ref.path}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  }
}

/** The docker-reference cosign writes in simple-signing payloads: registry/repository, no tag. */
export function dockerRepository(ref: ImageReference & { transport: 'docker' }): string {
  return `${ref.registry === DOCKER_HUB ? 'index.docker.io' : ref.registry}/${ref.repository}`;
}
