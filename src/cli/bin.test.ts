// The process edge as a shell pipeline meets it: a reader that closes early (`| head -1`).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AIRLOCK_BIN } from '../../test/helpers/cli.ts';
import { AuditLog } from '../audit/audit-log.ts';

let home: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-bin-'));
  // Far more than a pipe holds (64 KiB), so the writer is still writing when the reader goes away.
  const log = await AuditLog.open(home);
  for (let i = 0; i < 40; i++) {
    await log.append({
      id: `e${i}`,
      time: new Date(0).toISOString(),
      actor: 'test',
      host: 'test',
      tool: 'airlock test',
      action: 'test',
      result: 'ok',
      subjects: [{ name: `subject-${'n'.repeat(4096)}` }],
      details: { filler: 'x'.repeat(16_384) },
    });
  }
  await log.close();
});
after(() => rm(home, { recursive: true, force: true }));

/** Runs airlock with stdout a pipe whose reader closes it after the first bytes, as `head -1` does. */
function runClosingEarly(
  args: string[],
): Promise<{ code: number | null; signal: string | null; stderr: string; got: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], {
      env: { ...process.env, AIRLOCK_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let got = 0;
    let stderr = '';
    child.stdout.once('data', (d: Buffer) => {
      got = d.length;
      child.stdout.destroy();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, got }));
  });
}

describe('stdout closed early', () => {
  for (const args of [
    ['audit', 'export'],
    ['audit', 'show'],
    ['audit', 'export', '--json'],
  ]) {
    it(`airlock ${args.join(' ')} | head -1 ends quietly with exit 0`, async () => {
      const r = await runClosingEarly(args);
      assert.ok(r.got > 0, 'some output was read');
      assert.doesNotMatch(r.stderr, /EPIPE|error|\n\s+at /i, 'no error and no stack trace');
      assert.deepEqual([r.code, r.signal], [0, null]);
    });
  }
});

describe('stdout that fails otherwise', () => {
  it(
    'a full disk under `> file` is an error (exit 3, E_IO), not a quiet success',
    { skip: !existsSync('/dev/full') && '/dev/full is absent' },
    () => {
      const full = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [AIRLOCK_BIN, '--help'], {
          env: { ...process.env, AIRLOCK_HOME: home },
          stdio: ['ignore', full, 'pipe'],
          encoding: 'utf8',
        });
        assert.equal(r.status, 3);
        assert.equal(r.stderr, 'error: cannot write stdout: ENOSPC [E_IO]\n');
      } finally {
        closeSync(full);
      }
    },
  );
});
