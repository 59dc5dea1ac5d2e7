// Regenerates the code table in docs/errors.md from src/errors.ts (npm run docs:errors), so the
// documentation and the code cannot drift; src/errors.test.ts fails when they do.
import { readFile, writeFile } from 'node:fs/promises';
import { ERROR_CODES } from '../src/errors.ts';

const path = new URL('../docs/errors.md', import.meta.url);
const doc = await readFile(path, 'utf8');
const rows = Object.entries(ERROR_CODES)
  .sort(([a, x], [b, y]) => x.exit - y.exit || a.localeCompare(b))
  .map(([code, spec]) => `| \`${code}\` | ${spec.exit} | ${spec.summary} |`);
const table = ['| code | exit | meaning |', '| --- | --- | --- |', ...rows].join('\n');
const begin = '<!-- BEGIN GENERATED: npm run docs:errors -->';
const end = '<!-- END GENERATED -->';
const before = doc.slice(0, doc.indexOf(begin) + begin.length);
const after = doc.slice(doc.indexOf(end));
await writeFile(path, `${before}\n${table}\n${after}`);
