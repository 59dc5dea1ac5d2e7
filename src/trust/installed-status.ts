// The status of the trust roots installed in $AIRLOCK_HOME (`airlock trust status`): each root's
// install read back and evaluated at an instant, and the one level a monitoring check reports for all.
import { isAirlockError } from '../errors.ts';
import { checkStateDir } from '../files/state-dir.ts';
import { listInstalledNames, readInstalledFiles } from './installed.ts';
import { brokenTrustStatus, evaluateTrustStatus, type Level, type TrustRootStatus } from './status.ts';

/**
 * The status of each installed root (or of `names`): a root whose install is broken or unreadable is
 * reported as such (brokenTrustStatus), never read as empty; an unusable $AIRLOCK_HOME throws.
 */
export async function installedTrustStatuses(
  stateDir: string,
  names: readonly string[] | undefined,
  at: Date,
): Promise<TrustRootStatus[]> {
  await checkStateDir(stateDir); // an unusable $AIRLOCK_HOME is no one root's problem
  const statuses: TrustRootStatus[] = [];
  for (const name of names ?? (await listInstalledNames(stateDir))) {
    try {
      const files = await readInstalledFiles(stateDir, name);
      if (files) statuses.push(evaluateTrustStatus(files.install, JSON.parse(files.bytes.toString('utf8')), at));
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      statuses.push(brokenTrustStatus(name, { code: err.code, message: err.message }));
    }
  }
  return statuses;
}

/**
 * The worst level among the roots (or installed vulnerability databases); UNKNOWN when there is none,
 * since nothing can then be verified.
 */
export function overallLevel(statuses: readonly { readonly level: Level }[]): Level {
  return (statuses.length === 0 ? 3 : Math.max(...statuses.map((s) => s.level))) as Level;
}
