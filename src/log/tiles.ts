// C2SP tlog-tiles v0.1.0: tile and entry-bundle paths, tile contents, and the tree's right edge as
// it grows. Tiles are kept "expanded": besides its up to 256 hashes, a tile holds every interior node
// it completes (in-tile levels 1–7), so any proof node is one slice of one tile instead of up to 127
// hash operations; the C2SP bytes are the level-0 prefix.
import { AirlockError } from '../errors.ts';
import { HASH_SIZE, type NodeReader, nodeHash } from './merkle.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Entry bundles prefix each entry with a uint16 length. */
export const MAX_ENTRY_SIZE = 0xffff;

// In-tile level r starts at slot 512 − 2^(9−r): 256 + 128 + … + 2 = 510 slots.
const OFFSET = Array.from({ length: TILE_HEIGHT }, (_, r) => 512 - 2 ** (9 - r));
const SLOTS = 510;
export const EXPANDED_TILE_BYTES = SLOTS * HASH_SIZE;

export interface TileKey {
  readonly level: number;
  readonly index: number;
}

/** 1234067 → x001/x234/067; 5 → 005 (tlog-tiles). */
export function encodeTileIndex(index: number): string {
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(level: number, index: number, width = TILE_WIDTH): string {
  return `tile/${level}/${encodeTileIndex(index)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

export function entriesPath(index: number, width = TILE_WIDTH): string {
  return `tile/entries/${encodeTileIndex(index)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

export type TileRequest =
  | { readonly kind: 'hash'; readonly level: number; readonly index: number; readonly width: number }
  | { readonly kind: 'entries'; readonly index: number; readonly width: number };

/** Parses `tile/L/N[.p/W]` or `tile/entries/N[.p/W]`; anything not in canonical form is refused. */
export function parseTilePath(path: string): TileRequest | undefined {
  const m = /^tile\/(entries|\d{1,2})\/((?:x\d{3}\/)*)(\d{3})(?:\.p\/(\d{1,3}))?$/.exec(path);
  if (!m) return undefined;
  const [, levelText = '', prefix = '', last = '', widthText] = m;
  const groups = [
    ...prefix
      .split('/')
      .filter(Boolean)
      .map((g) => g.slice(1)),
    last,
  ];
  if (groups.length > 1 && groups[0] === '000') return undefined; // not canonical: leading zero group
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  if (!Number.isSafeInteger(index)) return undefined;
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && (String(width) !== widthText || width < 1 || width >= TILE_WIDTH)) return undefined;
  if (levelText === 'entries') return { kind: 'entries', index, width };
  const level = Number(levelText);
  if (String(level) !== levelText || level > 63) return undefined;
  return { kind: 'hash', level, index, width };
}

/** Width of the partial tile at `level` for tree size `size` (0: none). */
export function partialWidth(level: number, size: number): number {
  return Math.floor(size / TILE_WIDTH ** level) % TILE_WIDTH;
}

/** The tile holding tree node (h, i), and the node's place inside it. */
export function tileOfNode(h: number, i: number): { key: TileKey; r: number; j: number } {
  const r = h % TILE_HEIGHT;
  const perTile = 2 ** (TILE_HEIGHT - r);
  return { key: { level: Math.floor(h / TILE_HEIGHT), index: Math.floor(i / perTile) }, r, j: i % perTile };
}

export class Tile {
  readonly level: number;
  readonly index: number;
  #width: number;
  readonly #slots: Buffer;

  private constructor(level: number, index: number, width: number, slots: Buffer) {
    this.level = level;
    this.index = index;
    this.#width = width;
    this.#slots = slots;
  }

  static empty(level: number, index: number): Tile {
    return new Tile(level, index, 0, Buffer.alloc(EXPANDED_TILE_BYTES));
  }

  /** From stored expanded bytes (as written by `encode`). */
  static decode(level: number, index: number, width: number, bytes: Uint8Array): Tile {
    if (bytes.length !== EXPANDED_TILE_BYTES || !Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
      throw new AirlockError(
        'E_LOG_CORRUPT',
        `tile ${level}/${index}: stored with width ${width} and ${bytes.length} bytes`,
      );
    }
    return new Tile(level, index, width, Buffer.from(bytes));
  }

  /** From C2SP tile bytes (a client's download): the interior is recomputed. */
  static fromHashes(level: number, index: number, hashes: Uint8Array): Tile {
    if (hashes.length === 0 || hashes.length % HASH_SIZE !== 0 || hashes.length > TILE_WIDTH * HASH_SIZE) {
      throw new AirlockError('E_TLOG_INCLUSION', `tile ${level}/${index}: ${hashes.length} bytes is not a tile`);
    }
    const tile = Tile.empty(level, index);
    for (let p = 0; p < hashes.length; p += HASH_SIZE) tile.append(hashes.subarray(p, p + HASH_SIZE));
    return tile;
  }

  get width(): number {
    return this.#width;
  }

  get full(): boolean {
    return this.#width === TILE_WIDTH;
  }

  #slot(r: number, j: number): Buffer {
    const at = ((OFFSET[r] as number) + j) * HASH_SIZE;
    return this.#slots.subarray(at, at + HASH_SIZE);
  }

  append(hash: Uint8Array): void {
    if (this.full) throw new AirlockError('E_INTERNAL', `tile ${this.level}/${this.index} is full`);
    const p = this.#width++;
    this.#slot(0, p).set(hash);
    for (let r = 1; r < TILE_HEIGHT && (p + 1) % 2 ** r === 0; r++) {
      const j = (p + 1) / 2 ** r - 1;
      this.#slot(r, j).set(nodeHash(this.#slot(r - 1, 2 * j), this.#slot(r - 1, 2 * j + 1)));
    }
  }

  /** In-tile node (level r, index j); it must be complete at this width. */
  node(r: number, j: number): Buffer {
    if (j >= Math.floor(this.#width / 2 ** r)) {
      throw new AirlockError(
        'E_INTERNAL',
        `tile ${this.level}/${this.index} (width ${this.#width}) has no complete node ${r}/${j}`,
      );
    }
    return this.#slot(r, j);
  }

  /** The root of a full tile: the node it contributes to the level above. */
  root(): Buffer {
    if (!this.full) throw new AirlockError('E_INTERNAL', `tile ${this.level}/${this.index} is not full`);
    return nodeHash(this.#slot(TILE_HEIGHT - 1, 0), this.#slot(TILE_HEIGHT - 1, 1));
  }

  /** The C2SP tile: the first `width` hashes. */
  hashes(width = this.#width): Buffer {
    if (width > this.#width)
      throw new AirlockError('E_INTERNAL', `tile ${this.level}/${this.index} has width ${this.#width}, not ${width}`);
    return this.#slots.subarray(0, width * HASH_SIZE);
  }

  encode(): Buffer {
    return this.#slots;
  }

  clone(): Tile {
    return new Tile(this.level, this.index, this.#width, Buffer.from(this.#slots));
  }
}

/** A NodeReader over whatever tiles `get` returns (throws when a needed tile is absent). */
export function nodeReaderFor(get: (key: TileKey) => Tile | undefined): NodeReader {
  return (h, i) => {
    const { key, r, j } = tileOfNode(h, i);
    const tile = get(key);
    if (!tile) throw new AirlockError('E_INTERNAL', `tile ${key.level}/${key.index} was not loaded`);
    return tile.node(r, j);
  };
}

/** The tiles a computation touches: run it with a recording reader, keep the distinct tile keys. */
export function tilesTouched(run: (node: NodeReader) => unknown): TileKey[] {
  const seen = new Map<string, TileKey>();
  const zero = Buffer.alloc(HASH_SIZE);
  run((h, i) => {
    const { key } = tileOfNode(h, i);
    seen.set(`${key.level}/${key.index}`, key);
    return zero;
  });
  return [...seen.values()];
}

/**
 * The right edge of the tree: the partial tile of every level, which is all that appending touches
 * and all the root needs. Appending returns every tile it changed, to be stored together.
 */
export class TreeEdge {
  #size: number;
  readonly #tiles: Tile[];

  private constructor(size: number, tiles: Tile[]) {
    this.#size = size;
    this.#tiles = tiles;
  }

  /** `load(level, index)` must return the stored partial tile of that level for `size`. */
  static async open(size: number, load: (key: TileKey, width: number) => Promise<Tile>): Promise<TreeEdge> {
    const tiles: Tile[] = [];
    for (let level = 0; TILE_WIDTH ** level <= size || level === 0; level++) {
      const index = Math.floor(size / TILE_WIDTH ** (level + 1));
      const width = partialWidth(level, size);
      tiles.push(width === 0 ? Tile.empty(level, index) : await load({ level, index }, width));
    }
    return new TreeEdge(size, tiles);
  }

  get size(): number {
    return this.#size;
  }

  tile(key: TileKey): Tile | undefined {
    const t = this.#tiles[key.level];
    return t && t.index === key.index && t.width > 0 ? t : undefined;
  }

  /** Appends leaf hashes; returns the tiles to store (those that filled up, then the new edge). */
  append(leafHashes: readonly Uint8Array[]): Tile[] {
    const changed = new Map<string, Tile>();
    for (const hash of leafHashes) {
      let carry: Uint8Array | undefined = hash;
      for (let level = 0; carry; level++) {
        const tile: Tile = (this.#tiles[level] ??= Tile.empty(level, 0));
        tile.append(carry);
        changed.set(`${level}/${tile.index}`, tile);
        carry = undefined;
        if (tile.full) {
          carry = tile.root();
          this.#tiles[level] = Tile.empty(level, tile.index + 1);
        }
      }
      this.#size++;
    }
    return [...changed.values()].filter((t) => t.width > 0);
  }

  clone(): TreeEdge {
    return new TreeEdge(
      this.#size,
      this.#tiles.map((t) => t.clone()),
    );
  }
}

export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE)
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `a log entry is at most ${MAX_ENTRY_SIZE} bytes, this one is ${e.length}`,
      );
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length);
    parts.push(len, Buffer.from(e));
  }
  return Buffer.concat(parts);
}

export function decodeEntryBundle(bytes: Uint8Array): Buffer[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length;) {
    if (at + 2 > buf.length) throw new AirlockError('E_TLOG_INCLUSION', 'entry bundle: truncated length prefix');
    const len = buf.readUInt16BE(at);
    if (at + 2 + len > buf.length) throw new AirlockError('E_TLOG_INCLUSION', 'entry bundle: truncated entry');
    out.push(buf.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (out.length > TILE_WIDTH)
    throw new AirlockError('E_TLOG_INCLUSION', `entry bundle: ${out.length} entries, at most ${TILE_WIDTH}`);
  return out;
}
