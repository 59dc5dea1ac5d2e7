// Strings that come from outside (paths, references, media types, parser messages, signer lists) are
// bounded and escaped before they reach a message or an audit event: a 1 MiB file name must not make
// an event too large to record, and a newline or an escape sequence in one must not forge a line of
// output or a terminal command.

/** Longest outside string quoted into a message. */
export const MAX_QUOTED = 256;

/** Limits for what goes into an audit event. */
export const RECORD_LIMITS = { string: 4096, name: 512, reason: 2048, items: 32, depth: 6, keys: 64 } as const;

/** Control characters (C0, DEL, C1) and the Unicode line/paragraph separators: shown escaped, never raw. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeControl(text: string, keepLines = false): string {
  return text.replace(CONTROL, (c) =>
    keepLines && (c === '\n' || c === '\t')
      ? c
      : c === '\n'
        ? '\\n'
        : c === '\r'
          ? '\\r'
          : c === '\t'
            ? '\\t'
            : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * An outside string as it may appear in a message: control characters escaped, at most `max`
 * characters (never half a surrogate pair), with how much was left out.
 */
export function bounded(text: string, max = MAX_QUOTED, keepLines = false): string {
  const escaped = escapeControl(String(text), keepLines);
  if (escaped.length <= max) return escaped;
  // Never end on half a surrogate pair.
  const cut = /[\ud800-\udbff]/.test(escaped.charAt(max - 1)) ? max - 1 : max;
  const head = escaped.slice(0, cut);
  return `${head}…(${escaped.length - head.length} more characters)`;
}

/** A list that comes from outside, for a message: at most `max` items shown, with the total. */
export function boundedList(items: readonly string[], max = 10, separator = ', '): string {
  const shown = items.slice(0, max).map((i) => bounded(i));
  return items.length > max
    ? `${shown.join(separator)}${separator}…and ${items.length - max} more (${items.length} in all)`
    : shown.join(separator);
}

/**
 * A value made safe to record: every string bounded, every list capped (the total said in a last
 * item), nesting and key counts bounded. Strings keep their newlines and tabs — an audit event is JSON,
 * which escapes them, and evidence such as a signed checkpoint must stay byte for byte what it was —
 * but no other control character.
 */
export function boundForRecord(value: unknown, limits: { readonly string?: number } = {}, depth = 0): unknown {
  const maxString = limits.string ?? RECORD_LIMITS.string;
  if (typeof value === 'string') return bounded(value, maxString, true);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (depth >= RECORD_LIMITS.depth) return '…(nested too deep to record)';
  if (Array.isArray(value)) {
    const kept = value.slice(0, RECORD_LIMITS.items).map((v) => boundForRecord(v, limits, depth + 1));
    return value.length > RECORD_LIMITS.items
      ? [...kept, `…and ${value.length - RECORD_LIMITS.items} more (${value.length} in all)`]
      : kept;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
    return boundForRecord(JSON.parse(JSON.stringify(value)), limits, depth);
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, RECORD_LIMITS.keys))
    out[bounded(k, 128)] = boundForRecord(v, limits, depth + 1);
  if (entries.length > RECORD_LIMITS.keys)
    out['…'] = `${entries.length - RECORD_LIMITS.keys} more keys (${entries.length} in all)`;
  return out;
}

/**
 * Rows of cells as aligned text columns two spaces apart, each line trimmed at its end. The widths are
 * found with a loop, not Math.max(...): a table can have more rows than a call can take arguments.
 */
export function textColumns(rows: readonly (readonly string[])[]): string[] {
  const columns = rows.reduce((n, r) => Math.max(n, r.length), 0);
  const widths = Array.from({ length: columns }, (_, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `1 event`, `2 events`: a count and its noun, which takes an s unless the count is one. */
export const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
