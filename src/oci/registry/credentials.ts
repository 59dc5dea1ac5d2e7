// Registry credentials from the auth files docker and podman/skopeo write: ~/.docker/config.json and
// containers-auth.json ($REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json). Both hold
// `{"auths":{"<key>":{"auth":"<base64 user:password>"}}}`. The caller names the files; nothing here
// looks at the environment. Credential helpers (credsStore/credHelpers) would mean running programs
// from the config and are not used.
import { AirlockError } from '../../errors.ts';
import { DOCKER_HUB } from '../reference.ts';
import { readOptionalText } from '../../files/read-file.ts';

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Auth file keys by normalized key (`host` or `host/namespace/repo`). */
export type AuthEntries = ReadonlyMap<string, RegistryCredentials>;

const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com', DOCKER_HUB]);

/**
 * docker keys entries by URL (`https://index.docker.io/v1/`, `http://host:5000`), podman by `host` or
 * by `host/namespace/repo` (containers-auth.json(5)): reduce all to `host[/path]`.
 */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  k = k.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : k.slice(slash);
  return `${DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host}${path}`;
}

function malformed(source: string, why: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${source}: ${why}`, {
    hint: 'auth files hold {"auths":{"HOST":{"auth":"<base64 of user:password>"}}}; log in again to rewrite it',
  });
}

function entryCredentials(entry: unknown, key: string, source: string): RegistryCredentials | undefined {
  if (typeof entry !== 'object' || entry === null) throw malformed(source, `auths["${key}"] is not an object`);
  const { auth, username, password } = entry as Record<string, unknown>;
  if (typeof auth === 'string' && auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Never echo the decoded value: it is the password.
    if (colon <= 0) throw malformed(source, `auths["${key}"].auth is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof username === 'string' && username !== '' && typeof password === 'string') return { username, password };
  // `{}` entries are what docker writes when a credential helper holds the secret.
  return undefined;
}

/** Parses one auth file; `source` names it in errors. */
export function parseAuthFile(text: string, source: string): AuthEntries {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw malformed(source, `not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed(source, 'not a JSON object');
  const auths = (json as { auths?: unknown }).auths;
  const entries = new Map<string, RegistryCredentials>();
  if (auths === undefined) return entries;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    throw malformed(source, '"auths" is not an object');
  for (const [key, entry] of Object.entries(auths)) {
    const creds = entryCredentials(entry, key, source);
    const normalized = normalizeAuthKey(key);
    // The first spelling wins, as in containers/image, when two keys normalize alike.
    if (creds && !entries.has(normalized)) entries.set(normalized, creds);
  }
  return entries;
}

/** The most specific entry: `host/ns/repo`, then `host/ns`, then `host` (containers-auth.json(5)). */
export function lookupCredentials(
  entries: AuthEntries,
  registry: string,
  repository: string,
): RegistryCredentials | undefined {
  const host = normalizeAuthKey(registry);
  const parts = repository.split('/');
  for (let n = parts.length; n >= 0; n--) {
    const key = n === 0 ? host : `${host}/${parts.slice(0, n).join('/')}`;
    const found = entries.get(key);
    if (found) return found;
  }
  return undefined;
}

/** Credentials for `registry/repository` from the first file that has an entry; missing files are skipped. */
export async function readCredentials(
  paths: readonly string[],
  registry: string,
  repository: string,
): Promise<RegistryCredentials | undefined> {
  for (const path of paths) {
    const text = await readOptionalText(path, 'a registry credentials file', 1024 * 1024);
    if (text === undefined) continue;
    const found = lookupCredentials(parseAuthFile(text, path), registry, repository);
    if (found) return found;
  }
  return undefined;
}
