// small-file-writer's worker, except that a write to a path ending in "crash" kills the thread: how
// the tests see what a writer does when its worker dies mid-write.
import { parentPort } from 'node:worker_threads';
import type { WriteRequest } from '../../src/files/small-file-writer.ts';

parentPort?.on('message', (req: WriteRequest) => {
  if (req.path.endsWith('crash')) process.exit(3);
});
await import('../../src/files/small-file-writer-worker.ts');
