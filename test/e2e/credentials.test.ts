// Credentials typed into a reference or a URL on the command line: refused before anything is read
// (exit 2, E_USAGE), shown redacted, and found nowhere afterwards — not in stdout, stderr, the --json
// document, a debug stack trace, or the audit trail.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const SECRET = 'Tr0ub4dor-and-3';
const dir = useTempDir('airlock-credentials-');
const env = () => ({ AIRLOCK_HOME: join(dir, 'home'), AIRLOCK_PASSWORD: 'pw' });
const missing = () => join(dir, 'no-such-key.pub');

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

before(async () => {
  const store = await openLayoutStore(join(dir, 'layout'), { create: true });
  await makeTestImage(store, { tag: 'v1', layers: 1 });
  await store.close();
  await writeFile(join(dir, 'file.txt'), 'hello\n');
  // An audited command first, so there is an audit trail for the refusals to stay out of.
  assert.equal((await runCli(['key', 'generate', '--output-key-prefix', join(dir, 'cosign')], { env: env() })).code, 0);
});

const REFERENCES = [
  `docker://alice:${SECRET}@127.0.0.1:5000/app:1`,
  `alice:${SECRET}@127.0.0.1:5000/app:1`,
  `https://alice:${SECRET}@127.0.0.1:5000/app`,
  `alice:${SECRET}@127.0.0.1:5000`,
];

/** Every command that takes an image reference, with it where the command takes it. */
const COMMANDS: Array<[string, (ref: string) => string[]]> = [
  ['copy REF DST', (ref) => ['copy', ref, `oci:${join(dir, 'out')}:x`]],
  ['copy SRC REF', (ref) => ['copy', `oci:${join(dir, 'layout')}:v1`, ref]],
  ['sign', (ref) => ['sign', ref, '--key', missing(), '--tlog-upload=false']],
  [
    'attest',
    (ref) => ['attest', ref, '--predicate', missing(), '--type', 'spdxjson', '--key', missing(), '--tlog-upload=false'],
  ],
  ['verify', (ref) => ['verify', ref, '--key', missing(), '--insecure-ignore-tlog']],
  [
    'verify-attestation',
    (ref) => ['verify-attestation', ref, '--type', 'spdxjson', '--key', missing(), '--insecure-ignore-tlog'],
  ],
  ['image inspect', (ref) => ['image', 'inspect', ref]],
];

/** A password with a '/' looks like a path to a quick check: only the reference parser catches it. */
const SLASHED = `alice:p/${SECRET}@127.0.0.1:5000/app:1`;

function assertRefused(r: { code: number; stdout: string; stderr: string }, args: string[]): void {
  const what = args.join(' ').replaceAll(SECRET, '<secret>');
  assert.equal(r.code, 2, `${what}: ${r.stderr.replaceAll(SECRET, '<secret>')}`);
  assert.equal(JSON.parse(r.stdout).error.code, 'E_USAGE', what);
  assert.match(r.stderr, /\*\*\*@/, what);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${what}: the password is shown`);
}

describe('credentials in references and URLs', () => {
  for (const [name, command] of COMMANDS) {
    it(`airlock ${name}: refused before anything is read, redacted`, async () => {
      for (const ref of [...REFERENCES, SLASHED]) {
        const args = [...command(ref), '--json'];
        assertRefused(await runCli(args, { env: env() }), args);
      }
    });
  }

  it('airlock pack: refused and redacted', async () => {
    for (const ref of REFERENCES) {
      const args = ['pack', ref, '-o', join(dir, 'pkg.tar'), '--json'];
      assertRefused(await runCli(args, { env: env() }), args);
    }
  });

  it('a URL with user information in any flag or argument is refused too (a log, a TSA)', async () => {
    for (const args of [
      [
        'sign-blob',
        join(dir, 'file.txt'),
        '--key',
        missing(),
        '--rekor-url',
        `https://alice:${SECRET}@rekor.internal`,
        '--bundle',
        join(dir, 'b.json'),
      ],
      [
        'sign-blob',
        join(dir, 'file.txt'),
        '--key',
        missing(),
        `--tsa-url=http://alice:${SECRET}@tsa.internal/tsr`,
        '--bundle',
        join(dir, 'b.json'),
      ],
      ['log', 'info', `https://alice:${SECRET}@log.internal`],
    ]) {
      assertRefused(await runCli([...args, '--json'], { env: env() }), args);
    }
  });

  it('an unknown command that is a reference is not echoed with its password', async () => {
    const r = await runCli([`alice:${SECRET}@registry.example.com/app`], { env: env() });
    assert.equal(r.code, 2);
    assert.ok(!r.stderr.includes(SECRET), r.stderr.replaceAll(SECRET, '<secret>'));
  });

  it('AIRLOCK_DEBUG=1 does not show it either', async () => {
    const r = await runCli(['verify', REFERENCES[0] ?? '', '--key', missing()], {
      env: { ...env(), AIRLOCK_DEBUG: '1' },
    });
    assert.equal(r.code, 2);
    assert.ok(!r.stderr.includes(SECRET));
  });

  it('the audit trail holds no trace of it', async () => {
    const exported = await runCli(['audit', 'export'], { env: env() });
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(!exported.stdout.includes(SECRET));
    for (const file of await filesUnder(join(dir, 'home')))
      assert.ok(!(await readFile(file)).includes(SECRET), `${file} holds the password`);
  });
});
