// The signers group of approve, inspect and import: whose signatures over a transfer manifest count,
// and how many distinct signers (people or teams, not keys) it needs — a signers file naming who holds
// which keys and identities, or loose keys and identities each counted as its own signer. A keyless
// signer's signature is verified under the trust root verify uses (--trusted-root or the installed one).
import type { KeyObject } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadPublicKey } from '../../crypto/key-ref.ts';
import { AirlockError } from '../../errors.ts';
import { readJsonFile } from '../../files/read-json.ts';
import { bounded } from '../../text.ts';
import type { IdentityPolicy } from '../../sigstore/verify/identity.ts';
import { checkSctRequirement } from '../../sigstore/verify/sct-requirement.ts';
import type { KeylessSignerTrust, Signers, TrustedSigner } from '../../transfer/signers.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';
import { TRUST_FLAGS, trustedRootFor, trustedRootPathFor } from './trust.ts';
import { readInputFile } from '../../files/read-file.ts';

export const SIGNER_FLAGS = {
  signers: {
    type: 'string',
    value: 'FILE',
    description:
      'Signers file: named people or teams and their keys and identities (counted once each; docs/transfer-format.md)',
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
  'signer-identity': {
    type: 'string',
    multiple: true,
    value: 'SAN',
    description: 'Keyless: certificate identity whose manifest bundle counts, with its --signer-oidc-issuer',
  },
  'signer-oidc-issuer': {
    type: 'string',
    multiple: true,
    value: 'URL',
    description: 'The OIDC issuer of the --signer-identity at the same position (each pair a signer)',
  },
  'require-signers': {
    type: 'string',
    value: 'K',
    description: 'Distinct signers (people or teams, not keys) the manifest needs; K > 1 needs --signers',
    default: '1',
  },
  // A keyless signer's signature is checked as verify checks one: under a trust root, with thresholds.
  'trusted-root': TRUST_FLAGS['trusted-root'],
  trust: TRUST_FLAGS.trust,
  'tlog-threshold': TRUST_FLAGS['tlog-threshold'],
  'ctlog-threshold': TRUST_FLAGS['ctlog-threshold'],
  'timestamp-threshold': TRUST_FLAGS['timestamp-threshold'],
} as const satisfies FlagSpecs;

/** --signer-identity/--signer-oidc-issuer, paired in the order given. */
function identityFlags(ctx: CommandContext): IdentityPolicy[] {
  const subjects = ctx.flags.strings('signer-identity');
  const issuers = ctx.flags.strings('signer-oidc-issuer');
  if (subjects.length !== issuers.length)
    throw new AirlockError(
      'E_USAGE',
      `${subjects.length} --signer-identity but ${issuers.length} --signer-oidc-issuer: give them in pairs`,
      { hint: 'each keyless signer is --signer-identity SAN --signer-oidc-issuer URL' },
    );
  return subjects.map((subject, i) => ({ identity: { exact: subject }, issuer: { exact: issuers[i] ?? '' } }));
}

/**
 * The trust a keyless signer's signature is verified under: the root verify would use, keyless
 * thresholds (a log entry, a signing time, an SCT unless --ctlog-threshold 0 says the CA has no CT log).
 */
async function keylessTrust(ctx: CommandContext, signers: readonly TrustedSigner[]) {
  if (!signers.some((s) => s.identities.length > 0)) return {};
  const trustName = ctx.flags.string('trust') ?? 'public-good';
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(trustName))
    throw new AirlockError('E_USAGE', `--trust: invalid name '${trustName}'`);
  const trustedRoot = await trustedRootFor(ctx, {
    trustedRootPath: ctx.flags.string('trusted-root'),
    installedRootPath: trustedRootPathFor(ctx.stateDir, trustName),
    trustName,
    trustedRootOptional: false,
  });
  if (!trustedRoot) throw new Error('a trust root that is not optional is loaded or refused');
  const keyless: KeylessSignerTrust = {
    trustedRoot,
    tlogThreshold: ctx.flags.int('tlog-threshold', 1, 0, 16),
    ctlogThreshold: ctx.flags.int('ctlog-threshold', 1, 0, 16),
    timestampThreshold: ctx.flags.int('timestamp-threshold', 1, 0, 16),
  };
  checkSctRequirement(trustedRoot, keyless.ctlogThreshold);
  return { keyless };
}

async function keyringFile(ctx: CommandContext, path: string) {
  const { loadKeyring } = await import('../../transfer/openpgp.ts');
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
  const identities = identityFlags(ctx);
  const { looseSigners, namedSigners, parseSignersFile } = await import('../../transfer/signers.ts');
  if (file !== undefined) {
    if (keyringPath !== undefined || keyRefs.length > 0 || identities.length > 0)
      throw new AirlockError(
        'E_USAGE',
        '--signers conflicts with --keyring, --signer-key and --signer-identity: the signers file names every key',
      );
    const entries = parseSignersFile(await readJsonFile(file, 'signers file', 1024 * 1024), file);
    const kc = keyContext(ctx);
    const loaded: Array<{ name: string; pgp: TrustedSigner['pgp']; keys: KeyObject[]; identities: IdentityPolicy[] }> =
      [];
    for (const e of entries) {
      const keys = await Promise.all(e.keys.map((k) => loadPublicKey(relativeTo(file, k), kc)));
      const pgp = (
        await Promise.all(e.openpgp.map(async (p) => (await keyringFile(ctx, relativeTo(file, p))).keys))
      ).flat();
      loaded.push({ name: e.name, pgp, keys, identities: [...e.identities] });
    }
    const signers = namedSigners(loaded, file);
    if (required > signers.length)
      throw new AirlockError(
        'E_USAGE',
        `--require-signers ${required}, but ${bounded(file)} names only ${signers.length} signer(s)`,
      );
    return { signers, required, ...(await keylessTrust(ctx, signers)) };
  }
  if (keyringPath === undefined && keyRefs.length === 0 && identities.length === 0) {
    throw new AirlockError(
      'E_USAGE',
      'say whose signatures over the manifest count: --signers FILE, or --keyring FILE, --signer-key REF ' +
        'and/or --signer-identity SAN --signer-oidc-issuer URL',
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
  const signers = looseSigners(keyring, keys, identities);
  return { signers, required, ...(await keylessTrust(ctx, signers)) };
}
