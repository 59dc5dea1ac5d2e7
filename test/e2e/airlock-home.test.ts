// An $AIRLOCK_HOME that cannot be used — a file where the folder should be, a path under a regular
// file, a place in /proc where nothing can be created — is said to be that: E_IO naming AIRLOCK_HOME,
// exit 3, for every command that reads or writes state. Never "trust root corrupt" (a verdict about
// the root), never a hang. (Tests run as root, so a folder without permission cannot be tried here.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { AIRLOCK_BIN, type CliResult, runCliProcess } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-e2e-home-');

/** airlock ARGS as a process with AIRLOCK_HOME=home; killed after 20 s (a hang is a failure, code -1). */
function airlock(home: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], {
      env: { ...process.env, AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

before(async () => {
  await writeFile(join(dir, 'a-file'), 'not a folder\n');
  await writeFile(join(dir, 'app.tar'), 'the artifact\n');
  const home = join(dir, 'good-home');
  assert.equal(
    (
      await runCliProcess(['key', 'generate', '--output-key-prefix', join(dir, 'k')], {
        env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home },
      })
    ).code,
    0,
  );
  const s = await runCliProcess(
    [
      'sign-blob',
      join(dir, 'app.tar'),
      '--key',
      join(dir, 'k.key'),
      '--tlog-upload=false',
      '--bundle',
      join(dir, 'app.json'),
    ],
    { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home } },
  );
  assert.equal(s.code, 0, s.stderr);
});

/** Where a folder cannot be: every command that reads or writes state says so. */
const NOT_A_FOLDER: ReadonlyArray<[string, () => string]> = [
  ['a regular file', () => join(dir, 'a-file')],
  ['a path under a regular file', () => join(dir, 'a-file', 'airlock')],
  ['a file in /proc', () => '/proc/self/status'],
];

const commands = (): Record<string, string[]> => ({
  'verify-blob (installed trust root)': [
    'verify-blob',
    join(dir, 'app.tar'),
    '--bundle',
    join(dir, 'app.json'),
    '--key',
    join(dir, 'k.pub'),
  ],
  'verify-blob (no trust root needed)': [
    'verify-blob',
    join(dir, 'app.tar'),
    '--bundle',
    join(dir, 'app.json'),
    '--key',
    join(dir, 'k.pub'),
    '--insecure-ignore-tlog',
  ],
  'sign-blob': [
    'sign-blob',
    join(dir, 'app.tar'),
    '--key',
    join(dir, 'k.key'),
    '--tlog-upload=false',
    '--bundle',
    join(dir, 'again.json'),
    '--force',
  ],
  'audit verify': ['audit', 'verify'],
  'trust status': ['trust', 'status'],
});

function assertNamesHome(name: string, r: CliResult): void {
  assert.notEqual(r.code, -1, `${name}: hung`);
  assert.equal(r.code, 3, `${name}: ${r.stderr}`);
  assert.match(r.stderr, /AIRLOCK_HOME.*\[E_IO\]/, `${name}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /E_TRUST_ROOT\b|corrupt/, name);
}

describe('an unusable $AIRLOCK_HOME', () => {
  for (const [what, homeOf] of NOT_A_FOLDER) {
    it(
      `${what}: E_IO naming AIRLOCK_HOME (exit 3) for every command, never a verdict about the ` + `trust root`,
      async () => {
        for (const [name, args] of Object.entries(commands())) assertNamesHome(name, await airlock(homeOf(), args));
        const check = await airlock(homeOf(), ['trust', 'status', '--check']);
        assert.equal(check.code, 3, `trust status --check: UNKNOWN, ${check.stdout}${check.stderr}`);
        assert.match(check.stdout, /^AIRLOCK TRUST UNKNOWN - .*AIRLOCK_HOME/);
      },
    );
  }

  // /proc/1 is a folder that refuses children: nothing is there to read (nothing installed, no audit
  // log), and what must be written cannot be. Node's recursive mkdir loops forever on it.
  it('a folder /proc cannot create: what writes state says AIRLOCK_HOME cannot be used, nothing hangs', async () => {
    const home = '/proc/1/airlock';
    const all = commands();
    for (const name of ['verify-blob (no trust root needed)', 'sign-blob'])
      assertNamesHome(name, await airlock(home, all[name] ?? []));
    for (const name of ['verify-blob (installed trust root)', 'audit verify', 'trust status']) {
      const r = await airlock(home, all[name] ?? []);
      assert.notEqual(r.code, -1, `${name}: hung`);
      assert.doesNotMatch(r.stderr, /E_TRUST_ROOT\b|corrupt/, name);
    }
    assert.equal((await airlock(home, ['trust', 'status', '--check'])).code, 3, 'UNKNOWN: nothing installed');
  });
});
