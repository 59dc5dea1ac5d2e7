// `pack --sbom generate` / `--scan generate`: airlock catalogues each image it packs (as `airlock sbom`)
// and scans it (as `airlock scan -o json`) instead of needing syft and grype, writing the documents where
// the given ones would be read from, so they travel, are attested and are gated exactly as given ones are.
import { type KeyObject, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import type { Catalogue } from '../../../sbom/package.ts';
import { bounded } from '../../../text.ts';
import { VERSION } from '../../../version.ts';
import type { ScanDatabaseHandle } from '../../../vuln/scan-database.ts';
import type { CommandContext } from '../../command.ts';
import type { PackContents } from '../../options/pack-contents.ts';
import { keyContext } from '../../options/key.ts';
import { gateOptions, ignoreEntries } from '../../options/scan.ts';
import { catalogueImageForCommand } from '../../image-catalogue.ts';

export interface GeneratedDocuments {
  readonly sboms: Map<string, string>;
  readonly scans: Map<string, string[]>;
  cleanup(): Promise<void>;
}

/**
 * The database --scan reads: verified through the handle it is read by, against --vulndb-key or else the
 * public key of pack's own --key (E_VULNDB_SIGNATURE when neither verifies it, E_USAGE when there is no
 * key at all), and judged for age as import judges it (E_VULNDB_STALE). A scan that gates what crosses
 * reads nothing it has not checked.
 */
async function scanDatabase(ctx: CommandContext, packKey: KeyObject | undefined): Promise<ScanDatabaseHandle> {
  const { openScanDatabase } = await import('../../../vuln/scan-database.ts');
  const file = ctx.flags.string('vulndb');
  const keyRef = ctx.flags.string('vulndb-key');
  if (keyRef && !file) throw new AirlockError('E_USAGE', '--vulndb-key verifies a --vulndb file');
  let keys: KeyObject[] = [];
  if (file) {
    if (keyRef) {
      const { loadPublicKey } = await import('../../../crypto/key-ref.ts');
      keys = [await loadPublicKey(keyRef, keyContext(ctx))];
    } else if (packKey) keys = [packKey];
    else
      throw new AirlockError('E_USAGE', `--scan with --vulndb needs a key to verify the database with`, {
        hint: 'give --vulndb-key PUBKEY (the key that signed it), or --key (when it signed the database too)',
      });
  }
  const handle = await openScanDatabase(
    file ? { kind: 'file', path: resolve(ctx.cwd, file), keys } : undefined,
    ctx.stateDir,
    ctx.now(),
  );
  for (const w of handle.warnings) ctx.out.warn(w);
  return handle;
}

async function catalogue(ctx: CommandContext, image: string): Promise<Catalogue> {
  const result = await catalogueImageForCommand(ctx, image);
  for (const note of result.notes) ctx.out.warn(`${bounded(image, 80)}: ${note}`);
  return result;
}

/**
 * Writes the asked-for documents of every image to a private temporary folder; cleanup removes it.
 * `packKey` (the public key of pack's --key) verifies --vulndb when --vulndb-key does not name another.
 */
export async function generateDocuments(
  ctx: CommandContext,
  contents: PackContents,
  packKey?: KeyObject,
): Promise<GeneratedDocuments> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-pack-documents-'));
  const sboms = new Map(contents.sboms);
  const scans = new Map(contents.scans);
  const db = contents.generate.scan ? await scanDatabase(ctx, packKey) : undefined;
  try {
    const { formatCatalogue } = await import('../../../sbom/formats/index.ts');
    const { scanCatalogue } = await import('../../../vuln/scan.ts');
    const { renderJson } = await import('../../../vuln/report/json.ts');
    const ignores = await ignoreEntries(ctx);
    for (const [i, image] of contents.images.entries()) {
      const sbomToMake = contents.generate.sbom && !sboms.has(image);
      // Cataloguing reads every layer: only for an image something is made for.
      if (!sbomToMake && !db) continue;
      const found = await catalogue(ctx, image);
      if (sbomToMake) {
        const path = join(dir, `${i}.spdx.json`);
        await writeFile(
          path,
          formatCatalogue(found, 'spdx-json', { now: ctx.now(), uuid: randomUUID(), toolVersion: VERSION }),
        );
        sboms.set(image, path);
      }
      if (db) {
        const report = scanCatalogue({
          catalogue: found,
          subjectName: image,
          source: db.opened.source,
          database: db.database,
          ignores,
          gate: gateOptions(ctx),
          now: ctx.now,
        });
        const path = join(dir, `${i}.scan.json`);
        await writeFile(path, renderJson(report));
        scans.set(image, [...(scans.get(image) ?? []), path]);
        ctx.out.info(`scanned ${bounded(image, 80)}: ${report.findings.length} finding(s) against ${db.database.name}`);
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  } finally {
    db?.opened.close();
  }
  return { sboms, scans, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
