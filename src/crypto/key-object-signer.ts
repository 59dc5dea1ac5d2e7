// A Signer over a node:crypto private key (key files and env:// PEMs). Whole messages are signed by
// OpenSSL; digests of large files are signed with @noble/curves (OpenSSL offers no ECDSA-over-digest
// through node:crypto), so a big file is read exactly once.
import { constants, createSign, type KeyObject, createPublicKey, sign } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { SIGNING_ALGORITHMS, type Signer, type SigningAlgorithm } from './signer.ts';

const PSS_SALT_LENGTH = 32; // = the SHA-256 output length, as Go and sigstore-go sign PSS

function signOptions(key: KeyObject, algorithm: SigningAlgorithm) {
  const family = SIGNING_ALGORITHMS[algorithm].family;
  if (family === 'ecdsa') return { key, dsaEncoding: 'der' as const };
  if (family === 'rsa-pss') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH };
  if (family === 'rsa-pkcs1') return { key, padding: constants.RSA_PKCS1_PADDING };
  return key;
}

export function createKeyObjectSigner(privateKey: KeyObject, algorithm: SigningAlgorithm, description: string): Signer {
  const spec = SIGNING_ALGORITHMS[algorithm];
  const options = signOptions(privateKey, algorithm);
  const signer: Signer = {
    algorithm,
    publicKey: createPublicKey(privateKey),
    description,
    async sign(data) {
      // Ed25519 is pure (no pre-hash): node:crypto wants a null digest name for it.
      return sign(spec.family === 'ed25519' ? null : spec.hash, data, options);
    },
    async close() {},
  };
  if (spec.family === 'ecdsa') {
    const curve = spec.curve === 'P-256' ? p256 : p384;
    const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    signer.signDigest = async (digest) => curve.sign(digest, d, { prehash: false, format: 'der', extraEntropy: true });
  } else if (spec.family !== 'ed25519') {
    signer.startStream = () => {
      const s = createSign(spec.hash);
      return {
        update: (chunk) => void s.update(chunk),
        finish: async () => s.sign(options),
      };
    };
  }
  return signer;
}
