import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { REGISTRY_FLAGS, registryOptions } from './registry.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-registry-flags-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const options = (argv: string[], extra: Parameters<typeof testContext>[2] = {}) => {
  const t = testContext(argv, REGISTRY_FLAGS, { env: { HOME: '/home/u' }, ...extra });
  return { t, result: registryOptions(t.ctx) };
};

describe('registryOptions', () => {
  it('no flags: secure, no credentials, the default auth files in order', async () => {
    assert.deepEqual(await options([], { env: { HOME: '/home/u', REGISTRY_AUTH_FILE: '/run/auth.json' } }).result, {
      insecure: false,
      authFiles: ['/run/auth.json', '/home/u/.docker/config.json'],
    });
  });

  it('--authfile comes first; --username with --password-stdin reads the password from stdin', async () => {
    const { result } = options(['--authfile', '/etc/auth.json', '--username', 'alice', '--password-stdin'], {
      stdin: 's3cret\n',
    });
    assert.deepEqual(await result, {
      insecure: false,
      credentials: { username: 'alice', password: 's3cret' },
      authFiles: ['/etc/auth.json', '/home/u/.docker/config.json'],
    });
  });

  it('--password-stdin without --username is a usage error', async () => {
    await assert.rejects(options(['--password-stdin'], { stdin: 'x' }).result, { code: 'E_USAGE' });
  });

  it('--ca-cert reads the PEM', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
    await writeFile(join(dir, 'ca.pem'), pem);
    assert.equal((await options(['--ca-cert', join(dir, 'ca.pem')]).result).caPem, pem);
  });

  for (const spelling of ['--insecure', '--allow-insecure-registry', '--allow-http-registry']) {
    it(`${spelling} is plain HTTP, with a warning naming it`, async () => {
      const { t, result } = options([spelling]);
      assert.equal((await result).insecure, true);
      assert.match(t.stderr(), new RegExp(`warning: ${spelling}: registry traffic is plain HTTP`));
    });
  }
});
