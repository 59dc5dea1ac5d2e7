import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Output } from './output.ts';

function tty() {
  const stderr = {
    text: '',
    isTTY: true,
    write(s: string) {
      this.text += s;
      return true;
    },
  };
  const stdout = {
    text: '',
    write(s: string) {
      this.text += s;
      return true;
    },
  };
  return {
    out: new Output({ stdout, stderr }, { json: false, quiet: false, verbose: true, env: { NO_COLOR: '1' } }),
    stderr,
  };
}

describe('Output on a terminal', () => {
  it('clears a progress line before any message, so the message does not land on its end', () => {
    const { out, stderr } = tty();
    out.progress('copying: 1 of 4 blobs');
    out.debug('  copied sha256:…');
    out.progress('copying: 2 of 4 blobs');
    out.warn('careful');
    out.info('done');
    assert.equal(
      stderr.text,
      '\r\u001b[2Kcopying: 1 of 4 blobs\r\u001b[2K  copied sha256:…\n\r\u001b[2Kcopying: 2 of 4 ' +
        'blobs\r\u001b[2Kwarning: careful\ndone\n',
    );
  });
});
