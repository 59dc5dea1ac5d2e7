// The one bounded memo: a Map that forgets its oldest entries once past a bound. Signature checks,
// certificate chains, parsed log verifiers, log tiles and compressed entry bundles are each remembered
// in one; before, each of those kept its own copy of the eviction. "Oldest" is either by insertion
// (`order: 'insertion'`: a read changes nothing) or by use (`order: 'use'`: a read makes the entry the
// newest, so the least recently used goes first). The bound counts entries, or what `weigh` says each
// value takes (bytes, say). It rests on a Map's own order: an entry set goes last, deleting is O(1).
// Values are never undefined: get() answers undefined for "not kept".

export interface BoundedMapOptions<V> {
  /** What forgets first: the oldest set ('insertion'), or the least recently read or set ('use', the default). */
  readonly order?: 'insertion' | 'use';
  /** How much of the bound a value takes (1 unless given); it must not change while the value is kept. */
  readonly weigh?: (value: V) => number;
}

const one = (): number => 1;

export class BoundedMap<K, V> {
  /** The bound: the number of entries kept at most, or their total weight with `weigh`. */
  readonly limit: number;
  readonly #entries = new Map<K, V>();
  readonly #byUse: boolean;
  readonly #weigh: (value: V) => number;
  #weight = 0;

  constructor(limit: number, options: BoundedMapOptions<V> = {}) {
    this.limit = limit;
    this.#byUse = (options.order ?? 'use') === 'use';
    this.#weigh = options.weigh ?? one;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The total weight kept: the number of entries without `weigh`. */
  get weight(): number {
    return this.#weight;
  }

  /** Whether `key` is kept; it never changes which entry goes first. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** The value kept for `key`; ordered by use, the entry becomes the newest. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined && this.#byUse) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  /**
   * Keeps `value` for `key` as the newest entry (replacing one kept before), then forgets the oldest
   * entries until the bound holds again. A value that alone weighs more than the bound is not kept, and
   * nothing else is forgotten for it.
   */
  set(key: K, value: V): this {
    this.delete(key);
    const weight = this.#weigh(value);
    if (!(weight <= this.limit)) return this;
    this.#entries.set(key, value);
    this.#weight += weight;
    if (this.#weight > this.limit) this.#forgetOldest();
    return this;
  }

  delete(key: K): boolean {
    if (!this.#entries.has(key)) return false;
    this.#weight -= this.#weigh(this.#entries.get(key) as V);
    this.#entries.delete(key);
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#weight = 0;
  }

  #forgetOldest(): void {
    for (const [key, value] of this.#entries) {
      if (this.#weight <= this.limit) return;
      this.#entries.delete(key);
      this.#weight -= this.#weigh(value);
    }
  }
}
