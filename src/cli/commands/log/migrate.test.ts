// `log migrate` and `audit migrate` refusals that need no database: the copy itself is tested against
// a real PostgreSQL in src/log/migrate.test.ts and test/e2e/log-migrate.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../../test/helpers/cli.ts';
import { useTempDir } from '../../../../test/helpers/temp-dir.ts';

const dir = useTempDir('airlock-migrate-cli-');
const URL = 'postgres://airlock@127.0.0.1:1/tlog';

describe('log migrate, audit migrate', () => {
  it('needs --from and a postgres:// --to, before reading anything', async () => {
    for (const [args, message] of [
      [['log', 'migrate', '--to', URL], /needs --from DIR/],
      [['log', 'migrate', '--from', dir], /needs --to URL/],
      [['log', 'migrate', '--from', join(dir, 'absent'), '--to', join(dir, 'db')], /--to takes a postgres:\/\//],
      [['audit', 'migrate', '--to', 'mysql://db/x'], /--to takes a postgres:\/\//],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /\[E_USAGE\]/);
    }
  });

  it('names the sqlite database it did not find', async () => {
    const log = await runCli(['log', 'migrate', '--from', dir, '--to', URL]);
    assert.equal(log.code, 3, log.stderr);
    assert.match(log.stderr, new RegExp(`no log database at ${join(dir, 'log.db')}.*E_INPUT_MISSING`));
    const home = join(dir, 'home');
    const audit = await runCli(['audit', 'migrate', '--to', URL], { env: { AIRLOCK_HOME: home } });
    assert.equal(audit.code, 3, audit.stderr);
    assert.match(audit.stderr, new RegExp(`no log database at ${join(home, 'audit', 'audit.db')}`));
  });
});
