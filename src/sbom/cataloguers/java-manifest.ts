// The two small text formats inside Java archives: `META-INF/MANIFEST.MF` (the JAR File Specification,
// "Manifest specification": `Name: value` lines, a line starting with one space continues the one
// before, sections split by blank lines; only the main section is read) and `pom.properties`
// (java.util.Properties: `key=value`, `key: value` or `key value`, `#`/`!` comments, a trailing
// backslash continues a line, backslash escapes).

/** The main section's attributes, names as written (the JAR spec compares them case-insensitively). */
export function parseManifest(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (attributes.size > 0) break;
      continue;
    }
    if (line.startsWith(' ') && last !== undefined) {
      attributes.set(last, `${attributes.get(last) ?? ''}${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    last = line.slice(0, colon).toLowerCase();
    if (!attributes.has(last)) attributes.set(last, line.slice(colon + 2));
  }
  return attributes;
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) =>
    c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (ESCAPES[c] ?? c),
  );
}

/** Logical lines: comments and blank lines dropped, backslash-continued lines joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending: string | undefined;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = pending === undefined ? raw.replace(/^[ \t\f]+/, '') : `${pending}${raw.replace(/^[ \t\f]+/, '')}`;
    if (pending === undefined && (line === '' || line.startsWith('#') || line.startsWith('!'))) continue;
    const continued = /(?:^|[^\\])(?:\\\\)*\\$/.test(line);
    pending = continued ? line.slice(0, -1) : undefined;
    if (!continued) lines.push(line);
  }
  if (pending !== undefined) lines.push(pending);
  return lines;
}

/** A `.properties` file's keys and values, as java.util.Properties.load reads them. */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const match = /^((?:\\.|[^\\=: \t\f])*)[ \t\f]*(?:[=:][ \t\f]*)?(.*)$/.exec(line);
    if (match) properties.set(unescape(match[1] ?? ''), unescape(match[2] ?? ''));
  }
  return properties;
}
