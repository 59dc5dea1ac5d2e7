// Java archives (jar, war, ear and the other zip-based kinds syft reads), nested ones included.
//
// An archive is buffered (up to 256 MiB; a larger one is a note) and read with yauzl. Its packages:
// - each `META-INF/maven/<groupId>/<artifactId>/pom.properties`, one package each (a shaded jar carries
//   several), named `groupId:artifactId`;
// - if it has none, one package from `META-INF/MANIFEST.MF`: named by `Bundle-SymbolicName` (its
//   `;directives` dropped), else `Implementation-Title`; versioned by `Bundle-Version`, else
//   `Implementation-Version`; what the manifest lacks is taken from the file name;
// - if it has no manifest either, from the file name (`name-1.2.3.jar`);
// - archives inside it (`WEB-INF/lib/`, `BOOT-INF/lib/`, any `*.jar`), read the same way, found in
//   `/outer.jar!/BOOT-INF/lib/inner.jar`, four levels deep and 4,096 archives at most.
// All the bytes buffered and inflated for every archive of one image, and the archives inside them, count
// against one budget of 256 MiB (a per-run instance: javaCataloguer.forRun()); an archive past what is
// left is a note, not read. Archives are read one at a time: the next one's stream is not read (the tar
// stream waits) until the one before is done, so at most one archive's bytes are held at once.
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { parseManifest, parseProperties } from './java-manifest.ts';
import { readCapped, readOrNote } from './read-capped.ts';

export const MAX_ARCHIVE = 256 * 1024 * 1024;
export const MAX_NESTING = 4;
/** Archives opened inside one file at most (a Spring Boot jar carries a few hundred). */
export const MAX_INNER_ARCHIVES = 4096;
const MAX_TEXT_ENTRY = 1024 * 1024;

const ARCHIVE_NAME = /\.(?:jar|war|ear|par|sar|nar|jpi|hpi|kar|lpkg)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MANIFEST = /^META-INF\/MANIFEST\.MF$/i;

/** What a catalogue run may still spend: bytes buffered or inflated, for every archive of the image. */
interface Budget {
  bytes: number;
  readonly total: number;
}

/** What could not be read: a note, and unread (not evaluated). */
function unread(found: Found, why: string): void {
  found.notes.push(why);
  found.unread.push(why);
}

interface Found {
  readonly packages: FoundPackage[];
  readonly notes: string[];
  /** Archives and entries wanted but not read (past a limit, too large, broken): not evaluated. */
  readonly unread: string[];
  /** Shared by every archive of the run. */
  readonly budget: Budget;
  /** Archives inside it that may still be opened. */
  archives: number;
}

const maven = (name: string, version: string, foundIn: string, licenses: string[] = []): FoundPackage => ({
  type: 'maven',
  name: bounded(name),
  version: bounded(version),
  licenses,
  foundIn,
});

/** `name-1.2.3.jar` → name and version: the version starts at the first `-` followed by a digit. */
export function nameFromFileName(path: string): { name: string; version?: string } {
  const base = (path.split('/').at(-1) ?? path).replace(ARCHIVE_NAME, '');
  const match = /^(.+?)-(\d.*)$/.exec(base);
  return match ? { name: match[1] ?? base, version: match[2] } : { name: base };
}

/** The package a manifest (or, for what it lacks, the file name) names, or a note. */
export function packageFromManifest(manifest: Map<string, string>, foundIn: string): FoundPackage | string {
  const fromName = nameFromFileName(foundIn);
  const symbolic = manifest.get('bundle-symbolicname')?.split(';')[0]?.trim();
  const name = symbolic || manifest.get('implementation-title')?.trim() || fromName.name;
  const version =
    manifest.get('bundle-version')?.trim() || manifest.get('implementation-version')?.trim() || fromName.version;
  if (!version) return `java: ${bounded(foundIn)} records no version (manifest or file name)`;
  const license = manifest.get('bundle-license')?.trim();
  return maven(name, version, foundIn, license ? [bounded(license)] : []);
}

function packageFromPom(properties: Map<string, string>, entry: string, foundIn: string): FoundPackage | string {
  const [, , groupDir = '', artifactDir = ''] = entry.split('/');
  const groupId = properties.get('groupId')?.trim() || groupDir;
  const artifactId = properties.get('artifactId')?.trim() || artifactDir;
  const version = properties.get('version')?.trim();
  if (!version) return `java: ${bounded(`${foundIn}!/${entry}`)} records no version`;
  return maven(`${groupId}:${artifactId}`, version, foundIn);
}

const size = (n: number) => (n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : `${n} bytes`);
const spent = (budget: Budget) => `the image's inflation budget for archives (${size(budget.total)}) is spent`;

/** One entry's bytes, within `max` and the run's budget, or undefined (with a note) if over. */
async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, max: number, found: Found, where: string) {
  if (entry.uncompressedSize > max) {
    unread(found, `java: ${bounded(where)} is too large to read (${entry.uncompressedSize} bytes)`);
    return undefined;
  }
  const bytes =
    entry.uncompressedSize > found.budget.bytes
      ? undefined
      : await readCapped(await zip.openReadStreamPromise(entry), found.budget.bytes);
  if (!bytes)
    unread(found, `java: ${bounded(where)} not read (${entry.uncompressedSize} bytes): ${spent(found.budget)}`);
  found.budget.bytes -= bytes?.length ?? 0;
  return bytes;
}

/** The entries this cataloguer reads: pom.properties files, the manifest, archives inside. */
async function interestingEntries(zip: yauzl.ZipFile) {
  const poms: yauzl.Entry[] = [];
  const nested: yauzl.Entry[] = [];
  let manifest: yauzl.Entry | undefined;
  for await (const entry of zip.eachEntry()) {
    const name = entry.fileName;
    if (POM_PROPERTIES.test(name)) poms.push(entry);
    else if (MANIFEST.test(name)) manifest ??= entry;
    else if (ARCHIVE_NAME.test(name) && !name.endsWith('/')) nested.push(entry);
  }
  return { poms, manifest, nested };
}

async function catalogueArchive(bytes: Buffer, foundIn: string, depth: number, found: Found): Promise<void> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true });
  const { poms, manifest, nested } = await interestingEntries(zip);
  const own: (FoundPackage | string)[] = [];
  for (const pom of poms) {
    const text = await readEntry(zip, pom, MAX_TEXT_ENTRY, found, `${foundIn}!/${pom.fileName}`);
    if (text) own.push(packageFromPom(parseProperties(text.toString('latin1')), pom.fileName, foundIn));
  }
  if (poms.length === 0) {
    const text =
      manifest && (await readEntry(zip, manifest, MAX_TEXT_ENTRY, found, `${foundIn}!/${manifest.fileName}`));
    own.push(packageFromManifest(text ? parseManifest(text.toString('utf8')) : new Map(), foundIn));
  }
  for (const item of own) {
    if (typeof item === 'string') found.notes.push(item);
    else found.packages.push(item);
  }
  for (const entry of nested) await catalogueNested(zip, entry, `${foundIn}!/${entry.fileName}`, depth + 1, found);
}

async function catalogueNested(zip: yauzl.ZipFile, entry: yauzl.Entry, path: string, depth: number, found: Found) {
  if (depth > MAX_NESTING || found.archives <= 0) {
    const why = depth > MAX_NESTING ? `nested more than ${MAX_NESTING} archives deep` : 'past the archive limit';
    unread(found, `java: ${bounded(path)} is ${why}, not read`);
    return;
  }
  found.archives--;
  try {
    const bytes = await readEntry(zip, entry, MAX_ARCHIVE, found, path);
    if (bytes) await catalogueArchive(bytes, path, depth, found);
  } catch (err) {
    unread(found, `java: ${bounded(path)} not read: ${bounded((err as Error).message)}`);
  }
}

async function readArchive(file: CandidateFile, content: Readable, budget: Budget): Promise<CatalogueResult> {
  if (file.size > budget.bytes && file.size <= MAX_ARCHIVE) {
    content.destroy();
    const why = `java: ${bounded(file.path)} not read (${file.size} bytes): ${spent(budget)}`;
    return { packages: [], notes: [why], unread: [why] };
  }
  const bytes = await readOrNote('java', file, content, Math.min(MAX_ARCHIVE, budget.bytes));
  if (!Buffer.isBuffer(bytes)) return bytes;
  budget.bytes -= bytes.length;
  const found: Found = { packages: [], notes: [], unread: [], budget, archives: MAX_INNER_ARCHIVES };
  try {
    await catalogueArchive(bytes, file.path, 0, found);
  } catch (err) {
    unread(found, `java: ${bounded(file.path)} not read: ${bounded((err as Error).message)}`);
  }
  return {
    packages: found.packages,
    ...(found.notes.length > 0 ? { notes: found.notes } : {}),
    ...(found.unread.length > 0 ? { unread: found.unread } : {}),
  };
}

const wants = (file: CandidateFile): boolean => ARCHIVE_NAME.test(file.path);

/**
 * A cataloguer for one run: `budgetBytes` shared by every archive it reads, one archive at a time (a
 * read waits for the one before it before touching its stream). forRun() gives a fresh one.
 */
export function createJavaCataloguer(budgetBytes = MAX_ARCHIVE): FileCataloguer {
  const budget: Budget = { bytes: budgetBytes, total: budgetBytes };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: 'java',
    wants,
    read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
      const turn = queue.then(() => readArchive(file, content, budget));
      queue = turn.catch(() => undefined);
      return turn;
    },
    forRun: () => createJavaCataloguer(budgetBytes),
  };
}

/**
 * The cataloguer as a value: read directly, each file has a budget of its own (256 MiB); a catalogue
 * run (LayerOffers) takes forRun(), whose one budget spans the whole image.
 */
export const javaCataloguer: FileCataloguer = {
  name: 'java',
  wants,
  read: (file: CandidateFile, content: Readable) => createJavaCataloguer().read(file, content),
  forRun: () => createJavaCataloguer(),
};
