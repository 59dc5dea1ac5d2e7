// RFC 822-style control stanzas as dpkg writes them (deb822(5)): `Field: value` lines, continuation
// lines starting with a space or a tab, stanzas separated by blank lines (whitespace-only counts).
// A stanza with a line that is none of these is reported as malformed and left out, so one bad stanza
// never hides the others. Pure: text in.

export interface Stanza {
  /** Field names as written; look-ups go through `field`, which ignores case as deb822 does. */
  readonly fields: ReadonlyMap<string, string>;
  /** 1-based line of the stanza's first line. */
  readonly line: number;
}

export interface ParsedStanzas {
  readonly stanzas: Stanza[];
  /** First lines of the stanzas left out as malformed, with the line that broke each. */
  readonly malformed: Array<{ readonly line: number; readonly badLine: number }>;
}

export function field(stanza: Stanza, name: string): string | undefined {
  return stanza.fields.get(name.toLowerCase());
}

export function parseStanzas(text: string): ParsedStanzas {
  const stanzas: Stanza[] = [];
  const malformed: Array<{ line: number; badLine: number }> = [];
  let fields = new Map<string, string>();
  let start = 0;
  let bad = 0;
  let last: string | undefined;
  const finish = () => {
    if (bad > 0) malformed.push({ line: start, badLine: bad });
    else if (fields.size > 0) stanzas.push({ fields, line: start });
    fields = new Map();
    start = 0;
    bad = 0;
    last = undefined;
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return finish();
    if (start === 0) start = i + 1;
    if (bad > 0) return;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) bad = i + 1;
      else fields.set(last, `${fields.get(last) ?? ''}\n${line.slice(1)}`);
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith('#')) {
      if (!line.startsWith('#')) bad = i + 1;
      return;
    }
    last = line.slice(0, colon).toLowerCase();
    fields.set(last, line.slice(colon + 1).trim());
  });
  finish();
  return { stanzas, malformed };
}
