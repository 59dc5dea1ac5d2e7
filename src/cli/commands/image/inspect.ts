// `airlock image inspect` (cosign tree): what an image is made of, and what is attached to it.
import { formatPlatform, isIndexDoc, parseManifestJson } from '../../../oci/manifest.ts';
import { openImage, resolveImage, withStore } from '../../../oci/open-store.ts';
import { formatImageReference, parseImageReference } from '../../../oci/reference.ts';
import type { Descriptor, ImageStore } from '../../../oci/types.ts';
import type { Command } from '../../command.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';

async function describeAttached(store: ImageStore, subject: Descriptor) {
  const referrers = await store.listReferrers(subject.digest);
  const tags = (await store.listTags()).filter((t) => t.startsWith(subject.digest.replace(':', '-')));
  return {
    referrers: referrers.map((r) => ({
      digest: r.digest,
      artifactType: r.artifactType,
      predicateType: r.annotations?.['dev.sigstore.bundle.predicateType'],
    })),
    legacyTags: tags,
  };
}

export const imageInspectCommand: Command = {
  name: 'image inspect',
  aliases: ['tree'],
  summary: 'Digest, platforms, layers, and the signatures and attestations attached to an image',
  usage: 'IMAGE [flags]',
  description: "`airlock tree IMAGE` (cosign's name) is the same command.",
  flags: REGISTRY_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock image inspect oci:layout:app --json', description: 'Machine-readable' },
    { command: 'airlock tree registry.internal/app:1.0', description: 'What is attached (cosign tree)' },
  ],
  async run(ctx) {
    const ref = parseImageReference(ctx.positionals[0] ?? '');
    const image = await openImage(ref, 'read', await registryOptions(ctx));
    return withStore(image.store, async () => {
      const subject = await resolveImage(image);
      const doc = parseManifestJson(await image.store.getManifest(subject.digest));
      const out: Record<string, unknown> = {
        reference: formatImageReference(image.ref),
        digest: subject.digest,
        mediaType: subject.mediaType,
        ...(await describeAttached(image.store, subject)),
      };
      ctx.out.info(
        `${formatImageReference(image.ref)}\n  digest     ${subject.digest}\n  mediaType  ${subject.mediaType}`,
      );
      if (isIndexDoc(doc)) {
        out.platforms = doc.manifests.map((m) => ({
          platform: formatPlatform(m.platform),
          digest: m.digest,
          size: m.size,
        }));
        for (const m of doc.manifests)
          ctx.out.info(`  platform   ${formatPlatform(m.platform).padEnd(16)} ${m.digest}`);
      } else {
        out.config = doc.config;
        out.layers = doc.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
        out.size = doc.layers.reduce((n, l) => n + l.size, doc.config.size);
        for (const l of doc.layers) ctx.out.info(`  layer      ${l.digest}  ${(l.size / 1024).toFixed(1)} KiB`);
      }
      const attached = out as {
        referrers: Array<{ digest: string; artifactType?: string; predicateType?: string }>;
        legacyTags: string[];
      };
      for (const r of attached.referrers)
        ctx.out.info(`  referrer   ${r.digest}  ${r.artifactType ?? ''} ${r.predicateType ?? ''}`);
      for (const t of attached.legacyTags) ctx.out.info(`  tag        ${t}`);
      return { json: out };
    });
  },
};
