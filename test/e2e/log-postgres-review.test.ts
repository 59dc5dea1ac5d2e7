// Review of issue 27: a `log serve` standing by on a database that holds no log yet (the sequencer has
// the lock but has not created it) must still stop on SIGTERM, as it does once it serves.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sequencerLockKey } from '../../src/log/postgres-sequencer.ts';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { orAfter } from '../helpers/or-after.ts';

const missing = postgresAvailable();

describe('airlock log serve --storage postgres:// (review)', { skip: missing }, () => {
  const server = usePostgres();
  const dir = useTempDir('airlock-log-pg-review-');

  it('a standby waiting for the log to be created stops on SIGTERM', async () => {
    await makeLogKey(join(dir, 'log'));
    const passfile = join(dir, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:airlock:airlock:${server.password}\n`, { mode: 0o600 });
    // A sequencer that holds the lock and has not created the log yet (starting, or stalled).
    const holder = await server.admin('airlock');
    await holder.query('SELECT pg_advisory_lock($1)', [sequencerLockKey('public')]);
    const log = spawnServer(
      [
        ...['log', 'serve', '--data', join(dir, 'data'), '--key', join(dir, 'log.key')],
        ...['--origin', '127.0.0.1', '--listen', '127.0.0.1:0', '--storage', server.url],
      ],
      { PGPASSFILE: passfile },
    );
    let out = '';
    log.child.stdout?.on('data', (d: string) => {
      out += d;
    });
    for (let i = 0; i < 600 && !out.includes('"msg":"waiting"'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /"msg":"waiting"/, 'the standby waits for the log to be created');
    const exited = new Promise<string>((resolve) => log.child.once('exit', (code) => resolve(`exited ${code}`)));
    log.child.kill('SIGTERM');
    // Far beyond a poll: "never".
    const outcome = await orAfter(exited, 20_000, 'still running');
    await log.kill();
    await holder.end();
    assert.notEqual(outcome, 'still running', 'SIGTERM stops a waiting standby');
  });
});
