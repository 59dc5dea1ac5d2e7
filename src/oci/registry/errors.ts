// Registry failures as AirlockErrors that name the registry and repository, what was attempted, the
// HTTP status, and the registry's own words: the distribution spec's error body
// `{"errors":[{"code","message","detail"}]}` ("Error Codes"), when it sent one.
import { AirlockError, type ErrorCode } from '../../errors.ts';
import { HttpFailure } from '../../net/http/failure.ts';

export const CREDENTIALS_HINT =
  'give credentials that may access this repository: --username with --password-stdin, or an ' +
  'auth file (REGISTRY_AUTH_FILE, ~/.docker/config.json) with an entry for the registry';

export interface RegistryErrorEntry {
  readonly code?: string;
  readonly message?: string;
}

/** The `errors` array of a registry error body; empty when the body is not one. */
export function parseErrorBody(body: Uint8Array | undefined): RegistryErrorEntry[] {
  if (!body || body.length === 0) return [];
  try {
    const json = JSON.parse(Buffer.from(body).toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(json.errors)) return [];
    return json.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
        ...(typeof e.message === 'string' ? { message: e.message } : {}),
      }));
  } catch {
    return [];
  }
}

function summarize(entries: readonly RegistryErrorEntry[]): string {
  return entries
    .map((e) => [e.code, e.message].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
}

function codeForStatus(status: number): ErrorCode {
  if (status === 404) return 'E_INPUT_MISSING';
  // The registry read what we sent and rejected it as invalid (MANIFEST_INVALID, DIGEST_INVALID, ...).
  if (status === 400 || status === 413 || status === 415 || status === 422) return 'E_INPUT_MALFORMED';
  return 'E_UNAVAILABLE';
}

export interface FailureContext {
  /** `docker://host/repo` */
  readonly description: string;
  readonly registry: string;
  readonly repository: string;
}

/** An unexpected HTTP status, with the registry's error JSON when the body held one. */
export function statusError(
  ctx: FailureContext,
  action: string,
  status: number,
  statusText: string,
  body?: Uint8Array,
): AirlockError {
  const entries = parseErrorBody(body);
  const said = summarize(entries);
  const denied = status === 401 || status === 403;
  return new AirlockError(
    codeForStatus(status),
    `${ctx.description}: ${action} failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}` +
      `${said ? ` (${said})` : ''}`,
    {
      ...(denied ? { hint: CREDENTIALS_HINT } : {}),
      details: {
        registry: ctx.registry,
        repository: ctx.repository,
        status,
        ...(entries.length ? { errors: entries } : {}),
      },
    },
  );
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function transportHint(code: string | undefined, registry: string): string | undefined {
  if (code && TLS_CODES.has(code))
    return `the TLS certificate of ${registry} is not trusted: pass the CA certificate that issued it`;
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return `${registry} may not speak HTTPS; plain HTTP is allowed only for a loopback registry marked insecure`;
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `is ${registry} running and reachable from here?`;
  return undefined;
}

/** A failure below HTTP (network, TLS, timeout, refused redirect, oversized body). */
export function transportError(ctx: FailureContext, action: string, err: unknown): AirlockError {
  if (err instanceof AirlockError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const sysCode = typeof code === 'string' ? code : undefined;
  const reason = err instanceof Error ? err.message : String(err);
  const hint = transportHint(sysCode, ctx.registry);
  const tooLarge = err instanceof HttpFailure && err.code === 'ETOOLARGE';
  return new AirlockError(
    tooLarge ? 'E_INPUT_MALFORMED' : 'E_UNAVAILABLE',
    `${ctx.description}: ${action} failed: ${reason}`,
    {
      cause: err,
      ...(hint ? { hint } : {}),
      details: { registry: ctx.registry, repository: ctx.repository, ...(sysCode ? { code: sysCode } : {}) },
    },
  );
}
