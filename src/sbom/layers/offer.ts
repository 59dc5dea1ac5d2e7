// What happens to each entry of each layer, read from the top layer down: its path is normalised and
// checked against the squashed view, recorded for the layers below, and, when it is a visible regular
// file some cataloguer wants, its body is streamed to those cataloguers; every other body is drained.
// A hard link to a file of the same layer counts as that file under a second name: the packages read
// from the target are reported again at the link's path (no second read is needed, the bytes are the
// same). A link whose target was not read (hidden above, or wanted by nobody under its own name) is
// said in a note: its bytes went past before anyone knew they were wanted.
// What could not be read is also listed in `unread` (the scan's gate fails on each: not evaluated): a
// cataloguer's read error or its own unread files, such a hard link, and a visible symbolic link whose own
// path is, or is inside, a place a cataloguer reads (UNREAD_LINK_PLACES) — not its ancestors (Debian's
// /lib → usr/lib is fine) — unless it points into such a place, where its target is read anyway.
import { posix } from 'node:path';
import type { ReadEntry } from 'tar';
import { bounded } from '../../text.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from '../cataloguers/cataloguer.ts';
import type { FoundPackage } from '../package.ts';
import { fanOut } from './fan-out.ts';
import { type EntryKind, isWhiteout, normalisePath, SquashedView } from './squash.ts';

const KINDS: Readonly<Record<string, EntryKind>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

interface LayerFile {
  readonly size: number;
  readonly executable: boolean;
  /** What each cataloguer that wanted the file made of it (absent when none did). */
  readonly reads?: Map<FileCataloguer, Promise<CatalogueResult | undefined>>;
}

/** Where cataloguers read package databases: a link at (or in, for the `/`-ended) one hides them. */
const UNREAD_LINK_PLACES: readonly RegExp[] = [
  /^\/var\/lib\/dpkg(\/status(\.d(\/.*)?)?)?$/,
  /^\/lib\/apk\/db(\/.*)?$/,
  /^\/(var\/lib\/rpm|usr\/lib\/sysimage\/rpm|usr\/share\/rpm)(\/.*)?$/,
  /\/node_modules(\/.*)?$/,
  /\/(site|dist)-packages$/,
];

/** Whether a symbolic link at `path` pointing at `linkpath` hides files a cataloguer would read. */
export function linkHidesPackages(path: string, linkpath: string): boolean {
  if (!UNREAD_LINK_PLACES.some((re) => re.test(path))) return false;
  const target = normalisePath(posix.resolve(posix.dirname(path), linkpath));
  return !UNREAD_LINK_PLACES.some((re) => re.test(target));
}

function relocated(result: CatalogueResult, from: string, to: string): FoundPackage[] {
  return result.packages.map((p) => (p.foundIn === from ? { ...p, foundIn: to } : p));
}

export class LayerOffers {
  readonly found: FoundPackage[] = [];
  readonly notes: string[] = [];
  /** What could not be read (see the module comment): not evaluated. */
  readonly unread: string[] = [];
  /** Visible symbolic links, by path, to their targets (os-release: catalogue-image.ts decides). */
  readonly links = new Map<string, string>();
  /** Visible regular files offered, and how many bytes of them the cataloguers were given. */
  offered = 0;
  readonly #view = new SquashedView();
  readonly #cataloguers: readonly FileCataloguer[];
  #pending: Promise<void>[] = [];
  /** Regular files of the layer being read (for hard links, which point inside their own layer). */
  #files = new Map<string, LayerFile>();
  #repeated = 0;
  #layer = '';

  constructor(cataloguers: readonly FileCataloguer[]) {
    // One instance per run for a cataloguer whose state spans the image's files (java's shared budget).
    this.#cataloguers = cataloguers.map((c) => c.forRun?.() ?? c);
  }

  beginLayer(digest: string): void {
    this.#layer = digest;
  }

  /** Waits for the cataloguers reading this layer's files, then lets its paths hide the layers below. */
  async endLayer(): Promise<void> {
    await Promise.all(this.#pending);
    this.#pending = [];
    this.#view.endLayer();
    this.#files = new Map();
    if (this.#repeated > 0) {
      this.notes.push(
        `layer ${this.#layer} names ${this.#repeated} path(s) more than once; each copy was offered to the cataloguers`,
      );
    }
    this.#repeated = 0;
  }

  get pathsKept(): number {
    return this.#view.size;
  }

  /** Throws E_INPUT_MALFORMED for a path that climbs out of the root; the parser then stops. */
  onEntry(entry: ReadEntry): void {
    const path = normalisePath(entry.path);
    const kind = KINDS[entry.type] ?? 'other';
    const hidden = path === '/' || this.#view.hidden(path) || isWhiteout(path);
    if (kind === 'file' && this.#view.repeated(path)) this.#repeated++;
    this.#view.record(path, kind);
    if (!hidden && kind === 'file') return this.#offerFile(entry, path);
    if (!hidden && kind === 'hardlink') this.#offerLink(path, normalisePath(entry.linkpath ?? ''));
    if (!hidden && kind === 'symlink') this.#offerSymlink(path, entry.linkpath ?? '');
    entry.resume();
  }

  #offerSymlink(path: string, linkpath: string): void {
    this.links.set(path, linkpath);
    if (linkHidesPackages(path, linkpath))
      this.#unread(`symbolic link ${bounded(path)} → ${bounded(linkpath)}: what it points to is not read`);
  }

  #unread(what: string): void {
    this.notes.push(what);
    this.unread.push(what);
  }

  #offerFile(entry: ReadEntry, path: string): void {
    const file: CandidateFile = { path, size: entry.size, executable: ((entry.mode ?? 0) & 0o111) !== 0 };
    const wanting = this.#cataloguers.filter((c) => c.wants(file));
    if (wanting.length === 0) {
      this.#files.set(path, { size: file.size, executable: file.executable });
      entry.resume();
      return;
    }
    const reads = new Map<FileCataloguer, Promise<CatalogueResult | undefined>>();
    this.#files.set(path, { size: file.size, executable: file.executable, reads });
    this.offered++;
    const streams = fanOut(entry, wanting.length);
    wanting.forEach((cataloguer, i) => {
      const stream = streams[i];
      if (!stream) return;
      const read = cataloguer.read(file, stream).then(
        (result) => {
          stream.destroy();
          return result;
        },
        (err: unknown) => {
          stream.destroy();
          this.#unread(`${cataloguer.name} could not read ${bounded(path)}: ${bounded(String(err))}`);
          return undefined;
        },
      );
      reads.set(cataloguer, read);
      this.#pending.push(read.then((r) => this.#collect(r?.packages ?? [], r?.notes, r?.unread)));
    });
  }

  #offerLink(path: string, target: string): void {
    const original = this.#files.get(target);
    const file: CandidateFile = { path, size: original?.size ?? 0, executable: original?.executable ?? false };
    for (const cataloguer of this.#cataloguers.filter((c) => c.wants(file))) {
      const read = original?.reads?.get(cataloguer);
      if (read === undefined) {
        this.#unread(
          `${cataloguer.name}: hard link ${bounded(path)} to ${bounded(target)} not read: ` +
            'its target was hidden or not read under its own name',
        );
        continue;
      }
      this.#pending.push(read.then((r) => this.#collect(r ? relocated(r, target, path) : [])));
    }
  }

  #collect(packages: readonly FoundPackage[], notes: readonly string[] = [], unread: readonly string[] = []): void {
    this.found.push(...packages);
    this.notes.push(...notes);
    this.unread.push(...unread.map((u) => bounded(u, 300)));
  }
}
