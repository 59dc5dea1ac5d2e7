// The password for a PostgreSQL connection from a libpq password file (PGPASSFILE, ~/.pgpass), so it
// never travels in argv or a URL. The format is libpq's: `host:port:database:user:password` per line,
// `*` matching anything, `\` escaping `:` and `\`, the first matching line winning; a socket folder
// matches `localhost`. Unlike libpq, which ignores a file others can read, this refuses it: silently
// falling back to no password hides the mistake.
import { readFile, stat } from 'node:fs/promises';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

export interface PgpassTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** The fields of one line, unescaped; undefined for a comment, a blank or a malformed line. */
function fields(line: string): string[] | undefined {
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  const out: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) field += line[++i];
    else if (c === ':' && out.length < 4) {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out.length === 5 ? out : undefined;
}

/** The password of the first line matching `target`, if any. */
export function pgpassLookup(text: string, target: PgpassTarget): string | undefined {
  const host = target.host.startsWith('/') ? 'localhost' : target.host;
  const wanted = [host, String(target.port), target.database, target.user];
  for (const line of text.split(/\r?\n/)) {
    const f = fields(line);
    if (f && wanted.every((w, i) => f[i] === '*' || f[i] === w)) return f[4];
  }
  return undefined;
}

/** Reads `path` and finds the password for `target`; any failure names the file, never its contents. */
export async function readPgpassPassword(path: string, target: PgpassTarget): Promise<string> {
  const where = bounded(path);
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new AirlockError('E_USAGE', `the password file ${where} can be read by others`, {
        hint: `chmod 600 ${where}`,
      });
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw new AirlockError('E_IO', `cannot read the password file ${where}: ${bounded((err as Error).message)}`);
  }
  const password = pgpassLookup(text, target);
  if (password === undefined) {
    const who = bounded(`${target.user}@${target.host}:${target.port}/${target.database}`);
    throw new AirlockError('E_USAGE', `the password file ${where} has no line for ${who}`, {
      hint: 'add a line host:port:database:user:password (libpq .pgpass format)',
    });
  }
  return password;
}
