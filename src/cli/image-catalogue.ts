// An image catalogued for a command (sbom, scan, pack --sbom generate): the reference checked to be one
// airlock reads, the registry flags applied, layer progress with totals on a terminal.
import { AirlockError } from '../errors.ts';
import type { LayerProgress } from '../sbom/catalogue-image.ts';
import type { Catalogue } from '../sbom/package.ts';
import { bounded } from '../text.ts';
import type { CommandContext } from './command.ts';
import { registryOptions } from './options/registry.ts';
import { formatProgress, throttled } from './progress.ts';

function layerProgress(ctx: CommandContext, what: string): { onProgress?: (p: LayerProgress) => void } {
  if (!ctx.out.showsProgress) return {};
  const render = throttled((p: LayerProgress) => {
    const bytes = { done: p.bytes, total: p.totalBytes, unit: 'bytes' };
    ctx.out.progress(`${what}: ${formatProgress(bytes, { done: p.layer, total: p.layers, unit: 'layers' })}`);
  });
  return { onProgress: render };
}

export async function catalogueImageForCommand(ctx: CommandContext, reference: string): Promise<Catalogue> {
  if (reference.startsWith('containers-storage:'))
    throw new AirlockError('E_UNSUPPORTED', `airlock cannot catalogue ${bounded(reference)} (podman's store) yet`, {
      hint: 'copy it to an OCI layout first (skopeo copy containers-storage:… oci:DIR:TAG) and name that',
    });
  const { catalogueImageReference } = await import('../sbom/image-sbom.ts');
  const catalogue = await catalogueImageReference(
    reference,
    await registryOptions(ctx),
    layerProgress(ctx, `reading ${bounded(reference, 80)}`),
  );
  ctx.out.progressDone();
  return catalogue;
}
