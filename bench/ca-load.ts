// The CA bench's load generator, in a worker thread so its CPU (TLS, request writing, answer reading)
// is not taken from the server's event loop, which shares the bench process: on one thread the
// client's own work would cap the CA and understate it. It plays signing clients: POST
// /api/v2/signingCert over keep-alive HTTPS agents that trust the serving certificate's CA and check
// its DNS name, `clients` at a time, each sending its next request as soon as the last is answered
// (closed loop). The request bodies are made by the bench before the worker starts (keys, proofs of
// possession and tokens cost more than sending them) and cycled, so the timed window holds sending only.
import { Agent, request } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';

export interface CaLoadTarget {
  readonly port: number;
  /** The PEM of the CA that signed the serving certificate. */
  readonly ca: string;
  readonly servername: string;
  /** CreateSigningCertificateRequest bodies, cycled. */
  readonly bodies: readonly string[];
}

export interface CaLoadJob {
  readonly clients: number;
  readonly ms: number;
}

export interface CaLoadResult {
  /** Milliseconds per certificate answered (200 with a leaf and its chain). */
  readonly latencies: number[];
  /** Requests answered otherwise, or failed. */
  readonly errors: number;
  readonly firstError?: string;
  /** Wall time of the job, first send to last answer. */
  readonly ms: number;
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';

/** A 200 whose body holds the leaf and at least one CA certificate; JSON not parsed (that is client CPU). */
function isChain(status: number, text: string): boolean {
  const first = text.indexOf(PEM_BEGIN);
  return status === 200 && first >= 0 && text.includes('"certificates"') && text.indexOf(PEM_BEGIN, first + 1) > 0;
}

class Client {
  readonly #target: CaLoadTarget;
  readonly #agent: Agent;
  #next = 0;
  errors = 0;
  firstError: string | undefined;

  constructor(target: CaLoadTarget, sockets: number) {
    this.#target = target;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: target.ca });
  }

  /** Posts the next body; resolves true when it was answered with a chain (a failure is counted, not thrown). */
  send(): Promise<boolean> {
    const { bodies, port, servername } = this.#target;
    const body = bodies[this.#next++ % bodies.length] ?? '';
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v2/signingCert',
          method: 'POST',
          agent: this.#agent,
          servername,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => {
            const ok = isChain(res.statusCode ?? 0, text);
            if (!ok) this.#fail(`${res.statusCode} ${text.slice(0, 300)}`);
            resolve(ok);
          });
        },
      );
      req.on('error', (err) => {
        this.#fail(err.message);
        resolve(false);
      });
      req.end(body);
    });
  }

  #fail(why: string): void {
    this.errors++;
    this.firstError ??= why;
  }

  close(): void {
    this.#agent.destroy();
  }
}

async function closedLoop(target: CaLoadTarget, job: CaLoadJob): Promise<CaLoadResult> {
  const client = new Client(target, job.clients);
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + job.ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      if (await client.send()) latencies.push(performance.now() - sent);
    }
  };
  try {
    await Promise.all(Array.from({ length: job.clients }, loop));
    const ms = performance.now() - start;
    return { latencies, errors: client.errors, ms, ...(client.firstError ? { firstError: client.firstError } : {}) };
  } finally {
    client.close();
  }
}

if (parentPort) {
  const port = parentPort;
  const target = workerData as CaLoadTarget;
  port.on('message', (job: CaLoadJob) => {
    closedLoop(target, job).then(
      (result) => port.postMessage({ result }),
      (err: unknown) => port.postMessage({ error: (err as Error).stack ?? String(err) }),
    );
  });
}
