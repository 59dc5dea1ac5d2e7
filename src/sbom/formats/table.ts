// The human table of `airlock sbom -o table`, as syft's table encoder lays it out: NAME, VERSION and TYPE
// (syft's type names), sorted by name, version then type, one row for packages listed more than once with
// how many more, columns two spaces apart. Names and versions come from the image: control characters are
// shown escaped and long values cut (src/text.ts), so a package name cannot write to the terminal.
import { bounded, textColumns } from '../../text.ts';
import type { Catalogue } from '../package.ts';
import { SYFT_TYPES } from './common.ts';

const MAX_CELL = 120;

function compareRows(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Rows with their duplicates counted: `(+1 duplicate)`, `(+3 duplicates)`. */
function countDuplicates(rows: readonly string[][]): string[][] {
  const out: Array<{ row: string[]; count: number }> = [];
  for (const row of rows) {
    const last = out.at(-1);
    if (last && compareRows(last.row, row) === 0) last.count++;
    else out.push({ row, count: 1 });
  }
  return out.map(({ row, count }) =>
    count === 1 ? row : [...row, `(+${count - 1} duplicate${count === 2 ? '' : 's'})`],
  );
}

/** The catalogue's packages as a table of text, one line each, ending in a newline. */
export function formatTable(catalogue: Catalogue): string {
  if (catalogue.packages.length === 0) return 'No packages discovered\n';
  const rows = catalogue.packages
    .map((p) => [bounded(p.name, MAX_CELL), bounded(p.version, MAX_CELL), SYFT_TYPES[p.type]])
    .sort(compareRows);
  const lines = [['NAME', 'VERSION', 'TYPE'], ...countDuplicates(rows)];
  return `${textColumns(lines).join('\n')}\n`;
}
