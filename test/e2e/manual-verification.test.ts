// docs/manual-verification.md must say what is true: its shell block is run here, as it stands, on
// packages airlock packed and approved with each kind of key, and on a tampered one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCli } from '../helpers/cli.ts';
import { createGpgHome, type GpgHome, gpgMissing } from '../helpers/gpg.ts';
import { makeTestImage } from '../helpers/oci-images.ts';

const DOC = new URL('../../docs/manual-verification.md', import.meta.url);
const missing =
  ['jq', 'openssl', 'base64', 'bash'].find((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) ??
  gpgMissing();
const skip = missing === undefined ? false : `${missing} is not installed (jq: apt-get install jq, see scripts/setup)`;

let dir: string;
let gpg: GpgHome;
const env = () => ({ AIRLOCK_HOME: join(dir, 'home'), AIRLOCK_PASSWORD: 'pw' });

async function ok(args: string[]): Promise<void> {
  const r = await runCli(args, { env: env() });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
}

/** The doc's first sh block: the steps, exactly as a reader copies them. */
async function docSteps(): Promise<string> {
  const block = /```sh\n([^]*?)```/.exec(await readFile(DOC, 'utf8'))?.[1];
  assert.ok(block, 'docs/manual-verification.md has a ```sh block');
  return block;
}

/**
 * A folder as the doc expects it: app-1.0.tar signed with `algorithm`, approved with `approver`, and the keys to trust.
 */
async function packageFolder(name: string, algorithm: string, approver: string): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder);
  await ok(['key', 'generate', '--output-key-prefix', join(folder, 'release'), '--algorithm', algorithm]);
  await ok(['key', 'generate', '--output-key-prefix', join(folder, 'security'), '--algorithm', approver]);
  const packed = join(dir, `${name}-packed.tar`);
  await ok([
    'pack',
    `oci:${join(dir, 'layout')}:v1`,
    join(dir, 'notes.txt'),
    '-o',
    packed,
    '--key',
    join(folder, 'release.key'),
    '--pgp-key',
    join(dir, 'release-secret.asc'),
    '--channel',
    name,
    '--sign',
  ]);
  await ok([
    'approve',
    packed,
    '-o',
    join(folder, 'app-1.0.tar'),
    '--key',
    join(folder, 'security.key'),
    '--signer-key',
    join(folder, 'release.pub'),
  ]);
  await copyFile(join(dir, 'release-team.asc'), join(folder, 'release-team.asc'));
  return folder;
}

async function runSteps(folder: string, steps: string): Promise<{ code: number | null; out: string }> {
  // The steps' mktemp lands in a folder of ours, so the agent gpg starts for their keyring can be stopped.
  const scratch = await mkdtemp(join(folder, 'tmp-'));
  try {
    const r = spawnSync('bash', ['-c', steps], {
      cwd: folder,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: folder, TMPDIR: scratch, LC_ALL: 'C' },
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    for (const entry of await readdir(scratch, { recursive: true, withFileTypes: true })) {
      if (entry.isDirectory() && entry.name === 'gnupg')
        spawnSync('gpgconf', ['--homedir', join(entry.parentPath, entry.name), '--kill', 'all'], { stdio: 'ignore' });
    }
  }
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'airlock-manual-'));
  const store = await openLayoutStore(join(dir, 'layout'), { create: true });
  await makeTestImage(store, { tag: 'v1', layers: 1 });
  await store.close();
  await writeFile(join(dir, 'notes.txt'), 'release notes\n');
  gpg = await createGpgHome();
  const fingerprint = await gpg.generateKey('Release Team <release@example.com>', 'ed25519');
  await writeFile(join(dir, 'release-team.asc'), await gpg.exportPublic(fingerprint));
  await writeFile(join(dir, 'release-secret.asc'), await gpg.exportSecret(fingerprint));
});
after(async () => {
  if (skip) return;
  await gpg.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('docs/manual-verification.md, run as written', { skip }, () => {
  const keys: Array<[string, string]> = [
    ['ecdsa-p256', 'ecdsa-p384'],
    ['ecdsa-p384', 'ecdsa-p256'],
    ['ed25519', 'rsa-3072'],
    ['rsa-3072', 'ed25519'],
  ];
  for (const [algorithm, approver] of keys) {
    it(`accepts a package signed with ${algorithm} and approved with ${approver}`, async () => {
      const folder = await packageFolder(`${algorithm}-${approver}`, algorithm, approver);
      const r = await runSteps(folder, await docSteps());
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /Good signature from "Release Team/);
      assert.match(r.out, /no unlisted files/);
      assert.equal((r.out.match(/^(Verified OK|Signature Verified Successfully)$/gm) ?? []).length, 2, r.out);
    });
  }

  it('stops at a file changed after signing, and at a signature by another key', async () => {
    const folder = await packageFolder('tampered', 'ecdsa-p384', 'ecdsa-p256');
    const inside = join(folder, 'x');
    await mkdir(inside);
    assert.equal(spawnSync('tar', ['-xf', join(folder, 'app-1.0.tar'), '-C', inside]).status, 0);
    await writeFile(join(inside, 'files', 'notes.txt'), 'changed\n');
    const list = spawnSync('tar', ['-tf', join(folder, 'app-1.0.tar')], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n');
    assert.equal(spawnSync('tar', ['-cf', join(folder, 'app-1.0.tar'), '-C', inside, ...list]).status, 0);
    await rm(inside, { recursive: true });
    const changed = await runSteps(folder, await docSteps());
    assert.notEqual(changed.code, 0);
    assert.match(changed.out, /notes\.txt: FAILED/);

    const other = await packageFolder('other-key', 'ecdsa-p256', 'ecdsa-p256');
    await copyFile(join(folder, 'release.pub'), join(other, 'release.pub'));
    const wrongKey = await runSteps(other, await docSteps());
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.out, /Verification failure/);
  });
});
