// A smoke run of `npm run bench -- log --storage postgres` at a tiny size: a real PostgreSQL, a real
// `log serve --storage postgres://…` reading its password from a PGPASSFILE, and the raw baseline, so
// the bench cannot rot unnoticed. Only that it runs and reports is checked, never its figures.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { postgresAvailable } from '../test/helpers/postgres.ts';

const run = promisify(execFile);

describe('npm run bench -- log --storage postgres', { skip: postgresAvailable() }, () => {
  it('serves appends from PostgreSQL and prints each paired round and the target', async () => {
    const args = ['--storage', 'postgres', '--quick', '--entries', '300', '--seconds', '1', '--clients', '4'];
    const { stdout } = await run(process.execPath, ['bench/run.ts', 'log', ...args], {
      cwd: new URL('..', import.meta.url).pathname,
      timeout: 120_000,
    });
    assert.match(stdout, /fsync=on synchronous_commit=on full_page_writes=on/);
    assert.match(stdout, /round 1: HTTP [\d.]+ appends\/s .* \/ raw 1 connection [\d.]+ rows\/s = [\d.]+x/);
    assert.match(stdout, /raw INSERT, 1 row\/tx, 4 connections, paired \(context\)/);
    assert.match(stdout, /raw INSERT, 1 row\/tx, 1 connection, paired \(the target\)/);
    assert.match(stdout, /raw 1 row\/tx on 1 connection right after, median of 1 >= 0.5x: [\d.]+x (MET|MISSED)/);
    assert.match(stdout, /context: HTTP appends \/ raw 1 row\/tx on 4 connections .*median: [\d.]+x/);
  });
});
