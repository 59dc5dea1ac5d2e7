// Serving gzip'd entry bundles (GET /tile/entries/N with Accept-Encoding: gzip), as `log serve` does now
// — CompressedCache: compressed once on the thread pool, kept — against what it did before, gzipSync on
// the serving thread for every request, and against async gzip without the cache. Same run, same
// bundles of real hashedrekord entries (P-256), requests spread over a working set of recent bundles
// as mirrors and monitors read them, a few in flight at once. Two figures: requests/s, and the time
// the serving thread is busy per request (event-loop utilization), which is what stalls appends.
//   npm run bench -- entry-bundles [--requests 2000] [--bundles 8] [--concurrency 16] [--rounds 5]
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { parseCreateEntryRequest, toCreateEntryRequest } from '../src/log/rekor-request.ts';
import { encodeEntryBundle, TILE_WIDTH } from '../src/log/tiles.ts';
import { CompressedCache } from '../src/server/compressed-cache.ts';
import { median, report, type Sample } from './harness.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    bundles: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '5' },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
function bundle(n: number): Buffer {
  const entries = Array.from({ length: TILE_WIDTH }, (_, i) => {
    const artifact = Buffer.from(`artifact ${n}/${i}`);
    const digest = createHash('sha256').update(artifact).digest();
    return parseCreateEntryRequest(
      toCreateEntryRequest({ digest, signature: sign('sha256', artifact, privateKey), verifier: publicKey }),
    ).body;
  });
  return encodeEntryBundle(entries);
}
const bundles = Array.from({ length: Number(values.bundles) }, (_, n) => bundle(n));
const gzipAsync = promisify(gzip);

type Serve = (index: number) => Promise<Buffer> | Buffer;

/**
 * `requests` requests over the working set, `concurrency` at a time; returns seconds and serving-thread ms per request.
 */
async function run(serve: Serve): Promise<{ seconds: number; busyMs: number }> {
  const before = performance.eventLoopUtilization();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests; i = next++) {
        const body = await serve(i % bundles.length);
        if (body.length === 0) throw new Error('empty answer');
        await new Promise((resolve) => setImmediate(resolve)); // the response write: one turn
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const elu = performance.eventLoopUtilization(before);
  return { seconds, busyMs: elu.active / requests };
}

const contenders: Array<{ name: string; fresh: () => Serve }> = [
  {
    name: 'CompressedCache (log serve now)',
    fresh: () => {
      const cache = new CompressedCache(32 * 1024 * 1024);
      return (i) => cache.gzip(`${i}.p256`, bundles[i] as Buffer);
    },
  },
  { name: 'gzipSync per request (before)', fresh: () => (i) => gzipSync(bundles[i] as Buffer) },
  { name: 'async gzip per request, no cache', fresh: () => (i) => gzipAsync(bundles[i] as Buffer) },
];

const samples: Sample[] = contenders.map((c) => ({ name: c.name, seconds: [] }));
const busy: number[][] = contenders.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, c] of contenders.entries()) {
    const { seconds, busyMs } = await run(c.fresh());
    samples[i]?.seconds.push(seconds);
    busy[i]?.push(busyMs);
  }
}
const raw = bundles[0]?.length ?? 0;
report(
  `gzip'd entry bundles: ${requests} requests over ${bundles.length} full bundles ` +
    `(${(raw / 1024).toFixed(0)} KiB each, ` +
    `${(gzipSync(bundles[0] as Buffer).length / 1024).toFixed(0)} KiB gzip'd), ${concurrency} in ` +
    `flight, median of ${rounds} rounds`,
  samples,
  (s) => requests / s,
  'requests/s',
);
console.log('\nServing-thread time per request (event-loop utilization; what stalls appends meanwhile):');
for (const [i, c] of contenders.entries()) console.log(`  ${c.name.padEnd(34)} ${median(busy[i] ?? []).toFixed(3)} ms`);
