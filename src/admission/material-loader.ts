// Loading what the webhook verifies with from disk: the policy, the keys it names (relative to it),
// installed trust roots with the instant each stops being acceptable under its freshness policy, the
// on-prem logs and witness policies it requires. The files' bytes are fingerprinted, so the server can
// tell cheaply whether anything changed and load a new set only then; a set is only ever used whole.
import { createHash, type KeyObject } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { loadPublicKey, type KeyContext } from '../crypto/key-ref.ts';
import { readInputFile, readInputText } from '../files/read-file.ts';
import { parseTlogPolicy } from '../log/tlog-policy.ts';
import type { ImagePolicy, LogInclusion } from '../policy/image-policy.ts';
import { parsePolicyText } from '../policy/policy-file.ts';
import type { WitnessPolicy } from '../sigstore/verify/witness-quorum.ts';
import { acceptableUntil } from '../trust/freshness.ts';
import { trustDir } from '../trust/install.ts';
import { loadInstalledTrustRoot } from '../trust/installed.ts';
import {
  isVkeyText,
  type LogMaterial,
  logMaterialOf,
  materialDigest,
  materialNeeds,
  type TrustRootMaterial,
  type VerificationMaterial,
} from './material.ts';

export interface MaterialInputs {
  readonly policyPath: string;
  /** Thresholds and the default trust root from the command's trust flags. */
  readonly base: VerificationMaterial['base'];
  /** The installed root the default came from (`--trust NAME`), to apply its freshness too. */
  readonly defaultTrustName?: string;
  readonly stateDir: string;
  readonly keyContext: KeyContext;
  readonly now: Date;
}

export interface LoadedMaterial {
  readonly policy: ImagePolicy;
  readonly material: VerificationMaterial;
  /** The files it was read from: when none of their bytes change, neither does the material. */
  readonly files: readonly string[];
}

async function installedRoot(stateDir: string, name: string, now: Date): Promise<TrustRootMaterial> {
  try {
    const installed = await loadInstalledTrustRoot(stateDir, name, now);
    if (!installed) return { name, unusable: 'not installed' };
    const { install } = installed;
    const deadlines = install.roles.map((r) => acceptableUntil(r, install.graceDays).getTime());
    if (install.breakGlass) deadlines.push(new Date(install.breakGlass.until).getTime());
    const usableUntil = deadlines.length ? new Date(Math.min(...deadlines)) : undefined;
    return { name, loaded: installed.loaded, ...(usableUntil ? { usableUntil } : {}) };
  } catch (err) {
    return { name, unusable: (err as Error).message };
  }
}

/** A log key written in the policy: a file (relative to the policy) holding the vkey, or the vkey itself. */
async function logKeyText(policyDir: string, logKey: string): Promise<{ text: string; file?: string }> {
  if (isVkeyText(logKey)) return { text: logKey };
  const file = resolve(policyDir, logKey);
  return { text: await readInputText(file, 'a log verifier key', 64 * 1024), file };
}

async function witnessPolicy(policyDir: string, file: string): Promise<{ policy: WitnessPolicy; file: string }> {
  const path = resolve(policyDir, file);
  const text = await readInputText(path, 'a witness policy', 1024 * 1024);
  return { policy: { policy: parseTlogPolicy(text, path), source: path }, file: path };
}

async function loadLogs(policyDir: string, inclusions: readonly LogInclusion[], files: string[]) {
  const logs = new Map<string, LogMaterial>();
  for (const inclusion of inclusions) {
    const key = await logKeyText(policyDir, inclusion.logKey);
    if (key.file) files.push(key.file);
    const witnesses = inclusion.witnessPolicy ? await witnessPolicy(policyDir, inclusion.witnessPolicy) : undefined;
    if (witnesses) files.push(witnesses.file);
    logs.set(inclusion.logKey, logMaterialOf(key.text, witnesses?.policy));
  }
  return logs;
}

/** Every file the material comes from, installed roots included (their trusted root and install record). */
function rootFiles(stateDir: string, names: readonly string[]): string[] {
  return names.flatMap((n) =>
    ['trusted_root.json', 'install.json'].map((f) => resolve(trustDir(stateDir, n), 'current', f)),
  );
}

export async function loadMaterial(inputs: MaterialInputs): Promise<LoadedMaterial> {
  const policyText = await readInputText(inputs.policyPath, 'an image policy', 1024 * 1024);
  const policy = parsePolicyText(policyText, inputs.policyPath);
  const policyDir = dirname(inputs.policyPath);
  const needs = materialNeeds(policy);
  const files = [inputs.policyPath];
  const keys = new Map<string, KeyObject>();
  for (const key of needs.keys) {
    keys.set(key, await loadPublicKey(resolve(policyDir, key), inputs.keyContext));
    files.push(resolve(policyDir, key));
  }
  const roots = new Map<string, TrustRootMaterial>();
  for (const name of needs.trust) roots.set(name, await installedRoot(inputs.stateDir, name, inputs.now));
  const trustNames = [...needs.trust, ...(inputs.defaultTrustName ? [inputs.defaultTrustName] : [])];
  files.push(...rootFiles(inputs.stateDir, trustNames));
  if (inputs.base.trustedRoot?.source) files.push(inputs.base.trustedRoot.source);
  const logs = await loadLogs(policyDir, needs.logs, files);
  const defaultRoot = inputs.defaultTrustName
    ? await installedRoot(inputs.stateDir, inputs.defaultTrustName, inputs.now)
    : undefined;
  const parts = { base: inputs.base, roots, keys, logs, ...(defaultRoot ? { defaultRoot } : {}) };
  const policyDigest = `sha256:${createHash('sha256').update(policyText).digest('hex')}`;
  return { policy, material: { ...parts, digest: materialDigest(policyDigest, parts) }, files };
}

/** sha256 over the bytes of every file (a missing one counts as such): equal means nothing changed. */
export async function fingerprint(files: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const file of files) {
    h.update(file);
    try {
      h.update(await readInputFile(file, 'a file the admission policy uses'));
    } catch (err) {
      h.update(`<${(err as { code?: string }).code ?? 'unreadable'}>`);
    }
  }
  return h.digest('hex');
}
