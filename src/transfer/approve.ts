// `airlock approve` (the seed's "approved_by security-team"): one more signature over the same
// manifest.sha256, nothing else changed. The payload is re-read and checked against the manifest on
// the way (an approver never signs what they did not get), and the result is written as a new package.
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import { HEADER_NAMES, MANIFEST_NAME, METADATA_NAME, parseManifest, PGP_SIGNATURE_NAME, sigstoreSignatureName } from './format.ts';
import { combineSignatures, type PgpSigningKey, signDetached } from './openpgp.ts';
import { readPackage, writePackage } from './package-io.ts';

export interface ApproveOptions {
  readonly source: string;
  readonly out: string;
  readonly format: 'tar' | 'dir';
  readonly overwrite?: boolean;
  readonly signer?: Signer;
  readonly pgpKey?: PgpSigningKey;
}

export async function approvePackage(options: ApproveOptions): Promise<{ added: string[] }> {
  if (!options.signer && !options.pgpKey) throw new AirlockError('E_USAGE', 'approve needs --key and/or --pgp-key');
  const staging = await mkdtemp(join(dirname(options.out), '.airlock-approve-'));
  try {
    const read = await readPackage(options.source, {
      headerNames: HEADER_NAMES,
      stagingDir: staging,
      acceptHeaders: async (headers) => {
        const manifest = headers.get(MANIFEST_NAME);
        if (!manifest || !headers.has(METADATA_NAME)) throw new AirlockError('E_INPUT_MALFORMED', 'not a transfer package: no metadata or manifest');
        const entries = parseManifest(manifest);
        entries.delete(METADATA_NAME);
        return entries;
      },
    });
    const headers = new Map(read.headers);
    const manifest = headers.get(MANIFEST_NAME) as Buffer;
    const added: string[] = [];
    if (options.pgpKey) {
      const mine = await signDetached(manifest, options.pgpKey.key);
      const existing = headers.get(PGP_SIGNATURE_NAME);
      headers.set(PGP_SIGNATURE_NAME, Buffer.from(existing ? await combineSignatures([existing.toString('utf8'), mine]) : mine));
      added.push(PGP_SIGNATURE_NAME);
    }
    if (options.signer) {
      let n = 1;
      while (headers.has(sigstoreSignatureName(n))) n++;
      const { bundle } = await signBlob({ data: manifest, name: MANIFEST_NAME }, { signer: options.signer });
      headers.set(sigstoreSignatureName(n), Buffer.from(`${JSON.stringify(bundle)}\n`));
      added.push(sigstoreSignatureName(n));
    }
    const order = [METADATA_NAME, MANIFEST_NAME, ...HEADER_NAMES.filter((h) => h !== METADATA_NAME && h !== MANIFEST_NAME)];
    const headerEntries = order.filter((h) => headers.has(h)).map((h) => ({ path: h, data: headers.get(h) as Buffer }));
    // In the order the package has them (pack puts small files first; see payloadOrder).
    const payload = [...read.files.keys()].map((p) => ({ path: p, file: join(staging, p) }));
    await writePackage(options.out, [...headerEntries, ...payload], { format: options.format, overwrite: options.overwrite ?? false });
    return { added };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
