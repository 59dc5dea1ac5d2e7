// Every cataloguer `airlock sbom` runs, in one list: OS package databases first, then language
// packages. The layer reader offers each visible file to the first cataloguer that wants it.
import { apkCataloguer } from './apk.ts';
import type { FileCataloguer } from './cataloguer.ts';
import { dpkgCataloguer } from './dpkg.ts';
import { goCataloguer } from './go.ts';
import { javaCataloguer } from './java.ts';
import { npmCataloguer } from './npm.ts';
import { pythonCataloguer } from './python.ts';
import { rpmCataloguer } from './rpm.ts';

export const ALL_CATALOGUERS: readonly FileCataloguer[] = [
  dpkgCataloguer,
  apkCataloguer,
  rpmCataloguer,
  npmCataloguer,
  pythonCataloguer,
  goCataloguer,
  javaCataloguer,
];
