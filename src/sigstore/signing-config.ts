// cosign v3's --signing-config: a Sigstore SigningConfig v0.2 (protobuf-specs sigstore_trustroot.proto)
// naming the CA, the transparency logs and the timestamp authorities to sign with. Selection follows
// the proto's rules as sigstore-go implements them (pkg/root/signing_config.go, SelectService(s)):
// highest API version this client speaks, valid at `now` (validFor inclusive), newest validFor.start
// first, at most one service per operator. airlock writes one log entry and one timestamp, so a
// config that asks for more (ALL with several services, EXACT with count > 1) is refused rather than
// half-honoured.
import {
  type Service,
  type ServiceConfiguration,
  ServiceSelector,
  SigningConfig,
  serviceSelectorToJSON,
} from '@sigstore/protobuf-specs';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

/** Fulcio's REST API v2 is majorApiVersion 1 in a signing config (note §5, pitfall 13). */
const CA_API_VERSIONS = [1];
/** Rekor v1 and v2 (rekor-tiles, airlock log serve). */
const TLOG_API_VERSIONS = [2, 1];
const TSA_API_VERSIONS = [1];

export interface SigningServices {
  /** Base URL of the Fulcio-compatible CA; undefined when the config lists none valid now. */
  readonly caUrl?: string;
  readonly tlog?: { readonly url: string; readonly apiVersion: 1 | 2 };
  /** The TSA's full URL (a signing config never has the path appended). */
  readonly tsaUrl?: string;
}

function malformed(what: string, hint?: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `the signing config ${what}`, hint ? { hint } : {});
}

/** Parses a SigningConfig v0.2 JSON document (already read and JSON-parsed). */
export function parseSigningConfig(json: unknown): SigningConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed('is not a JSON object');
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw malformed(
      `has media type ${bounded(JSON.stringify(mediaType ?? null))}, not ${SIGNING_CONFIG_MEDIA_TYPE}`,
      'cosign v3 and sigstore-go write v0.2 signing configs (cosign signing-config create)',
    );
  }
  try {
    return SigningConfig.fromJSON(json);
  } catch (err) {
    throw malformed(`cannot be read: ${bounded((err as Error).message)}`);
  }
}

function validAt(service: Service, now: Date): boolean {
  const start = service.validFor?.start;
  const end = service.validFor?.end;
  return (start === undefined || start <= now) && (end === undefined || now <= end);
}

/** Candidates at the highest supported version with any valid service, newest first, one per operator. */
function candidates(services: readonly Service[], versions: readonly number[], now: Date): Service[] {
  const newestFirst = [...services].sort(
    (a, b) => (b.validFor?.start?.getTime() ?? 0) - (a.validFor?.start?.getTime() ?? 0),
  );
  for (const version of versions) {
    const operators = new Set<string>();
    const picked = newestFirst.filter((s) => {
      if (s.majorApiVersion !== version || !validAt(s, now) || operators.has(s.operator)) return false;
      operators.add(s.operator);
      return true;
    });
    if (picked.length > 0) return picked;
  }
  return [];
}

/** The one service a selector asks for; a selector that wants several is refused (one entry, one stamp). */
function selectOne(
  services: readonly Service[],
  config: ServiceConfiguration | undefined,
  versions: readonly number[],
  now: Date,
  what: string,
): Service | undefined {
  const picked = candidates(services, versions, now);
  if (picked.length === 0) return undefined;
  const selector = config?.selector ?? ServiceSelector.ANY;
  const wanted =
    selector === ServiceSelector.ANY ? 1 : selector === ServiceSelector.EXACT ? config?.count : picked.length;
  if (selector === ServiceSelector.SERVICE_SELECTOR_UNDEFINED || wanted === undefined || wanted < 1) {
    throw malformed(`has no usable selector for its ${what}s (${serviceSelectorToJSON(selector)})`);
  }
  if (wanted > 1) {
    throw new AirlockError(
      'E_UNSUPPORTED',
      `the signing config asks for ${wanted} ${what}s (${serviceSelectorToJSON(selector)}); airlock uses one`,
      { hint: `set its ${what} selector to ANY, or pass the URL with its own flag instead of --signing-config` },
    );
  }
  // ANY leaves the choice to the client: the newest valid one, so the same config signs the same way.
  return picked[0];
}

/** Base URLs are joined with API paths: no trailing slash. */
const base = (url: string) => url.replace(/\/+$/, '');

/** What to sign with at `now`, by the config's own selection rules. */
export function selectSigningServices(config: SigningConfig, now: Date): SigningServices {
  const ca = candidates(config.caUrls, CA_API_VERSIONS, now)[0];
  const tlog = selectOne(config.rekorTlogUrls, config.rekorTlogConfig, TLOG_API_VERSIONS, now, 'transparency log');
  const tsa = selectOne(config.tsaUrls, config.tsaConfig, TSA_API_VERSIONS, now, 'timestamp authority');
  return {
    ...(ca ? { caUrl: base(ca.url) } : {}),
    ...(tlog ? { tlog: { url: base(tlog.url), apiVersion: tlog.majorApiVersion === 2 ? 2 : 1 } } : {}),
    ...(tsa ? { tsaUrl: tsa.url } : {}),
  };
}
