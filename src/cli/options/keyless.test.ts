import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { identityTokenSource, sentInTheClear } from './keyless.ts';

const GHA = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://gha.example/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'bearer' };

describe('identity token sources, in cosign order', () => {
  const dir = useTempDir('airlock-identity-token-');

  it('--identity-token wins over SIGSTORE_ID_TOKEN, which wins over GitHub Actions', async () => {
    const env = { SIGSTORE_ID_TOKEN: 'from-env', ...GHA };
    const flag = identityTokenSource('literal-token', env);
    assert.equal(flag.name, '--identity-token');
    assert.equal(await flag.read(), 'literal-token');
    const fromEnv = identityTokenSource(undefined, env);
    assert.equal(fromEnv.name, 'SIGSTORE_ID_TOKEN');
    assert.equal(await fromEnv.read(), 'from-env');
    assert.match(identityTokenSource(undefined, GHA).name, /GitHub Actions/);
  });

  it('@FILE is read (trimmed) when the token is needed, not before', async () => {
    const path = join(dir, 'token');
    const source = identityTokenSource(`@${path}`, {});
    await writeFile(path, 'file-token\n');
    assert.equal(source.name, `--identity-token @${path}`);
    assert.equal(await source.read(), 'file-token');
    await writeFile(path, '  \n');
    await assert.rejects(source.read(), { code: 'E_USAGE', message: /is empty/ });
    await assert.rejects(identityTokenSource(`@${join(dir, 'missing')}`, {}).read(), { code: 'E_INPUT_MISSING' });
  });

  it('GitHub Actions needs both variables; with no source at all the refusal names all three', () => {
    for (const env of [
      {},
      { ACTIONS_ID_TOKEN_REQUEST_URL: GHA.ACTIONS_ID_TOKEN_REQUEST_URL },
      { SIGSTORE_ID_TOKEN: '' },
    ]) {
      assert.throws(
        () => identityTokenSource(undefined, env),
        (err: Error & { code?: string; hint?: string }) => {
          assert.equal(err.code, 'E_USAGE');
          assert.match(err.hint ?? '', /--identity-token @FILE.*SIGSTORE_ID_TOKEN.*ACTIONS_ID_TOKEN_REQUEST_URL/);
          return true;
        },
      );
    }
  });
});

describe('a bearer token sent in the clear', () => {
  it('is an http:// URL to anything but this machine', () => {
    assert.equal(sentInTheClear('http://ca.internal:5555'), true);
    assert.equal(sentInTheClear('http://10.0.0.5'), true);
    assert.equal(sentInTheClear('https://ca.internal'), false);
    const locals = ['http://127.0.0.1:5555', 'http://127.9.8.7', 'http://LOCALHOST:1', 'http://[0:0:0:0:0:0:0:1]:5555'];
    for (const local of locals) assert.equal(sentInTheClear(local), false, local);
  });
});
