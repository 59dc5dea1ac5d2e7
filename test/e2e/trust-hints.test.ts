// Every message and hint the trust commands give names only flags that exist — on the command that
// printed it, or on the `airlock CMD ...` it quotes. trust mirror once told users to pass
// `--break-glass`, which only trust import has. Repositories are made here, expired on purpose.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { unknownFlagsIn } from '../helpers/flags.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { createTufRepo, type TufRepo } from '../helpers/tuf-repo.ts';

const DAY = 86_400_000;
const dir = useTempDir('airlock-trust-hints-');
let n = 0;

async function repo(expire?: { role: 'root' | 'timestamp'; ago: number }): Promise<TufRepo> {
  const r = await createTufRepo({ dir: join(dir, `repo-${n++}`) });
  r.addTarget(
    'trusted_root.json',
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }),
  );
  if (expire) r.setExpiry(expire.role, new Date(Date.now() - expire.ago));
  await r.publish();
  return r;
}

/** Runs `airlock trust ...`; returns what it told the user (stderr, and the --json error's message and hint). */
async function told(args: string[], home = 'home'): Promise<{ code: number; text: string }> {
  const r = await runCli(['trust', ...args, '--json'], { env: { AIRLOCK_HOME: join(dir, home) } });
  const error = (JSON.parse(r.stdout || '{}') as { error?: { message?: string; hint?: string } }).error;
  return { code: r.code, text: [r.stderr, error?.message ?? '', error?.hint ?? ''].join('\n') };
}

describe('trust command messages and hints', () => {
  it('name only flags their command (or the command they quote) has', async () => {
    const expiredRoot = await repo({ role: 'root', ago: DAY });
    const staleTimestamp = await repo({ role: 'timestamp', ago: 45 * DAY });
    const fresh = await repo();
    await mkdir(join(dir, 'exists'));
    const runs: Array<[string, string[]]> = [
      [
        'trust mirror',
        ['mirror', '--source', expiredRoot.dir, '--root', expiredRoot.initialRootPath, '--out', join(dir, 'm1')],
      ],
      [
        'trust mirror',
        ['mirror', '--source', staleTimestamp.dir, '--root', staleTimestamp.initialRootPath, '--out', join(dir, 'm2')],
      ],
      ['trust mirror', ['mirror', '--source', fresh.dir, '--out', join(dir, 'm3')]],
      ['trust mirror', ['mirror', '--source', fresh.dir, '--root', fresh.initialRootPath]],
      [
        'trust mirror',
        ['mirror', '--source', fresh.dir, '--root', fresh.initialRootPath, '--out', join(dir, 'exists')],
      ],
      ['trust import', ['import', expiredRoot.dir, '--root', expiredRoot.initialRootPath]],
      ['trust import', ['import', staleTimestamp.dir, '--root', staleTimestamp.initialRootPath]],
      ['trust import', ['import', expiredRoot.dir, '--root', expiredRoot.initialRootPath, '--break-glass']],
      [
        'trust import',
        [
          'import',
          expiredRoot.dir,
          '--root',
          expiredRoot.initialRootPath,
          '--break-glass',
          '--reason',
          'x',
          '--until',
          new Date(Date.now() + 30 * DAY).toISOString(),
        ],
      ],
      ['trust import', ['import', fresh.dir, '--root', fresh.initialRootPath, '--reason', 'x']],
      ['trust import', ['import', fresh.dir]],
      ['trust status', ['status', '--at', 'yesterday']],
    ];
    const problems: string[] = [];
    for (const [command, args] of runs) {
      const { code, text } = await told(args, `home-${n++}`);
      assert.notEqual(code, 0, `${args.join(' ')} should fail`);
      for (const flag of await unknownFlagsIn(text, command))
        problems.push(`airlock trust ${args[0]} …: ${flag}\n${text.trim()}`);
    }
    assert.deepEqual(problems, []);
  });

  it('trust mirror of an expired repository says what can be done, with flags that exist', async () => {
    const expired = await repo({ role: 'root', ago: DAY });
    const { code, text } = await told([
      'mirror',
      '--source',
      expired.dir,
      '--root',
      expired.initialRootPath,
      '--out',
      join(dir, 'never'),
    ]);
    assert.equal(code, 1);
    assert.match(text, /E_TUF_EXPIRED/);
    assert.match(text, /`airlock trust import DIR --root FILE --break-glass --reason TEXT --until TIME`/);
    assert.deepEqual(await unknownFlagsIn(text, 'trust mirror'), []);
  });

  // What the sources say wherever it is said: every --flag in src/trust and the trust commands, outside
  // a quoted `airlock CMD ...` (checked above), is a flag of some trust command.
  it('every --flag the trust sources mention exists on a trust command', async () => {
    const sourcesIn = async (dir: string) =>
      (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => join(dir, f));
    const sources = [...(await sourcesIn(join('src', 'cli', 'commands', 'trust'))), ...(await sourcesIn('src/trust'))];
    const text = (await Promise.all(sources.map((f) => readFile(f, 'utf8'))))
      .join('\n')
      .replace(/`airlock [^`]*`/g, '');
    const unknownEverywhere = (
      await Promise.all(
        ['trust mirror', 'trust import', 'trust status', 'trust create', 'trust show'].map(async (c) =>
          (await unknownFlagsIn(text, c)).map((f) => f.replace(/ \(in .*\)$/, '')),
        ),
      )
    ).reduce((common, flags) => common.filter((f) => flags.includes(f)));
    assert.deepEqual([...new Set(unknownEverywhere)], []);
  });
});
