// An image's SBOM content from its reference: open the store, resolve the reference to a manifest
// digest once, read its layers through every cataloguer, and identify what was found (purls, OSV
// ecosystems) against the image's distro. The subject is the digest that was read, never a tag.
import { openImage, type RegistryOptions, resolveImage, withStore } from '../oci/open-store.ts';
import type { ImageReference } from '../oci/reference.ts';
import { type CatalogueImageOptions, catalogueImage } from './catalogue-image.ts';
import { ALL_CATALOGUERS } from './cataloguers/index.ts';
import { identifyPackages } from './identify.ts';
import type { Catalogue } from './package.ts';

export async function catalogueImageReference(
  reference: string | ImageReference,
  registry: RegistryOptions = {},
  options: CatalogueImageOptions = {},
): Promise<Catalogue> {
  const image = await openImage(reference, 'read', registry);
  return withStore(image.store, async () => {
    const top = await resolveImage(image);
    const read = await catalogueImage(image.store, top, ALL_CATALOGUERS, options);
    return {
      subject: { name: typeof reference === 'string' ? reference : image.store.description, digest: top.digest },
      ...(read.distro ? { distro: read.distro } : {}),
      packages: identifyPackages(read.found, read.distro),
      notes: read.notes,
      ...(read.unread.length > 0 ? { unread: read.unread } : {}),
    };
  });
}
