// `airlock sbom IMAGE`: the image's packages, read from its layers as streams (no unpacking), written as
// SPDX 2.3 JSON (syft's default), CycloneDX 1.6 JSON, or a table for people.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import type { Catalogue } from '../../../sbom/package.ts';
import { VERSION } from '../../../version.ts';
import type { Command, CommandContext } from '../../command.ts';
import { catalogueImageForCommand } from '../../image-catalogue.ts';
import { REGISTRY_FLAGS } from '../../options/registry.ts';

const FORMATS = ['spdx-json', 'cyclonedx-json', 'table'] as const;
type Format = (typeof FORMATS)[number];

function outputFormat(ctx: CommandContext): Format {
  return ctx.flags.choice('output', FORMATS, 'table');
}

/** The catalogue as the --json document: counts per type, the packages, the notes. */
export function catalogueJson(catalogue: Catalogue): Record<string, unknown> {
  const byType: Record<string, number> = {};
  for (const p of catalogue.packages) byType[p.type] = (byType[p.type] ?? 0) + 1;
  return {
    subject: catalogue.subject,
    distro: catalogue.distro,
    counts: byType,
    packages: catalogue.packages,
    notes: catalogue.notes,
  };
}

export const sbomCommand: Command = {
  name: 'sbom',
  summary: "List an image's packages (dpkg, apk, rpm, npm, Python, Go, Java) as SPDX, CycloneDX or a table",
  usage: 'IMAGE [-o spdx-json|cyclonedx-json|table] [--output-file FILE]',
  description:
    'Reads every layer once as a stream into the squashed view a container sees (whiteouts and opaque\n' +
    'directories applied; nothing is unpacked to disk) and catalogues: the distro (/etc/os-release), dpkg\n' +
    '(status and distroless status.d), apk, rpm (the sqlite rpmdb only), npm node_modules, Python dist-info\n' +
    'and egg-info, Go build info, and Java archives (nested too). IMAGE is any transport airlock reads.\n' +
    'What could not be read is said in notes (stderr; in the --json document).',
  flags: {
    output: {
      type: 'string',
      short: 'o',
      value: 'FORMAT',
      description: 'spdx-json, cyclonedx-json or table',
      default: 'table',
    },
    'output-file': { type: 'string', value: 'FILE', description: 'Write the SBOM to FILE instead of stdout' },
    force: { type: 'boolean', description: 'Overwrite --output-file if it exists' },
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock sbom oci:./app:1.0', description: 'A table of the packages' },
    {
      command: 'airlock sbom docker://registry.corp/app@sha256:… -o spdx-json --output-file app.spdx.json',
      description: 'SPDX 2.3 JSON, as `syft IMAGE -o spdx-json` writes it',
    },
    { command: 'airlock sbom oci-archive:app.tar -o cyclonedx-json', description: 'CycloneDX 1.6 JSON on stdout' },
  ],
  async run(ctx) {
    const [reference = ''] = ctx.positionals;
    const format = outputFormat(ctx);
    const outputFile = ctx.flags.string('output-file');
    const { formatCatalogue } = await import('../../../sbom/formats/index.ts');
    const catalogue = await catalogueImageForCommand(ctx, reference);
    for (const note of catalogue.notes) ctx.out.warn(note);
    const text = formatCatalogue(catalogue, format, { now: ctx.now(), uuid: randomUUID(), toolVersion: VERSION });
    if (outputFile) {
      await writeFileAtomic(resolve(ctx.cwd, outputFile), text, { overwrite: ctx.flags.bool('force') });
      ctx.out.info(
        `${catalogue.packages.length} packages of ${catalogue.subject?.digest ?? reference} → ${outputFile}`,
      );
    } else if (!ctx.out.json) ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return { json: { ...catalogueJson(catalogue), ...(outputFile ? { outputFile } : {}), format } };
  },
};
