// Prometheus text exposition (format 0.0.4) for the few series the log serves: counters, gauges and
// fixed-bucket histograms, labels included. Small enough not to need a client library.

type Labels = Readonly<Record<string, string>>;
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
};

/** A series' identity: cheaper than its exposition text, which is made only when scraped. */
function seriesKey(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
}

class Series<V> {
  readonly values = new Map<string, { labels: Labels; value: V }>();
  get(labels: Labels, init: () => V): V {
    const key = seriesKey(labels);
    let entry = this.values.get(key);
    if (!entry) this.values.set(key, (entry = { labels, value: init() }));
    return entry.value;
  }
}

type Histogram = { counts: number[]; sum: number; count: number };

const newHistogram = (buckets: readonly number[]): Histogram => ({ counts: buckets.map(() => 0), sum: 0, count: 0 });

function observeInto(h: Histogram, buckets: readonly number[], value: number): void {
  for (let i = 0; i < buckets.length; i++) if (value <= (buckets[i] as number)) h.counts[i] = (h.counts[i] ?? 0) + 1;
  h.sum += value;
  h.count++;
}

export class Metrics {
  readonly #help = new Map<
    string,
    { type: 'counter' | 'gauge' | 'histogram'; help: string; buckets?: readonly number[] }
  >();
  readonly #counters = new Map<string, Series<{ n: number }>>();
  readonly #gauges = new Map<string, () => number | readonly { labels: Labels; value: number }[]>();
  readonly #histograms = new Map<string, Series<Histogram>>();

  counter(name: string, help: string): void {
    this.#help.set(name, { type: 'counter', help });
    this.#counters.set(name, new Series());
  }

  /** A gauge read when scraped: one value, or one per label set (one series per trust root, say). */
  gauge(name: string, help: string, read: () => number | readonly { labels: Labels; value: number }[]): void {
    this.#help.set(name, { type: 'gauge', help });
    this.#gauges.set(name, read);
  }

  histogram(name: string, help: string, buckets: readonly number[]): void {
    this.#help.set(name, { type: 'histogram', help, buckets });
    this.#histograms.set(name, new Series());
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const series = this.#counters.get(name);
    if (series) series.get(labels, () => ({ n: 0 })).n += by;
  }

  observe(name: string, value: number, labels: Labels = {}): void {
    const series = this.#histograms.get(name);
    const buckets = this.#help.get(name)?.buckets ?? [];
    if (series)
      observeInto(
        series.get(labels, () => newHistogram(buckets)),
        buckets,
        value,
      );
  }

  /**
   * `inc` of one series with its labels resolved once, at the first count (a series shows once counted):
   * a hot path counts without building the series' key each time.
   */
  counting(name: string, labels: Labels = {}): (by?: number) => void {
    let cell: { n: number } | undefined;
    return (by = 1) => {
      cell ??= this.#counters.get(name)?.get(labels, () => ({ n: 0 })) ?? { n: 0 };
      cell.n += by;
    };
  }

  /** `observe` of one series, resolved once like `counting`. */
  observing(name: string, labels: Labels = {}): (value: number) => void {
    let h: Histogram | undefined;
    let buckets: readonly number[] = [];
    return (value) => {
      if (!h) {
        buckets = this.#help.get(name)?.buckets ?? [];
        h = this.#histograms.get(name)?.get(labels, () => newHistogram(buckets)) ?? newHistogram(buckets);
      }
      observeInto(h, buckets, value);
    };
  }

  render(): string {
    const out: string[] = [];
    for (const [name, { type, help, buckets }] of this.#help) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      if (type === 'counter')
        for (const { labels, value } of this.#counters.get(name)?.values.values() ?? [])
          out.push(`${name}${labelText(labels)} ${value.n}`);
      if (type === 'gauge') {
        const read = this.#gauges.get(name)?.() ?? 0;
        if (typeof read === 'number') out.push(`${name} ${read}`);
        else for (const { labels, value } of read) out.push(`${name}${labelText(labels)} ${value}`);
      }
      if (type === 'histogram') {
        for (const { labels, value } of this.#histograms.get(name)?.values.values() ?? []) {
          for (const [i, le] of (buckets ?? []).entries())
            out.push(`${name}_bucket${labelText({ ...labels, le: String(le) })} ${value.counts[i]}`);
          out.push(
            `${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${value.count}`,
            `${name}_sum${labelText(labels)} ${value.sum}`,
            `${name}_count${labelText(labels)} ${value.count}`,
          );
        }
      }
    }
    return `${out.join('\n')}\n`;
  }
}

/** Buckets for answers that take milliseconds: 1 ms to 1 s. */
export const MILLISECOND_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The request count every airlock server exposes: `airlock_http_requests_total{route,status}`. */
export function countHttpRequests(metrics: Metrics): void {
  metrics.counter('airlock_http_requests_total', 'HTTP requests by route and status.');
}
