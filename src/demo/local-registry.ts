// A throw-away OCI registry on 127.0.0.1 (Debian's docker-registry), for `airlock demo`: a random free
// port, storage in a temporary folder, stopped and removed afterwards.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { freeLoopbackPort } from '../net/loopback.ts';
import { findExecutable } from '../tools/external.ts';

export interface LocalRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    }).once('error', () => resolve(false));
  });

/** Its storage goes in a new folder under `parent` (the OS temporary folder unless given). */
export async function startLocalRegistry(pathList: string | undefined, parent = tmpdir()): Promise<LocalRegistry> {
  const binary = await findExecutable('docker-registry', pathList);
  if (!binary)
    throw new AirlockError('E_UNAVAILABLE', 'docker-registry is not installed', {
      hint: 'apt-get install docker-registry (scripts/setup does)',
    });
  const dir = await mkdtemp(join(parent, 'airlock-demo-registry-'));
  const port = await freeLoopbackPort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      `version: 0.1`,
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dir}/data`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: airlock-demo',
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', config], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (await accepts(port)) return { host: `127.0.0.1:${port}`, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new AirlockError('E_UNAVAILABLE', 'docker-registry did not start');
}
