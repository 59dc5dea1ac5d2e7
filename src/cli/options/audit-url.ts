// AIRLOCK_AUDIT_URL: the audit trail in a PostgreSQL database every machine pointed there shares,
// instead of this machine's own under $AIRLOCK_HOME/audit (docs/audit.md, "On PostgreSQL"). Read from
// the environment only: no command has an audit flag, and every command writes the trail.
import { originFor } from '../../audit/audit-log.ts';
import type { SharedTrail } from '../../audit/shared-trail.ts';
import { AirlockError } from '../../errors.ts';
import type { CommandContext } from '../command.ts';

/** The schema the audit trail takes in the database AIRLOCK_AUDIT_URL names (a log there keeps `public`). */
export const AUDIT_SCHEMA = 'airlock_audit';

/** DB.HOST of postgres://USER@HOST:PORT/DB, for a trail's default name. */
function databaseName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${decodeURIComponent(parsed.pathname.slice(1))}.${parsed.hostname}`;
  } catch (err) {
    throw new AirlockError('E_USAGE', 'AIRLOCK_AUDIT_URL is not a postgres://USER@HOST:PORT/DB URL', { cause: err });
  }
}

/**
 * The shared trail AIRLOCK_AUDIT_URL names, or undefined for this machine's own. A new trail is named
 * AIRLOCK_AUDIT_ORIGIN, else after the database and its host (audit.DB.HOST): what the first writer
 * names it stands, whatever host name later writers reach the database by.
 */
export async function sharedAuditTrail(
  env: CommandContext['env'],
  use: 'write' | 'read' = 'write',
): Promise<SharedTrail | undefined> {
  const url = env.AIRLOCK_AUDIT_URL;
  if (!url) return undefined;
  // Loaded only here: the PostgreSQL driver is no part of a command that does not use it.
  const { postgresStorageOpener } = await import('./postgres.ts');
  // A reader (an auditor's verify) needs SELECT only, and creates nothing.
  const open = postgresStorageOpener({ env }, url, 'AIRLOCK_AUDIT_URL', AUDIT_SCHEMA, use === 'read');
  const named = env.AIRLOCK_AUDIT_ORIGIN;
  if (named) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(named))
      throw new AirlockError('E_USAGE', 'AIRLOCK_AUDIT_ORIGIN takes a name of letters, digits, ".", "_" and "-"', {
        hint: "e.g. audit.site-a.example: it is the origin line of the trail's checkpoints",
      });
    return { open, origin: named, originRequired: true };
  }
  return { open, origin: originFor(databaseName(url)) };
}
