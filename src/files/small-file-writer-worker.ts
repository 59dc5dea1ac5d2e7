// The thread behind small-file-writer.ts: each write's open, write, fsync, rename and directory fsync
// run here back to back (a blocking fsync blocks nothing else), and one message answers it.
import { fsyncSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { AirlockError } from '../errors.ts';
import { writeSmallFileAtomic } from './atomic-write.ts';
import type { WriteReply, WriteRequest } from './small-file-writer.ts';

parentPort?.on('message', (req: WriteRequest) => {
  writeSmallFileAtomic(req.path, req.data, req.mode, fsyncSync).then(
    () => parentPort?.postMessage({ id: req.id, ok: true } satisfies WriteReply),
    (err: unknown) => {
      const known = err instanceof AirlockError;
      parentPort?.postMessage({
        id: req.id,
        ok: false,
        code: known ? err.code : 'E_INTERNAL',
        message: (err as Error).message,
      } satisfies WriteReply);
    },
  );
});
