// Real SoftHSM2 tokens for tests: each token lives in its own temporary token directory, named by its
// own softhsm2.conf, so tests never see (or damage) the machine's tokens and can run side by side.
// Keys are generated on the token by OpenSC's pkcs11-tool, the way an operator would provision an HSM.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { WELL_KNOWN_PKCS11_MODULES } from '../../src/crypto/pkcs11-modules.ts';

const run = promisify(execFile);

export type SoftHsmCurve = 'P-256' | 'P-384';

const CURVE_KEY_TYPES: Record<SoftHsmCurve, string> = { 'P-256': 'EC:prime256v1', 'P-384': 'EC:secp384r1' };

export interface SoftHsmToken {
  readonly dir: string;
  readonly confPath: string;
  readonly modulePath: string;
  readonly tokenLabel: string;
  readonly pin: string;
  readonly soPin: string;
  /** What a child process needs to see this token; in-process users must copy it into process.env. */
  readonly env: { SOFTHSM2_CONF: string };
  /** `id` is hex, e.g. '01'. `alwaysAuth` sets CKA_ALWAYS_AUTHENTICATE, as PIV signing keys have. */
  generateEcKey(label: string, id: string, curve: SoftHsmCurve, options?: { alwaysAuth?: boolean }): Promise<void>;
  generateRsaKey(label: string, id: string, bits: number): Promise<void>;
  /** The public key object of `label` as SubjectPublicKeyInfo DER, exported by pkcs11-tool. */
  readPublicKeyDer(label: string): Promise<Buffer>;
  /** Deletes the public key object of `label`, leaving a private key without its public half. */
  deletePublicKey(label: string): Promise<void>;
  cleanup(): Promise<void>;
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function softHsmModule(): string | undefined {
  return WELL_KNOWN_PKCS11_MODULES.filter((p) => p.includes('softhsm')).find((p) => {
    try {
      accessSync(p, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why SoftHSM tests cannot run here, or undefined when they can. */
export function softHsmMissing(): string | undefined {
  const missing = [
    ...['softhsm2-util', 'pkcs11-tool'].filter((c) => !onPath(c)),
    ...(softHsmModule() ? [] : ['libsofthsm2.so']),
  ];
  return missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install softhsm2 opensc)` : undefined;
}

export function softHsmAvailable(): boolean {
  return softHsmMissing() === undefined;
}

export async function createSoftHsmToken(
  options: { label?: string; pin?: string; soPin?: string } = {},
): Promise<SoftHsmToken> {
  const modulePath = softHsmModule();
  if (!modulePath) throw new Error(`softhsm2 not installed: ${softHsmMissing()}`);
  const tokenLabel = options.label ?? 'airlock-test';
  const pin = options.pin ?? '1234';
  const soPin = options.soPin ?? '5678';
  const dir = await mkdtemp(join(tmpdir(), 'airlock-softhsm-'));
  const confPath = join(dir, 'softhsm2.conf');
  await mkdir(join(dir, 'tokens'));
  await writeFile(
    confPath,
    `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const env = { SOFTHSM2_CONF: confPath };
  const childEnv = { ...process.env, ...env };

  const exec = async (command: string, args: string[]) => {
    try {
      return await run(command, args, { env: childEnv, encoding: 'buffer' });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
      throw new Error(`${command} ${args[0]} failed: ${stderr || String(err)}`, { cause: err });
    }
  };
  const tool = (args: string[]) => exec('pkcs11-tool', ['--module', modulePath, '--token-label', tokenLabel, ...args]);
  const keypairgen = (keyType: string, label: string, id: string, extra: string[] = []) =>
    tool(['--login', '--pin', pin, '--keypairgen', '--key-type', keyType, '--label', label, '--id', id, ...extra]);

  await exec('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', soPin]);
  return {
    dir,
    confPath,
    modulePath,
    tokenLabel,
    pin,
    soPin,
    env,
    generateEcKey: async (label, id, curve, options = {}) => {
      await keypairgen(CURVE_KEY_TYPES[curve], label, id, options.alwaysAuth ? ['--always-auth'] : []);
    },
    generateRsaKey: async (label, id, bits) => {
      await keypairgen(`rsa:${bits}`, label, id);
    },
    readPublicKeyDer: async (label) => {
      const out = join(dir, `${label}.pub.der`);
      await tool(['--read-object', '--type', 'pubkey', '--label', label, '--output-file', out]);
      return readFile(out);
    },
    deletePublicKey: async (label) => {
      await tool(['--login', '--pin', pin, '--delete-object', '--type', 'pubkey', '--label', label]);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
