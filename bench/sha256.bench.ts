// Streaming SHA-256 of a 1 GiB file: airlock's digestFile against `openssl dgst -sha256` (the
// practical limit here) and coreutils `sha256sum` (what the manual workflow uses), same file, same
// run, interleaved rounds after one warm-up that brings the file into the page cache.
//   npm run bench -- sha256 [--size-mib N] [--rounds N]
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { digestFile } from '../src/crypto/digest.ts';
import { compare, exec, report } from './harness.ts';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, rounds: { type: 'string', default: '5' } },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const dir = join(process.cwd(), '.bench-data');
const file = join(dir, `sha256-${sizeMiB}MiB.bin`);

await mkdir(dir, { recursive: true });
const handle = await open(file, 'w');
const block = randomBytes(1024 * 1024);
for (let i = 0; i < sizeMiB; i++) await handle.write(block);
await handle.close();

const expected = (await exec('openssl', ['dgst', '-sha256', '-r', file])).split(' ')[0];
const ours = await digestFile(file);
if (ours.hex !== expected) throw new Error(`digest mismatch: airlock ${ours.hex} vs openssl ${expected}`);

const samples = await compare(
  [
    { name: 'airlock digestFile', run: () => digestFile(file) },
    { name: 'openssl dgst -sha256', run: () => exec('openssl', ['dgst', '-sha256', file]) },
    { name: 'sha256sum (coreutils)', run: () => exec('sha256sum', [file]) },
  ],
  rounds,
);
const bytes = sizeMiB * 1024 * 1024;
report(
  `SHA-256 of a ${sizeMiB} MiB file, median of ${rounds} rounds (page cache warm)`,
  samples,
  (s) => bytes / s / 2 ** 20,
  'MiB/s',
);
await rm(file);
