// The admission bench's load generator, run in a worker thread so its CPU is not taken from the server
// under test (both share the bench process; on one event loop the client's own work would cap the
// server and flatter the ratio to the floor). It plays the API server: AdmissionReview v1 Pod CREATE
// requests, one container image by digest, POSTed over a keep-alive HTTPS agent that trusts the
// webhook CA and checks the Service's DNS name. Three jobs:
//   once:   every image once, `concurrency` at a time (the warm-up pass); answers are checked
//   open:   `total` requests scheduled on the clock at `rate`/s (open loop): latency counts from the
//           scheduled send time, so a server that falls behind shows its queueing
//   closed: `clients` connections each sending the next request as soon as the last is answered
import { Agent, request } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadTarget {
  readonly port: number;
  readonly ca: string;
  readonly servername: string;
}

export type LoadJob =
  | { readonly kind: 'once'; readonly images: readonly string[]; readonly concurrency: number }
  | { readonly kind: 'open'; readonly images: readonly string[]; readonly rate: number; readonly total: number }
  | { readonly kind: 'closed'; readonly images: readonly string[]; readonly clients: number; readonly ms: number };

export interface LoadResult {
  /** Milliseconds per answered request (open: from its scheduled send time). */
  readonly latencies: number[];
  /** Requests answered with something other than 200 and allowed: true, or failed. */
  readonly errors: number;
  readonly firstError?: string;
  /** Wall time of the job, first send to last answer. */
  readonly ms: number;
  /** One answer's body, to size the floor's constant answer like the webhook's. */
  readonly sample?: string;
}

let uid = 0;

/** The review the API server sends for a Pod CREATE with one container: `bench-<i>` names the pod. */
function reviewDocument(image: string, index: number, id: string) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: id,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'team-a',
      name: `bench-${index}`,
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `bench-${index}`, namespace: 'team-a' },
        spec: { containers: [{ name: 'app', image }] },
      },
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    },
  };
}

/**
 * Each image's review as text around its uid, made once: the generator shares two CPUs with the server,
 * so what it spends per request is taken from the floor and the webhook alike (and caps the faster one).
 */
const templates = new Map<string, readonly [string, string]>();

function reviewBody(image: string, index: number): string {
  const id = `00000000-0000-4000-8000-${String(++uid).padStart(12, '0')}`;
  const key = `${index} ${image}`;
  let template = templates.get(key);
  if (!template) {
    const text = JSON.stringify(reviewDocument(image, index, '\u0000'));
    const at = text.indexOf('"\\u0000"');
    templates.set(key, (template = [text.slice(0, at + 1), text.slice(at + 7)]));
  }
  return `${template[0]}${id}${template[1]}`;
}

class Client {
  readonly #target: LoadTarget;
  readonly #agent: Agent;
  errors = 0;
  firstError: string | undefined;
  sample: string | undefined;

  constructor(target: LoadTarget, sockets: number) {
    this.#target = target;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: target.ca });
  }

  /** Posts the review of images[i % n]; resolves when answered (a failure is counted, not thrown). */
  send(images: readonly string[], i: number): Promise<void> {
    const index = i % images.length;
    const body = reviewBody(images[index] ?? '', index);
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#target.port,
          path: '/validate',
          method: 'POST',
          agent: this.#agent,
          servername: this.#target.servername,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => {
            this.#check(res.statusCode ?? 0, text);
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        this.#fail(err.message);
        resolve();
      });
      req.end(body);
    });
  }

  #check(status: number, text: string): void {
    if (status === 200 && text.includes('"allowed":true')) this.sample ??= text;
    else this.#fail(`${status} ${text.slice(0, 300)}`);
  }

  #fail(why: string): void {
    this.errors++;
    this.firstError ??= why;
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function once(client: Client, job: Extract<LoadJob, { kind: 'once' }>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < job.images.length) {
      const i = next++;
      const start = performance.now();
      await client.send(job.images, i);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  return latencies;
}

/** Sends on the clock: every request whose time has come goes out, late or not; latency from that time. */
async function open(client: Client, job: Extract<LoadJob, { kind: 'open' }>): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const interval = 1000 / job.rate;
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      for (; next < job.total && start + next * interval <= now; next++) {
        const scheduled = start + next * interval;
        pending.push(client.send(job.images, next).then(() => void latencies.push(performance.now() - scheduled)));
      }
      if (next >= job.total) return done();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  return latencies;
}

async function closed(client: Client, job: Extract<LoadJob, { kind: 'closed' }>): Promise<number[]> {
  const latencies: number[] = [];
  const deadline = performance.now() + job.ms;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      await client.send(job.images, next++);
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: job.clients }, worker));
  return latencies;
}

async function run(target: LoadTarget, job: LoadJob): Promise<LoadResult> {
  const sockets = job.kind === 'closed' ? job.clients : job.kind === 'once' ? job.concurrency : 256;
  const client = new Client(target, sockets);
  const start = performance.now();
  try {
    const latencies =
      job.kind === 'once'
        ? await once(client, job)
        : job.kind === 'open'
          ? await open(client, job)
          : await closed(client, job);
    const ms = performance.now() - start;
    return {
      latencies,
      errors: client.errors,
      ms,
      ...(client.firstError ? { firstError: client.firstError } : {}),
      ...(client.sample ? { sample: client.sample } : {}),
    };
  } finally {
    client.close();
  }
}

if (parentPort) {
  const port = parentPort;
  const target = workerData as LoadTarget;
  port.on('message', (job: LoadJob) => {
    run(target, job).then(
      (result) => port.postMessage({ result }),
      (err: unknown) => port.postMessage({ error: (err as Error).stack ?? String(err) }),
    );
  });
}
