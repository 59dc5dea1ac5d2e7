// The layering rules of ARCHITECTURE.md, checked on every test run: only cli/ and server/ touch argv,
// env, stdout and exit codes; domain folders never import the CLI.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const EDGES = ['cli/', 'server/'];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('architecture', () => {
  it('domain code never touches process.argv/env/exit/stdout or console', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const rel = relative(SRC, file);
      if (EDGES.some((e) => rel.startsWith(e))) continue;
      // Comments may show usage examples (src/index.ts does); only code counts.
      const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const pattern of [/process\.(argv|env|exit|stdout|stderr)\b/, /\bconsole\./]) {
        if (pattern.test(text)) offenders.push(`${rel}: ${pattern}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('imports point down: nothing outside cli/ and server/ imports them', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const rel = relative(SRC, file);
      if (EDGES.some((e) => rel.startsWith(e))) continue;
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(SRC, join(file, '..', m[1] ?? ''));
        if (EDGES.some((e) => target.startsWith(e))) offenders.push(`${rel} imports ${target}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
