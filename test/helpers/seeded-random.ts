// Seeded randomness for tests that explore many schedules (crash tests, fuzzing): the seed is printed,
// and setting it again replays the same choices.
import { randomInt } from 'node:crypto';

/** mulberry32: a tiny 32-bit PRNG, uniform in [0, 1); plenty for choosing test schedules. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed named by `envVar` (to replay a failure), or a fresh one. */
export function testSeed(envVar: string): number {
  const given = process.env[envVar];
  if (given === undefined || given === '') return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${envVar} must be a whole number, got '${given}'`);
  return seed;
}
