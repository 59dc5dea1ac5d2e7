import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchFailureReason, readBodyBounded } from './fetch-io.ts';

/** A Response whose body arrives in `chunks`, recording whether the reader cancelled it. */
function streamed(chunks: Uint8Array[], headers: Record<string, string> = {}) {
  const state = { cancelled: false, pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[state.pulled++];
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { response: new Response(body, { headers }), state };
}

describe('readBodyBounded', () => {
  it('reads a body up to the bound exactly', async () => {
    const { response } = streamed([Buffer.from('abc'), Buffer.from('def')]);
    assert.equal((await readBodyBounded(response, 6)).toString(), 'abcdef');
    assert.equal((await readBodyBounded(new Response(null), 6)).length, 0);
  });

  it('stops at the first byte over the bound and cancels the rest', async () => {
    const { response, state } = streamed([Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4)]);
    await assert.rejects(readBodyBounded(response, 6), /larger than 6 bytes/);
    assert.ok(state.cancelled);
    assert.ok(state.pulled < 4, 'the body was not read to its end');
  });

  it('refuses a declared Content-Length over the bound before reading', async () => {
    const { response, state } = streamed([Buffer.alloc(4)], { 'content-length': '100' });
    await assert.rejects(readBodyBounded(response, 50), /larger than 50 bytes/);
    assert.ok(state.cancelled);
  });
});

describe('fetchFailureReason', () => {
  it('says a timeout in seconds, and keeps the cause undici hides behind "fetch failed"', () => {
    assert.equal(fetchFailureReason(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 2500), 'no answer within 2.5 s');
    const refused = Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    assert.equal(fetchFailureReason(refused, 1000), 'fetch failed: connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(fetchFailureReason('odd', 1000), 'odd');
  });
});
