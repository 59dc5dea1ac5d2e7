// Registry authentication as the distribution token spec describes it (docs/spec/auth/token.md): a
// request without credentials earns a 401 whose `WWW-Authenticate` says how to authenticate.
// `Basic` means send the credentials with every request; `Bearer realm,service,scope` means fetch a
// token from the realm (with the credentials, or anonymously) for the scopes the request needs, and
// send that. Tokens are cached per realm, service and scope set until they expire.
import { AirlockError } from '../../errors.ts';
import type { RegistryCredentials } from './credentials.ts';
import { isLoopbackHost } from './endpoint.ts';
import { CREDENTIALS_HINT, type FailureContext, statusError, transportError } from './errors.ts';
import { discard, type HttpTransport, readBody } from '../../net/http/transport.ts';
import { TOKEN_CHARS } from '../../net/http/syntax.ts';

export interface Challenge {
  /** Lowercase: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameter names lowercased; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = new RegExp(`^${TOKEN_CHARS}+`);

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1): one or more comma-separated challenges, each a scheme
 * followed by `name=value` parameters (token or quoted-string) or a token68.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  for (const s of values) {
    let i = 0;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    const skipSpace = () => {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    };
    while (i < s.length) {
      skipSpace();
      if (s[i] === ',') {
        i++;
        continue;
      }
      const name = TOKEN.exec(s.slice(i))?.[0];
      if (!name) {
        i++; // not a token: skip the character rather than give up on the header
        continue;
      }
      i += name.length;
      skipSpace();
      if (s[i] === '=' && current) {
        i++;
        skipSpace();
        let value = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            value += s[i];
            i++;
          }
          i++;
        } else {
          // Strictly a token; read leniently up to the next comma, as registries do send bare URLs.
          value = /^[^,\s]*/.exec(s.slice(i))?.[0] ?? '';
          i += value.length;
        }
        current.params[name.toLowerCase()] = value;
      } else {
        current = { scheme: name.toLowerCase(), params: {} };
        challenges.push(current);
        // A token68 (`Negotiate abc==`) carries no parameters we use: skip it.
        const token68 = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/.exec(s.slice(i))?.[0];
        if (token68) i += token68.length;
      }
    }
  }
  return challenges;
}

/** Token spec "Requesting a Token": `repository:<name>:<actions>`. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

/** Token spec, "Token Response Fields": expires_in defaults to, and should never be below, 60 s. */
const DEFAULT_TOKEN_SECONDS = 60;
/** Renew a little early so a token does not expire between being picked and reaching the registry. */
const EXPIRY_MARGIN_MS = 10_000;
const MAX_TOKEN_RESPONSE = 1024 * 1024;

interface Token {
  readonly value: string;
  readonly expiresAt: number;
}

interface CacheEntry {
  readonly promise: Promise<Token>;
  expiresAt?: number;
}

export interface UnauthorizedDecision {
  /** A retry with a fresh Authorization may succeed. */
  readonly retry: boolean;
  /** Scopes to ask for on the retry: the request's plus any the challenge named. */
  readonly scopes: readonly string[];
  /** Why not, when `retry` is false. */
  readonly reason?: string;
}

export interface RegistryAuthOptions {
  readonly transport: HttpTransport;
  readonly credentials?: RegistryCredentials;
  readonly context: FailureContext;
  /** The clock tokens expire by (epoch ms). */
  readonly now: () => number;
}

export class RegistryAuth {
  readonly #transport: HttpTransport;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #context: FailureContext;
  #challenge: Challenge | undefined;
  readonly #tokens = new Map<string, CacheEntry>();
  readonly #now: () => number;

  constructor(options: RegistryAuthOptions) {
    this.#now = options.now;
    this.#transport = options.transport;
    this.#credentials = options.credentials;
    this.#context = options.context;
  }

  get hasCredentials(): boolean {
    return this.#credentials !== undefined;
  }

  /**
   * The Authorization header for a request needing `scopes`, once the registry has challenged. Before
   * that nothing is sent: credentials go only where the registry asked for them.
   */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge?.scheme === 'basic') return this.#basic();
    if (challenge?.scheme === 'bearer') return `Bearer ${(await this.#token(challenge, scopes)).value}`;
    return undefined;
  }

  /** Takes in a 401: remembers the challenge, and says whether retrying can help. */
  unauthorized(
    header: string | readonly string[] | undefined,
    scopes: readonly string[],
    sent: string | undefined,
  ): UnauthorizedDecision {
    const challenges = parseWwwAuthenticate(header);
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!chosen) {
      const schemes = challenges.map((c) => c.scheme).join(', ');
      return {
        retry: false,
        scopes,
        reason: schemes
          ? `the registry asks for ${schemes} authentication, which airlock does not support`
          : 'the registry sent no usable WWW-Authenticate challenge',
      };
    }
    this.#challenge = chosen;
    if (chosen.scheme === 'basic') {
      if (!this.#credentials)
        return { retry: false, scopes, reason: 'the registry requires authentication and no credentials were given' };
      if (sent?.startsWith('Basic '))
        return {
          retry: false,
          scopes,
          reason: `the registry refused the credentials of '${this.#credentials.username}'`,
        };
      return { retry: true, scopes };
    }
    // insufficient_scope challenges name the scope that was missing (token spec, "How to authenticate").
    const named = chosen.params.scope ? chosen.params.scope.split(' ').filter(Boolean) : [];
    const all = [...new Set([...scopes, ...named])];
    if (sent?.startsWith('Bearer ')) {
      // The token we sent was refused (expired early, revoked, or too narrow): never reuse it.
      this.#forget(chosen, scopes);
      this.#forget(chosen, all);
    }
    return { retry: true, scopes: all };
  }

  /** The refusal message for a request that is still 401 after authenticating. */
  refusal(): string {
    if (!this.#credentials) return 'the registry requires authentication and no credentials were given';
    return `the registry refused the credentials of '${this.#credentials.username}'`;
  }

  #basic(): string | undefined {
    const c = this.#credentials;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : undefined;
  }

  #key(challenge: Challenge, scopes: readonly string[]): string {
    return [challenge.params.realm ?? '', challenge.params.service ?? '', ...[...new Set(scopes)].sort()].join('\n');
  }

  #forget(challenge: Challenge, scopes: readonly string[]): void {
    this.#tokens.delete(this.#key(challenge, scopes));
  }

  #token(challenge: Challenge, scopes: readonly string[]): Promise<Token> {
    const key = this.#key(challenge, scopes);
    const hit = this.#tokens.get(key);
    // A pending fetch is shared, so concurrent requests for one scope cost one token request.
    if (hit && (hit.expiresAt === undefined || hit.expiresAt > this.#now())) return hit.promise;
    const entry: CacheEntry = { promise: this.#fetchToken(challenge, scopes) };
    this.#tokens.set(key, entry);
    entry.promise.then(
      (token) => {
        entry.expiresAt = token.expiresAt;
      },
      () => {
        if (this.#tokens.get(key) === entry) this.#tokens.delete(key);
      },
    );
    return entry.promise;
  }

  async #fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<Token> {
    const ctx = this.#context;
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new AirlockError(
        'E_UNAVAILABLE',
        `${ctx.description}: the registry's Bearer challenge has no usable realm ('${realm ?? ''}')`,
      );
    }
    // The credentials travel to the realm: never in clear text over a network.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      throw new AirlockError(
        'E_UNAVAILABLE',
        `${ctx.description}: refusing to fetch a token from ${url.origin}: not HTTPS`,
      );
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const scope of [...new Set(scopes)].sort()) url.searchParams.append('scope', scope);
    const basic = this.#basic();
    const action = `fetching a token from ${url.origin}${url.pathname}`;
    let res;
    try {
      res = await this.#transport.send({
        method: 'GET',
        url,
        headers: { accept: 'application/json', ...(basic ? { authorization: basic } : {}) },
      });
    } catch (err) {
      throw transportError(ctx, action, err);
    }
    if (res.status === 401 || res.status === 403) {
      discard(res);
      throw new AirlockError(
        'E_UNAVAILABLE',
        `${ctx.description}: ${action} failed: HTTP ${res.status}: ${this.refusal()}`,
        {
          hint: CREDENTIALS_HINT,
          details: { registry: ctx.registry, repository: ctx.repository, status: res.status },
        },
      );
    }
    let body: Buffer;
    try {
      body = await readBody(res, MAX_TOKEN_RESPONSE);
    } catch (err) {
      throw transportError(ctx, action, err);
    }
    if (res.status !== 200) throw statusError(ctx, action, res.status, res.statusText, body);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      throw new AirlockError('E_INPUT_MALFORMED', `${ctx.description}: ${action}: the token response is not JSON`);
    }
    const value = typeof json.token === 'string' && json.token ? json.token : json.access_token;
    if (typeof value !== 'string' || !value) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${ctx.description}: ${action}: the token response has neither token nor access_token`,
      );
    }
    const seconds =
      typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
    return { value, expiresAt: this.#now() + Math.max(seconds * 1000 - EXPIRY_MARGIN_MS, 1000) };
  }
}
