// npm run bench -- <name> [args]: runs bench/<name>.bench.ts. Without a name, lists the benches.
import { readdir } from 'node:fs/promises';

const [name, ...args] = process.argv.slice(2);
const dir = new URL('./', import.meta.url);
const available = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0] ?? 'node', new URL(`./${name}.bench.ts`, dir).pathname, ...args];
await import(`./${name}.bench.ts`);
