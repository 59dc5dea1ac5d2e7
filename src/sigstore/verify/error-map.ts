// Turns @sigstore/verify's and @sigstore/bundle's errors into airlock codes. Its codes are coarse
// (CERTIFICATE_ERROR covers chain, validity and SCTs; TLOG_INCLUSION_PROOF_ERROR covers checkpoints),
// so the message decides the finer code. Anything unexpected while checking attacker-supplied bytes
// (a TypeError deep in a parser) is still a denial, never a crash.
import { ValidationError } from '@sigstore/bundle';
import { PolicyError, VerificationError } from '@sigstore/verify';
import { AirlockError, type ErrorCode } from '../../errors.ts';

function certificateCode(message: string): ErrorCode {
  if (/SCT/i.test(message)) return 'E_SCT';
  // "certificate is not valid or expired at the specified date"; not "no valid certificate path found"
  if (/not valid|expired/i.test(message)) return 'E_CERT_VALIDITY';
  return 'E_CERT_CHAIN';
}

function tlogCode(code: string, message: string): ErrorCode {
  if (/checkpoint|note|signed note/i.test(message)) return 'E_TLOG_CHECKPOINT';
  if (code === 'TLOG_BODY_ERROR') return 'E_TLOG_ENTRY';
  if (code === 'TLOG_ERROR') return /inclusion/i.test(message) ? 'E_TLOG_INCLUSION' : 'E_TLOG_ENTRY';
  return 'E_TLOG_INCLUSION';
}

function describe(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !err.message.includes(cause.message)
    ? `${err.message}: ${cause.message}`
    : err.message;
}

export function toAirlockError(err: unknown): AirlockError {
  if (err instanceof AirlockError) return err;
  if (err instanceof ValidationError) {
    const fields = err.fields?.length ? ` (${err.fields.join(', ')})` : '';
    return new AirlockError('E_BUNDLE_MALFORMED', `bundle is invalid: ${err.message}${fields}`, { cause: err });
  }
  if (err instanceof PolicyError) {
    return new AirlockError('E_IDENTITY_MISMATCH', describe(err), { cause: err });
  }
  if (err instanceof VerificationError) {
    const message = describe(err);
    let code: ErrorCode;
    switch (err.code) {
      case 'CERTIFICATE_ERROR':
        code = certificateCode(message);
        break;
      case 'PUBLIC_KEY_ERROR':
        code = 'E_KEY_MISMATCH';
        break;
      case 'SIGNATURE_ERROR':
        code = 'E_SIGNATURE_INVALID';
        break;
      case 'TIMESTAMP_ERROR':
        code = 'E_TIMESTAMP';
        break;
      case 'TLOG_ERROR':
      case 'TLOG_BODY_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        code = tlogCode(err.code, message);
        break;
      default:
        code = 'E_BUNDLE_MALFORMED';
    }
    return new AirlockError(code, message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AirlockError('E_BUNDLE_MALFORMED', `bundle could not be evaluated: ${message}`, { cause: err });
}
