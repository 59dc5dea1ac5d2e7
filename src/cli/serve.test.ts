// The serving commands' JSON-line log: every event, in order, one write per event-loop turn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandContext } from './command.ts';
import { jsonLineLog, parseListen } from './serve.ts';

function capture(): { ctx: CommandContext; writes: string[] } {
  const writes: string[] = [];
  const ctx = {
    io: { stdout: { write: (s: string) => writes.push(s) } },
    now: () => new Date('2026-11-21T00:00:00Z'),
  } as unknown as CommandContext;
  return { ctx, writes };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('jsonLineLog', () => {
  it('writes the events of one turn together, in order, each a JSON line with time and level', async () => {
    const { ctx, writes } = capture();
    const log = jsonLineLog(ctx);
    for (let i = 0; i < 5; i++) log({ msg: 'request', n: i });
    assert.equal(writes.length, 0, 'nothing written before the turn ends');
    await turn();
    assert.equal(writes.length, 1);
    const lines = (writes[0] as string).split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [0, 1, 2, 3, 4].map((n) => ({ time: '2026-11-21T00:00:00.000Z', level: 'info', msg: 'request', n })),
    );
  });

  it('writes again in later turns, and an event may override the level', async () => {
    const { ctx, writes } = capture();
    const log = jsonLineLog(ctx);
    log({ msg: 'serving' });
    await turn();
    log({ msg: 'request', level: 'error' });
    await turn();
    assert.equal(writes.length, 2);
    assert.equal(JSON.parse(writes[1] as string).level, 'error');
  });
});

describe('parseListen', () => {
  it('takes HOST:PORT, PORT and [IPv6]:PORT, and refuses the rest', () => {
    assert.deepEqual(parseListen('0.0.0.0:3000'), { host: '0.0.0.0', port: 3000 });
    assert.deepEqual(parseListen('8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    for (const bad of ['host', 'host:99999', ':', 'a:b'])
      assert.throws(() => parseListen(bad), /--listen must be HOST:PORT/);
  });
});
