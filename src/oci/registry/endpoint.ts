// Where a `docker://HOST/REPO` reference is served: the base URL of its /v2/ API, and whether plain
// HTTP may be used for it. Plain HTTP is allowed only on loopback, where nothing crosses a network
// an attacker could sit on; everything else is HTTPS, as the distribution spec assumes.
import { assertNoCredentials, DOCKER_HUB, forMessage } from '../reference.ts';
import { AirlockError } from '../../errors.ts';
import { isLoopbackHost } from '../../net/loopback.ts';

export { isLoopbackHost };

/** docker.io is a naming convention; Docker Hub's API lives at registry-1.docker.io. */
const DOCKER_HUB_API = 'registry-1.docker.io';

/** Distribution spec, "Pulling manifests": the `<name>` grammar every endpoint path uses. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

export interface RegistryEndpoint {
  /** `https://host[:port]` (or `http://` for an insecure loopback registry), no trailing slash. */
  readonly origin: string;
  /** The hostname as URL spells it (IPv6 in brackets), for loopback checks. */
  readonly hostname: string;
}

function usage(message: string, hint?: string): AirlockError {
  return new AirlockError('E_USAGE', message, hint ? { hint } : {});
}

/** Validates `registry` (HOST[:PORT]) and `repository`, and picks the scheme. */
export function registryEndpoint(registry: string, repository: string, insecure: boolean): RegistryEndpoint {
  assertNoCredentials(registry, 'registry');
  let url: URL;
  try {
    url = new URL(`https://${registry}`);
  } catch {
    throw usage(`invalid registry '${forMessage(registry)}': expected HOST[:PORT]`);
  }
  if (url.pathname !== '/' || url.username || url.password || url.search || url.hash || !url.hostname) {
    throw usage(`invalid registry '${forMessage(registry)}': expected HOST[:PORT]`);
  }
  if (!REPOSITORY_NAME.test(repository) || repository.length > 255) {
    throw usage(
      `invalid repository name '${forMessage(repository)}' for ${forMessage(registry)}`,
      'repository names are lowercase path components, e.g. team/app',
    );
  }
  if (insecure && !isLoopbackHost(url.hostname)) {
    throw usage(
      `refusing plain HTTP to ${forMessage(registry)}: insecure registries are allowed only on ` +
        `loopback (127.0.0.0/8, ::1, localhost)`,
      'serve the registry over HTTPS and pass its CA certificate instead',
    );
  }
  const host = url.host === DOCKER_HUB ? DOCKER_HUB_API : url.host;
  return { origin: `${insecure ? 'http' : 'https'}://${host}`, hostname: url.hostname };
}
