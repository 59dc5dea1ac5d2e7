import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withTempDir } from '../../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../../errors.ts';
import { lookupCredentials, normalizeAuthKey, parseAuthFile, readCredentials } from './credentials.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('auth files', () => {
  it('normalises docker and podman key spellings', () => {
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeAuthKey('registry-1.docker.io'), 'docker.io');
    assert.equal(normalizeAuthKey('http://Registry.Example:5000'), 'registry.example:5000');
    assert.equal(normalizeAuthKey('registry.example/team/app'), 'registry.example/team/app');
    assert.equal(normalizeAuthKey('https://registry.example/v2/'), 'registry.example');
  });

  it('reads auth (base64 user:password, colons allowed in the password) and username/password entries', () => {
    const entries = parseAuthFile(
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pa:ss') },
          'registry.example:5000': { username: 'u', password: 'p' },
          'helper.example': {},
        },
        credHelpers: { 'helper.example': 'secretservice' },
      }),
      'config.json',
    );
    assert.deepEqual(lookupCredentials(entries, 'docker.io', 'library/alpine'), { username: 'hub', password: 'pa:ss' });
    assert.deepEqual(lookupCredentials(entries, 'registry.example:5000', 'app'), { username: 'u', password: 'p' });
    assert.equal(lookupCredentials(entries, 'helper.example', 'app'), undefined);
    assert.equal(lookupCredentials(entries, 'registry.example', 'app'), undefined, 'the port is part of the host');
  });

  it('prefers the most specific repository entry (containers-auth.json)', () => {
    const entries = parseAuthFile(
      JSON.stringify({
        auths: {
          'r.example': { auth: b64('host:1') },
          'r.example/team': { auth: b64('team:2') },
          'r.example/team/app': { auth: b64('app:3') },
        },
      }),
      'auth.json',
    );
    assert.equal(lookupCredentials(entries, 'r.example', 'team/app')?.username, 'app');
    assert.equal(lookupCredentials(entries, 'r.example', 'team/other')?.username, 'team');
    assert.equal(lookupCredentials(entries, 'r.example', 'elsewhere')?.username, 'host');
  });

  it('rejects malformed files, naming the file but never the secret', () => {
    assert.throws(
      () => parseAuthFile('{not json', '/home/u/.docker/config.json'),
      (err) =>
        isAirlockError(err, 'E_INPUT_MALFORMED') && err.message.startsWith('/home/u/.docker/config.json: not JSON'),
    );
    assert.throws(
      () => parseAuthFile('{"auths":[]}', 'f'),
      (err) => isAirlockError(err, 'E_INPUT_MALFORMED'),
    );
    assert.throws(
      () => parseAuthFile(JSON.stringify({ auths: { 'r.example': { auth: b64('no-colon-secret') } } }), 'f'),
      (err) =>
        isAirlockError(err, 'E_INPUT_MALFORMED') &&
        !err.message.includes('no-colon-secret') &&
        err.message.includes('r.example'),
    );
    assert.equal(parseAuthFile('{}', 'f').size, 0);
  });

  it('takes the first file with an entry and skips missing files', async () => {
    await withTempDir('airlock-auth-', async (dir) => {
      const first = join(dir, 'first.json');
      const second = join(dir, 'second.json');
      await writeFile(first, JSON.stringify({ auths: { 'other.example': { auth: b64('x:y') } } }));
      await writeFile(second, JSON.stringify({ auths: { 'r.example': { auth: b64('alice:pw') } } }));
      assert.deepEqual(await readCredentials([join(dir, 'absent.json'), first, second], 'r.example', 'app'), {
        username: 'alice',
        password: 'pw',
      });
      assert.equal(await readCredentials([first], 'r.example', 'app'), undefined);
      assert.equal(await readCredentials([], 'r.example', 'app'), undefined);
      await assert.rejects(readCredentials([dir], 'r.example', 'app'), (err) => isAirlockError(err));
    });
  });
});
