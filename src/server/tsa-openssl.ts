// The signing half of `airlock tsa serve`: each RFC 3161 query answered by `openssl ts -reply`, so the
// TimeStampResp (TSTInfo, ESS signing-certificate attribute, CMS signature) is OpenSSL's, not ours.
//
// OpenSSL 3.0's `ts -reply` reads the query from a file only (-queryfile; no stdin form) and keeps the
// next serial number in a file it rewrites in place, so concurrent replies sharing one serial file
// could issue the same serial. Each reply therefore runs in its own folder with its own serial file
// holding a random 127-bit number: RFC 3161 §2.4.2 wants serials unique per TSA, up to 160 bits, and
// random ones are unique without shared state (as Sigstore's timestamp-authority does). The config,
// signer and chain live in a private (0700) folder removed on close; the key stays where the operator
// keeps it and is named to openssl by path, never copied.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../tools/external.ts';
import { serialFileText } from '../tools/tsa-certificate.ts';

export interface OpensslTimestamperOptions {
  /** The openssl executable (found on PATH by the caller). */
  readonly openssl: string;
  /** The TSA's private key file, which openssl reads. */
  readonly keyPath: string;
  /** PEM certificates, the TSA's first, then its issuers (embedded in replies when the query asks). */
  readonly chainPem: readonly string[];
  /** TSA policy OID every token names (the query may ask for it, and for no other). */
  readonly policy: string;
  /** Where the private folder is made (default: the system temporary folder). */
  readonly parentDir?: string;
  readonly random?: (n: number) => Uint8Array;
  /** openssl's environment; default none, so no OPENSSL_CONF or engine setting of the server's applies. */
  readonly env?: NodeJS.ProcessEnv;
  /** One reply, openssl start to exit. Default 30 s. */
  readonly timeoutMs?: number;
}

/** Answers one DER TimeStampReq with a DER TimeStampResp. */
export interface Timestamper {
  reply(query: Uint8Array): Promise<Uint8Array>;
}

// RFC 3161 §2.4.2 TSTInfo as OpenSSL builds it. sha256 signs and names the certificate (ESSCertIDv2,
// RFC 5816), as Sigstore's TSA does; accuracy one second. `ordering` and `tsa_name` off: replies from
// a pool of processes are not ordered, and the name is in the embedded certificate.
function tsaConfig(policy: string): string {
  return [
    '[ tsa ]',
    'default_tsa = airlock_tsa',
    '[ airlock_tsa ]',
    'serial = ./serial',
    'crypto_device = builtin',
    'signer_digest = sha256',
    `default_policy = ${policy}`,
    'digests = sha256, sha384, sha512',
    'accuracy = secs:1',
    'clock_precision_digits = 0',
    'ordering = no',
    'tsa_name = no',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    '',
  ].join('\n');
}

export class OpensslTimestamper implements Timestamper {
  readonly dir: string;
  readonly #options: OpensslTimestamperOptions;
  readonly #random: (n: number) => Uint8Array;

  private constructor(dir: string, options: OpensslTimestamperOptions) {
    this.dir = dir;
    this.#options = options;
    this.#random = options.random ?? randomBytes;
  }

  /** Makes the private folder (mkdtemp: 0700) with the config, signer and chain files. */
  static async open(options: OpensslTimestamperOptions): Promise<OpensslTimestamper> {
    const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'airlock-tsa-'));
    try {
      const [signer, ...issuers] = options.chainPem;
      await writeFile(join(dir, 'tsa.cnf'), tsaConfig(options.policy), { mode: 0o600 });
      await writeFile(join(dir, 'signer.pem'), signer ?? '', { mode: 0o600 });
      await writeFile(join(dir, 'chain.pem'), issuers.join(''), { mode: 0o600 });
      return new OpensslTimestamper(dir, options);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async reply(query: Uint8Array): Promise<Uint8Array> {
    const work = await mkdtemp(join(this.dir, 'q-'));
    try {
      await writeFile(join(work, 'query.tsq'), query);
      await writeFile(join(work, 'serial'), serialFileText(this.#random));
      await runProgram(this.#options.openssl, this.#arguments(), {
        cwd: work,
        timeoutMs: this.#options.timeoutMs ?? 30_000,
        env: this.#options.env ?? {},
      });
      return new Uint8Array(await readFile(join(work, 'reply.tsr')));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  #arguments(): string[] {
    const args = ['ts', '-reply', '-config', join(this.dir, 'tsa.cnf'), '-queryfile', 'query.tsq'];
    args.push('-inkey', this.#options.keyPath, '-signer', join(this.dir, 'signer.pem'));
    if (this.#options.chainPem.length > 1) args.push('-chain', join(this.dir, 'chain.pem'));
    return [...args, '-out', 'reply.tsr'];
  }

  /** Removes the private folder. */
  close(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
