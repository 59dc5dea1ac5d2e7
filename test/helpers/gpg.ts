// Real GnuPG for interop tests: every home is a fresh temporary GNUPGHOME, so tests never see (or
// damage) the user's ~/.gnupg, and passphrases go in by loopback pinentry, never a TTY prompt.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why gpg tests cannot run here, or undefined when they can. */
export function gpgMissing(): string | undefined {
  const probe = spawnSync('gpg', ['--version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0 ? 'gpg is not installed (apt-get install gnupg)' : undefined;
}

export interface GpgResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface GpgHome {
  readonly dir: string;
  /** Runs gpg in this home; never throws on a non-zero exit (callers check `code`). */
  run(args: readonly string[], input?: Uint8Array | string): Promise<GpgResult>;
  /** Like run, but throws with gpg's stderr when gpg fails. */
  ok(args: readonly string[], input?: Uint8Array | string): Promise<Buffer>;
  /** `--quick-gen-key uid algo sign 1d`; returns the primary fingerprint (hex uppercase). */
  generateKey(userId: string, algo: 'ed25519' | 'rsa3072', passphrase?: string): Promise<string>;
  /** Adds a signing subkey; gpg then signs with it rather than the primary. Returns its key ID. */
  addSigningSubkey(fingerprint: string, passphrase?: string): Promise<string>;
  exportPublic(...fingerprints: string[]): Promise<string>;
  exportSecret(fingerprint: string, passphrase?: string): Promise<string>;
  /** Writes `name` into the home directory and returns its path. */
  file(name: string, data: Uint8Array | string): Promise<string>;
  cleanup(): Promise<void>;
}

function passphraseArgs(passphrase: string | undefined): string[] {
  return ['--pinentry-mode', 'loopback', '--passphrase', passphrase ?? ''];
}

export async function createGpgHome(): Promise<GpgHome> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-gpg-'));
  const env = { ...process.env, GNUPGHOME: dir, LC_ALL: 'C', LANGUAGE: 'C' };
  const run = (args: readonly string[], input?: Uint8Array | string): Promise<GpgResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('gpg', ['--batch', '--no-tty', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
      // gpg may exit without reading its input (it read a file instead): EPIPE there is no failure.
      child.stdin.on('error', () => {});
      child.stdin.end(input ?? '');
    });
  const ok = async (args: readonly string[], input?: Uint8Array | string) => {
    const result = await run(args, input);
    if (result.code !== 0) throw new Error(`gpg ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  };
  const colons = async (args: string[], record: string) =>
    (await ok(['--with-colons', ...args]))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${record}:`));
  return {
    dir,
    run,
    ok,
    generateKey: async (userId, algo, passphrase) => {
      await ok([...passphraseArgs(passphrase), '--quick-gen-key', userId, algo, 'sign', '1d']);
      const fpr = (await colons(['--list-keys', userId], 'fpr'))[0]?.split(':')[9];
      if (!fpr) throw new Error(`gpg created no key for ${userId}`);
      return fpr;
    },
    addSigningSubkey: async (fingerprint, passphrase) => {
      await ok([...passphraseArgs(passphrase), '--quick-add-key', fingerprint, 'ed25519', 'sign', '1d']);
      const subkeys = await colons(['--list-keys', fingerprint], 'sub');
      const keyId = subkeys.at(-1)?.split(':')[4];
      if (!keyId) throw new Error(`gpg added no subkey to ${fingerprint}`);
      return keyId;
    },
    exportPublic: async (...fingerprints) => (await ok(['--armor', '--export', ...fingerprints])).toString('utf8'),
    exportSecret: async (fingerprint, passphrase) =>
      (await ok([...passphraseArgs(passphrase), '--armor', '--export-secret-keys', fingerprint])).toString('utf8'),
    file: async (name, data) => {
      const path = join(dir, name);
      await writeFile(path, data);
      return path;
    },
    cleanup: async () => {
      // The agent gpg started for this home would outlive the test otherwise.
      spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
