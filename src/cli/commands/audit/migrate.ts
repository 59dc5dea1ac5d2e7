// `airlock audit migrate`: this machine's sqlite audit trail moved into PostgreSQL (schema
// airlock_audit) and verified there, with the steps of `log migrate`.
import { join, resolve } from 'node:path';
import { auditDir } from '../../../audit/audit-log.ts';
import type { Command } from '../../command.ts';
import { AUDIT_SCHEMA } from '../../options/audit-url.ts';
import { runMigration, TO_FLAG } from '../log/migrate.ts';

export const auditMigrateCommand: Command = {
  name: 'audit migrate',
  summary: 'Move the sqlite audit trail into PostgreSQL, and verify the copy',
  usage: '[--from DIR] --to postgres://USER@HOST:PORT/DB',
  description:
    'Copies the audit trail (DIR/audit.db, its last signed checkpoint, origin and public key audit.pub;\n' +
    'DIR is $AIRLOCK_HOME/audit unless --from names another) into the schema airlock_audit of the\n' +
    'database. The private key stays where it is: it is never put in the database. Run it while no\n' +
    'airlock command writes the trail. The source is read only, checked in full first, and copied in one\n' +
    'transaction; the copy is then read back and verified. A database holding another trail is refused\n' +
    '(E_OUTPUT_EXISTS); one holding this very trail is only verified.',
  flags: {
    from: { type: 'string', value: 'DIR', description: 'The audit folder (default: $AIRLOCK_HOME/audit)' },
    ...TO_FLAG,
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'PGPASSFILE=/etc/airlock/pgpass airlock audit migrate --to postgres://airlock@db:5432/airlock',
      description: "Move this machine's audit trail",
    },
  ],
  async run(ctx) {
    const from = ctx.flags.string('from');
    const dir = from === undefined ? auditDir(ctx.stateDir) : resolve(ctx.cwd, from);
    return runMigration(ctx, {
      command: 'audit migrate',
      what: 'audit trail',
      schema: AUDIT_SCHEMA,
      files: {
        db: join(dir, 'audit.db'),
        checkpoint: join(dir, 'checkpoint'),
        publicKey: join(dir, 'audit.pub'),
        origin: join(dir, 'origin'),
      },
    });
  },
};
