// The shape every CLI command has: its flags (composed from shared flag groups), its help text and
// examples, and a run function that returns the --json document. Commands never exit the process.
import type { Flags, FlagSpecs } from './args.ts';
import type { AuditTrail } from './audit-trail.ts';
import type { Env, Io, Output } from './output.ts';

export interface Example {
  readonly command: string;
  readonly description: string;
}

export interface CommandContext {
  readonly flags: Flags;
  readonly positionals: string[];
  readonly out: Output;
  readonly io: Io;
  readonly env: Env;
  /** The clock, injected so tests can run any command at any instant. */
  readonly now: () => Date;
  /** $AIRLOCK_HOME, resolved once by main. */
  readonly stateDir: string;
  readonly cwd: string;
  /** The audit trail: subjects and details for this command's event, and domain decisions. */
  readonly audit: AuditTrail;
}

export interface CommandResult {
  /** The --json document; human output is written by the command itself. */
  readonly json?: unknown;
  /** Non-zero when the command reports a verdict rather than throwing (e.g. doctor). */
  readonly exitCode?: number;
}

export interface Command {
  /** Full name, e.g. "key generate". */
  readonly name: string;
  readonly summary: string;
  /** Everything after "airlock <name>", e.g. "FILE --key REF --bundle OUT". */
  readonly usage: string;
  readonly description?: string;
  readonly flags: FlagSpecs;
  readonly positionals: { readonly min: number; readonly max: number };
  readonly examples: readonly Example[];
  /** Aliases such as cosign's verify-blob-attestation. */
  readonly aliases?: readonly string[];
  /** The action this command's audit event records (sign, verify, …); absent: it decides nothing. */
  readonly audit?: string;
  /**
   * It reports a verdict (verify, scan): its "no" keeps exit 1 even when the trail cannot record it, so
   * the trail is not opened before it runs; such a command opens it (ctx.audit.ready()) itself before
   * it writes a file (a report, verified predicates). Every other audited command makes something (a
   * signature, a key, a package), and main opens the trail first: a trail that cannot be written stops
   * it before it writes anything.
   */
  readonly verdict?: true;
  run(ctx: CommandContext): Promise<CommandResult>;
}

export const GLOBAL_FLAGS = {
  json: { type: 'boolean', description: 'Write one machine-readable JSON document on stdout' },
  quiet: { type: 'boolean', short: 'q', description: 'Print only warnings and errors' },
  verbose: { type: 'boolean', short: 'v', description: 'Print more detail about each step' },
  help: { type: 'boolean', short: 'h', description: 'Show help for the command' },
} as const satisfies FlagSpecs;
