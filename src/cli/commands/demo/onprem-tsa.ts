// The air-gapped side's own timestamp authority for the demo: `airlock tsa init` (a TSA certificate
// under a one-purpose root, made by openssl) and `airlock tsa serve` in this process, on loopback.
// A Rekor v2 log signs no entry time, so with the on-prem log a keyless signature's only trusted time
// is this TSA's timestamp: without one, nothing proves the short-lived certificate was valid when used.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { closeServer, listenOn } from '../../../server/http-io.ts';
import { OpensslTimestamper } from '../../../server/tsa-openssl.ts';
import { createTsaHandler } from '../../../server/tsa-server.ts';
import { findExecutable } from '../../../tools/external.ts';
import { makeTsaCertificate } from '../../../tools/tsa-certificate.ts';
import { DEFAULT_TSA_POLICY } from '../tsa/serve.ts';

export const DEMO_TSA_SUBJECT = 'O=airlock demo,CN=airlock demo TSA';

export interface OnPremTsa {
  /** Where RFC 3161 queries are POSTed (`sign --tsa-url`). */
  readonly url: string;
  /** The TSA certificate first, then its root: a trusted root's timestamp authority. */
  readonly chainPem: string;
  close(): Promise<void>;
}

async function openssl(path: string | undefined): Promise<string> {
  const found = await findExecutable('openssl', path);
  if (found) return found;
  throw new AirlockError('E_UNAVAILABLE', 'the keyless step needs openssl for its timestamp authority', {
    hint: 'install openssl (3.0 or later); airlock doctor lists it',
  });
}

/** `tsa init` then `tsa serve --listen 127.0.0.1:0`; the key and openssl's working folder are under `dir`. */
export async function startOnPremTsa(dir: string, pathList: string | undefined, now: Date): Promise<OnPremTsa> {
  const program = await openssl(pathList);
  // Valid from a minute back: the certificates and the timestamps they sign share this machine's clock.
  const made = await makeTsaCertificate({
    openssl: program,
    keyPath: undefined,
    subject: DEMO_TSA_SUBJECT,
    validityDays: 1,
    now: new Date(now.getTime() - 60_000),
  });
  const keyPath = join(dir, 'tsa.key');
  await writeFile(keyPath, made.keyPem ?? '', { mode: 0o600 });
  const { chainPem } = made;
  const timestamper = await OpensslTimestamper.open({
    openssl: program,
    keyPath,
    chainPem,
    policy: DEFAULT_TSA_POLICY,
    parentDir: dir,
  });
  try {
    const handler = createTsaHandler({ timestamper, chainPem, maxActive: 2, maxQueued: 8, log: () => undefined });
    const { server, url } = await listenOn(handler, '127.0.0.1', 0);
    return {
      url: `${url}/api/v1/timestamp`,
      chainPem: chainPem.join(''),
      async close() {
        server.closeAllConnections();
        await closeServer(server);
        await timestamper.close();
      },
    };
  } catch (err) {
    await timestamper.close();
    throw err;
  }
}
