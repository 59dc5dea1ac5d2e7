// One repository's view of the registry API: URLs under /v2/<name>/, the 401 → authenticate → retry
// dance, and registry answers turned into errors that name the registry, the repository and the step.
import { AirlockError } from '../../errors.ts';
import { type RegistryAuth, repositoryScope } from './auth.ts';
import { CREDENTIALS_HINT, type FailureContext, parseErrorBody, statusError, transportError } from './errors.ts';
import {
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  readBody,
  type RedirectPolicy,
  replayableBody,
} from '../../net/http/transport.ts';

/** Error bodies are a few hundred bytes of JSON; anything larger is not worth reading. */
const ERROR_BODY_LIMIT = 64 * 1024;

export interface ClientRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  /** Token scopes the request needs (token spec, "Requesting a Token"). */
  readonly scopes: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: HttpRequest['body'];
  readonly redirects?: RedirectPolicy;
  readonly retry?: boolean;
  readonly bulk?: boolean;
}

export interface RegistryClientOptions {
  /** `https://host[:port]` */
  readonly origin: string;
  readonly registry: string;
  readonly repository: string;
  readonly transport: HttpTransport;
  readonly auth: RegistryAuth;
}

export class RegistryClient {
  readonly context: FailureContext;
  readonly origin: string;
  readonly repository: string;
  readonly #transport: HttpTransport;
  readonly #auth: RegistryAuth;

  constructor(options: RegistryClientOptions) {
    this.origin = options.origin;
    this.repository = options.repository;
    this.context = {
      description: `docker://${options.registry}/${options.repository}`,
      registry: options.registry,
      repository: options.repository,
    };
    this.#transport = options.transport;
    this.#auth = options.auth;
  }

  get pull(): string[] {
    return [repositoryScope(this.repository, 'pull')];
  }

  get push(): string[] {
    return [repositoryScope(this.repository, 'pull,push')];
  }

  /** `/v2/<name>/<path>` on the registry, with query parameters. */
  url(path: string, query: Readonly<Record<string, string>> = {}): URL {
    const url = new URL(`${this.origin}/v2/${this.repository}/${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  /**
   * Resolves a Location or Link header, relative or absolute (distribution spec: "the location MAY be
   * absolute ... or relative", RFC 7231 §7.1.2). It must stay on the registry's origin: the request
   * that follows carries the registry's Authorization.
   */
  follow(reference: string, base: URL, action: string): URL {
    let url: URL;
    try {
      url = new URL(reference, base);
    } catch {
      throw this.malformed(action, `the registry answered with an invalid URL '${reference}'`);
    }
    if (url.origin !== this.origin) {
      throw this.malformed(
        action,
        `the registry points to another origin (${url.origin}); airlock sends credentials only to ${this.origin}`,
      );
    }
    return url;
  }

  malformed(action: string, why: string): AirlockError {
    return new AirlockError('E_INPUT_MALFORMED', `${this.context.description}: ${action} failed: ${why}`, {
      details: { registry: this.context.registry, repository: this.context.repository },
    });
  }

  /**
   * Sends a request, authenticating when challenged. A 401 is retried once with fresh authorization;
   * a streamed body cannot be replayed, so uploads rely on the POST that opened the session having
   * met the challenge first (the same scope covers the PATCH/PUT that follow).
   */
  async send(action: string, request: ClientRequest): Promise<HttpResponse> {
    let scopes = request.scopes;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.#auth.authorization(scopes);
      const headers = { ...request.headers, ...(authorization ? { authorization } : {}) };
      let res: HttpResponse;
      try {
        res = await this.#transport.send({ ...request, headers });
      } catch (err) {
        throw transportError(this.context, action, err);
      }
      if (res.status !== 401) return res;
      const body = await readBody(res, ERROR_BODY_LIMIT).catch(() => undefined);
      const decision = this.#auth.unauthorized(res.headers['www-authenticate'], scopes, authorization);
      if (attempt === 0 && decision.retry && replayableBody(request.body)) {
        scopes = decision.scopes;
        continue;
      }
      const entries = parseErrorBody(body);
      throw new AirlockError(
        'E_UNAVAILABLE',
        `${this.context.description}: ${action} failed: HTTP 401 Unauthorized: ` +
          `${decision.reason ?? this.#auth.refusal()}`,
        {
          hint: CREDENTIALS_HINT,
          details: {
            registry: this.context.registry,
            repository: this.context.repository,
            status: 401,
            ...(entries.length ? { errors: entries } : {}),
          },
        },
      );
    }
  }

  /** The error for a response with an unexpected status, quoting the registry's error JSON. */
  async failure(action: string, res: HttpResponse): Promise<AirlockError> {
    const body = res.body.readableEnded ? undefined : await readBody(res, ERROR_BODY_LIMIT).catch(() => undefined);
    return statusError(this.context, action, res.status, res.statusText, body);
  }

  /** Reads a JSON/manifest body, at most `limit` bytes. */
  async read(action: string, res: HttpResponse, limit: number): Promise<Buffer> {
    try {
      return await readBody(res, limit);
    } catch (err) {
      throw transportError(this.context, action, err);
    }
  }
}
