// Image references with skopeo's transports: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG|@DIGEST],
// docker-archive:FILE[:NAME:TAG], docker://HOST/REPO[:TAG|@DIGEST]; a bare HOST/REPO[:TAG] means docker://.
// Docker Hub names are normalised as docker does (index.docker.io isn't spelled; library/ is added).
import { isDigestString } from '../crypto/digest.ts';
import { AirlockError } from '../errors.ts';

export type ImageReference =
  | {
      readonly transport: 'oci' | 'oci-archive';
      readonly path: string;
      readonly tag?: string;
      readonly digest?: string;
    }
  | { readonly transport: 'docker-archive'; readonly path: string; readonly name?: string }
  | {
      readonly transport: 'docker';
      readonly registry: string;
      readonly repository: string;
      readonly tag?: string;
      readonly digest?: string;
    };

export const DOCKER_HUB = 'docker.io';

/** A piece of a reference as a message shows it: bounded, and without control characters. */
export function forMessage(text: string, max = 160): string {
  const clean = Array.from(text, (c) => (c < ' ' || c === '\u007f' ? '?' : c)).join('');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function bad(text: string, why: string): never {
  throw new AirlockError('E_USAGE', `invalid image reference '${forMessage(text)}': ${why}`, {
    hint: 'use oci:DIR[:TAG|@sha256:…], oci-archive:FILE, docker-archive:FILE, or [docker://]HOST/REPO[:TAG|@sha256:…]',
  });
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REPO_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function splitDigest(text: string, rest: string): { body: string; digest?: string } {
  const at = rest.lastIndexOf('@');
  if (at < 0) return { body: rest };
  const digest = rest.slice(at + 1);
  if (!isDigestString(digest)) bad(text, `'${forMessage(digest)}' is not a sha256:/sha512: digest`);
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
  if (tag !== undefined && !TAG.test(tag)) bad(text, `'${forMessage(tag)}' is not a valid tag`);
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
  if (!path || !path.split('/').every((p) => REPO_PART.test(p)))
    bad(text, `'${forMessage(path)}' is not a valid repository name`);
  if (tag !== undefined && !TAG.test(tag)) bad(text, `'${forMessage(tag)}' is not a valid tag`);
  return { transport: 'docker', registry, repository: path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

// Credentials never travel in a reference: a registry login comes from --username/--password-stdin
// or an auth file. A reference with user information is refused before anything is read, and the
// refusal shows it with the user information replaced, so no message, --json document or audit event
// can carry a password typed there. The rule is wide on purpose: in a registry reference an '@' is only
// ever the digest separator, so any other '@' is refused (an invalid reference either way) rather than
// risk echoing a password that contains '/' or '@'.

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const LOCAL = /^(oci|oci-archive|docker-archive):/;
/** The digest at the end of a reference; its '@' is the only one a registry reference may hold. */
const DIGEST_TAIL = /@(?:sha256|sha384|sha512):[^@/]*$/;
/** `user:password@` at the start of a path, before its first '/'. */
const LEADING_USERINFO = /^(?:\/\/)?[^/@]*:[^/@]*@/;

/** The user information in `text` as [start, end) (end just past its '@'), or undefined. */
function userinfoSpan(text: string): readonly [number, number] | undefined {
  const local = LOCAL.exec(text);
  if (!local) {
    const start = SCHEME.exec(text)?.[0].length ?? 0;
    const at = text.slice(start).replace(DIGEST_TAIL, '').lastIndexOf('@');
    return at < 0 ? undefined : [start, start + at + 1];
  }
  const start = local[0].length;
  const rest = text.slice(start);
  if (local[1] === 'docker-archive') {
    // docker-archive:PATH[:NAME]: a path may hold an '@'; the name is a registry name, which may not.
    const colon = rest.indexOf(':');
    const at = colon < 0 ? -1 : rest.lastIndexOf('@');
    return at > colon ? [start + colon + 1, start + at + 1] : undefined;
  }
  // oci:PATH: a path may hold an '@' when a digest follows; without one, an '@' makes the reference
  // invalid anyway, so it is treated as user information too.
  const leading = LEADING_USERINFO.exec(rest);
  if (leading) return [start + (rest.startsWith('//') ? 2 : 0), start + leading[0].length];
  const at = DIGEST_TAIL.test(rest) ? -1 : rest.lastIndexOf('@');
  return at < 0 ? undefined : [start + (rest.startsWith('//') ? 2 : 0), start + at + 1];
}

/** `text` with any user information (`user:password@`) replaced by `***@`; unchanged otherwise. */
export function redactReference(text: string): string {
  const span = userinfoSpan(text);
  return span ? `${text.slice(0, span[0])}***@${text.slice(span[1])}` : text;
}

function credentialsError(what: string): AirlockError {
  return new AirlockError(
    'E_USAGE',
    `${what} contains user information (NAME:PASSWORD@): airlock never takes credentials from a reference`,
    {
      hint:
        'log in with --username and --password-stdin, or an auth file (--authfile, ' +
        '$REGISTRY_AUTH_FILE, ~/.docker/config.json); a digest is written @sha256:<64 hex>',
    },
  );
}

/**
 * Refuses `text` (a reference, or a flag's HOST[/PREFIX] such as import's --registry) when it holds user
 * information, naming `flag` and showing the value redacted.
 */
export function assertNoCredentials(text: string, flag: string): void {
  if (userinfoSpan(text)) throw credentialsError(`${flag} '${forMessage(redactReference(text))}'`);
}

/** A URL with user information in its authority: `https://user:pw@host`, `docker://user@host`. */
const URL_LOGIN = /^(?:https?|docker):\/\/[^/?#]*@/i;
/** `NAME:PASSWORD@` before the first '/' of a bare argument (a digest's '@' removed first). */
const BARE_LOGIN = /^[^/@:]+:[^/]*@/;

/**
 * Whether a command-line argument certainly carries a login, whatever it is meant to be: a URL with
 * user information, or (`positional`, where no key URI or identity pattern is expected) a
 * `NAME:PASSWORD@HOST` prefix. Narrower than the reference rule, so it can be applied to any argument
 * before a command has read anything.
 */
export function holdsLogin(argument: string, positional: boolean): boolean {
  // podman's store spec (containers-storage:[driver@root+run]IMAGE) has an '@' that is no login.
  const bare = argument.replace(/^containers-storage:(\[[^\]]*\])?/, '').replace(DIGEST_TAIL, '');
  return URL_LOGIN.test(argument) || (positional && BARE_LOGIN.test(bare));
}

/** Refuses an argument that holds a login (holdsLogin), showing it redacted. */
export function assertNoLogin(argument: string, positional: boolean): void {
  if (holdsLogin(argument, positional)) throw credentialsError(`argument '${forMessage(redactReference(argument))}'`);
}

export function parseImageReference(text: string): ImageReference {
  if (userinfoSpan(text)) throw credentialsError(`image reference '${forMessage(redactReference(text))}'`);
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
      return (
        `docker://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}` +
        `${ref.digest ? `@${ref.digest}` : ''}`
      );
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
