// The import graph of a source tree, and the rules docs/architecture.md states over it: every import
// between folders points down the declared layer order, static or dynamic (`import('…')`), and no file
// reaches itself through imports. Pure over a map of files, so the checker itself is tested on planted
// trees (test/architecture.test.ts) as well as run on src/.
import { dirname, join, normalize } from 'node:path';

/** Relative path (from the tree's root, `/`-separated) → source text. */
export type SourceTree = ReadonlyMap<string, string>;

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Drops comments that start a line (so examples in them are not imports); a `/*` inside a string is left alone. */
function code(text: string): string {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Each file's relative imports, resolved against the tree's root (static, re-exports and dynamic). */
export function importsOf(tree: SourceTree): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [file, text] of tree) {
    const targets = new Set<string>();
    for (const m of code(text).matchAll(IMPORT))
      targets.add(normalize(join(dirname(file), m[2] ?? '')).replace(/\\/g, '/'));
    out.set(file, [...targets]);
  }
  return out;
}

/** The top folder a file belongs to; files at the root belong to '(root)'. */
export function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 || file.startsWith('../') ? (file.startsWith('../') ? '(outside)' : '(root)') : file.slice(0, slash);
}

/** Imports that go up, or sideways between folders of one layer: `from -> to (from folder -> to folder)`. */
export function layerViolations(
  tree: SourceTree,
  layers: readonly (readonly string[])[],
  exempt: readonly string[] = [],
): string[] {
  const rank = new Map<string, number>();
  layers.forEach((folders, i) => folders.forEach((f) => rank.set(f, i)));
  const out: string[] = [];
  for (const [file, targets] of importsOf(tree)) {
    if (exempt.includes(file)) continue;
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === to || to === '(outside)') continue;
      const a = rank.get(from);
      const b = rank.get(to);
      if (a === undefined) out.push(`${file}: folder ${from} has no declared layer`);
      else if (b === undefined) out.push(`${file} -> ${target}: folder ${to} has no declared layer`);
      else if (b >= a) out.push(`${file} -> ${target} (${from} -> ${to}: ${b > a ? 'up' : 'sideways'})`);
    }
  }
  return [...new Set(out)].sort();
}

/**
 * Every set of files that import each other round (Tarjan's strongly connected components, size > 1 or a self-import).
 */
export function importCycles(tree: SourceTree): string[][] {
  const graph = importsOf(tree);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
