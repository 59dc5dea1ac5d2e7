import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { generatePrivateKey, writeKeyPair } from '../../crypto/generate-key.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { KEY_FLAGS, keySigner } from './key.ts';

let dir: string;
let key: string;
let fingerprint: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-key-flags-'));
  const pair = await writeKeyPair(join(dir, 'release'), generatePrivateKey('ecdsa-p256'), Buffer.from('right'));
  key = pair.privateKeyPath;
  fingerprint = keyFingerprint(pair.publicKey);
  await writeFile(join(dir, 'right.txt'), 'right\nignored second line\n');
  await writeFile(join(dir, 'wrong.txt'), 'wrong\n');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('keySigner', () => {
  it('opens the key with the password from --password-file (its first line)', async () => {
    const { ctx } = testContext(['--key', key, '--password-file', join(dir, 'right.txt')], KEY_FLAGS);
    const signer = await keySigner(ctx, key);
    try {
      assert.equal(keyFingerprint(signer.publicKey), fingerprint);
      assert.equal(signer.description, `key file ${key}`);
    } finally {
      await signer.close();
    }
  });

  it('--password-file wins over AIRLOCK_PASSWORD, and a wrong password does not open the key', async () => {
    const { ctx } = testContext(['--password-file', join(dir, 'wrong.txt')], KEY_FLAGS, {
      env: { AIRLOCK_PASSWORD: 'right' },
    });
    await assert.rejects(keySigner(ctx, key), { code: 'E_KEY_PASSWORD' });
  });

  it('without --password-file the password comes from the environment', async () => {
    const { ctx } = testContext([], KEY_FLAGS, { env: { AIRLOCK_PASSWORD: 'right' } });
    const signer = await keySigner(ctx, key);
    await signer.close();
    assert.equal(keyFingerprint(signer.publicKey), fingerprint);
  });
});
