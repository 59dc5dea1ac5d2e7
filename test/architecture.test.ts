// The layering docs/architecture.md states, checked on every test run: domain code never touches argv,
// env, stdout or exit codes; every import between folders of src/ — static, re-exported or dynamic —
// points down the layer order below; and no file reaches itself through its imports. The checker is
// first shown to catch each kind of break on a planted tree, then run on src/.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importCycles, layerViolations, type SourceTree } from './helpers/import-graph.ts';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const EDGES = ['cli/', 'server/'];

/**
 * Bottom to top (docs/architecture.md). A folder imports only from folders on lower lines: never up,
 * never sideways. `(root)` holds errors.ts, text.ts, bounded-map.ts, version.ts and the recorder interface.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['(root)'],
  ['files', 'net'],
  ['crypto'],
  ['tools'],
  ['log'],
  ['audit'],
  ['sigstore'],
  ['trust', 'policy', 'ca'],
  ['oci'],
  ['sbom'],
  ['vuln'],
  ['admission'],
  ['transfer'],
  ['demo'],
  ['server'],
  ['cli'],
];
/** The package's public entry (package.json "exports") re-exports across every layer by design. */
const EXEMPT = ['index.ts'];

async function sourceTree(dir: string, root = dir): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of await sourceTree(path, root)) out.set(k, v);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      out.set(relative(root, path), await readFile(path, 'utf8'));
  }
  return out;
}

describe('the architecture checker catches what it must (planted trees)', () => {
  it('reads the layer table of a document, and refuses one it cannot read', () => {
    const doc = (body: string) => `<!-- layers:begin -->\n\`\`\`\n${body}\`\`\`\n<!-- layers:end -->\n`;
    assert.deepEqual(documentedLayers(doc('0   (root)    errors\n1   files net   io\n')), [
      ['(root)'],
      ['files', 'net'],
    ]);
    assert.throws(() => documentedLayers(doc('zero (root)\n')), /a layer line reads/);
    assert.throws(() => documentedLayers('no table'), /has a layer table/);
  });

  const base: Array<[string, string]> = [
    ['errors.ts', 'export class AirlockError {}\n'],
    ['crypto/keys.ts', "import { AirlockError } from '../errors.ts';\n"],
    ['log/engine.ts', "import { AirlockError } from '../errors.ts';\nimport type { K } from '../crypto/keys.ts';\n"],
    ['cli/main.ts', "import { x } from '../log/engine.ts';\n"],
  ];
  const tree = (...extra: Array<[string, string]>): SourceTree => new Map([...base, ...extra]);

  it('a clean tree passes', () => {
    assert.deepEqual(layerViolations(tree(), LAYERS), []);
    assert.deepEqual(importCycles(tree()), []);
  });
  it('a planted upward import fails', () => {
    const v = layerViolations(tree(['crypto/bad.ts', "import { x } from '../log/engine.ts';\n"]), LAYERS);
    assert.deepEqual(v, ['crypto/bad.ts -> log/engine.ts (crypto -> log: up)']);
  });
  it('a planted dynamic import of cli/ from a domain folder fails', () => {
    const v = layerViolations(
      tree(['log/lazy.ts', "export async function f() { return (await import('../cli/main.ts')).x; }\n"]),
      LAYERS,
    );
    assert.deepEqual(v, ['log/lazy.ts -> cli/main.ts (log -> cli: up)']);
  });
  it('a planted sideways import and a re-export fail too', () => {
    const v = layerViolations(
      tree(['files/a.ts', "export { y } from '../net/b.ts';\n"], ['net/b.ts', 'export const y = 1;\n']),
      LAYERS,
    );
    assert.deepEqual(v, ['files/a.ts -> net/b.ts (files -> net: sideways)']);
  });
  it('a planted import cycle fails, however long', () => {
    const cycles = importCycles(
      tree(
        ['log/a.ts', "import '../log/b.ts';\n"],
        ['log/b.ts', "import { c } from './c.ts';\n"],
        ['log/c.ts', "const m = await import('./a.ts');\n"],
      ),
    );
    assert.deepEqual(cycles, [['log/a.ts', 'log/b.ts', 'log/c.ts']]);
  });
  it('imports in comments are not imports', () => {
    assert.deepEqual(
      layerViolations(
        tree(['crypto/doc.ts', "// import { x } from '../cli/main.ts';\n/**\n * import('../cli/main.ts')\n */\n"]),
        LAYERS,
      ),
      [],
    );
  });
});

/** The layer table of docs/architecture.md: one line per layer, its folders after the number. */
export function documentedLayers(markdown: string): string[][] {
  const block = /<!-- layers:begin -->\s*```\n([\s\S]*?)```\s*<!-- layers:end -->/.exec(markdown)?.[1];
  assert.ok(block, 'docs/architecture.md has a layer table between its markers');
  return block
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, folders] = /^\d+\s+((?:\S+ )*\S+)\s{2,}/.exec(line) ?? [];
      assert.ok(folders, `a layer line reads "<n>  <folder> [<folder>...]  <what>": ${line}`);
      return folders.split(' ');
    });
}

describe('architecture of src/', () => {
  it('docs/architecture.md states the layer order enforced here, and names every folder of src/', async () => {
    const doc = await readFile(new URL('../docs/architecture.md', import.meta.url), 'utf8');
    assert.deepEqual(
      documentedLayers(doc),
      LAYERS.map((l) => [...l]),
    );
    const folders = (await readdir(SRC, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    const layered = new Set(LAYERS.flat());
    assert.deepEqual(
      folders.filter((f) => !layered.has(f)),
      [],
      'a folder of src/ with no layer: add it to LAYERS and to docs/architecture.md',
    );
  });

  it('domain code never touches process.argv/env/exit/stdout or console', async () => {
    const offenders: string[] = [];
    for (const [rel, source] of await sourceTree(SRC)) {
      if (EDGES.some((e) => rel.startsWith(e))) continue;
      // Comments may show usage examples (src/index.ts does); only code counts.
      const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const pattern of [/process\.(argv|env|exit|stdout|stderr)\b/, /\bconsole\./]) {
        if (pattern.test(text)) offenders.push(`${rel}: ${pattern}`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('every import between folders points down the layer order (static and dynamic)', async () => {
    assert.deepEqual(layerViolations(await sourceTree(SRC), LAYERS, EXEMPT), []);
  });

  it('no import cycles', async () => {
    assert.deepEqual(importCycles(await sourceTree(SRC)), []);
  });
});
