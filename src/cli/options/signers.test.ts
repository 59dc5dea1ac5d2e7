import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { makePgpKey } from '../../../test/helpers/openpgp-keys.ts';
import { writePublicKey } from '../../../test/helpers/trust-files.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { SIGNER_FLAGS, signersOption } from './signers.ts';

let dir: string;
let release: Awaited<ReturnType<typeof writePublicKey>>;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-signers-flags-'));
  await mkdir(join(dir, 'keys'));
  release = await writePublicKey(join(dir, 'keys'), 'release');
  await writePublicKey(join(dir, 'keys'), 'security');
  await writeFile(join(dir, 'keys', 'security.asc'), (await makePgpKey('Security Team')).publicArmored);
  // Key files named relative to the signers file, wherever the command runs.
  await writeFile(
    join(dir, 'keys', 'signers.json'),
    JSON.stringify({
      apiVersion: 'airlock/v1',
      kind: 'Signers',
      signers: [
        { name: 'release-team', keys: ['release.pub'] },
        { name: 'security-team', keys: ['security.pub'], openpgp: ['security.asc'] },
      ],
    }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const signers = (...argv: string[]) => signersOption(testContext(argv, SIGNER_FLAGS).ctx);

describe('signersOption', () => {
  it('a signers file: named signers with their keys, read relative to the file, and K', async () => {
    const s = await signers('--signers', join(dir, 'keys', 'signers.json'), '--require-signers', '2');
    assert.equal(s.required, 2);
    assert.deepEqual(
      s.signers.map((x) => [x.name, x.keys.length, x.pgp.length]),
      [
        ['release-team', 1, 0],
        ['security-team', 1, 1],
      ],
    );
    assert.equal(keyFingerprint(s.signers[0]?.keys[0] ?? release.key), keyFingerprint(release.key));
  });

  it('loose keys: each key (and each keyring key) a signer of its own, K = 1', async () => {
    const s = await signers(
      '--signer-key',
      release.path,
      '--signer-key',
      join(dir, 'keys', 'security.pub'),
      '--keyring',
      join(dir, 'keys', 'security.asc'),
    );
    assert.equal(s.required, 1);
    assert.equal(s.signers.length, 3);
  });

  it('refuses no signers, K > 1 without a file, K above the file, and a file with loose keys', async () => {
    await assert.rejects(signers(), { code: 'E_USAGE' });
    await assert.rejects(signers('--signer-key', release.path, '--require-signers', '2'), {
      code: 'E_USAGE',
      message: /counts people, not keys/,
    });
    const file = join(dir, 'keys', 'signers.json');
    await assert.rejects(signers('--signers', file, '--require-signers', '3'), { code: 'E_USAGE' });
    await assert.rejects(signers('--signers', file, '--signer-key', release.path), { code: 'E_USAGE' });
  });
});
