// `airlock log migrate`: a sqlite log (`log serve --data DIR`) moved into PostgreSQL and verified there.
// The copying and checking are the log domain's (log/migrate.ts); here the flags, the progress line and
// the report. `audit migrate` runs the same steps on the audit trail.
import { join, resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { type MigrationProgress, migrateLog, openSqliteSource, type SqliteLogFiles } from '../../../log/migrate.ts';
import type { Command, CommandContext, CommandResult } from '../../command.ts';
import { postgresStorageOpener } from '../../options/postgres.ts';
import { formatProgress, throttled } from '../../progress.ts';
import { counted } from '../../../text.ts';

export const TO_FLAG = {
  to: {
    type: 'string',
    value: 'URL',
    description: 'postgres://USER@HOST:PORT/DB (password from PGPASSFILE/~/.pgpass)',
  },
} as const;

export interface MigrationRun {
  /** The command, for messages: "log migrate". */
  readonly command: string;
  /** What is migrated, for messages: "log", "audit trail". */
  readonly what: string;
  readonly files: SqliteLogFiles;
  /** The schema it goes into; absent: the role's default (public). */
  readonly schema?: string;
}

const STEP_NAMES: Record<MigrationProgress['step'], string> = {
  check: 'checking the source',
  copy: 'copying',
  verify: 'verifying the copy',
};

function progressSink(ctx: CommandContext): ((p: MigrationProgress) => void) | undefined {
  if (!ctx.out.showsProgress) return undefined;
  return throttled((p: MigrationProgress) =>
    ctx.out.progress(`${STEP_NAMES[p.step]}: ${formatProgress({ done: p.done, total: p.total, unit: 'entries' })}`),
  );
}

/** Opens both ends, migrates, reports: shared by `log migrate` and `audit migrate`. */
export async function runMigration(ctx: CommandContext, run: MigrationRun): Promise<CommandResult> {
  const url = ctx.flags.string('to');
  if (url === undefined) throw new AirlockError('E_USAGE', `airlock ${run.command} needs --to URL`);
  const openTarget = postgresStorageOpener(ctx, url, '--to', run.schema);
  const source = await openSqliteSource(run.files);
  try {
    const target = await openTarget();
    const onProgress = progressSink(ctx);
    try {
      const r = await migrateLog(source, target, onProgress ? { onProgress } : {});
      const root = Buffer.from(r.root).toString('base64');
      const schema = run.schema ?? 'public';
      ctx.out.info(
        r.copied
          ? `The ${run.what} ${r.origin}: ${r.size} ${r.size === 1 ? 'entry' : 'entries'} and ` +
              `${counted(r.tiles, 'tile')} copied from ${run.files.db} ` +
              `into ${target.target} (schema ${schema}); verified`
          : `The ${run.what} ${r.origin} is in ${target.target} (schema ${schema}) already: nothing copied; verified`,
      );
      ctx.out.info(`  size ${r.size}, root ${root}`);
      ctx.out.info(`  last signed checkpoint at size ${r.lastSignedSize}; key ${r.keyFingerprint}`);
      return {
        json: {
          ok: true,
          copied: r.copied,
          verified: true,
          origin: r.origin,
          from: run.files.db,
          to: target.target,
          schema,
          size: r.size,
          root,
          tiles: r.tiles,
          lastSignedSize: r.lastSignedSize,
          keyFingerprint: r.keyFingerprint,
        },
      };
    } finally {
      ctx.out.progressDone();
      await target.close();
    }
  } finally {
    await source.close();
  }
}

export const logMigrateCommand: Command = {
  name: 'log migrate',
  summary: 'Move a sqlite transparency log into PostgreSQL, and verify the copy',
  usage: '--from DIR --to postgres://USER@HOST:PORT/DB',
  description:
    'Copies the log a `log serve --data DIR` keeps (DIR/log.db, its last signed checkpoint DIR/checkpoint and\n' +
    'its key DIR/log.pub) into the database, in the schema the role uses by default (public), for\n' +
    '`log serve --storage URL`. Stop the log first. The source is read only, and checked in full before\n' +
    'anything is written; the entries, tiles and state go in one transaction, so a migration stopped\n' +
    'half-way leaves no log in the database. The copy is then read back and verified: the signed\n' +
    'checkpoint, the root from the entries and from the tiles, each entry against the source. A database\n' +
    'holding another log is refused (E_OUTPUT_EXISTS); one holding this very log is only verified.',
  flags: {
    from: { type: 'string', value: 'DIR', description: 'The folder the sqlite log is in (its log serve --data)' },
    ...TO_FLAG,
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'PGPASSFILE=/etc/airlock/pgpass airlock log migrate --from /srv/log --to postgres://airlock@db:5432/tlog',
      description: 'Move the log, then serve it with --storage',
    },
  ],
  async run(ctx) {
    const from = ctx.flags.string('from');
    if (from === undefined) throw new AirlockError('E_USAGE', 'airlock log migrate needs --from DIR');
    const dir = resolve(ctx.cwd, from);
    return runMigration(ctx, {
      command: 'log migrate',
      what: 'log',
      files: { db: join(dir, 'log.db'), checkpoint: join(dir, 'checkpoint'), publicKey: join(dir, 'log.pub') },
    });
  },
};
