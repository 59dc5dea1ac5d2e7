// Moving images: `airlock copy`, and cosign's save/load (a copy to and from an OCI layout folder),
// signatures, attestations and referrers included.
import { AirlockError } from '../../../errors.ts';
import { type CopyProgress, copyImage } from '../../../oci/copy.ts';
import { openImage, resolveImage, withStore } from '../../../oci/open-store.ts';
import { formatImageReference, type ImageReference, parseImageReference } from '../../../oci/reference.ts';
import type { Descriptor } from '../../../oci/types.ts';
import type { Command, CommandContext } from '../../command.ts';
import { PLATFORM_FLAGS, platformOption } from '../../options/platform.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { formatBytes, formatProgress, throttled } from '../../progress.ts';

const COPY_FLAGS = {
  ...PLATFORM_FLAGS,
  signatures: {
    type: 'boolean',
    default: true,
    description: 'Carry signatures, attestations and referrers (--no-signatures to skip)',
  },
  force: { type: 'boolean', description: 'Overwrite an archive destination' },
  ...REGISTRY_FLAGS,
} as const;

function progressLine(p: CopyProgress): string {
  const images = p.imagesTotal > 1 ? [{ done: p.imagesDone, total: p.imagesTotal, unit: 'images' }] : [];
  const bytes = { done: p.bytesDone, total: p.bytesTotal, unit: 'bytes' };
  const blobs = { done: p.blobsDone, total: p.blobsTotal, unit: 'blobs' };
  return `copying: ${formatProgress(bytes, blobs, ...images)}`;
}

/** copy, save and load: `from` → `to`, both parsed before anything is read. */
async function runCopy(ctx: CommandContext, from: ImageReference, to: ImageReference) {
  const platform = platformOption(ctx.flags);
  const registry = await registryOptions(ctx);
  const src = await openImage(from, 'read', registry);
  return withStore(src.store, async () => {
    const source = await resolveImage(src);
    const dst = await openImage(to, 'write', registry, ctx.flags.bool('force'));
    // A local destination without a tag keeps the source's (or "latest"): an untagged copy would be
    // unreachable in the layout's index.
    const tag = dst.tag ?? (dst.ref.transport === 'docker' ? undefined : (src.tag ?? 'latest'));
    const render = throttled((p: CopyProgress) => ctx.out.progress(progressLine(p)));
    const result = await withStore(dst.store, () =>
      copyImage(src.store, source, dst.store, {
        ...(tag ? { tag } : {}),
        ...(platform ? { platform } : {}),
        signatures: ctx.flags.bool('signatures'),
        // Counting bytes as they stream costs a stream stage per blob: only for a terminal that shows it.
        ...(ctx.out.showsProgress ? { onProgress: render } : {}),
        ...(ctx.out.verbose
          ? {
              onBlob: (d: Descriptor, how: string) =>
                ctx.out.debug(`  ${how.padEnd(7)} ${d.digest}  ${formatBytes(d.size).padStart(10)}  ${d.mediaType}`),
            }
          : {}),
      }),
    );
    render.flush();
    ctx.out.progressDone();
    const where = formatImageReference(dst.ref);
    if (result.foreignLayers.length > 0) {
      ctx.out.warn(
        `${result.foreignLayers.length} foreign layer(s) not copied (non-distributable, fetched ` +
          `from their urls): ${where} cannot be pulled where those urls are out of reach`,
      );
    }
    const images = result.images > 1 ? `${result.images} images, ` : '';
    ctx.out.info(
      `Copied ${result.digest} → ${where}: ${images}${formatBytes(result.bytesCopied)} in ` +
        `${result.blobsCopied} blob(s) copied, ${result.blobsSkipped} already there, ` +
        `${result.manifests} manifest(s), ${result.referrers} referrer(s), ` +
        `${result.signatureTags.length} signature tag(s)`,
    );
    return { json: result };
  });
}

export const copyCommand: Command = {
  name: 'copy',
  summary: 'Copy an image between layouts, archives and registries, with its signatures and attestations',
  usage: 'SRC DST [flags]',
  description:
    'Transports: oci:DIR[:TAG|@DIGEST], oci-archive:FILE, docker-archive:FILE[:NAME:TAG], ' +
    '[docker://]HOST/REPO[:TAG].\n' +
    'The source tag is resolved to a digest once; every blob is digest-checked while it streams; signatures\n' +
    '(.sig), attestations (.att) and referrers (bundles, SBOMs) come along unless --no-signatures; the\n' +
    'destination tag is written last. On a terminal a progress line shows bytes, blobs (and images of an\n' +
    'index) done of the totals, known before the first blob moves; --verbose lists each blob.',
  flags: COPY_FLAGS,
  positionals: { min: 2, max: 2 },
  examples: [
    {
      command: 'airlock copy registry.corp/app:1.0 oci:/media/usb/layout:app-1.0',
      description: 'Registry → layout, signatures included',
    },
    {
      command: 'airlock copy oci:/media/usb/layout:app-1.0 127.0.0.1:5000/app:1.0 --insecure',
      description: 'Layout → internal registry',
    },
    { command: 'airlock copy docker-archive:app.tar oci:layout:app', description: 'What podman save wrote → a layout' },
  ],
  run: (ctx) =>
    runCopy(ctx, parseImageReference(ctx.positionals[0] ?? ''), parseImageReference(ctx.positionals[1] ?? '')),
};

/** --dir of save/load: a folder, not a reference (cosign's spelling). */
function layoutDir(ctx: CommandContext, command: string): string {
  const dir = ctx.flags.string('dir');
  if (!dir) throw new AirlockError('E_USAGE', `airlock ${command} needs --dir DIR (the OCI layout folder)`);
  return dir;
}

const DIR_FLAG = { dir: { type: 'string', value: 'DIR', description: 'The OCI image layout folder' } } as const;

export const saveCommand: Command = {
  name: 'save',
  summary: 'An image with its signatures and attestations into an OCI layout folder (cosign save)',
  usage: 'IMAGE --dir DIR [flags]',
  description:
    "Exactly `airlock copy IMAGE oci:DIR:TAG`, TAG being the image's own tag (latest for a digest):\n" +
    'the layout holds the image, its signatures, attestations and referrers; `airlock load` or\n' +
    '`airlock copy oci:DIR:TAG DST` carries it on.',
  flags: { ...DIR_FLAG, ...COPY_FLAGS },
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock save registry.corp/app:1.0 --dir /media/usb/app', description: 'As cosign save does' },
  ],
  async run(ctx) {
    const from = parseImageReference(ctx.positionals[0] ?? '');
    return runCopy(ctx, from, { transport: 'oci', path: layoutDir(ctx, 'save') });
  },
};

export const loadCommand: Command = {
  name: 'load',
  summary: 'The image of an OCI layout folder, with its signatures, into a registry or elsewhere (cosign load)',
  usage: '--dir DIR IMAGE [flags]',
  description:
    'Exactly `airlock copy oci:DIR IMAGE`: the layout must hold one image (not counting signatures and\n' +
    'attestations); for a layout with several, name one with `airlock copy oci:DIR:TAG IMAGE`.',
  flags: { ...DIR_FLAG, ...COPY_FLAGS },
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock load --dir /media/usb/app registry.internal/app:1.0', description: 'As cosign load does' },
    {
      command: 'airlock load --dir /media/usb/app 127.0.0.1:5000/app:1.0 --allow-insecure-registry',
      description: "A loopback registry over plain HTTP (cosign's flag; same as --insecure)",
    },
  ],
  async run(ctx) {
    const to = parseImageReference(ctx.positionals[0] ?? '');
    return runCopy(ctx, { transport: 'oci', path: layoutDir(ctx, 'load') }, to);
  },
};
