// The one way a version comparator refuses a version: an AirlockError E_VERSION_INVALID naming the
// ecosystem, the version (bounded: it comes from an image or an advisory) and why.
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';

export function invalidVersion(ecosystem: string, version: string, reason: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_VERSION_INVALID',
    `${ecosystem} version '${bounded(version)}' cannot be compared: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}
