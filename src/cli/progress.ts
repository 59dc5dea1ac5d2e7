// Progress lines with totals, the same for every command that moves bytes (copy, pack, import):
// "12.3 MiB of 512.0 MiB (2%) · 3 of 9 blobs · 1 of 2 images".
import type { ProgressSink, TransferProgress } from '../transfer/progress.ts';
import type { CommandContext } from './command.ts';

export interface ProgressCounter {
  readonly done: number;
  readonly total: number;
  /** 'bytes' is shown in KiB/MiB/GiB; any other unit is a plural noun: 'blobs', 'images', 'files'. */
  readonly unit: string;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 → "1.5 KiB": one decimal from KiB up. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function formatCounter({ done, total, unit }: ProgressCounter): string {
  if (unit !== 'bytes') return `${done} of ${total} ${unit}`;
  const percent = total > 0 ? ` (${Math.floor((100 * done) / total)}%)` : '';
  return `${formatBytes(done)} of ${formatBytes(total)}${percent}`;
}

/** The counters as one line, in the order given. */
export function formatProgress(...counters: readonly ProgressCounter[]): string {
  return counters.map(formatCounter).join(' · ');
}

/**
 * Calls `render` at most once per `intervalMs` (a terminal redrawn for every 64 KiB piece flickers and
 * costs time); `flush` renders the last call made, if it was held back.
 */
export function throttled<T>(
  render: (value: T) => void,
  intervalMs = 100,
  now: () => number = () => performance.now(),
): { (value: T): void; flush(): void } {
  let last = Number.NEGATIVE_INFINITY;
  let held: { value: T } | undefined;
  const call = (value: T): void => {
    const t = now();
    if (t - last < intervalMs) {
      held = { value };
      return;
    }
    last = t;
    held = undefined;
    render(value);
  };
  call.flush = () => {
    if (held) render(held.value);
    held = undefined;
  };
  return call;
}

/** A pack or import progress report as one line: "copying oci:app:1.0: 12.0 MiB of 40.0 MiB (30%) · 1 of 3 images". */
export function transferProgressLine(p: {
  readonly step: string;
  readonly bytes?: { done: number; total: number };
  readonly images?: { done: number; total: number };
  readonly blobs?: { done: number; total: number };
}): string {
  const counters: ProgressCounter[] = [];
  if (p.bytes) counters.push({ ...p.bytes, unit: 'bytes' });
  if (p.blobs) counters.push({ ...p.blobs, unit: 'blobs' });
  if (p.images && p.images.total > 1) counters.push({ ...p.images, unit: 'images' });
  return counters.length ? `${p.step}: ${formatProgress(...counters)}` : p.step;
}

/** pack's and import's progress, with totals, on a terminal only (counting costs a little; a script reads
 * the result). */
export function transferProgressOption(ctx: CommandContext): { onProgress?: ProgressSink } {
  if (!ctx.out.showsProgress) return {};
  const render = throttled((p: TransferProgress) => ctx.out.progress(transferProgressLine(p)));
  return { onProgress: render };
}
