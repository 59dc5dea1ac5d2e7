// Shared bench plumbing: timing, median-of-N, throughput formatting, and the "figure next to its
// baseline" report every bench prints. Benches compare in the same run because machines are noisy;
// the ratio is the figure to quote.
import { spawn } from 'node:child_process';

export interface Sample {
  readonly name: string;
  readonly seconds: number[];
}

export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs each contender `rounds` times, interleaved so drift hits them all alike. */
export async function compare(
  contenders: ReadonlyArray<{
    name: string;
    run: () => Promise<unknown>;
    /** Untimed, after each run. */ cleanup?: () => Promise<unknown>;
  }>,
  rounds: number,
): Promise<Sample[]> {
  const samples = contenders.map((c) => ({ name: c.name, seconds: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      samples[i]?.seconds.push(await time(c.run));
      await c.cleanup?.();
    }
  }
  return samples;
}

/** Runs a program, resolving when it exits 0 (stdout discarded unless asked for). */
export function exec(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}: ${err}`))));
  });
}

export function formatRate(value: number, unit: string): string {
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(2)} ${unit}`;
}

/** Prints a table: each contender's median and rate, and its ratio to the subject (first row). */
export function report(
  title: string,
  samples: readonly Sample[],
  rate: (seconds: number) => number,
  unit: string,
): Record<string, number> {
  const subject = samples[0];
  if (!subject) return {};
  const subjectRate = rate(median(subject.seconds));
  console.log(`\n${title}`);
  const figures: Record<string, number> = {};
  for (const s of samples) {
    const m = median(s.seconds);
    const r = rate(m);
    figures[s.name] = r;
    const ratio = s === subject ? '' : `  airlock/this = ${(subjectRate / r).toFixed(2)}x`;
    // The spread shows how noisy the run was: a ratio is only as good as the rounds behind it.
    const spread =
      s.seconds.length > 1 ? `  (${Math.min(...s.seconds).toFixed(2)}–${Math.max(...s.seconds).toFixed(2)} s)` : '';
    console.log(
      `  ${s.name.padEnd(34)} median ${m.toFixed(3)} s   ${formatRate(r, unit).padStart(14)}${ratio}${spread}`,
    );
  }
  return figures;
}
