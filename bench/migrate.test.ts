// A smoke run of `npm run bench -- migrate` on a tiny log: a real sqlite log, a real PostgreSQL, the real
// `airlock log migrate` reading its password from a PGPASSFILE, the in-process run and the raw copy, so
// the bench cannot rot unnoticed. Only that it runs and reports is checked, never its figures.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { postgresAvailable } from '../test/helpers/postgres.ts';

const run = promisify(execFile);

describe('npm run bench -- migrate', { skip: postgresAvailable() }, () => {
  it('migrates with the CLI and in-process, copies raw, and prints the paired ratio and the target', async () => {
    const { stdout } = await run(process.execPath, ['bench/run.ts', 'migrate', '--quick', '--entries', '600'], {
      cwd: new URL('..', import.meta.url).pathname,
      timeout: 120_000,
    });
    assert.match(stdout, /source: 600 entries of \d+ bytes .*, 4 tiles/);
    assert.match(stdout, /fsync=on synchronous_commit=on full_page_writes=on/);
    assert.match(stdout, /airlock log migrate \(CLI\) +median [\d.]+ s +[\d.]+ entries\/s/);
    assert.match(stdout, /raw copy, 1 transaction +median [\d.]+ s +[\d.]+ entries\/s +airlock\/this = [\d.]+x/);
    assert.match(stdout, /migrateLog in-process \(context\) +median/);
    assert.match(stdout, /check the source [\d.]+ s, copy \(one transaction\) [\d.]+ s, verify the copy [\d.]+ s/);
    assert.match(stdout, /median of 1 paired round\(s\) >= 0.25x: [\d.]+x (MET|MISSED)/);
  });
});
