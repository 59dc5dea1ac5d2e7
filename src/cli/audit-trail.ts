// The CLI's side of the audit trail: who ran what where (the edge knows the user, host and version),
// one event per audited command at its end — ok, refused or failed — plus the events domain code
// records for its own decisions (each import, each trust install). The audit log is opened on first
// use, so commands that decide nothing never touch it. AIRLOCK_AUDIT_URL puts it in PostgreSQL, shared
// by every machine pointed there (docs/audit.md, "On PostgreSQL").
import { hostname, userInfo } from 'node:os';
import { AuditLog } from '../audit/audit-log.ts';
import type { SharedTrail } from '../audit/shared-trail.ts';
import { AirlockError } from '../errors.ts';
import type { AuditSubject, Recorder } from '../recorder.ts';

export type { Recorder };
import type { Signer } from '../crypto/signer.ts';
import { VERSION } from '../version.ts';

export interface AuditTrail {
  /** Names what the command's closing event is about. */
  subject(name: string, digest?: string): void;
  /** A check or figure for the command's closing event. */
  detail(key: string, value: unknown): void;
  /** Why a command that reports its verdict as an exit code (verify) said no. */
  reason(text: string): void;
  /** Records a decision now. */
  readonly record: Recorder;
  /**
   * Opens the audit log now: commands that change state call this first, so an unusable audit log stops them before
   * they change anything.
   */
  ready(): Promise<void>;
  /** The audit log itself (opened on first use): pack carries its checkpoint across the gap. */
  log(): Promise<AuditLog>;
  /**
   * The command's success was recorded already, by the domain code, before its effect (write-ahead):
   * the closing event is then written only for a failure.
   */
  successRecorded(): void;
  /** Records the command's closing event (when the command is audited) and closes the log. */
  finish(action: string | undefined, outcome: { error?: AirlockError; exitCode?: number }): Promise<void>;
}

export interface AuditTrailOptions {
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => Date;
  /** A fresh unique id per event. */
  readonly randomId: () => string;
  /** Loads AIRLOCK_AUDIT_KEY when set (a key file or an HSM). */
  readonly loadSigner: (ref: string) => Promise<Signer>;
  /** The shared trail to write instead of this machine's (options/audit-url.ts), asked for on first use. */
  readonly sharedTrail?: () => Promise<SharedTrail | undefined>;
}

function actorOf(env: AuditTrailOptions['env']): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

/** This machine's trail, or the shared one AIRLOCK_AUDIT_URL names, with the key AIRLOCK_AUDIT_KEY names. */
async function openAuditLog(options: AuditTrailOptions): Promise<AuditLog> {
  const ref = options.env.AIRLOCK_AUDIT_KEY;
  const shared = await options.sharedTrail?.();
  if (!shared) return AuditLog.open(options.stateDir, ref ? { signer: await options.loadSigner(ref) } : {});
  if (!ref)
    throw new AirlockError(
      'E_INPUT_MISSING',
      'AIRLOCK_AUDIT_URL puts the audit trail in PostgreSQL, which keeps no signing key: ' +
        'AIRLOCK_AUDIT_KEY is not set',
      { hint: "set AIRLOCK_AUDIT_KEY to the trail's key (a key file, env://VAR or a pkcs11: URI) on every machine" },
    );
  return AuditLog.openShared(options.stateDir, shared, await options.loadSigner(ref));
}

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const subjects: AuditSubject[] = [];
  const details: Record<string, unknown> = {};
  let verdictReason: string | undefined;
  let successRecorded = false;
  let log: Promise<AuditLog> | undefined;
  // Once per trail: a server records an event per request, and asking the OS each time showed in profiles.
  let actor: string | undefined;
  const open = () => {
    log ??= openAuditLog(options);
    return log;
  };
  const base = () => ({
    id: options.randomId(),
    time: options.now().toISOString(),
    actor: (actor ??= actorOf(options.env)),
    host: hostname(),
    tool: `airlock ${VERSION}`,
  });
  const record: Recorder = async (r) => {
    await (
      await open()
    ).append({
      ...base(),
      action: r.action,
      result: r.result,
      subjects: r.subjects ?? [],
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.details ? { details: r.details } : {}),
    });
  };
  return {
    subject: (name, digest) => {
      if (!subjects.some((s) => s.name === name && s.digest === digest))
        subjects.push({ name, ...(digest ? { digest } : {}) });
    },
    detail: (key, value) => {
      details[key] = value;
    },
    reason: (text) => {
      verdictReason = text;
    },
    record,
    successRecorded: () => {
      successRecorded = true;
    },
    ready: async () => {
      await open();
    },
    log: open,
    finish: async (action, { error, exitCode = 0 }) => {
      try {
        // Usage errors (exit 2) decide nothing; everything else an audited command ends with is a decision.
        const code = error ? error.exitCode : exitCode;
        if (action && code !== 2 && !(successRecorded && code === 0)) {
          const result = code === 0 ? 'ok' : code === 1 ? 'refused' : 'failed';
          const reason = error
            ? `${error.code}: ${error.message}`
            : code === 0
              ? undefined
              : (verdictReason ?? `exit code ${code}`);
          await record({
            action,
            result,
            subjects,
            ...(reason ? { reason } : {}),
            ...(Object.keys(details).length ? { details } : {}),
          });
        }
      } finally {
        if (log) await (await log.catch(() => undefined))?.close();
      }
    },
  };
}
