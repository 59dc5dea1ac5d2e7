// A PostgreSQL database named on the command line (`log serve --storage`, `log migrate --to`, the audit
// trail's AIRLOCK_AUDIT_URL): postgres://USER@HOST:PORT/DB, the password from PGPASSFILE or ~/.pgpass
// (read when the server asks for one), never from argv or the URL.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError } from '../../errors.ts';
import { PostgresLogStorage } from '../../log/postgres-storage.ts';
import type { CommandContext } from '../command.ts';

export const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Whether `value` names a PostgreSQL database rather than a folder. */
export function isPostgresUrl(value: string): boolean {
  return POSTGRES_URL.test(value);
}

/** The password file libpq would read: PGPASSFILE when named (it must then exist), else ~/.pgpass if there. */
export function passfileOf(env: CommandContext['env']): string | undefined {
  const named = env.PGPASSFILE;
  const fallback = join(env.HOME || homedir(), '.pgpass');
  return named || (existsSync(fallback) ? fallback : undefined);
}

/**
 * Opens the storage at `url` (checked now, opened when called) in `schema` (default: the role's
 * search_path, `public`); `readOnly` for commands that only read it. `what` names the flag or variable
 * for messages.
 */
export function postgresStorageOpener(
  ctx: Pick<CommandContext, 'env'>,
  url: string,
  what: string,
  schema?: string,
  readOnly = false,
): () => Promise<PostgresLogStorage> {
  if (!isPostgresUrl(url)) {
    throw new AirlockError('E_USAGE', `${what} takes a postgres://USER@HOST:PORT/DB URL`, {
      hint: 'the password goes in a password file (PGPASSFILE or ~/.pgpass, mode 600), never in the URL',
    });
  }
  const passfile = passfileOf(ctx.env);
  return () =>
    PostgresLogStorage.open({
      url,
      ...(passfile ? { passfile } : {}),
      ...(schema !== undefined ? { schema } : {}),
      ...(readOnly ? { readOnly } : {}),
    });
}
