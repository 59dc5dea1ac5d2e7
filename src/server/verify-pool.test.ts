// The verify pool sends the requests of one event-loop turn to a worker together: each caller must
// still get its own answer (entry or refusal), whatever else shared the message.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { parseCreateEntryRequest, toCreateEntryRequest } from '../log/rekor-request.ts';
import { VerifyPool } from './verify-pool.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function request(text: string, pair = rsa, tamper = false): string {
  const artifact = Buffer.from(text);
  const signature = sign('sha256', artifact, pair.privateKey);
  if (tamper) signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 1;
  return JSON.stringify(
    toCreateEntryRequest({
      digest: createHash('sha256').update(artifact).digest(),
      signature,
      verifier: pair.publicKey,
    }),
  );
}

describe('VerifyPool', () => {
  const pool = new VerifyPool(2);
  // The workers are unref'd (a server's socket keeps it alive): the test keeps itself alive meanwhile.
  const alive = setInterval(() => undefined, 1000);
  after(async () => {
    clearInterval(alive);
    await pool.close();
  });

  it('says when its workers are ready', { timeout: 30_000 }, async () => {
    await pool.ready();
  });

  it(
    'answers every request of one turn with its own entry or refusal, across both workers',
    { timeout: 30_000 },
    async () => {
      const bodies = Array.from({ length: 24 }, (_, i) => {
        if (i % 6 === 1) return { body: '{"not": "a request"', want: 'E_INPUT_MALFORMED' };
        if (i % 6 === 3) return { body: request(`artifact ${i}`, rsa, true), want: 'E_SIGNATURE_INVALID' };
        const body = request(`artifact ${i}`, i % 2 === 0 ? rsa : p256);
        return { body, want: Buffer.from(parseCreateEntryRequest(JSON.parse(body)).body) };
      });
      // All sent in one synchronous loop: they share messages to the workers.
      const answers = await Promise.allSettled(bodies.map((b) => pool.verify(b.body)));
      for (const [i, answer] of answers.entries()) {
        const { want } = bodies[i] as { want: string | Buffer };
        if (typeof want === 'string') {
          assert.equal(answer.status, 'rejected', `request ${i}`);
          const reason = (answer as PromiseRejectedResult).reason as unknown;
          assert.ok(isAirlockError(reason) && reason.code === want, `request ${i}: ${String(reason)}`);
        } else {
          assert.equal(answer.status, 'fulfilled', `request ${i}: ${String((answer as PromiseRejectedResult).reason)}`);
          assert.ok(
            want.equals((answer as PromiseFulfilledResult<Uint8Array>).value),
            `request ${i} got another request's entry`,
          );
        }
      }
    },
  );

  it('keeps answering in later turns', { timeout: 30_000 }, async () => {
    const body = request('a later one');
    const entry = await pool.verify(body);
    assert.ok(Buffer.from(parseCreateEntryRequest(JSON.parse(body)).body).equals(entry));
  });
});

describe('VerifyPool when a worker dies', () => {
  const crashing = new URL('../../test/helpers/crashing-verify-worker.ts', import.meta.url);

  it('fails what the dead worker held, replaces it, and answers later requests', { timeout: 30_000 }, async () => {
    const pool = new VerifyPool(1, crashing);
    try {
      await pool.ready();
      const batch = await Promise.allSettled([pool.verify('a'), pool.verify('crash'), pool.verify('b')]);
      assert.deepEqual(
        batch.map((r) => r.status),
        ['rejected', 'rejected', 'rejected'],
      );
      assert.match(String((batch[1] as PromiseRejectedResult).reason), /verify worker failed/);
      await pool.ready(); // the replacement has loaded
      assert.equal(Buffer.from(await pool.verify('after')).toString(), 'after');
    } finally {
      await pool.close();
    }
  });

  it(
    'a closed pool refuses requests (E_UNAVAILABLE) instead of sending them nowhere',
    { timeout: 30_000 },
    async () => {
      const pool = new VerifyPool(1, crashing);
      await pool.ready();
      await pool.close();
      await assert.rejects(pool.verify('late'), { code: 'E_UNAVAILABLE' });
    },
  );

  it(
    'a worker that exits before it loads makes ready() reject, and requests fail instead of hanging',
    { timeout: 30_000 },
    async () => {
      process.env.CRASHING_WORKER_EARLY = '1';
      const pool = new VerifyPool(1, crashing);
      delete process.env.CRASHING_WORKER_EARLY;
      try {
        await assert.rejects(pool.ready(), /verify worker failed: exited with code 3/);
        await assert.rejects(pool.verify('x'), /did not start/);
      } finally {
        await pool.close();
      }
    },
  );
});
