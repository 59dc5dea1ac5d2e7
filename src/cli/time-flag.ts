// Times typed on the command line (--until, --at, --since): ISO 8601, refused as E_USAGE naming the flag.
import { AirlockError } from '../errors.ts';

export function parseTime(value: string, flag: string): Date {
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t.getTime())) {
    throw new AirlockError('E_USAGE', `${flag} takes an ISO 8601 time such as 2026-12-01T00:00:00Z, got '${value}'`);
  }
  return t;
}
