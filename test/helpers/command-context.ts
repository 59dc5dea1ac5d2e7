// A CommandContext for unit tests of flag groups and commands: flags parsed from argv against the
// specs given (as main parses them), output captured, a fixed clock, and an audit trail that only
// remembers what it was told. Nothing touches the real process: cwd, env and stdin are the test's.
import { Readable } from 'node:stream';
import { parseCommandArgs, type FlagSpecs } from '../../src/cli/args.ts';
import type { AuditTrail } from '../../src/cli/audit-trail.ts';
import type { CommandContext } from '../../src/cli/command.ts';
import { type Env, Output } from '../../src/cli/output.ts';

export interface TestContextOptions {
  readonly cwd?: string;
  readonly env?: Env;
  readonly stateDir?: string;
  readonly stdin?: string;
  readonly now?: Date;
  readonly json?: boolean;
}

export interface TestContext {
  readonly ctx: CommandContext;
  /** What the command wrote to stderr (messages, warnings) and stdout. */
  readonly stderr: () => string;
  readonly stdout: () => string;
  /** Subjects and details the command gave its audit event. */
  readonly audited: { subjects: Array<{ name: string; digest?: string }>; details: Record<string, unknown> };
}

function capture() {
  const sink = {
    text: '',
    write(chunk: string) {
      sink.text += chunk;
      return true;
    },
  };
  return sink;
}

function recordingAudit(audited: TestContext['audited']): AuditTrail {
  return {
    subject: (name, digest) => void audited.subjects.push({ name, ...(digest ? { digest } : {}) }),
    detail: (key, value) => void (audited.details[key] = value),
    reason: () => undefined,
    record: () => Promise.resolve(),
    ready: () => Promise.resolve(),
    log: () => Promise.reject(new Error('no audit log in a test context')),
    successRecorded: () => undefined,
    finish: () => Promise.resolve(),
  };
}

/** Parses `argv` against `specs` and builds the context a command would run with. */
export function testContext(argv: readonly string[], specs: FlagSpecs, options: TestContextOptions = {}): TestContext {
  const { flags, positionals } = parseCommandArgs(argv, specs, 'airlock test');
  const stdout = capture();
  const stderr = capture();
  const stdin =
    options.stdin === undefined
      ? undefined
      : Object.assign(Readable.from([Buffer.from(options.stdin)]), { isTTY: false });
  const io = { stdout, stderr, ...(stdin ? { stdin } : {}) };
  const env = options.env ?? {};
  const audited: TestContext['audited'] = { subjects: [], details: {} };
  const now = options.now ?? new Date('2026-12-01T00:00:00Z');
  const ctx: CommandContext = {
    flags,
    positionals,
    out: new Output(io, { json: options.json ?? false, quiet: false, verbose: false, env }),
    io,
    env,
    now: () => now,
    stateDir: options.stateDir ?? '/nonexistent/airlock-state',
    cwd: options.cwd ?? '/nonexistent/cwd',
    audit: recordingAudit(audited),
  };
  return { ctx, stderr: () => stderr.text, stdout: () => stdout.text, audited };
}
