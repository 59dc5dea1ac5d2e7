// The process edge: real argv, streams, environment and exit status. Everything else is in main().
import { EXIT } from '../errors.ts';
import { main } from './main.ts';
import { guardStream } from './output.ts';

// A reader that goes away (`airlock audit show | head -1`) ends the output quietly; a stream that
// fails otherwise (a full disk under `> file`) lost output, and the exit status says so.
let outputLost = false;
const lost = (name: string) => (err: NodeJS.ErrnoException) => {
  outputLost = true;
  process.exitCode = EXIT.UNAVAILABLE;
  if (name !== 'stderr') process.stderr.write(`error: cannot write ${name}: ${err.code ?? err.message} [E_IO]\n`);
};
const stdout = guardStream(process.stdout, lost('stdout'));
const stderr = guardStream(process.stderr, lost('stderr'));
const code = await main(process.argv.slice(2), { stdout, stderr, stdin: process.stdin }, process.env);
process.exitCode = outputLost && code === EXIT.OK ? EXIT.UNAVAILABLE : code;
