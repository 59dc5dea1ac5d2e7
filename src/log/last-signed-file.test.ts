import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { lastSignedFile } from './last-signed-file.ts';
import { MAX_NOTE_BYTES } from './note.ts';

const dir = useTempDir('airlock-last-signed-');

describe('lastSignedFile', () => {
  it('reads back what it wrote, and nothing before the first write', async () => {
    const store = lastSignedFile(join(dir, 'checkpoint'));
    assert.equal(await store.read(), undefined);
    await store.write('log.example\n1\nroot\n\n— sig\n');
    assert.equal(await store.read(), 'log.example\n1\nroot\n\n— sig\n');
  });

  it(
    'refuses what cannot be a checkpoint without blocking on it: a FIFO, a huge file',
    { skip: spawnSync('mkfifo', ['--version']).status === 0 ? false : 'mkfifo is not installed' },
    async () => {
      // Read with direct calls on the event loop: a FIFO read would block the log until a writer came.
      const fifo = join(dir, 'fifo');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      await assert.rejects(lastSignedFile(fifo).read(), { code: 'E_IO', message: /not a regular file/ });
      const huge = join(dir, 'huge');
      await writeFile(huge, Buffer.alloc(MAX_NOTE_BYTES + 1, 0x41));
      await assert.rejects(lastSignedFile(huge).read(), { code: 'E_IO', message: /at most/ });
    },
  );
});
