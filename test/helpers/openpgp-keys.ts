// OpenPGP keys made in process (openpgp.js) for unit tests that need a keyring or a secret key but not
// gpg itself: an Ed25519 key with its armored public and secret halves.
import { generateKey } from 'openpgp';

export interface TestPgpKey {
  readonly publicArmored: string;
  readonly secretArmored: string;
}

export async function makePgpKey(name: string, passphrase?: string): Promise<TestPgpKey> {
  const { publicKey, privateKey } = await generateKey({
    type: 'curve25519',
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.org` }],
    format: 'armored',
    ...(passphrase ? { passphrase } : {}),
  });
  return { publicArmored: publicKey, secretArmored: privateKey };
}
