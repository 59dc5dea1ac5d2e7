// The one error type of airlock. Every failure a user can meet carries a stable `code` from the table
// below; the table also fixes the process exit code, so `main` is the only place that turns a failure
// into an exit status and docs/errors.md is checked against this table by a test.

/** Process exit codes (docs/errors.md). Frozen: scripts depend on them. */
export const EXIT = {
  OK: 0,
  /** A security verdict said no: verification failed, policy denied. */
  DENIED: 1,
  /** The command line was wrong. */
  USAGE: 2,
  /** Could not evaluate: missing or malformed input, I/O, an unreachable service. */
  UNAVAILABLE: 3,
  /** A bug in airlock. */
  INTERNAL: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeSpec {
  readonly exit: ExitCode;
  readonly summary: string;
}

/** Every error code airlock emits, with its exit code and a one-line meaning for docs/errors.md. */
export const ERROR_CODES = {
  // usage (2)
  E_USAGE: {
    exit: EXIT.USAGE,
    summary: 'The command line is wrong: unknown command or flag, a missing or conflicting argument.',
  },
  E_OUTPUT_EXISTS: { exit: EXIT.USAGE, summary: 'An output file already exists and --force was not given.' },
  E_UNSUPPORTED: {
    exit: EXIT.USAGE,
    summary: 'The command asks for something airlock does not do (yet); the message says what to use instead.',
  },
  E_KEY_REF_UNSUPPORTED: {
    exit: EXIT.USAGE,
    summary: 'A key reference names a backend airlock does not support (cloud KMS, Vault); use a key file or pkcs11:.',
  },
  // could not evaluate (3)
  E_INPUT_MISSING: { exit: EXIT.UNAVAILABLE, summary: 'A file or value the command needs does not exist.' },
  E_INPUT_MALFORMED: {
    exit: EXIT.UNAVAILABLE,
    summary: 'An input exists but cannot be parsed (bad JSON, PEM, digest, ...).',
  },
  E_IO: { exit: EXIT.UNAVAILABLE, summary: 'Reading or writing a file failed.' },
  E_ADMISSION_REVIEW: {
    exit: EXIT.UNAVAILABLE,
    summary: 'A request to the admission webhook is not an AdmissionReview v1 it can read (answered 400).',
  },
  E_VULNDB_MISSING: {
    exit: EXIT.UNAVAILABLE,
    summary: 'No vulnerability database is installed under the name asked for (airlock vulndb import installs one).',
  },
  E_VERSION_INVALID: {
    exit: EXIT.UNAVAILABLE,
    summary: "A package version cannot be read in its ecosystem's version order, so it cannot be compared.",
  },
  E_UNAVAILABLE: { exit: EXIT.UNAVAILABLE, summary: 'A service or tool airlock needs could not be reached or run.' },
  E_NOT_SEQUENCER: {
    exit: EXIT.UNAVAILABLE,
    summary:
      'This log process is a standby (or was deposed): another process sharing the database sequences its ' +
      'writes. Retry at the sequencer, or here once it has taken over (HTTP 503 with Retry-After).',
  },
  E_KEY_PASSWORD: {
    exit: EXIT.UNAVAILABLE,
    summary: 'The private key could not be decrypted with the password given.',
  },
  E_KEY_UNSUPPORTED: {
    exit: EXIT.UNAVAILABLE,
    summary: 'A key has an algorithm, size or encoding airlock does not accept.',
  },
  E_PASSWORD_MISSING: {
    exit: EXIT.UNAVAILABLE,
    summary: 'A password is needed but none was given (no AIRLOCK_PASSWORD/COSIGN_PASSWORD, file or TTY).',
  },
  E_PKCS11: { exit: EXIT.UNAVAILABLE, summary: 'The PKCS#11 module, token, PIN or key object could not be used.' },
  E_TLOG_UPLOAD: { exit: EXIT.UNAVAILABLE, summary: 'The transparency log could not be reached or refused the entry.' },
  E_TSA: {
    exit: EXIT.UNAVAILABLE,
    summary: 'The timestamp authority could not be reached or returned a bad response.',
  },
  E_FULCIO: {
    exit: EXIT.UNAVAILABLE,
    summary:
      'The certificate authority (Fulcio, airlock ca serve) could not be reached or refused to issue a ' +
      'signing certificate.',
  },
  E_RATE_LIMITED: {
    exit: EXIT.UNAVAILABLE,
    summary: 'Too many requests for one identity in the current interval (HTTP 429); retry after the time it names.',
  },
  E_TRUST_ROOT_MISSING: { exit: EXIT.UNAVAILABLE, summary: 'No trust root was given and none is installed.' },
  E_DIGEST_MISMATCH: {
    exit: EXIT.UNAVAILABLE,
    summary: 'Bytes read did not hash to the digest they were expected to have.',
  },
  E_IMPORT_INCOMPLETE: {
    exit: EXIT.UNAVAILABLE,
    summary:
      'An import stopped after it began moving tags (a crash or a registry error): its intent is ' +
      'recorded; `airlock import --recover` (or the next import on that channel) finishes it.',
  },
  E_PACKAGE_TRUNCATED: {
    exit: EXIT.UNAVAILABLE,
    summary:
      'A transfer package file ends early, wherever it was cut (an incomplete copy): nothing was ' +
      'imported; copy it again.',
  },
  // verdicts (1)
  E_BUNDLE_MALFORMED: { exit: EXIT.DENIED, summary: 'The Sigstore bundle is not a valid bundle of a known version.' },
  E_SIGNATURE_INVALID: { exit: EXIT.DENIED, summary: 'A signature does not verify over the signed content.' },
  E_ARTIFACT_MISMATCH: {
    exit: EXIT.DENIED,
    summary:
      'The artifact is not the one that was signed (digest or in-toto subject differs), or an ' +
      'SBOM or scan describes another image than the one it travels with.',
  },
  E_KEY_MISMATCH: {
    exit: EXIT.DENIED,
    summary:
      'The bundle was not made by the key it is verified against, or a key given is not the one ' +
      'a log (the audit log) was created with.',
  },
  E_IDENTITY_MISMATCH: {
    exit: EXIT.DENIED,
    summary: 'The signing certificate names another identity or OIDC issuer than the one pinned.',
  },
  E_CERT_CHAIN: { exit: EXIT.DENIED, summary: 'The signing certificate does not chain to a trusted CA.' },
  E_CERT_VALIDITY: {
    exit: EXIT.DENIED,
    summary: 'A certificate or trusted key was not valid at the time the signature was made.',
  },
  E_SCT: { exit: EXIT.DENIED, summary: 'The certificate lacks enough valid Certificate Transparency timestamps.' },
  E_TLOG_ENTRY: {
    exit: EXIT.DENIED,
    summary: 'A transparency-log entry is missing, untrusted or does not match the bundle.',
  },
  E_TLOG_INCLUSION: { exit: EXIT.DENIED, summary: 'A transparency-log inclusion proof or promise does not verify.' },
  E_LOG_CORRUPT: {
    exit: EXIT.DENIED,
    summary:
      "A log's storage does not re-derive the root it records (tiles, entries or state were " +
      'altered or lost, also while it runs: a stored state its checkpoint does not sign, an ' +
      'entry found beyond the tree), or its checkpoints do not open with the origin and key it ' +
      'was started with.',
  },
  E_LOG_ROLLBACK: {
    exit: EXIT.DENIED,
    summary: "A log's storage is behind, or forked from, a checkpoint the log already signed (a restored backup?).",
  },
  E_LOG_INCONSISTENT: {
    exit: EXIT.DENIED,
    summary: 'Two checkpoints of one log are not consistent: the log was rewritten or forked.',
  },
  E_TLOG_CHECKPOINT: {
    exit: EXIT.DENIED,
    summary:
      'A transparency-log checkpoint is malformed, not signed by the log (or, with ' +
      '`--witness-policy`, by none of the logs the policy names), or without the witness ' +
      'cosignatures required.',
  },
  E_TIMESTAMP: { exit: EXIT.DENIED, summary: 'Not enough trusted timestamps, or a timestamp does not verify.' },
  E_TRUST_ROOT: { exit: EXIT.DENIED, summary: 'The trust root is invalid or unusable for this verification.' },
  E_PREDICATE_TYPE: { exit: EXIT.DENIED, summary: 'An attestation has another predicate type than the one required.' },
  E_TUF_SIGNATURE: {
    exit: EXIT.DENIED,
    summary: 'TUF metadata is not signed by a threshold of the keys that should sign it.',
  },
  E_TUF_HASH: {
    exit: EXIT.DENIED,
    summary: 'A TUF file does not have the length or hash its signed metadata records.',
  },
  E_TUF_VERSION: {
    exit: EXIT.DENIED,
    summary: 'TUF metadata carries another version than the one it is named or referenced as.',
  },
  E_TUF_ROLLBACK: { exit: EXIT.DENIED, summary: 'TUF metadata is older than what was already trusted: a rollback.' },
  E_TUF_MALFORMED: { exit: EXIT.DENIED, summary: 'TUF metadata does not parse or lacks a required entry.' },
  E_TUF_EXPIRED: {
    exit: EXIT.DENIED,
    summary: 'A TUF role has expired beyond what the freshness policy accepts (the message names role and date).',
  },
  E_BREAK_GLASS: {
    exit: EXIT.DENIED,
    summary: 'A break-glass trust root is past its deadline, or break-glass was asked for wrongly.',
  },
  E_PACKAGE_TAMPERED: {
    exit: EXIT.DENIED,
    summary:
      'A transfer package does not match its signed manifest: a changed, missing, unlisted or ' +
      'duplicate file, or an unsafe entry.',
  },
  E_POLICY_DENIED: {
    exit: EXIT.DENIED,
    summary: 'An image policy does not admit the image: no entry matches, or no authority it names verified.',
  },
  E_SEQUENCE: {
    exit: EXIT.DENIED,
    summary: 'A transfer package is replayed, older, forked from, or skips ahead of the channel.',
  },
  E_SIGNERS: {
    exit: EXIT.DENIED,
    summary: 'The transfer manifest is unsigned, signed by keys not trusted, or by fewer signers than required.',
  },
  E_DESTINATION_CONFLICT: {
    exit: EXIT.DENIED,
    summary: 'Two images of a transfer package would land on the same repository and tag; nothing is pushed.',
  },
  E_GATE: {
    exit: EXIT.DENIED,
    summary:
      'A vulnerability scan has findings at or above the --fail-on severity, or of unknown ' +
      'severity (cannot evaluate, counted as failing): the package is refused.',
  },
  E_CHANNEL: {
    exit: EXIT.DENIED,
    summary:
      "A transfer package's channel is not one this side accepts, or it would write a repository " +
      "or tag its channel may not (bound to another channel, or outside the channel's " +
      'repositories).',
  },
  E_PACKAGE_STALE: {
    exit: EXIT.DENIED,
    summary:
      'A transfer package was created longer ago than the accepted maximum age (--max-age), or too far in the future.',
  },
  E_VULNDB_SIGNATURE: {
    exit: EXIT.DENIED,
    summary: 'A vulnerability database is unsigned, or its signature does not verify against the keys given.',
  },
  E_VULNDB_TAMPERED: {
    exit: EXIT.DENIED,
    summary: "A vulnerability database's content does not match the hash its signed manifest records.",
  },
  E_VULNDB_ROLLBACK: {
    exit: EXIT.DENIED,
    summary: 'A vulnerability database was built before the one installed under that name (rollback).',
  },
  E_VULNDB_STALE: {
    exit: EXIT.DENIED,
    summary:
      'A vulnerability database was built longer ago than its maximum age (--max-age) and no break-glass covers it.',
  },
  E_OIDC_TOKEN: {
    exit: EXIT.DENIED,
    summary:
      'An OIDC identity token was refused: malformed, unknown issuer or key, bad signature or algorithm, wrong ' +
      'audience, expired or not yet valid, or missing the claims its issuer type needs (the CA answers 400).',
  },
  E_CA_KEY: {
    exit: EXIT.DENIED,
    summary:
      'The public key or CSR in a certificate request cannot be parsed, or is a key the CA does not certify (400).',
  },
  E_CA_PROOF: {
    exit: EXIT.DENIED,
    summary:
      "A certificate request's proof of possession (or CSR self-signature) does not verify for its public key (400).",
  },
  // bug (4)
  E_INTERNAL: { exit: EXIT.INTERNAL, summary: 'A bug in airlock. Please report it with AIRLOCK_DEBUG=1 output.' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AirlockErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Structured facts for --json reports (expected/found values, paths). Never secrets. */
  details?: Record<string, unknown>;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AirlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isAirlockError(err: unknown, code?: ErrorCode): err is AirlockError {
  return err instanceof AirlockError && (code === undefined || err.code === code);
}

/** Turns a Node system error (ENOENT, EACCES, ...) on `path` into a coded error. */
export function fromFsError(err: unknown, path: string, action = 'read'): AirlockError {
  const sysCode = (err as NodeJS.ErrnoException | undefined)?.code;
  if (sysCode === 'ENOENT') {
    return new AirlockError('E_INPUT_MISSING', `${path}: no such file or directory`, { cause: err });
  }
  if (sysCode === 'EISDIR') {
    return new AirlockError('E_INPUT_MALFORMED', `${path}: is a directory, expected a file`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new AirlockError('E_IO', `cannot ${action} ${path}: ${reason}`, { cause: err });
}
