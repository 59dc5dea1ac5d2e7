// Reading a PostgreSQL password from a libpq password file: matching, wildcards and escapes as libpq
// reads them, and the refusals (a file others can read, no line for the target), never quoting a password.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { pgpassLookup, readPgpassPassword } from './pgpass.ts';

const target = { host: 'db.internal', port: 5432, database: 'tlog', user: 'airlock' };
const dir = useTempDir('airlock-pgpass-');

describe('pgpassLookup', () => {
  it('takes the first line matching host, port, database and user, `*` matching any', () => {
    const text = [
      '# comment: db.internal:5432:tlog:airlock:commented',
      'db.internal:5432:other:airlock:wrong-database',
      'db.internal:5433:tlog:airlock:wrong-port',
      'db.internal:*:tlog:airlock:first',
      '*:*:*:*:fallback',
    ].join('\n');
    assert.equal(pgpassLookup(text, target), 'first');
    assert.equal(pgpassLookup(text, { ...target, user: 'someone' }), 'fallback');
    assert.equal(pgpassLookup('db.internal:5432:tlog:airlock', target), undefined, 'a line short of fields');
  });

  it('unescapes `\\:` and `\\\\`, keeps `:` in the password, and matches a socket folder as localhost', () => {
    assert.equal(pgpassLookup('db.internal:5432:tlog:airlock:a\\:b\\\\c:d\r\n', target), 'a:b\\c:d');
    assert.equal(pgpassLookup('localhost:5432:tlog:airlock:local', { ...target, host: '/run/postgresql' }), 'local');
    assert.equal(pgpassLookup('local\\host:5432:tlog:airlock:escaped', { ...target, host: 'localhost' }), 'escaped');
  });
});

describe('readPgpassPassword', () => {
  it('reads a private file, and refuses one others can read or with no line for the target', async () => {
    const path = join(dir, 'pgpass');
    await writeFile(path, 'db.internal:5432:tlog:airlock:s3cret\n', { mode: 0o600 });
    assert.equal(await readPgpassPassword(path, target), 's3cret');
    const refusal = (code: string) => (err: Error & { code?: string }) =>
      err.code === code && !err.message.includes('s3cret');
    await assert.rejects(readPgpassPassword(path, { ...target, database: 'audit' }), refusal('E_USAGE'));
    const open = join(dir, 'pgpass-open');
    await writeFile(open, 'db.internal:5432:tlog:airlock:s3cret\n', { mode: 0o644 });
    await assert.rejects(readPgpassPassword(open, target), refusal('E_USAGE'));
    await assert.rejects(readPgpassPassword(join(dir, 'absent'), target), refusal('E_IO'));
  });
});
