// A concurrent Rekor v2 write load for crash tests. Writers post distinct, valid hashedrekord entries
// to whichever log process is up, wait while none is, and record every answer. Only a 201 or 409
// carrying an entry is an acknowledgement: a request that errored or got no answer leaves its entry
// unacknowledged (it may or may not be in the log), and some of those are posted again later, as a
// client retrying after a crash would.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { toCreateEntryRequest } from '../../src/log/rekor-request.ts';
import type { TransparencyLogEntryJSON } from '../../src/log/rekor-response.ts';

export interface Ack {
  readonly id: number;
  readonly status: 201 | 409;
  readonly index: number;
  /** X-Log-Index, which a 409 must carry. */
  readonly indexHeader: string | null;
  readonly body: Buffer;
  readonly checkpoint: string;
  readonly treeSize: number;
  readonly proof: readonly Buffer[];
  /** The entry had been posted before without an acknowledgement. */
  readonly retry: boolean;
  readonly round: number;
}

/** Any other HTTP answer: under this load the log should never give one. */
export interface Refusal {
  readonly id: number;
  readonly status: number;
  readonly text: string;
  readonly round: number;
}

/**
 * Entry `id` is a signature over "<label> entry <id>" by one P-256 key: distinct, valid, and recognisable in the log.
 */
export class EntrySource {
  readonly #label: string;
  readonly #key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly #ids = new Map<string, number>();
  readonly #requests = new Map<number, string>();

  constructor(label: string) {
    this.#label = label;
  }

  digest(id: number): Buffer {
    const digest = createHash('sha256').update(`${this.#label} entry ${id}`).digest();
    this.#ids.set(digest.toString('base64'), id);
    return digest;
  }

  /**
   * The same bytes on every call: ECDSA signatures are randomised, and a re-signed entry is another entry to the log.
   */
  request(id: number): string {
    let request = this.#requests.get(id);
    if (request === undefined) {
      const signature = sign('sha256', Buffer.from(`${this.#label} entry ${id}`), this.#key.privateKey);
      request = JSON.stringify(
        toCreateEntryRequest({ digest: this.digest(id), signature, verifier: this.#key.publicKey }),
      );
      this.#requests.set(id, request);
    }
    return request;
  }

  /** Which entry a logged body is (by its digest), if one of ours. */
  idOf(body: Uint8Array): number | undefined {
    try {
      const digest = (
        JSON.parse(Buffer.from(body).toString('utf8')) as {
          spec?: { hashedRekordV002?: { data?: { digest?: string } } };
        }
      ).spec?.hashedRekordV002?.data?.digest;
      return digest === undefined ? undefined : this.#ids.get(digest);
    } catch {
      return undefined;
    }
  }
}

export class WriteLoad {
  readonly acks: Ack[] = [];
  readonly refusals: Refusal[] = [];
  /** Every distinct checkpoint GET /checkpoint returned. */
  readonly polledCheckpoints = new Set<string>();
  /** Requests sent and not yet answered or failed. */
  inFlight = 0;
  round = 0;
  readonly #entries: EntrySource;
  readonly #random: () => number;
  readonly #writers: number;
  readonly #retryShare: number;
  readonly #unacked = new Set<number>();
  #next = 0;
  #url: Promise<string | undefined> = Promise.resolve(undefined);
  #open: ((url: string | undefined) => void) | undefined;
  #stopping = false;
  #loops: Array<Promise<void>> = [];

  constructor(entries: EntrySource, random: () => number, options: { writers: number; retryShare: number }) {
    this.#entries = entries;
    this.#random = random;
    this.#writers = options.writers;
    this.#retryShare = options.retryShare;
    this.down();
  }

  /** Entries created so far (ids 0..posted-1). */
  get posted(): number {
    return this.#next;
  }

  get unacked(): ReadonlySet<number> {
    return this.#unacked;
  }

  /** Points the writers at a serving log. */
  up(url: string): void {
    this.#open?.(url);
    this.#open = undefined;
    this.#url = Promise.resolve(url);
  }

  /** Holds new requests back; call it before killing the log, so writers do not spin on refused connections. */
  down(): void {
    if (!this.#open) this.#url = new Promise((resolve) => (this.#open = resolve));
  }

  start(): void {
    this.#loops = [...Array.from({ length: this.#writers }, () => this.#writer()), this.#poller()];
  }

  /** Lets each writer finish the request it has in flight. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#open?.(undefined);
    await Promise.all(this.#loops);
  }

  /** Posts every unacknowledged entry again (load stopped, a log up); returns those still unacknowledged. */
  async retryUnacked(url: string): Promise<number[]> {
    const ids = [...this.#unacked];
    this.#unacked.clear();
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) await this.#post(url, id, true);
    };
    await Promise.all(Array.from({ length: this.#writers }, worker));
    return [...this.#unacked];
  }

  async #writer(): Promise<void> {
    for (;;) {
      const url = await this.#url;
      if (this.#stopping || url === undefined) return;
      const retry = this.#unacked.size > 0 && this.#random() < this.#retryShare;
      const id = retry ? this.#takeUnacked() : this.#next++;
      await this.#post(url, id, retry);
    }
  }

  #takeUnacked(): number {
    const ids = [...this.#unacked];
    const id = ids[Math.floor(this.#random() * ids.length)] as number;
    this.#unacked.delete(id);
    return id;
  }

  async #post(url: string, id: number, retry: boolean): Promise<void> {
    const round = this.round;
    const body = this.#entries.request(id);
    this.inFlight++;
    let status: number;
    let text: string;
    let indexHeader: string | null;
    try {
      const res = await fetch(`${url}/api/v2/log/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(60_000),
      });
      status = res.status;
      indexHeader = res.headers.get('x-log-index');
      text = await res.text();
    } catch {
      // No (whole) answer: the log may or may not hold it.
      this.#unacked.add(id);
      return;
    } finally {
      this.inFlight--;
    }
    if (status !== 201 && status !== 409) {
      this.refusals.push({ id, status, text: text.slice(0, 300), round });
      this.#unacked.add(id);
      return;
    }
    let tle: TransparencyLogEntryJSON;
    try {
      tle = JSON.parse(text) as TransparencyLogEntryJSON;
    } catch {
      this.refusals.push({ id, status, text: `not a TransparencyLogEntry: ${text.slice(0, 300)}`, round });
      return;
    }
    this.acks.push({
      id,
      status,
      index: Number(tle.logIndex),
      indexHeader,
      body: Buffer.from(tle.canonicalizedBody, 'base64'),
      checkpoint: tle.inclusionProof.checkpoint.envelope,
      treeSize: Number(tle.inclusionProof.treeSize),
      proof: tle.inclusionProof.hashes.map((h) => Buffer.from(h, 'base64')),
      retry,
      round,
    });
  }

  async #poller(): Promise<void> {
    for (;;) {
      const url = await this.#url;
      if (this.#stopping || url === undefined) return;
      try {
        const res = await fetch(`${url}/checkpoint`, { signal: AbortSignal.timeout(60_000) });
        const text = await res.text();
        if (res.ok) this.polledCheckpoints.add(text);
      } catch {
        // the log went down under us: the next one is polled once up
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The acknowledgement a 201/409 answer's TransparencyLogEntry carries (throws if the body is not one). */
export function ackOf(
  id: number,
  answer: { readonly status: 201 | 409; readonly indexHeader: string | null; readonly text: string },
  context: { readonly retry: boolean; readonly round: number },
): Ack {
  const tle = JSON.parse(answer.text) as TransparencyLogEntryJSON;
  return {
    id,
    status: answer.status,
    index: Number(tle.logIndex),
    indexHeader: answer.indexHeader,
    body: Buffer.from(tle.canonicalizedBody, 'base64'),
    checkpoint: tle.inclusionProof.checkpoint.envelope,
    treeSize: Number(tle.inclusionProof.treeSize),
    proof: tle.inclusionProof.hashes.map((h) => Buffer.from(h, 'base64')),
    ...context,
  };
}
