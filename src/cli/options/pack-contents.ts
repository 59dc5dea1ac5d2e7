// The contents group of pack: which positionals are images and which are files, the SBOM and scan
// documents that travel with each image (IMAGE=FILE), and where each image lands (IMAGE=REPO[:TAG]).
import { stat } from 'node:fs/promises';
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';

export const PACK_CONTENT_FLAGS = {
  name: {
    type: 'string',
    multiple: true,
    value: 'IMAGE=REPO[:TAG]',
    description:
      'Where IMAGE lands inside the gap, below import --registry HOST[/PREFIX] (default: its ' +
      "own repository, or a layout's folder name)",
  },
  sbom: {
    type: 'string',
    multiple: true,
    value: 'IMAGE=FILE|generate',
    bare: 'generate',
    description:
      'An SPDX/CycloneDX JSON SBOM of IMAGE, carried with it; `generate` (or the flag alone): airlock makes ' +
      'one for every image',
  },
  scan: {
    type: 'string',
    multiple: true,
    value: 'IMAGE=FILE|generate',
    bare: 'generate',
    description:
      'A grype (or airlock scan) JSON report of IMAGE, carried with it (and gated on); one per platform of a ' +
      'multi-platform image; `generate` (or the flag alone): airlock scans every image against --vulndb DB, ' +
      'else the installed database',
  },
} as const satisfies FlagSpecs;

export interface PackContents {
  readonly images: string[];
  readonly files: string[];
  readonly sboms: Map<string, string>;
  readonly scans: Map<string, string[]>;
  readonly names: Map<string, string>;
  /** `--sbom generate` / `--scan generate`: airlock makes the documents for every image. */
  readonly generate: { readonly sbom: boolean; readonly scan: boolean };
}

const GENERATE = 'generate';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * A positional that is an existing file (and names no transport) travels as a file, anything else as
 * an image. Every reference is parsed here, before a key or file is read: a malformed one (or one
 * carrying credentials) costs nothing.
 */
export async function packContents(ctx: CommandContext): Promise<PackContents> {
  const images: string[] = [];
  const files: string[] = [];
  for (const arg of ctx.positionals)
    ((await isFile(arg)) && !/^(oci|oci-archive|docker-archive|docker):/.test(arg) ? files : images).push(arg);
  const { parseImageReference } = await import('../../oci/reference.ts');
  for (const image of images) if (!image.startsWith('containers-storage:')) parseImageReference(image);
  return {
    images,
    files,
    sboms: imagePairs(
      ctx.flags.strings('sbom').filter((v) => v !== GENERATE),
      'sbom',
    ),
    scans: imageLists(
      ctx.flags.strings('scan').filter((v) => v !== GENERATE),
      'scan',
    ),
    generate: {
      sbom: ctx.flags.strings('sbom').includes(GENERATE),
      scan: ctx.flags.strings('scan').includes(GENERATE),
    },
    names: imagePairs(ctx.flags.strings('name'), 'name', 'REPO[:TAG]'),
  };
}

/** IMAGE=VALUE pairs (--sbom, --scan, --name). */
function imagePairs(values: readonly string[], flag: string, what = 'FILE'): Map<string, string> {
  const map = new Map<string, string>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) throw new AirlockError('E_USAGE', `--${flag} takes IMAGE=${what}, got '${bounded(v, 160)}'`);
    map.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return map;
}

/** IMAGE=VALUE pairs where an image may have several (--scan, one per platform). */
function imageLists(values: readonly string[], flag: string, what = 'FILE'): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) throw new AirlockError('E_USAGE', `--${flag} takes IMAGE=${what}, got '${bounded(v, 160)}'`);
    map.set(v.slice(0, eq), [...(map.get(v.slice(0, eq)) ?? []), v.slice(eq + 1)]);
  }
  return map;
}
