// The squashed view of an image's layers (OCI image spec, layer.md "Whiteouts"), built from the top
// layer down so that a lower layer's file is known to be hidden before a byte of it is read. Only
// paths are kept, never contents: a path seen in a higher layer, and the paths under which every lower
// entry is hidden (a whiteout's target, an opaque directory, a non-directory that replaced a directory).
// Pure: entries in, verdicts out.
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Set on a path present in some higher layer: a lower entry at the same path is hidden. */
const PRESENT = 1;
/** Set on a path below which every lower entry is hidden. */
const HIDES_BELOW = 2;

/**
 * `./usr//lib/` → `/usr/lib`; `.` and `./` → `/`. A path that climbs with `..` is refused: a layer
 * that names one is malformed, whatever a runtime would make of it.
 */
export function normalisePath(raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || raw.includes('\0')) {
    throw new AirlockError('E_INPUT_MALFORMED', `layer entry '${bounded(raw)}' climbs out of the root with '..'`);
  }
  return `/${parts.join('/')}`;
}

function parentOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True for a whiteout or opaque marker: never a file of the image itself. */
export function isWhiteout(path: string): boolean {
  return baseName(path).startsWith(WHITEOUT);
}

export class SquashedView {
  /** Flags for paths of the layers above the one being read. */
  readonly #above = new Map<string, number>();
  /** Flags for paths of the layer being read, merged into #above when it ends. */
  #current = new Map<string, number>();

  /** Whether an entry at `path` of the layer being read is hidden by a layer above it. */
  hidden(path: string): boolean {
    if ((this.#above.get(path) ?? 0) & PRESENT) return true;
    for (let p = parentOf(path); p !== '/'; p = parentOf(p)) {
      if ((this.#above.get(p) ?? 0) & HIDES_BELOW) return true;
    }
    return (this.#above.get('/') ?? 0) & HIDES_BELOW ? true : false;
  }

  /** Whether `path` was already recorded in the layer being read (a path given twice in one tar). */
  repeated(path: string): boolean {
    return this.#current.has(path);
  }

  /**
   * Records an entry of the layer being read, for the layers below it. Recorded whether or not it is
   * itself hidden: a file that a higher directory hides still cuts off the directory it replaced.
   */
  record(path: string, kind: EntryKind): void {
    const name = baseName(path);
    if (name === OPAQUE) return this.#mark(parentOf(path), HIDES_BELOW);
    if (name.startsWith(WHITEOUT)) {
      const target = `${parentOf(path) === '/' ? '' : parentOf(path)}/${name.slice(WHITEOUT.length)}`;
      return this.#mark(target, PRESENT | HIDES_BELOW);
    }
    this.#mark(path, kind === 'dir' ? PRESENT : PRESENT | HIDES_BELOW);
  }

  /** The layer being read is done: its paths now hide what the layers below hold. */
  endLayer(): void {
    for (const [path, flags] of this.#current) this.#above.set(path, (this.#above.get(path) ?? 0) | flags);
    this.#current = new Map();
  }

  /** How many paths are kept (for the memory bound the callers state). */
  get size(): number {
    return this.#above.size + this.#current.size;
  }

  #mark(path: string, flags: number): void {
    this.#current.set(path, (this.#current.get(path) ?? 0) | flags);
  }
}
