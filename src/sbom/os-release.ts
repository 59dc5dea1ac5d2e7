// The distro an image says it is, from /etc/os-release (or /usr/lib/os-release), read as os-release(5)
// specifies: newline-separated KEY=value assignments compatible with shell syntax, values optionally in
// double or single quotes, and within double quotes the backslash escapes `\"`, `\\`, `\$` and `` \` ``;
// lines starting with '#' are comments. ID defaults to "linux" when it is not set. Pure: text in.
import type { Distro } from './package.ts';

/** Longest value kept: os-release values are short names; a long one is not a distro's. */
const MAX_VALUE = 256;

function unquote(raw: string): string | undefined {
  const value = raw.trim();
  if (value.startsWith('"')) {
    if (value.length < 2 || !value.endsWith('"')) return undefined;
    return value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
  }
  if (value.startsWith("'")) {
    if (value.length < 2 || !value.endsWith("'")) return undefined;
    return value.slice(1, -1);
  }
  // Unquoted: shell would split on blanks, and a quote or backslash inside is not valid here.
  return /[\s"'\\`$]/.test(value) ? undefined : value;
}

/** Every well-formed assignment of an os-release file; malformed lines are skipped, as systemd does. */
export function parseOsReleaseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!m) continue;
    const value = unquote(m[2] ?? '');
    if (value !== undefined && value.length <= MAX_VALUE) fields.set(m[1] ?? '', value);
  }
  return fields;
}

export function parseOsRelease(text: string): Distro {
  const f = parseOsReleaseFields(text);
  const opt = (key: string) => {
    const v = f.get(key);
    return v === undefined || v === '' ? undefined : v;
  };
  const versionId = opt('VERSION_ID');
  const versionCodename = opt('VERSION_CODENAME');
  const prettyName = opt('PRETTY_NAME');
  return {
    id: opt('ID') ?? 'linux',
    ...(versionId !== undefined ? { versionId } : {}),
    ...(versionCodename !== undefined ? { versionCodename } : {}),
    ...(prettyName !== undefined ? { prettyName } : {}),
    idLike: (f.get('ID_LIKE') ?? '').split(/\s+/).filter((s) => s !== ''),
  };
}
