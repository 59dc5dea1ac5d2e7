// The air-gapped side's own transparency log for the demo: `airlock log serve` in this process.
import { createPublicKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { type GeneratedKeyFiles, generatePrivateKey, writeKeyPair } from '../../../crypto/generate-key.ts';
import { publicKeyPem } from '../../../crypto/keys.ts';
import type { NoteVerifier } from '../../../log/note.ts';
import { noteVerifierFor } from '../../../log/note-keys.ts';
import type { LogService } from '../../../server/log-service.ts';
import type { LoadedTrustedRoot } from '../../../sigstore/trusted-root.ts';
import type { LogInput } from '../../../trust/create-trusted-root.ts';

// Sigstore clients match a checkpoint's origin against the host of the log's URL in the trusted root.
export const ONPREM_ORIGIN = '127.0.0.1';

export interface OnPremLog {
  /** Its `log serve --data` folder: log.db, the last signed checkpoint, log.pub. */
  readonly dir: string;
  readonly service: LogService;
  /** The log's checkpoint key, as clients pin it (`--rekor-vkey`, `log info --vkey`). */
  readonly verifier: NoteVerifier;
  /** This log as a trusted root names it (`airlock trust create --rekor=...`), valid from a minute before `now`. */
  tlog(now: Date): LogInput;
  /** A trusted root naming this log alone (what `airlock trust create --rekor=...` writes). */
  trustedRoot(now: Date): LoadedTrustedRoot;
  /**
   * The log key as `airlock key generate` writes it (encrypted with `password`, 0600): how other
   * `log serve --key` processes of the same log share it.
   */
  writeKey(prefix: string, password: Uint8Array): Promise<GeneratedKeyFiles>;
  close(): Promise<void>;
}

/** `airlock log serve` in this process: an Ed25519 log key made for the demo, one verify worker. */
export async function startOnPremLog(dir: string): Promise<OnPremLog> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { createKeyObjectSigner } = await import('../../../crypto/key-object-signer.ts');
  const { Metrics } = await import('../../../server/metrics.ts');
  const { startLogService } = await import('../../../server/log-service.ts');
  const { createTrustedRoot } = await import('../../../trust/create-trusted-root.ts');
  const { parseTrustedRoot } = await import('../../../sigstore/trusted-root.ts');
  const logKey = generatePrivateKey('ed25519');
  const signer = createKeyObjectSigner(logKey, 'ed25519', 'demo on-prem log key');
  const publicKey = createPublicKey(logKey);
  let service: LogService;
  try {
    service = await startLogService({
      dir,
      origin: ONPREM_ORIGIN,
      signer,
      host: '127.0.0.1',
      port: 0,
      workers: 1,
      metrics: new Metrics(),
      log: () => undefined,
    });
  } catch (err) {
    await signer.close();
    throw err;
  }
  const tlog = (now: Date): LogInput => ({
    publicKeyPem: publicKeyPem(publicKey),
    baseUrl: service.url,
    origin: ONPREM_ORIGIN,
    validFor: { start: new Date(now.getTime() - 60_000) },
  });
  return {
    dir,
    service,
    verifier: noteVerifierFor(ONPREM_ORIGIN, publicKey),
    tlog,
    trustedRoot(now) {
      const json = createTrustedRoot({ tlogs: [tlog(now)] });
      return parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'the on-prem log');
    },
    writeKey: (prefix, password) => writeKeyPair(prefix, logKey, password),
    async close() {
      await service.close();
      await signer.close();
    },
  };
}
