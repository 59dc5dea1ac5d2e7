// Signing throughput, next to baselines measured in the same run:
//   1. 1,000 small files through airlock's in-process signBlob (read, hash, sign, build the bundle)
//      vs plain node:crypto signing of the same bytes already in memory (the crypto-only limit);
//   2. time to sign a 1 GiB file: signBlob (one streaming SHA-256 pass + ECDSA over the digest) vs
//      `openssl dgst -sha256 -sign key.pem`.
//   npm run bench -- sign [--files N] [--size-mib N] [--rounds N]
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKeyObjectSigner } from '../src/crypto/key-object-signer.ts';
import { signBlob } from '../src/sigstore/sign-blob.ts';
import { compare, exec, report } from './harness.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '1000' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
  },
});
const files = Number(values.files);
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const dir = join(process.cwd(), '.bench-data', 'sign');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createKeyObjectSigner(privateKey, 'ecdsa-sha2-256-nistp256', 'bench key');
const keyPath = join(dir, 'key.pem');
await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));

// 1. many small files
const paths: string[] = [];
for (let i = 0; i < files; i++) {
  const p = join(dir, `f${i}.txt`);
  await writeFile(p, randomBytes(512 + (i % 4096)));
  paths.push(p);
}
const contents = await Promise.all(paths.map((p) => readFile(p)));
const small = await compare(
  [
    {
      name: 'airlock signBlob (file → bundle)',
      run: async () => {
        for (const path of paths) await signBlob({ path }, { signer });
      },
    },
    {
      name: 'node:crypto sign (bytes in memory)',
      run: async () => {
        for (const data of contents) sign('sha256', data, privateKey);
      },
    },
  ],
  rounds,
);
report(`sign-blob, ${files} small files (P-256), median of ${rounds}`, small, (s) => files / s, 'files/s');

// 2. one large file
const big = join(dir, 'big.bin');
const handle = await open(big, 'w');
const block = randomBytes(1024 * 1024);
for (let i = 0; i < sizeMiB; i++) await handle.write(block);
await handle.close();
const large = await compare(
  [
    { name: 'airlock signBlob', run: () => signBlob({ path: big }, { signer }) },
    {
      name: 'openssl dgst -sha256 -sign',
      run: () => exec('openssl', ['dgst', '-sha256', '-sign', keyPath, '-out', join(dir, 'sig'), big]),
    },
  ],
  rounds,
);
report(`time to sign a ${sizeMiB} MiB file (P-256), median of ${rounds}`, large, (s) => sizeMiB / s, 'MiB/s');
await rm(dir, { recursive: true, force: true });
