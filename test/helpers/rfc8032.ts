// RFC 8032 §7.3, "TEST abc": the one published Ed25519ph vector, for checks that take only the SHA-512
// digest of the message (a hashedrekord carries nothing else).
import { createPublicKey, type KeyObject } from 'node:crypto';

export const ED25519PH_ABC: { readonly publicKey: KeyObject; readonly message: Buffer; readonly signature: Buffer } = {
  publicKey: createPublicKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: Buffer.from('ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf', 'hex').toString('base64url'),
    },
    format: 'jwk',
  }),
  message: Buffer.from('abc'),
  signature: Buffer.from(
    '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' +
      '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
    'hex',
  ),
};
