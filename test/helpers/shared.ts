// ../shared holds the real Sigstore data the interop tests read in place (never copied). When it is
// absent the interop tests skip, saying so.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const CONFORMANCE_DIR = `${SHARED_DIR}fixtures/sigstore-conformance/`;
export const TUF_FIXTURES_DIR = `${SHARED_DIR}fixtures/sigstore-tuf/`;

export function sharedMissing(dir: string): string | undefined {
  return existsSync(dir) ? undefined : `${dir} is absent: interop checks against real Sigstore data skipped`;
}
