// The admission webhook under load (issue 24's acceptance figures), against a floor measured in the
// same run. In this process: a real docker-registry on loopback holding N signed images (distinct
// digests, a key signature each), the webhook as `airlock admission serve` assembles it (AdmissionApi,
// RegistryVerifier, loadMaterial with a key-only policy and the thresholds --insecure-ignore-tlog
// gives, the real audit trail in a temp state dir, JSON-line request log to a file) over HTTPS; and
// the floor, a bare node:https server with the same certificate, key and TLS settings doing the least
// any webhook must: read the body, parse the review, answer one of the webhook's answer size carrying
// the request's uid. Both get the same warm-up pass and stay up side by side. The client
// (bench/admission-load.ts) runs in a worker thread with a keep-alive HTTPS agent trusting the webhook
// CA, posting Pod CREATE reviews with one image by digest (registry/repo@sha256:…) to /validate.
//   cold:       a fresh verifier and server (empty caches), each digest seen for the first time, offered
//               at --cold-rate/s (open loop) → p50, p99 per new digest; target p99 < 100 ms. Default 50/s:
//               on a 2-CPU machine sharing registry, server and client, first sight sustains ~65-105/s
//               (the warm-up pass prints that capacity), so 100/s measures a growing queue.
//               Runs first, so nothing (not even the process-wide signature memo) has seen a digest.
//   warm:       after a warm-up pass verified every digest: (a) --rate/s offered for --seconds (open
//               loop, latency from the scheduled send time, so queueing is not hidden) → p50, p99,
//               target p99 < 10 ms at 500/s; (b) --clients keep-alive clients closed-loop, --seconds
//               in all per server, in --rounds windows taking turns with the floor (ABBA…, so load from
//               outside the bench falls on both alike) → reviews/s, target ≥ 0.7x the floor's. Each
//               round prints its ratio, the server thread's CPU time per review (what outside load
//               barely moves: floor/webhook is the ratio a server-bound machine would show) and how busy
//               the server's and the generator's threads were (event-loop utilisation: a generator near
//               1 means the client, not the server, caps that figure). Same open loop against the floor.
//   npm run bench -- admission [--images 1000] [--rate 500] [--seconds 10] [--clients 64]
//                              [--cold-rate 50] [--rounds 4] [--cpu-profile FILE] [--quick]
//               (--quick: 100 images, 3 s windows; --cpu-profile: the server thread's profile during
//               the first webhook window, for chrome://inspect or any .cpuprofile reader)
// A warm review by digest is answered from the verdict cache without a registry round trip (before
// that, one manifest GET per review bounded the warm figures by the registry's GET rate).
// Misses a target: says MISSED and still exits 0. Without docker-registry on PATH: skipped, said so.
import { createPublicKey, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Session } from 'node:inspector/promises';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { loadMaterial, type LoadedMaterial } from '../src/admission/material-loader.ts';
import { RegistryVerifier } from '../src/admission/registry-verifier.ts';
import { generateWebhookTls, type WebhookTls } from '../src/admission/webhook-tls.ts';
import { type AuditTrail, createAuditTrail } from '../src/cli/audit-trail.ts';
import { generatePrivateKey } from '../src/crypto/generate-key.ts';
import { createKeyObjectSigner } from '../src/crypto/key-object-signer.ts';
import { publicKeyPem } from '../src/crypto/keys.ts';
import type { Signer } from '../src/crypto/signer.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { openImage } from '../src/oci/open-store.ts';
import { signImage } from '../src/oci/sign-image.ts';
import type { Descriptor, ImageStore } from '../src/oci/types.ts';
import { AdmissionApi, cacheCounter, registerAdmissionMetrics } from '../src/server/admission-server.ts';
import { type HttpsListener, listenHttps } from '../src/server/https-listener.ts';
import { Metrics } from '../src/server/metrics.ts';
import { jsonManifest, makeLayerTar, sha256 } from '../test/helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../test/helpers/registry.ts';
import type { LoadJob, LoadResult, LoadTarget } from './admission-load.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string' },
    clients: { type: 'string', default: '64' },
    'cold-rate': { type: 'string', default: '50' },
    rounds: { type: 'string', default: '4' },
    'cpu-profile': { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const imageCount = Number(values.images ?? (quick ? 100 : 1000));
const rate = Number(values.rate);
const windowMs = Number(values.seconds ?? (quick ? 3 : 10)) * 1000;
const clients = Number(values.clients);
const coldRate = Number(values['cold-rate']);
const rounds = Math.max(1, Number(values.rounds));
const REPOSITORIES = 8;
const PUSH_CONCURRENCY = 16;
const SERVICE = 'airlock-admission';
const NAMESPACE = 'airlock-system';
const TARGETS = { warmP99Ms: 10, saturationRatio: 0.7, coldP99Ms: 100 };

interface Images {
  readonly registry: TestRegistry;
  /** `127.0.0.1:PORT/bench/app-R@sha256:…`, one per distinct image. */
  readonly refs: string[];
  readonly publicPem: string;
}

/** One small layer per repository; every image differs by its config, so each has its own digest. */
async function pushImage(store: ImageStore, layer: Descriptor, diffId: string, i: number): Promise<Descriptor> {
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
      config: { Labels: { 'bench.index': String(i) } },
    }),
  );
  const config = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  await store.putBlob(config, configBytes);
  const stored = jsonManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }, OCI_MANIFEST);
  await store.putManifest(stored);
  return { mediaType: OCI_MANIFEST, digest: stored.digest, size: stored.bytes.length };
}

async function pushSignedImages(registry: TestRegistry, signer: Signer, n: number): Promise<string[]> {
  const tar = await makeLayerTar(256);
  const gz = gzipSync(tar);
  const layer = { mediaType: OCI_LAYER_TAR_GZIP, digest: sha256(gz), size: gz.length };
  const repos = Array.from({ length: REPOSITORIES }, (_, r) => `${registry.host}/bench/app-${r}`);
  const stores = await Promise.all(
    repos.map(async (repo) => (await openImage(`docker://${repo}`, 'write', { insecure: true })).store),
  );
  await Promise.all(stores.map((s) => s.putBlob(layer, gz)));
  const refs: string[] = new Array<string>(n);
  const now = new Date();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const store = stores[i % REPOSITORIES] as ImageStore;
      const manifest = await pushImage(store, layer, sha256(tar), i);
      await signImage(store, manifest, { signer, now });
      refs[i] = `${repos[i % REPOSITORIES]}@${manifest.digest}`;
    }
  };
  await Promise.all(Array.from({ length: PUSH_CONCURRENCY }, worker));
  await Promise.all(stores.map((s) => s.close()));
  return refs;
}

async function setUpImages(): Promise<Images> {
  const registry = await startRegistry();
  const key = generatePrivateKey('ecdsa-p256');
  const signer = createKeyObjectSigner(key, 'ecdsa-sha2-256-nistp256', 'release');
  const started = performance.now();
  const refs = await pushSignedImages(registry, signer, imageCount);
  const seconds = (performance.now() - started) / 1000;
  console.log(`  pushed and signed ${refs.length} images in ${seconds.toFixed(1)} s`);
  return { registry, refs, publicPem: publicKeyPem(createPublicKey(key)) };
}

/** The policy (one key-only entry over the bench repositories) and its material, as serve loads it. */
async function setUpMaterial(dir: string, images: Images): Promise<LoadedMaterial> {
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'release.pub'), images.publicPem);
  const policyPath = join(dir, 'policy.yaml');
  await writeFile(
    policyPath,
    `apiVersion: airlock/v1
kind: ImagePolicy
mode: enforce
images:
  - glob: "${images.registry.host}/bench/**"
    authorities: [{ key: keys/release.pub }]
`,
  );
  return loadMaterial({
    policyPath,
    // What --insecure-ignore-tlog gives a key-only policy (no trust root needed).
    base: { tlogThreshold: 0, ctlogThreshold: 1, timestampThreshold: 0 },
    stateDir: join(dir, 'home'),
    keyContext: { env: {}, password: () => Promise.reject(new Error('no password here')), warn: () => {} },
    now: new Date(),
  });
}

/** serve's request log: one JSON line per answered review, batched per tick, here to a file. */
function jsonLineLog(out: WriteStream): (event: Readonly<Record<string, unknown>>) => void {
  let pending: string[] = [];
  return (event) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...event })}\n`;
    if (pending.push(line) === 1)
      setImmediate(() => {
        out.write(pending.join(''));
        pending = [];
      });
  };
}

interface Webhook {
  readonly listener: HttpsListener;
  readonly metrics: Metrics;
}

/** A fresh webhook (empty verdict cache, empty decision dedup), as `admission serve` wires it. */
async function startWebhook(loaded: LoadedMaterial, audit: AuditTrail, tls: WebhookTls, log: WriteStream) {
  const metrics = new Metrics();
  registerAdmissionMetrics(metrics);
  metrics.counter('airlock_admission_cache_total', 'Verdict cache lookups by result');
  const verifier = new RegistryVerifier({
    registry: { insecure: true, authFiles: [join(homedir(), '.docker', 'config.json')] },
    material: () => loaded.material,
    policyIndex: (entry) => loaded.policy.entries.indexOf(entry),
    now: () => new Date(),
    onCache: cacheCounter(metrics),
  });
  const api = new AdmissionApi({
    state: () => ({
      policy: loaded.policy,
      verify: verifier.verify,
      known: verifier.known,
      digest: loaded.material.digest,
    }),
    ownNamespace: NAMESPACE,
    timeoutMs: 8500,
    record: audit.record,
    metrics,
    log: jsonLineLog(log),
  });
  const listener = await listenHttps(api.handler, '127.0.0.1', 0, {
    certPath: tls.paths.cert,
    keyPath: tls.paths.key,
  });
  return { listener, metrics } satisfies Webhook;
}

/**
 * The floor: node:https with the same certificate, key and TLS settings, doing the least any webhook
 * must: read the whole body, parse it as JSON, and answer an AdmissionReview of the webhook's answer
 * shape and size carrying the request's uid (the API server rejects an answer whose uid is not the
 * request's, so a constant answer would not be one). The answer around the uid is made once.
 */
async function startFloor(tls: WebhookTls, sample: string): Promise<{ server: Server; port: number }> {
  const template = JSON.parse(sample) as { response: { uid: string } };
  const marker = '\u0000uid\u0000';
  template.response.uid = marker;
  const [before = '', after = ''] = JSON.stringify(template).split(JSON.stringify(marker));
  const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: unknown } };
      const uid = review.request?.uid;
      if (typeof uid !== 'string') {
        res.writeHead(400).end();
        return;
      }
      const body = `${before}${JSON.stringify(uid)}${after}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as { port: number }).port };
}

/** A load-generator thread aimed at one server; `run` posts a job and waits for its result. */
function loadWorker(port: number, tls: WebhookTls) {
  const target: LoadTarget = { port, ca: tls.caCert, servername: `${SERVICE}.${NAMESPACE}.svc` };
  const worker = new Worker(new URL('./admission-load.ts', import.meta.url), { workerData: target });
  const run = (job: LoadJob) =>
    new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', (m: { result?: LoadResult; error?: string }) =>
        m.result ? resolve(m.result) : reject(new Error(m.error)),
      );
      worker.once('error', reject);
      worker.postMessage(job);
    }).finally(() => worker.removeAllListeners('error'));
  const elu = (since?: EventLoopUtilization) => worker.performance.eventLoopUtilization(since);
  return { run, elu, stop: () => worker.terminate() };
}

type LoadWorker = ReturnType<typeof loadWorker>;

/** One closed-loop window and how busy the threads were (1: never idle). */
interface Window {
  readonly result: LoadResult;
  readonly serverElu: number;
  readonly generatorElu: number;
  /** CPU time the server's thread took in the window (its TLS included), in microseconds. */
  readonly serverCpuUs: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) : NaN;
}

interface Row {
  readonly name: string;
  readonly offered: string;
  readonly result: LoadResult;
  /** Open loop: requests sent, for the achieved rate. */
  readonly count: number;
}

function printRows(rows: readonly Row[]): void {
  const head = `  ${'measurement'.padEnd(42)}${'offered'.padStart(12)}${'achieved/s'.padStart(12)}`;
  console.log(`${head}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}${'errors'.padStart(8)}`);
  for (const { name, offered, result, count } of rows) {
    const achieved = (count / result.ms) * 1000;
    const cells = [
      offered.padStart(12),
      achieved.toFixed(0).padStart(12),
      percentile(result.latencies, 50).toFixed(2).padStart(10),
      percentile(result.latencies, 99).toFixed(2).padStart(10),
      Math.max(...result.latencies)
        .toFixed(1)
        .padStart(10),
      String(result.errors).padStart(8),
    ];
    console.log(`  ${name.padEnd(42)}${cells.join('')}`);
    if (result.firstError) console.log(`    first error: ${result.firstError}`);
  }
}

const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

interface Figures {
  readonly cold: Row;
  readonly warmOpen: Row;
  readonly floorOpen: Row;
  readonly warmClosed: Row;
  readonly floorClosed: Row;
}

function printTargets(f: Figures): void {
  const warmP99 = percentile(f.warmOpen.result.latencies, 99);
  const floorP99 = percentile(f.floorOpen.result.latencies, 99);
  const webhookRate = (f.warmClosed.count / f.warmClosed.result.ms) * 1000;
  const floorRate = (f.floorClosed.count / f.floorClosed.result.ms) * 1000;
  const ratio = webhookRate / floorRate;
  const coldP99 = percentile(f.cold.result.latencies, 99);
  const errors = [f.cold, f.warmOpen, f.floorOpen, f.warmClosed, f.floorClosed].some((r) => r.result.errors > 0);
  console.log('\ntargets');
  console.log(
    `  warm p99 at ${rate}/s: ${warmP99.toFixed(2)} ms (floor ${floorP99.toFixed(2)} ms, ` +
      `${(warmP99 / floorP99).toFixed(2)}x) — target < ${TARGETS.warmP99Ms} ms: ` +
      verdict(warmP99 < TARGETS.warmP99Ms),
  );
  console.log(
    `  saturation, ${clients} clients: ${webhookRate.toFixed(0)} reviews/s vs floor ${floorRate.toFixed(0)}/s = ` +
      `${ratio.toFixed(2)}x — target ≥ ${TARGETS.saturationRatio}x: ${verdict(ratio >= TARGETS.saturationRatio)}`,
  );
  console.log(
    `  cold p99 per new digest at ${coldRate}/s: ${coldP99.toFixed(1)} ms — target < ${TARGETS.coldP99Ms} ms: ` +
      verdict(coldP99 < TARGETS.coldP99Ms),
  );
  if (errors) console.log('  ERRORS: some reviews were not answered 200 allowed: the figures above are suspect');
}

interface Stage {
  readonly tls: WebhookTls;
  readonly loaded: LoadedMaterial;
  readonly audit: AuditTrail;
  readonly log: WriteStream;
  readonly refs: readonly string[];
}

/** A fresh webhook, every digest for the first time, offered on the clock at the cold rate. */
async function measureCold(s: Stage): Promise<Row> {
  const webhook = await startWebhook(s.loaded, s.audit, s.tls, s.log);
  const load = loadWorker(webhook.listener.port, s.tls);
  try {
    const result = await load.run({ kind: 'open', images: s.refs, rate: coldRate, total: s.refs.length });
    const name = `cold: webhook, first sight of each digest`;
    return { name, offered: `${coldRate}/s`, result, count: s.refs.length };
  } finally {
    await load.stop();
    await webhook.listener.close();
  }
}

/** The closed loop on one server for `ms`, with how busy the server's and the generator's threads were. */
async function closedWindow(s: Stage, load: LoadWorker, ms: number, profile?: string): Promise<Window> {
  const server = performance.eventLoopUtilization();
  const generator = load.elu();
  const session = profile ? await startProfile() : undefined;
  const cpu = process.threadCpuUsage();
  const result = await load.run({ kind: 'closed', images: s.refs, clients, ms });
  const used = process.threadCpuUsage(cpu);
  if (session && profile) await stopProfile(session, profile);
  return {
    result,
    serverElu: performance.eventLoopUtilization(server).utilization,
    generatorElu: load.elu(generator).utilization,
    serverCpuUs: used.user + used.system,
  };
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  await writeFile(file, JSON.stringify(profile));
  session.disconnect();
  console.log(`  CPU profile of the server thread in the first webhook window: ${file}`);
}

/** Windows of one server added up: every answer, the summed wall time, the first error. */
function merged(windows: readonly Window[]): LoadResult {
  const firstError = windows.find((w) => w.result.firstError)?.result.firstError;
  return {
    latencies: windows.flatMap((w) => w.result.latencies),
    errors: windows.reduce((n, w) => n + w.result.errors, 0),
    ms: windows.reduce((n, w) => n + w.result.ms, 0),
    ...(firstError ? { firstError } : {}),
  };
}

const rateOf = (w: Window) => (w.result.latencies.length / w.result.ms) * 1000;

/** The server thread's CPU time per answered review over some windows, in microseconds. */
const cpuPerReview = (windows: readonly Window[]) =>
  windows.reduce((n, w) => n + w.serverCpuUs, 0) / windows.reduce((n, w) => n + w.result.latencies.length, 0);

/**
 * Saturation, webhook and floor taking turns (ABBA…) in `rounds` windows each, so load from outside
 * the bench (other processes on a shared machine) falls on both alike; each round's ratio is printed.
 */
async function saturation(s: Stage, webhook: LoadWorker, floor: LoadWorker) {
  const ms = windowMs / rounds;
  const mine: Window[] = [];
  const bare: Window[] = [];
  for (let round = 0; round < rounds; round++) {
    const profile = round === 0 ? values['cpu-profile'] : undefined;
    if (round % 2 === 0) {
      mine.push(await closedWindow(s, webhook, ms, profile));
      bare.push(await closedWindow(s, floor, ms));
    } else {
      bare.push(await closedWindow(s, floor, ms));
      mine.push(await closedWindow(s, webhook, ms));
    }
    const [w, f] = [mine[round] as Window, bare[round] as Window];
    const side = (x: Window) =>
      `${rateOf(x).toFixed(0)}/s (server ${cpuPerReview([x]).toFixed(0)} µs CPU per review, ` +
      `ELU ${x.serverElu.toFixed(2)}; generator ELU ${x.generatorElu.toFixed(2)})`;
    console.log(
      `  saturation round ${round + 1}: webhook ${side(w)}, floor ${side(f)}: ${(rateOf(w) / rateOf(f)).toFixed(2)}x`,
    );
  }
  const [webhookCpu, floorCpu] = [cpuPerReview(mine), cpuPerReview(bare)];
  console.log(
    `  server CPU per review, all rounds: webhook ${webhookCpu.toFixed(0)} µs, floor ${floorCpu.toFixed(0)} µs ` +
      `(floor/webhook ${(floorCpu / webhookCpu).toFixed(2)}x: the ratio a server-bound machine would show, ` +
      'whatever else runs on it)',
  );
  const row = (who: string, windows: readonly Window[]): Row => {
    const result = merged(windows);
    const name = `warm: ${who}, ${clients} clients closed loop`;
    return { name, offered: 'saturate', result, count: result.latencies.length };
  };
  return { warmClosed: row('webhook', mine), floorClosed: row('floor', bare) };
}

async function openLoop(s: Stage, load: LoadWorker, who: string): Promise<Row> {
  const total = Math.round((rate * windowMs) / 1000);
  const result = await load.run({ kind: 'open', images: s.refs, rate, total });
  return { name: `warm: ${who}, open loop`, offered: `${rate}/s`, result, count: total };
}

async function measureAll(s: Stage): Promise<Figures> {
  const cold = await measureCold(s);
  const webhook = await startWebhook(s.loaded, s.audit, s.tls, s.log);
  const load = loadWorker(webhook.listener.port, s.tls);
  const warmUp = await load.run({ kind: 'once', images: s.refs, concurrency: 16 });
  if (warmUp.errors > 0) throw new Error(`the warm-up pass failed ${warmUp.errors} reviews: ${warmUp.firstError}`);
  const capacity = (s.refs.length / warmUp.ms) * 1000;
  console.log(
    `  warm-up: ${s.refs.length} first-sight reviews, 16 at a time: ${capacity.toFixed(0)}/s (cold capacity)`,
  );
  // The floor gets the same warm-up pass (its code made hot, like the webhook's), then both stay up.
  const floor = await startFloor(s.tls, warmUp.sample ?? '');
  const floorLoad = loadWorker(floor.port, s.tls);
  const floorWarmUp = await floorLoad.run({ kind: 'once', images: s.refs, concurrency: 16 });
  if (floorWarmUp.errors > 0) throw new Error(`the floor's warm-up failed: ${floorWarmUp.firstError}`);
  try {
    const warmOpen = await openLoop(s, load, 'webhook');
    const floorOpen = await openLoop(s, floorLoad, 'floor');
    return { cold, warmOpen, floorOpen, ...(await saturation(s, load, floorLoad)) };
  } finally {
    await load.stop();
    await floorLoad.stop();
    await webhook.listener.close();
    floor.server.close();
    floor.server.closeAllConnections();
  }
}

async function main(): Promise<void> {
  const unavailable = registryAvailable();
  if (unavailable) return console.log(`admission bench skipped: ${unavailable}`);
  const dir = await mkdtemp(join(tmpdir(), 'airlock-admission-bench-'));
  let images: Images | undefined;
  console.log(`admission webhook bench: ${imageCount} signed images, ${cpus().length} CPUs`);
  try {
    images = await setUpImages();
    const loaded = await setUpMaterial(dir, images);
    const tls = await generateWebhookTls({
      openssl: 'openssl',
      dir: join(dir, 'tls'),
      service: SERVICE,
      namespace: NAMESPACE,
      overwrite: false,
    });
    const audit = createAuditTrail({
      stateDir: join(dir, 'home'),
      env: {},
      now: () => new Date(),
      randomId: randomUUID,
      loadSigner: () => Promise.reject(new Error('no audit key in the bench')),
    });
    await audit.ready();
    const log = createWriteStream(join(dir, 'serve.log'));
    const figures = await measureAll({ tls, loaded, audit, log, refs: images.refs });
    await audit.finish(undefined, {});
    log.end();
    console.log(`\nadmission /validate, Pod CREATE with one image by digest, ${imageCount} distinct digests`);
    console.log(
      '  (floor: bare node:https, same certificate, TLS settings and client; parses each review and answers ' +
        "one of the webhook's answer size with the request's uid)",
    );
    printRows([figures.cold, figures.warmOpen, figures.floorOpen, figures.warmClosed, figures.floorClosed]);
    printTargets(figures);
  } finally {
    await images?.registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
