// docs/trust.md, "When the repository itself has expired", tried for real: its commands, as written,
// against the real Sigstore TUF repository in ../shared (root v15 expired 2026-11-20), with the
// machine's own clock as the CLI has it. Paths in the doc are stand-ins, replaced here; the fixture is
// copied only into a temporary folder, never into the repository.
import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCliProcess } from '../helpers/cli.ts';
import { unknownFlagsIn } from '../helpers/flags.ts';
import { sharedMissing, TUF_FIXTURES_DIR } from '../helpers/shared.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const DOC = fileURLToPath(new URL('../../docs/trust.md', import.meta.url));
const ROOT_EXPIRED = Date.parse('2026-11-20T13:58:18Z');
const dir = useTempDir('airlock-stale-upstream-');

/** The shell commands of the sh block after `<!-- e2e: NAME`: continuations joined, comments dropped. */
function documentedCommands(doc: string, name: string): string[] {
  const at = doc.indexOf(`<!-- e2e: ${name}`);
  assert.ok(at >= 0, `docs/trust.md has no block marked e2e: ${name}`);
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '';
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Words of a command line as sh splits them (single quotes only, as the doc writes them). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe('docs/trust.md: a break-glass import when the repository itself has expired', () => {
  it('runs as documented against the real Sigstore TUF repository', async (t) => {
    const missing = sharedMissing(TUF_FIXTURES_DIR);
    if (missing) return t.skip(missing);
    if (Date.now() < ROOT_EXPIRED) return t.skip('the fixture is still fresh at this clock: nothing to bridge');
    const usb = join(dir, 'usb');
    await mkdir(usb);
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const stand = (w: string) =>
      w
        .replace('/srv/tuf-repo', TUF_FIXTURES_DIR.replace(/\/$/, ''))
        .replace('/media/usb', usb)
        .replace(/^pinned-root\.json$/, join(TUF_FIXTURES_DIR, 'metadata', '1.root.json'))
        .replace(/^2026-12-10T00:00:00Z$/, until);
    const env = { AIRLOCK_HOME: join(dir, 'home') };
    const commands = documentedCommands(await readFile(DOC, 'utf8'), 'stale-upstream');
    assert.deepEqual(
      commands.map((c) => words(c).slice(0, 3).join(' ')),
      [
        'airlock trust mirror',
        'cp -r /srv/tuf-repo',
        'airlock trust import',
        'airlock trust status',
        'airlock audit show',
      ],
    );
    const outcomes: Record<string, { code: number; stdout: string; stderr: string }> = {};
    for (const line of commands) {
      const [program = '', ...args] = words(line).map(stand);
      if (program === 'cp') {
        // The copy the doc carries across: only metadata/ and targets/, as they are.
        for (const part of ['metadata', 'targets'])
          await cp(join(args[1] ?? '', part), join(args[2] ?? '', part), { recursive: true });
        continue;
      }
      assert.equal(program, 'airlock');
      outcomes[args.slice(0, 2).join(' ')] = await runCliProcess(args, { env });
    }
    const mirror = outcomes['trust mirror'];
    assert.equal(mirror?.code, 1, mirror?.stderr);
    assert.match(mirror?.stderr ?? '', /root v15 expired at 2026-11-20T13:58:18Z .*\[E_TUF_EXPIRED\]/);
    assert.deepEqual(await unknownFlagsIn(mirror?.stderr ?? '', 'trust mirror'), [], 'the hint names flags that exist');
    const imported = outcomes['trust import'];
    assert.equal(imported?.code, 0, imported?.stderr);
    assert.match(imported?.stderr ?? '', /BREAK-GLASS: installed with expired root v15/);
    const status = outcomes['trust status'];
    assert.equal(status?.code, 2, status?.stdout);
    assert.match(status?.stdout ?? '', /^AIRLOCK TRUST CRITICAL - public-good: break-glass install until /);
    const audit = outcomes['audit show'];
    assert.equal(audit?.code, 0, audit?.stderr);
    assert.match(audit?.stdout ?? '', /ok\s+trust\.break-glass/);
  });
});
