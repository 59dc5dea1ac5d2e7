// The process edge: real argv, streams, environment and exit status. Everything else is in main().
import { main } from './main.ts';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }, process.env);
process.exitCode = code;
