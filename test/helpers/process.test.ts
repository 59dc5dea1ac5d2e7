import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort, startProcess } from './process.ts';

describe('startProcess', () => {
  it('starts a server on a free loopback port and stops it', async () => {
    const port = await freePort();
    const server = await startProcess({
      command: process.execPath,
      args: ['-e', `require('node:http').createServer((q,s)=>s.end('hi')).listen(${port},'127.0.0.1')`],
      readyWhen: { port },
    });
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'hi');
    await server.stop();
    assert.notEqual(server.child.exitCode ?? server.child.signalCode, null);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  });

  it('fails with the process output when it exits before it is ready', async () => {
    await assert.rejects(
      startProcess({
        command: process.execPath,
        args: ['-e', 'console.error("boom"); process.exit(3)'],
        readyWhen: { output: /never/ },
      }),
      /exited before it was ready:\nboom/,
    );
  });
});
