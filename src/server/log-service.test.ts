// `log serve` starting over a data folder a SIGKILL left behind: the temporary files of an atomic
// write of its checkpoint that never got renamed are swept, and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { startLogService } from './log-service.ts';
import { Metrics } from './metrics.ts';

const dir = useTempDir('airlock-log-service-');

/** The pid of a process that has exited: what a temp file of a killed writer carries. */
function deadPid(): number {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(gone.stdout);
}

describe('startLogService', () => {
  it('sweeps the checkpoint temp files of a killed process at start, and nothing that is not one', async () => {
    const data = join(dir, 'data');
    await mkdir(data);
    const dead = deadPid();
    const leftovers = [`checkpoint.tmp-${dead}-0123456789ab`, `checkpoint.tmp-${dead}-ba9876543210`];
    // Another process writing now (this one: alive), other names, a folder and a symlink of the pattern.
    const kept = [
      `checkpoint.tmp-${process.ppid}-0123456789ab`,
      'checkpoint.tmp-notes',
      `checkpoint.tmp-${dead}-xyz`,
      `other.tmp-${dead}-0123456789ab`,
      'notes.txt',
    ];
    for (const name of [...leftovers, ...kept]) await writeFile(join(data, name), 'x');
    await mkdir(join(data, `checkpoint.tmp-${dead}-aaaaaaaaaaaa`));
    await symlink('/etc/hostname', join(data, `checkpoint.tmp-${dead}-bbbbbbbbbbbb`));
    const signer = createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'log');
    const service = await startLogService({
      dir: data,
      origin: 'log.example',
      signer,
      host: '127.0.0.1',
      port: 0,
      workers: 1,
      metrics: new Metrics(),
      log: () => undefined,
    });
    await service.close();
    const names = await readdir(data);
    for (const name of leftovers) assert.ok(!names.includes(name), `${name} swept`);
    for (const name of [...kept, `checkpoint.tmp-${dead}-aaaaaaaaaaaa`, `checkpoint.tmp-${dead}-bbbbbbbbbbbb`])
      assert.ok(names.includes(name), `${name} kept`);
  });
});
