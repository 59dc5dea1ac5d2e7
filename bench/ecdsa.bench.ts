// ECDSA checks over a digest (what a log does for every hashedrekord, and verify-blob for sha256:<hex>):
// airlock's ecdsaOverDigest (OpenSSL through native/ecdsa-prehash) against node:crypto's verify of
// the same signature over its message (the same OpenSSL, hashing included: the native speed limit)
// and @noble/curves (the JavaScript fallback when the native module is not built). Same signatures,
// same run, interleaved rounds.
//   npm run bench -- ecdsa [--rounds N]
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  ecdsaOverDigestBackend,
  nativeEcdsaOverDigest,
  nobleEcdsaOverDigest,
} from '../src/crypto/ecdsa-over-digest.ts';
import { compare, report, type Sample } from './harness.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const SIGNATURES = 200;
// The native contenders run the set this many times per round (a round of 200 native checks is ~20 ms,
// too short to time well); their seconds are divided back to one pass, so every row is per 200 checks.
const NATIVE_PASSES = 20;

const backend = ecdsaOverDigestBackend();
if (!backend.native)
  throw new Error(`this bench compares the native checker, which is not available: ${backend.detail}`);

for (const { curve, hash } of [
  { curve: 'P-256', hash: 'sha256' },
  { curve: 'P-384', hash: 'sha384' },
] as const) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const set = Array.from({ length: SIGNATURES }, () => {
    const message = randomBytes(64);
    return { message, digest: createHash(hash).update(message).digest(), signature: sign(hash, message, privateKey) };
  });
  const native = nativeEcdsaOverDigest(publicKey);
  if (!native) throw new Error('the native checker did not load');
  const noble = nobleEcdsaOverDigest(publicKey);
  const all = (check: (s: (typeof set)[number]) => boolean, passes: number) => async () => {
    for (let p = 0; p < passes; p++) {
      for (const s of set) if (!check(s)) throw new Error('a valid signature did not verify');
    }
  };
  const samples = await compare(
    [
      { name: 'airlock ecdsaOverDigest (native)', run: all((s) => native(s.digest, s.signature), NATIVE_PASSES) },
      {
        name: `node:crypto verify(${hash}, message)`,
        run: all((s) => verify(hash, s.message, publicKey, s.signature), NATIVE_PASSES),
      },
      { name: '@noble/curves (fallback)', run: all((s) => noble(s.digest, s.signature), 1) },
    ],
    rounds,
  );
  const perPass: Sample[] = samples.map((s, i) =>
    i < 2 ? { name: s.name, seconds: s.seconds.map((x) => x / NATIVE_PASSES) } : s,
  );
  report(
    `${curve} signature checks, ${SIGNATURES} distinct signatures, median of ${rounds} rounds`,
    perPass,
    (s) => SIGNATURES / s,
    'checks/s',
  );
}
