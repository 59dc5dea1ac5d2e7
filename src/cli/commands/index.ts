// Every command the CLI knows, in the order `airlock --help` lists them. A command's module is loaded
// only when that command runs: each pulls in its whole domain (registry client, log engine, Sigstore
// verifiers), and loading all of them cost every invocation about 0.2 s before it did any work.
// Names and aliases live here so argv resolves without loading anything; a test holds them equal to
// the commands' own.
import type { Command } from '../command.ts';

export interface CommandEntry {
  /** Full name, e.g. "key generate": the loaded command's `name`. */
  readonly name: string;
  readonly aliases?: readonly string[];
  load(): Promise<Command>;
}

function entry(name: string, load: () => Promise<Command>, aliases?: readonly string[]): CommandEntry {
  return { name, load, ...(aliases ? { aliases } : {}) };
}

/** An entry for a command already in memory (tests run main() with their own commands). */
export function loadedEntry(command: Command): CommandEntry {
  return entry(command.name, () => Promise.resolve(command), command.aliases);
}

export const COMMAND_ENTRIES: readonly CommandEntry[] = [
  entry('demo', async () => (await import('./demo.ts')).demoCommand),
  entry('key generate', async () => (await import('./key.ts')).keyGenerateCommand),
  entry('key public', async () => (await import('./key.ts')).keyPublicCommand),
  entry('sign-blob', async () => (await import('./sign-blob.ts')).signBlobCommand),
  entry('attest-blob', async () => (await import('./sign-blob.ts')).attestBlobCommand),
  entry('verify-blob', async () => (await import('./verify-blob.ts')).verifyBlobCommand, ['verify-blob-attestation']),
  entry('copy', async () => (await import('./image.ts')).copyCommand),
  entry('sign', async () => (await import('./image.ts')).signCommand),
  entry('attest', async () => (await import('./image.ts')).attestCommand),
  entry('verify', async () => (await import('./image.ts')).verifyCommand),
  entry('verify-attestation', async () => (await import('./image.ts')).verifyAttestationCommand),
  entry('image inspect', async () => (await import('./image.ts')).imageInspectCommand),
  entry('pack', async () => (await import('./transfer.ts')).packCommand),
  entry('approve', async () => (await import('./transfer.ts')).approveCommand),
  entry('inspect', async () => (await import('./transfer.ts')).inspectCommand),
  entry('import', async () => (await import('./transfer.ts')).importCommand),
  entry('trust mirror', async () => (await import('./trust.ts')).trustMirrorCommand),
  entry('trust import', async () => (await import('./trust.ts')).trustImportCommand),
  entry('trust status', async () => (await import('./trust.ts')).trustStatusCommand),
  entry('trust create', async () => (await import('./trust-create.ts')).trustCreateCommand),
  entry('trust show', async () => (await import('./trust-create.ts')).trustShowCommand),
  entry('log serve', async () => (await import('./log.ts')).logServeCommand),
  entry('log info', async () => (await import('./log-client.ts')).logInfoCommand),
  entry('log get', async () => (await import('./log-client.ts')).logGetCommand),
  entry('log verify', async () => (await import('./log-client.ts')).logVerifyCommand),
  entry('log witness', async () => (await import('./log-client.ts')).logWitnessCommand),
  entry('log witness-serve', async () => (await import('./log-witness-serve.ts')).logWitnessServeCommand),
  entry('audit show', async () => (await import('./audit.ts')).auditShowCommand),
  entry('audit verify', async () => (await import('./audit.ts')).auditVerifyCommand),
  entry('audit export', async () => (await import('./audit.ts')).auditExportCommand),
  entry('doctor', async () => (await import('./doctor.ts')).doctorCommand),
];

/** Every command, loaded (help listings need their summaries). */
export function loadCommands(entries: readonly CommandEntry[] = COMMAND_ENTRIES): Promise<Command[]> {
  return Promise.all(entries.map((e) => e.load()));
}
