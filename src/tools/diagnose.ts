// What `airlock doctor` checks: the runtime, the state directory and the optional external parts.
// Pure of process globals: the caller passes PATH, the module setting and the state directory.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ecdsaOverDigestBackend } from '../crypto/ecdsa-over-digest.ts';
import { findExecutable, runProgram } from './external.ts';
import { postgresBinDir } from './postgres-cluster.ts';
import { findPkcs11Module } from '../crypto/pkcs11-modules.ts';

export type CheckStatus = 'ok' | 'missing' | 'error';

export interface Check {
  readonly name: string;
  readonly status: CheckStatus;
  /** Required checks make doctor fail; optional ones only limit what airlock can do. */
  readonly required: boolean;
  readonly detail: string;
  readonly path?: string;
  readonly version?: string;
  /** What needs this part, for the human report. */
  readonly usedFor: string;
}

export interface DiagnoseInput {
  readonly nodeVersion: string;
  readonly pathList: string | undefined;
  readonly pkcs11Module: string | undefined;
  readonly stateDir: string;
}

const MIN_NODE: readonly [number, number] = [24, 15];

export function nodeVersionOk(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

async function probeProgram(
  name: string,
  args: string[],
  usedFor: string,
  pathList: string | undefined,
  found?: string,
) {
  const path = found ?? (await findExecutable(name, pathList));
  if (!path) {
    return { name, status: 'missing', required: false, detail: `${name} not found on PATH`, usedFor } as Check;
  }
  try {
    const { stdout, stderr } = await runProgram(path, args, { timeoutMs: 10_000 });
    const version = (stdout || stderr).trim().split('\n')[0] ?? '';
    return { name, status: 'ok', required: false, detail: version, path, version, usedFor } as Check;
  } catch (err) {
    return { name, status: 'error', required: false, detail: (err as Error).message, path, usedFor } as Check;
  }
}

/** Debian keeps PostgreSQL's programs off PATH, in its versioned folder. */
function probePostgres(pathList: string | undefined): Promise<Check> {
  const bin = postgresBinDir(pathList);
  const usedFor = "the demo's PostgreSQL scene (log serve --storage needs a server, not these programs)";
  return probeProgram('postgres', ['--version'], usedFor, pathList, bin && join(bin, 'postgres'));
}

async function checkStateDir(stateDir: string): Promise<Check> {
  const base = {
    name: 'state directory',
    required: true,
    path: stateDir,
    usedFor: 'trust roots, sequence state, logs',
  };
  try {
    const s = await stat(stateDir);
    if (!s.isDirectory()) return { ...base, status: 'error', detail: 'exists but is not a directory' };
    await access(stateDir, constants.W_OK);
    return { ...base, status: 'ok', detail: 'exists and is writable' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { ...base, status: 'error', detail: (err as Error).message };
    }
    // Not created yet is fine as long as we could create it: find the nearest existing parent.
    let parent = dirname(stateDir);
    for (;;) {
      try {
        await access(parent, constants.W_OK);
        return { ...base, status: 'ok', detail: 'will be created on first use' };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dirname(parent)) {
          return { ...base, status: 'error', detail: `cannot create: ${parent} is not writable` };
        }
        parent = dirname(parent);
      }
    }
  }
}

export async function diagnose(input: DiagnoseInput): Promise<Check[]> {
  const nodeOk = nodeVersionOk(input.nodeVersion);
  const checks: Check[] = [
    {
      name: 'node',
      status: nodeOk ? 'ok' : 'error',
      required: true,
      detail: nodeOk ? `v${input.nodeVersion}` : `v${input.nodeVersion} is too old: airlock needs >= 24.15`,
      version: input.nodeVersion,
      usedFor: 'running airlock',
    },
    await checkStateDir(input.stateDir),
  ];
  const module = await findPkcs11Module(input.pkcs11Module);
  checks.push(
    module
      ? {
          name: 'pkcs11 module',
          status: 'ok',
          required: false,
          detail: module,
          path: module,
          usedFor: 'pkcs11: keys (HSM)',
        }
      : {
          name: 'pkcs11 module',
          status: 'missing',
          required: false,
          detail: input.pkcs11Module
            ? `${input.pkcs11Module} is not readable`
            : 'no module found (set AIRLOCK_PKCS11_MODULE or install softhsm2)',
          usedFor: 'pkcs11: keys (HSM)',
        },
  );
  const programs = await Promise.all([
    probeProgram('gpg', ['--version'], 'OpenPGP manifest signatures (interop)', input.pathList),
    probeProgram('skopeo', ['--version'], 'image copy interop', input.pathList),
    probeProgram('docker-registry', ['--version'], 'local OCI registry for the demo and tests', input.pathList),
    probeProgram('openssl', ['version'], 'test timestamp authority, manual verification', input.pathList),
    probePostgres(input.pathList),
  ]);
  checks.push(...programs);
  const ecdsa = ecdsaOverDigestBackend();
  checks.push({
    name: 'native ECDSA checker',
    status: ecdsa.native ? 'ok' : 'missing',
    required: false,
    detail: ecdsa.detail,
    usedFor: 'log serve: ECDSA signatures over digests at native speed; verify-blob sha256:<hex>',
  });
  return checks;
}
