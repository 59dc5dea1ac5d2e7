// Reading an ImagePolicy file: YAML or JSON (YAML 1.2 reads JSON as it is), bounded, one document.
import { parseDocument } from 'yaml';
import { AirlockError } from '../errors.ts';
import { readInputText } from '../files/read-file.ts';
import { bounded } from '../text.ts';
import { type ImagePolicy, parseImagePolicy } from './image-policy.ts';

/** A policy is a page of rules; anything larger is not one. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** The policy in `text` (YAML or JSON); `source` names it in messages. */
export function parsePolicyText(text: string, source: string): ImagePolicy {
  // Aliases are expanded with a bound, so a "billion laughs" document cannot blow up in memory.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${bounded(source)}: not YAML or JSON: ${bounded(doc.errors[0]?.message ?? '', 200)}`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${bounded((err as Error).message, 200)}`);
  }
  return parseImagePolicy(value, source);
}

export async function loadPolicyFile(path: string): Promise<ImagePolicy> {
  return parsePolicyText(await readInputText(path, 'an image policy', MAX_POLICY_BYTES), path);
}
