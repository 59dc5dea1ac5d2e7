// The import flags for a vulnerability database a package carries (pack --vulndb): which key must have
// signed it (default: the package's signers' keys), the name it is installed as and its maximum age.
import { AirlockError } from '../../errors.ts';
import type { CarriedVulnDbOptions } from '../../transfer/carried-vulndb.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';

export const CARRIED_VULNDB_FLAGS = {
  'vulndb-key': {
    type: 'string',
    value: 'PUBKEY',
    description: "Key a carried vulnerability database must be signed by (default: the package signers' keys)",
  },
  'vulndb-name': {
    type: 'string',
    value: 'NAME',
    description: 'Install a carried vulnerability database under NAME (default: default)',
  },
  'vulndb-max-age': {
    type: 'string',
    value: 'DAYS',
    description: 'Refuse a carried vulnerability database built longer ago (default: 7)',
  },
} as const satisfies FlagSpecs;

export async function carriedVulnDbOption(ctx: CommandContext): Promise<CarriedVulnDbOptions> {
  const keyRef = ctx.flags.string('vulndb-key');
  const name = ctx.flags.string('vulndb-name');
  const maxAge = ctx.flags.string('vulndb-max-age');
  let maxAgeDays: number | undefined;
  if (maxAge !== undefined) {
    maxAgeDays = Number(maxAge);
    if (!Number.isFinite(maxAgeDays) || maxAgeDays <= 0)
      throw new AirlockError('E_USAGE', '--vulndb-max-age takes a number of days');
  }
  const { loadPublicKey } = await import('../../crypto/key-ref.ts');
  return {
    ...(keyRef ? { keys: [await loadPublicKey(keyRef, keyContext(ctx))] } : {}),
    ...(name ? { name } : {}),
    ...(maxAgeDays !== undefined ? { maxAgeDays } : {}),
  };
}
