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
  entry('demo', async () => (await import('./demo/command.ts')).demoCommand),
  entry('key generate', async () => (await import('./key/generate.ts')).keyGenerateCommand, ['generate-key-pair']),
  entry('key public', async () => (await import('./key/public.ts')).keyPublicCommand, ['public-key']),
  entry('sign-blob', async () => (await import('./blob/sign.ts')).signBlobCommand),
  entry('attest-blob', async () => (await import('./blob/sign.ts')).attestBlobCommand),
  entry('verify-blob', async () => (await import('./blob/verify.ts')).verifyBlobCommand, ['verify-blob-attestation']),
  entry('copy', async () => (await import('./image/copy.ts')).copyCommand),
  entry('save', async () => (await import('./image/copy.ts')).saveCommand),
  entry('load', async () => (await import('./image/copy.ts')).loadCommand),
  entry('sign', async () => (await import('./image/sign.ts')).signCommand),
  entry('attest', async () => (await import('./image/sign.ts')).attestCommand),
  entry('verify', async () => (await import('./image/verify.ts')).verifyCommand),
  entry('verify-attestation', async () => (await import('./image/verify.ts')).verifyAttestationCommand),
  entry('image inspect', async () => (await import('./image/inspect.ts')).imageInspectCommand, ['tree']),
  entry('pack', async () => (await import('./transfer/pack.ts')).packCommand),
  entry('approve', async () => (await import('./transfer/approve.ts')).approveCommand),
  entry('inspect', async () => (await import('./transfer/inspect.ts')).inspectCommand),
  entry('import', async () => (await import('./transfer/import.ts')).importCommand),
  entry('trust mirror', async () => (await import('./trust/mirror.ts')).trustMirrorCommand),
  entry('trust import', async () => (await import('./trust/import.ts')).trustImportCommand),
  entry('trust status', async () => (await import('./trust/status.ts')).trustStatusCommand),
  entry('trust create', async () => (await import('./trust/create.ts')).trustCreateCommand),
  entry('trust show', async () => (await import('./trust/show.ts')).trustShowCommand),
  entry('ca init', async () => (await import('./ca/init.ts')).caInitCommand),
  entry('ca serve', async () => (await import('./ca/serve.ts')).caServeCommand),
  entry('sbom', async () => (await import('./sbom/sbom.ts')).sbomCommand),
  entry('scan', async () => (await import('./scan/scan.ts')).scanCommand),
  entry('vulndb build', async () => (await import('./vulndb/build.ts')).vulndbBuildCommand),
  entry('vulndb import', async () => (await import('./vulndb/import.ts')).vulndbImportCommand),
  entry('vulndb status', async () => (await import('./vulndb/status.ts')).vulndbStatusCommand),
  entry('log serve', async () => (await import('./log/serve.ts')).logServeCommand),
  entry('log info', async () => (await import('./log/info.ts')).logInfoCommand),
  entry('log get', async () => (await import('./log/get.ts')).logGetCommand),
  entry('log verify', async () => (await import('./log/verify.ts')).logVerifyCommand),
  entry('log witness', async () => (await import('./log/witness.ts')).logWitnessCommand),
  entry('log witness-serve', async () => (await import('./log/witness-serve.ts')).logWitnessServeCommand),
  entry('log migrate', async () => (await import('./log/migrate.ts')).logMigrateCommand),
  entry('tsa init', async () => (await import('./tsa/init.ts')).tsaInitCommand),
  entry('tsa serve', async () => (await import('./tsa/serve.ts')).tsaServeCommand),
  entry('audit show', async () => (await import('./audit/show.ts')).auditShowCommand),
  entry('audit verify', async () => (await import('./audit/verify.ts')).auditVerifyCommand),
  entry('audit export', async () => (await import('./audit/export.ts')).auditExportCommand),
  entry('audit migrate', async () => (await import('./audit/migrate.ts')).auditMigrateCommand),
  entry('policy check', async () => (await import('./policy/check.ts')).policyCheckCommand),
  entry('admission serve', async () => (await import('./admission/serve.ts')).admissionServeCommand),
  entry('admission manifests', async () => (await import('./admission/manifests.ts')).admissionManifestsCommand),
  entry('admission export', async () => (await import('./admission/export.ts')).admissionExportCommand),
  entry('admission test', async () => (await import('./admission/test.ts')).admissionTestCommand),
  entry('doctor', async () => (await import('./doctor.ts')).doctorCommand),
];

/** Every command, loaded (help listings need their summaries). */
export function loadCommands(entries: readonly CommandEntry[] = COMMAND_ENTRIES): Promise<Command[]> {
  return Promise.all(entries.map((e) => e.load()));
}

/** What to type instead of a cosign command airlock answers another way. */
export interface CosignEquivalent {
  /** Why airlock has no such command, in a few words. */
  readonly why: string;
  readonly instead: string;
}

/**
 * cosign commands without an airlock command of the same meaning (those with one are aliases above):
 * main answers each with E_UNSUPPORTED (exit 2) naming what to type, before parsing any flag.
 */
export const COSIGN_EQUIVALENTS: Readonly<Record<string, CosignEquivalent>> = {
  'attach sbom': {
    why: 'airlock attaches an SBOM only as a signed attestation, so it can be verified on the far side',
    instead:
      'airlock attest IMAGE --type spdxjson --predicate sbom.spdx.json --key cosign.key (--type ' +
      'cyclonedx for CycloneDX)',
  },
  'attach attestation': {
    why: 'airlock signs the attestations it attaches',
    instead: 'airlock attest IMAGE --type TYPE --predicate FILE --key cosign.key',
  },
  'attach signature': {
    why: 'airlock attaches the signatures it makes',
    instead: 'airlock sign IMAGE --key cosign.key',
  },
  attach: {
    why: 'airlock attaches only what it signs',
    instead: 'airlock sign IMAGE, or airlock attest IMAGE --type TYPE --predicate FILE (SBOMs: --type spdxjson)',
  },
  'download sbom': {
    why: 'airlock hands on an SBOM only from an attestation that verified',
    instead: 'airlock verify-attestation IMAGE --type spdxjson --key cosign.pub --output-file sbom.spdx.json',
  },
  'download attestation': {
    why: 'airlock hands on attestations only once they verified',
    instead: 'airlock verify-attestation IMAGE --type TYPE --key cosign.pub --output-file FILE (- for stdout)',
  },
  'download signature': {
    why: 'airlock reports signatures with their verdicts',
    instead: 'airlock verify IMAGE --key cosign.pub --json',
  },
  download: {
    why: 'airlock hands on only what verified',
    instead: 'airlock verify-attestation IMAGE --type TYPE --key cosign.pub --output-file FILE',
  },
  triangulate: {
    why: 'airlock lists what is attached instead',
    instead: 'airlock image inspect IMAGE (or airlock tree IMAGE)',
  },
  login: {
    why: 'airlock keeps no login state of its own',
    instead:
      'docker/podman login (airlock reads ~/.docker/config.json, $REGISTRY_AUTH_FILE, ' +
      '--authfile), or --username USER --password-stdin',
  },
  initialize: {
    why: 'airlock never fetches a trust root while verifying',
    instead: 'airlock trust mirror (connected side), then airlock trust import MIRROR (air-gapped side)',
  },
  'import-key-pair': {
    why: 'airlock reads PEM and cosign keys where they are',
    instead: 'pass the key file as --key (PKCS#8, SEC1, PKCS#1 or encrypted PEM)',
  },
};
