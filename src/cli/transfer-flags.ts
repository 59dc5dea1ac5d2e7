// The flag groups of pack, approve, inspect and import, each with the one function that turns it into
// options: who must have signed a manifest (signers), which channels this side accepts, the trust
// images must meet (shared with verify; pack spells its key --image-key), and where images land.
import type { KeyObject } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadPublicKey } from '../crypto/key-ref.ts';
import { AirlockError } from '../errors.ts';
import { readJsonFile } from '../files/read-json.ts';
import { assertNoCredentials } from '../oci/reference.ts';
import { bounded } from '../text.ts';
import type { AcceptedChannels } from '../transfer/channels.ts';
import type { ImageTrust, LoadedPolicy } from '../transfer/image-trust.ts';
import type { Signers, TrustedSigner } from '../transfer/signers.ts';
import type { FlagSpecs } from './args.ts';
import type { CommandContext } from './command.ts';
import { keyContext } from './key-context.ts';
import { verificationBase, verificationOptions } from './verify-options.ts';
import { TRUST_FLAGS } from './verify-plan.ts';
import { readInputFile } from '../files/read-file.ts';

export const SIGNER_FLAGS = {
  signers: {
    type: 'string',
    value: 'FILE',
    description: 'Signers file: named people or teams and their keys (counted once each; docs/transfer-format.md)',
  },
  keyring: {
    type: 'string',
    value: 'FILE',
    description:
      'OpenPGP public keys whose signatures over the manifest count, each key a signer (gpg --export --armor)',
  },
  'signer-key': {
    type: 'string',
    multiple: true,
    value: 'REF',
    description: 'airlock/cosign public key whose manifest bundle counts, each key a signer',
  },
  'require-signers': {
    type: 'string',
    value: 'K',
    description: 'Distinct signers (people or teams, not keys) the manifest needs; K > 1 needs --signers',
    default: '1',
  },
} as const satisfies FlagSpecs;

export const CHANNEL_FLAGS = {
  channel: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    description: 'A channel this side accepts (repeatable); a package on any other is refused',
  },
  channels: {
    type: 'string',
    value: 'FILE',
    description: 'Channels file: accepted channels, the repositories each may write, their maximum age',
  },
  'max-age': {
    type: 'string',
    value: 'DURATION',
    description: "Refuse packages created longer ago than this (90m, 36h, 14d; default 30d, or the channels file's)",
  },
} as const satisfies FlagSpecs;

/** pack: the trust images must meet inside the gap — import's image trust flags, with the key as --image-key. */
export const PACK_TRUST_FLAGS = (() => {
  const { key: _key, 'password-file': _password, ...rest } = TRUST_FLAGS;
  return {
    'image-key': {
      type: 'string',
      value: 'REF',
      description: "Public key the images' signatures must verify with inside the gap (import's --key)",
    },
    ...rest,
    policy: {
      type: 'string',
      value: 'FILE',
      description: 'Image policy the far side applies (airlock/v1 ImagePolicy): checked here, per image',
    },
    'allow-unsigned': {
      type: 'boolean',
      description: 'Pack images that carry no signature at all (each marked so in the metadata)',
    },
  } as const satisfies FlagSpecs;
})();

async function keyringFile(ctx: CommandContext, path: string) {
  const { loadKeyring } = await import('../transfer/openpgp.ts');
  return loadKeyring(await readInputFile(path, 'an OpenPGP keyring', 16 * 1024 * 1024));
}

const relativeTo = (file: string, ref: string) =>
  isAbsolute(ref) || /^[a-z0-9]+:/i.test(ref) ? ref : resolve(dirname(file), ref);

/** --signers FILE, or loose --keyring/--signer-key keys (each its own signer, so K must be 1). */
export async function signersOption(ctx: CommandContext): Promise<Signers> {
  const required = ctx.flags.int('require-signers', 1, 1, 16);
  const file = ctx.flags.string('signers');
  const keyringPath = ctx.flags.string('keyring');
  const keyRefs = ctx.flags.strings('signer-key');
  const { looseSigners, namedSigners, parseSignersFile } = await import('../transfer/signers.ts');
  if (file !== undefined) {
    if (keyringPath !== undefined || keyRefs.length > 0)
      throw new AirlockError(
        'E_USAGE',
        '--signers conflicts with --keyring and --signer-key: the signers file names every key',
      );
    const entries = parseSignersFile(await readJsonFile(file, 'signers file', 1024 * 1024), file);
    const kc = keyContext(ctx);
    const loaded: Array<{ name: string; pgp: TrustedSigner['pgp']; keys: KeyObject[] }> = [];
    for (const e of entries) {
      const keys = await Promise.all(e.keys.map((k) => loadPublicKey(relativeTo(file, k), kc)));
      const pgp = (
        await Promise.all(e.openpgp.map(async (p) => (await keyringFile(ctx, relativeTo(file, p))).keys))
      ).flat();
      loaded.push({ name: e.name, pgp, keys });
    }
    const signers = namedSigners(loaded, file);
    if (required > signers.length)
      throw new AirlockError(
        'E_USAGE',
        `--require-signers ${required}, but ${bounded(file)} names only ${signers.length} signer(s)`,
      );
    return { signers, required };
  }
  if (keyringPath === undefined && keyRefs.length === 0) {
    throw new AirlockError(
      'E_USAGE',
      'say whose signatures over the manifest count: --signers FILE, or --keyring FILE and/or --signer-key REF',
    );
  }
  if (required > 1) {
    throw new AirlockError(
      'E_USAGE',
      `--require-signers ${required} counts people, not keys: name who holds which key in a ` +
        `signers file (--signers FILE)`,
      {
        hint:
          'a signers file: {"apiVersion": "airlock/v1", "kind": "Signers", "signers": [{"name": ' +
          '"release-team", "keys": ["release.pub"]}, {"name": "security-team", "openpgp": ' +
          '["security.asc"]}]}',
      },
    );
  }
  const kc = keyContext(ctx);
  const keyring = keyringPath !== undefined ? await keyringFile(ctx, keyringPath) : undefined;
  const keys = await Promise.all(keyRefs.map((ref) => loadPublicKey(ref, kc)));
  return { signers: looseSigners(keyring, keys), required };
}

/** --channel NAME… and/or --channels FILE; undefined when neither is given. */
export async function channelsOption(ctx: CommandContext): Promise<AcceptedChannels | undefined> {
  const names = ctx.flags.strings('channel');
  const file = ctx.flags.string('channels');
  const { channelsFromNames, parseChannelsFile } = await import('../transfer/channels.ts');
  if (file !== undefined && names.length > 0)
    throw new AirlockError('E_USAGE', '--channel conflicts with --channels: list the channels in the file');
  if (file !== undefined) return parseChannelsFile(await readJsonFile(file, 'channels file', 1024 * 1024), file);
  return names.length > 0 ? channelsFromNames(names) : undefined;
}

export async function maxAgeOption(ctx: CommandContext): Promise<number | undefined> {
  const text = ctx.flags.string('max-age');
  if (text === undefined) return undefined;
  const { parseDuration } = await import('../transfer/channels.ts');
  return parseDuration(text, '--max-age');
}

/** Reads an image policy and the key files it names (relative to the policy file). */
export async function policyOption(
  ctx: CommandContext,
  path: string,
  keyFlag: 'key' | 'image-key',
): Promise<LoadedPolicy> {
  const { parseImagePolicy } = await import('../policy/image-policy.ts');
  const policy = parseImagePolicy(await readJsonFile(path, 'policy', 1024 * 1024), path);
  const kc = keyContext(ctx);
  const keys = new Map<string, KeyObject>();
  for (const entry of policy.entries) {
    for (const a of entry.authorities)
      if ('key' in a && !keys.has(a.key)) keys.set(a.key, await loadPublicKey(resolve(dirname(path), a.key), kc));
  }
  const keysOnly = policy.entries.every((e) => e.authorities.every((a) => 'key' in a));
  return { policy, keys, base: await verificationBase(ctx, keysOnly, keyFlag) };
}

/** import/inspect: --policy FILE, or verify's trust flags. */
export async function importTrustOption(ctx: CommandContext): Promise<ImageTrust> {
  const policyPath = ctx.flags.string('policy');
  return policyPath ? policyOption(ctx, policyPath, 'key') : verificationOptions(ctx);
}

/**
 * pack: the trust named by --policy / --image-key / an identity; with none, --sign implies the key it
 * signs with (no log entry, no timestamp: pack signs offline); otherwise none (pack then needs
 * --allow-unsigned).
 */
export async function packTrustOption(
  ctx: CommandContext,
  signingKey: KeyObject | undefined,
): Promise<ImageTrust | undefined> {
  const policyPath = ctx.flags.string('policy');
  if (policyPath) return policyOption(ctx, policyPath, 'image-key');
  const named = [
    'image-key',
    'certificate-identity',
    'certificate-identity-regexp',
    'certificate-oidc-issuer',
    'certificate-oidc-issuer-regexp',
  ].some((f) => ctx.flags.has(f));
  if (named) return verificationOptions(ctx, undefined, 'image-key');
  if (ctx.flags.bool('sign') && signingKey) {
    return {
      trust: { kind: 'key', publicKey: signingKey },
      tlogThreshold: ctx.flags.int('tlog-threshold', 0, 0, 16),
      timestampThreshold: ctx.flags.int('timestamp-threshold', 0, 0, 16),
      now: ctx.now(),
    };
  }
  return undefined;
}

/** IMAGE=VALUE pairs (--sbom, --scan, --name). */
export function imagePairs(values: readonly string[], flag: string, what = 'FILE'): Map<string, string> {
  const map = new Map<string, string>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) throw new AirlockError('E_USAGE', `--${flag} takes IMAGE=${what}, got '${bounded(v, 160)}'`);
    map.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return map;
}

/** IMAGE=VALUE pairs where an image may have several (--scan, one per platform). */
export function imageLists(values: readonly string[], flag: string, what = 'FILE'): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) throw new AirlockError('E_USAGE', `--${flag} takes IMAGE=${what}, got '${bounded(v, 160)}'`);
    map.set(v.slice(0, eq), [...(map.get(v.slice(0, eq)) ?? []), v.slice(eq + 1)]);
  }
  return map;
}

/**
 * --registry HOST[/PREFIX]. Credentials never go there (they would reach messages, --json and the
 * audit trail): user:pass@ is refused before anything is read, without repeating it.
 */
export function registryTarget(text: string): { host: string; prefix?: string } {
  assertNoCredentials(text, '--registry');
  if (/^[a-z]+:\/\//i.test(text))
    throw new AirlockError('E_USAGE', `--registry takes HOST[/PREFIX] without a scheme, got '${bounded(text, 160)}'`);
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  if (!host) throw new AirlockError('E_USAGE', '--registry takes HOST[/PREFIX]');
  return { host, ...(slash < 0 ? {} : { prefix: text.slice(slash + 1) }) };
}
