import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { makePgpKey } from '../../../test/helpers/openpgp-keys.ts';
import { PGP_FLAGS, pgpSigningKey } from './pgp-signing.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pgp-flags-'));
  await writeFile(join(dir, 'security.asc'), (await makePgpKey('Security Team', 'open sesame')).secretArmored);
  await writeFile(join(dir, 'pass.txt'), 'open sesame\nsecond line ignored\n');
});
after(() => rm(dir, { recursive: true, force: true }));

const key = (argv: string[], env = {}) => pgpSigningKey(testContext(argv, PGP_FLAGS, { env }).ctx);

describe('pgpSigningKey', () => {
  it('none without --pgp-key', async () => {
    assert.equal(await key([]), undefined);
  });
  it('the key, unlocked with the first line of --pgp-passphrase-file, or AIRLOCK_PGP_PASSPHRASE', async () => {
    const fromFile = await key([
      '--pgp-key',
      join(dir, 'security.asc'),
      '--pgp-passphrase-file',
      join(dir, 'pass.txt'),
    ]);
    assert.equal(fromFile?.key.isDecrypted(), true);
    const fromEnv = await key(['--pgp-key', join(dir, 'security.asc')], { AIRLOCK_PGP_PASSPHRASE: 'open sesame' });
    assert.equal(fromEnv?.key.isDecrypted(), true);
  });
  it('no passphrase, or a wrong one, is refused', async () => {
    await assert.rejects(key(['--pgp-key', join(dir, 'security.asc')]), { code: 'E_PASSWORD_MISSING' });
    await assert.rejects(key(['--pgp-key', join(dir, 'security.asc')], { AIRLOCK_PGP_PASSPHRASE: 'nope' }), {
      code: 'E_KEY_PASSWORD',
    });
  });
});
