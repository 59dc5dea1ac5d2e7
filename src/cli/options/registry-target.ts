// --registry HOST[/PREFIX] of import and inspect: where images land inside the gap.
import { AirlockError } from '../../errors.ts';
import { assertNoCredentials } from '../../oci/reference.ts';
import { bounded } from '../../text.ts';

/**
 * --registry HOST[/PREFIX]. Credentials never go there (they would reach messages, --json and the
 * audit trail): user:pass@ is refused before anything is read, without repeating it.
 */
export function registryTarget(text: string): { host: string; prefix?: string } {
  assertNoCredentials(text, '--registry');
  if (/^[a-z]+:\/\//i.test(text))
    throw new AirlockError('E_USAGE', `--registry takes HOST[/PREFIX] without a scheme, got '${bounded(text, 160)}'`);
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  if (!host) throw new AirlockError('E_USAGE', '--registry takes HOST[/PREFIX]');
  return { host, ...(slash < 0 ? {} : { prefix: text.slice(slash + 1) }) };
}
