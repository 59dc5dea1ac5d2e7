// A reader of a C2SP tlog-tiles log (https://c2sp.org/tlog-tiles@v0.1.0) that believes nothing it
// downloads until it hashes up to a checkpoint signed by the log key the caller pinned. The right-edge
// tiles of a tree are checked by re-deriving the checkpoint's root from them; every full tile by the
// hash its parent tile holds for it (itself checked the same way, up to the edge); every entry by its
// leaf hash in the level-0 tile. Proofs are then built from those tiles (tlog-anchors.md §1.5), as
// Tessera's ProofBuilder does, and verified against the root once more before they are returned.
//
// Codes: a log that serves tiles or entries contradicting its own signed checkpoint is E_LOG_CORRUPT
// (nothing is proven either way); two signed checkpoints that do not extend each other are
// E_LOG_INCONSISTENT (consistency.ts), the evidence of a fork or a rewrite.
import { AirlockError, isAirlockError } from '../errors.ts';
import { exchange, failureReason, SERVICE_TIMEOUT_MS } from '../net/http/exchange.ts';
import type { HttpTransport } from '../net/http/transport.ts';
import { type Checkpoint, openCheckpoint } from './checkpoint.ts';
import { checkExtends } from './consistency.ts';
import {
  consistencyProof,
  HASH_SIZE,
  inclusionProof,
  leafHash,
  type NodeReader,
  rootAt,
  verifyInclusion,
} from './merkle.ts';
import { MAX_NOTE_BYTES, type NoteVerifier, type OpenedNote } from './note.ts';
import {
  decodeEntryBundle,
  entriesPath,
  MAX_ENTRY_SIZE,
  nodeReaderFor,
  partialWidth,
  Tile,
  type TileKey,
  TILE_WIDTH,
  tilePath,
  tilesTouched,
} from './tiles.ts';

const MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
const MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_SIZE);

export interface TileClientOptions {
  /** Defaults to the transport services share (net/http/exchange.ts). */
  readonly transport?: HttpTransport;
  /** Per request, body included. Default SERVICE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

/** GETs `path` under the log's prefix: its bytes, or undefined on 404. */
type Getter = (path: string, maxBytes: number) => Promise<Buffer | undefined>;

const keyOf = (k: TileKey) => `${k.level}/${k.index}`;

function httpGetter(base: string, options: TileClientOptions): Getter {
  const timeoutMs = options.timeoutMs ?? SERVICE_TIMEOUT_MS;
  const unavailable = (url: string, reason: string, cause?: unknown) =>
    new AirlockError('E_UNAVAILABLE', `cannot read ${url}: ${reason}`, {
      hint:
        "check the URL is the log's tlog-tiles prefix (for a Rekor v2 log, .../api/v2) and that " +
        'the log is reachable; redirects are not followed',
      ...(cause === undefined ? {} : { cause }),
    });
  return async (path, maxBytes) => {
    const url = `${base}/${path}`;
    let answer;
    try {
      // The deadline also covers reading the body, so a trickling answer cannot hang us.
      answer = await exchange(
        { method: 'GET', url: new URL(url), redirects: 'none' },
        { maxBytes, deadlineMs: timeoutMs },
        options.transport,
      );
    } catch (err) {
      throw unavailable(url, failureReason(err), err);
    }
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw unavailable(url, `HTTP ${answer.status}`);
    return answer.body;
  };
}

/** openCheckpoint, with refusals naming where the note came from (a URL, a saved file). */
export function openCheckpointFrom(
  where: string,
  note: Uint8Array | string,
  logVerifier: NoteVerifier,
): { checkpoint: Checkpoint; note: OpenedNote } {
  try {
    return openCheckpoint(note, logVerifier);
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    throw new AirlockError(err.code, `${where}: ${err.message}`, {
      cause: err,
      ...(err.details ? { details: err.details } : {}),
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }
}

/** Width of tile (level, index) in a tree of `size`: full, the partial width on the right edge, or 0 beyond. */
function widthAt(level: number, index: number, size: number): number {
  const full = Math.floor(size / TILE_WIDTH ** (level + 1));
  if (index < full) return TILE_WIDTH;
  return index === full ? partialWidth(level, size) : 0;
}

export class TileClient {
  readonly url: string;
  readonly #verifier: NoteVerifier;
  readonly #get: Getter;

  /** `url` is the tlog-tiles prefix; `logVerifier` the log key the user pinned (never one the log offers). */
  constructor(url: string, logVerifier: NoteVerifier, options: TileClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#verifier = logVerifier;
    this.#get = httpGetter(this.url, options);
  }

  /** The log's latest checkpoint, opened with the pinned key, with proofs over the tiles of its tree. */
  async latest(): Promise<VerifiedCheckpoint> {
    const where = `${this.url}/checkpoint`;
    const bytes = await this.#get('checkpoint', MAX_NOTE_BYTES);
    if (!bytes)
      throw new AirlockError('E_UNAVAILABLE', `cannot read ${where}: HTTP 404`, {
        hint: "check the URL is the log's tlog-tiles prefix",
      });
    const opened = openCheckpointFrom(where, bytes, this.#verifier);
    return new VerifiedCheckpoint(opened.checkpoint, bytes.toString('utf8'), opened.note, this.url, this.#get);
  }
}

/**
 * A checkpoint whose log signature verified, and the tiles of its tree as they are checked. Only
 * TileClient makes these, so partial tiles are only ever asked for at a verified size (tlog-tiles).
 */
export class VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The note exactly as served, cosignatures included. */
  readonly note: string;
  /** `verified` holds the log's signature; `unverified` every other line (witnesses, unknown keys). */
  readonly signatures: OpenedNote;
  readonly #url: string;
  readonly #get: Getter;
  readonly #full = new Map<string, Promise<Tile>>();
  #edge: Promise<Map<string, Tile>> | undefined;

  constructor(checkpoint: Checkpoint, note: string, signatures: OpenedNote, url: string, get: Getter) {
    this.checkpoint = checkpoint;
    this.note = note;
    this.signatures = signatures;
    this.#url = url;
    this.#get = get;
  }

  #corrupt(message: string, cause?: unknown): AirlockError {
    return new AirlockError('E_LOG_CORRUPT', `${this.#url}: ${message} (checkpoint at size ${this.checkpoint.size})`, {
      hint:
        'the log serves data its own signed checkpoint contradicts: keep the checkpoint and report ' +
        'it to the log operator',
      cause,
    });
  }

  /** Entry `index` of this tree and its inclusion proof, both verified against the checkpoint. */
  async entry(index: number): Promise<{ entry: Buffer; leafHash: Buffer; proof: Uint8Array[] }> {
    const { size, rootHash } = this.checkpoint;
    if (!(Number.isSafeInteger(index) && index >= 0 && index < size)) {
      const holds =
        size === 0 ? 'the log is empty (its checkpoint is at size 0)' : `its checkpoint holds entries 0 to ${size - 1}`;
      throw new AirlockError('E_INPUT_MISSING', `${this.#url}: entry ${index} is not in the log; ${holds}`);
    }
    const entries = await this.#bundle(Math.floor(index / TILE_WIDTH));
    const entry = entries[index % TILE_WIDTH] as Buffer;
    const leaf = leafHash(entry);
    const proof = await this.#prove((node) => inclusionProof(index, size, node));
    // Holds whenever the tiles verified; checked anyway, as Rekor v2 checks a proof before handing it out.
    if (!verifyInclusion(index, size, leaf, proof, rootHash))
      throw new AirlockError(
        'E_TLOG_INCLUSION',
        `${this.#url}: the inclusion proof of entry ${index} at size ${size} does not verify`,
      );
    return { entry, leafHash: leaf, proof };
  }

  /**
   * The consistency proof from `older` (a checkpoint of the same log) to this one; E_LOG_INCONSISTENT
   * when this one does not extend it, with this signed note in its details (`checkpoint`): half the
   * evidence of a fork, which the log need not serve again.
   */
  async proveExtends(older: Checkpoint): Promise<Uint8Array[]> {
    const newer = this.checkpoint;
    try {
      // Another log, or a smaller tree than one already seen: refused without fetching anything.
      if (older.origin !== newer.origin || older.size > newer.size) checkExtends(older, newer, []);
      const proof = await this.#prove((node) => consistencyProof(older.size, newer.size, node));
      checkExtends(older, newer, proof);
      return proof;
    } catch (err) {
      if (!isAirlockError(err, 'E_LOG_INCONSISTENT')) throw err;
      throw new AirlockError(err.code, err.message, {
        cause: err,
        details: { ...err.details, checkpoint: this.note },
        ...(err.hint ? { hint: err.hint } : {}),
      });
    }
  }

  /** Runs a proof computation over verified tiles: once to learn which, then for real. */
  async #prove<T>(compute: (node: NodeReader) => T): Promise<T> {
    const keys = tilesTouched(compute);
    const tiles = new Map(
      await Promise.all(keys.map(async (k) => [keyOf(k), await this.#tile(k.level, k.index)] as const)),
    );
    return compute(nodeReaderFor((k) => tiles.get(keyOf(k))));
  }

  async #tile(level: number, index: number): Promise<Tile> {
    const width = widthAt(level, index, this.checkpoint.size);
    const key = keyOf({ level, index });
    if (width === 0)
      throw new AirlockError('E_INTERNAL', `tile ${key} is beyond a tree of size ${this.checkpoint.size}`);
    if (width < TILE_WIDTH) {
      const tile = (await this.#verifiedEdge()).get(key);
      if (!tile)
        throw new AirlockError(
          'E_INTERNAL',
          `tile ${key} is not on the right edge of a tree of size ${this.checkpoint.size}`,
        );
      return tile;
    }
    let tile = this.#full.get(key);
    if (!tile) {
      tile = this.#verifiedFullTile(level, index);
      this.#full.set(key, tile);
    }
    return tile;
  }

  /** The partial tiles of every level: all the root is made of, so the root checks every hash in them. */
  #verifiedEdge(): Promise<Map<string, Tile>> {
    this.#edge ??= (async () => {
      const { size, rootHash } = this.checkpoint;
      const keys = tilesTouched((node) => rootAt(size, node));
      const tiles = new Map(
        await Promise.all(
          keys.map(
            async (k) => [keyOf(k), await this.#download(k.level, k.index, widthAt(k.level, k.index, size))] as const,
          ),
        ),
      );
      if (
        !Buffer.from(
          rootAt(
            size,
            nodeReaderFor((k) => tiles.get(keyOf(k))),
          ),
        ).equals(rootHash)
      ) {
        throw this.#corrupt(
          `the right-edge tiles (${[...tiles.keys()].join(', ')}) do not hash to the checkpoint's root`,
        );
      }
      return tiles;
    })();
    return this.#edge;
  }

  /** A full tile is complete at this size, so the tile above holds its root: that hash vouches for it. */
  async #verifiedFullTile(level: number, index: number): Promise<Tile> {
    const [tile, parent] = await Promise.all([
      this.#download(level, index, TILE_WIDTH),
      this.#tile(level + 1, Math.floor(index / TILE_WIDTH)),
    ]);
    if (!tile.root().equals(parent.node(0, index % TILE_WIDTH))) {
      throw this.#corrupt(
        `tile ${level}/${index} does not hash to the node tile ${parent.level}/${parent.index} holds for it`,
      );
    }
    return tile;
  }

  /** `width` hashes of tile (level, index), unverified. */
  async #download(level: number, index: number, width: number): Promise<Tile> {
    const { bytes, full } = await this.#fetch(level, index, width, tilePath, MAX_TILE_BYTES);
    const expected = (full ? TILE_WIDTH : width) * HASH_SIZE;
    if (bytes.length !== expected)
      throw this.#corrupt(
        `tile ${tilePath(level, index, full ? TILE_WIDTH : width)} is ${bytes.length} bytes, not ${expected}`,
      );
    return Tile.fromHashes(level, index, bytes.subarray(0, width * HASH_SIZE));
  }

  /** Entry bundle `index`, each entry checked against its leaf hash in the verified level-0 tile. */
  async #bundle(index: number): Promise<Buffer[]> {
    const width = widthAt(0, index, this.checkpoint.size);
    const [{ bytes, full }, tile] = await Promise.all([
      this.#fetch(0, index, width, (_, i, w) => entriesPath(i, w), MAX_BUNDLE_BYTES),
      this.#tile(0, index),
    ]);
    let entries: Buffer[];
    try {
      entries = decodeEntryBundle(bytes);
    } catch (err) {
      throw this.#corrupt(`entry bundle ${index}: ${(err as Error).message}`, err);
    }
    const expected = full ? TILE_WIDTH : width;
    if (entries.length !== expected)
      throw this.#corrupt(
        `entry bundle ${entriesPath(index, expected)} holds ${entries.length} entries, not ${expected}`,
      );
    entries = entries.slice(0, width);
    for (const [i, entry] of entries.entries()) {
      if (!leafHash(entry).equals(tile.node(0, i)))
        throw this.#corrupt(`entry ${index * TILE_WIDTH + i} does not hash to its leaf in tile 0/${index}`);
    }
    return entries;
  }

  /** A partial resource, or the full one when the log has dropped the partial since (tlog-tiles allows it). */
  async #fetch(
    level: number,
    index: number,
    width: number,
    path: (l: number, i: number, w: number) => string,
    max: number,
  ): Promise<{ bytes: Buffer; full: boolean }> {
    const bytes = await this.#get(path(level, index, width), max);
    if (bytes) return { bytes, full: width === TILE_WIDTH };
    const full = width < TILE_WIDTH ? await this.#get(path(level, index, TILE_WIDTH), max) : undefined;
    if (full) return { bytes: full, full: true };
    throw new AirlockError(
      'E_UNAVAILABLE',
      `${this.#url}: the log does not serve ${path(level, index, width)}, which its checkpoint ` +
        `at size ${this.checkpoint.size} covers`,
      {
        hint: 'a log must serve every tile of a size it signed; it may be pruned or broken',
      },
    );
  }
}
