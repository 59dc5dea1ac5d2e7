// The registry group every command that reads or writes images takes: where credentials and a private
// CA come from, and plain HTTP to a loopback registry, mapped to the registry client's options.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError } from '../../errors.ts';
import type { RegistryOptions } from '../../oci/open-store.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { readInputText } from '../../files/read-file.ts';

export const REGISTRY_FLAGS = {
  username: { type: 'string', value: 'USER', description: 'Registry user name (password from --password-stdin)' },
  'password-stdin': { type: 'boolean', description: 'Read the registry password from stdin' },
  authfile: {
    type: 'string',
    value: 'FILE',
    description: 'Registry credentials file (default $REGISTRY_AUTH_FILE, ~/.docker/config.json)',
  },
  'ca-cert': { type: 'string', value: 'FILE', description: 'PEM CA certificate(s) of a registry with a private CA' },
  insecure: { type: 'boolean', description: 'Plain HTTP to a loopback registry (warns; refused for other hosts)' },
  'allow-insecure-registry': { type: 'boolean', description: "Same as --insecure (cosign's spelling)" },
  'allow-http-registry': { type: 'boolean', description: "Same as --insecure (cosign's spelling)" },
} as const satisfies FlagSpecs;

/** --insecure and cosign's two spellings of it: the same loopback-only plain HTTP. */
const INSECURE_SPELLINGS = ['insecure', 'allow-insecure-registry', 'allow-http-registry'] as const;

async function readStdin(ctx: CommandContext): Promise<string> {
  if (!ctx.io.stdin) throw new AirlockError('E_USAGE', '--password-stdin needs a password on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** The registry client's options: credentials (stdin read once), CA file, auth files in order, --insecure. */
export async function registryOptions(ctx: CommandContext): Promise<RegistryOptions> {
  const { flags, env } = ctx;
  const username = flags.string('username');
  if (flags.bool('password-stdin') && !username) throw new AirlockError('E_USAGE', '--password-stdin needs --username');
  const credentials = username
    ? { username, password: flags.bool('password-stdin') ? await readStdin(ctx) : '' }
    : undefined;
  const caPath = flags.string('ca-cert');
  const caPem = caPath ? await readInputText(caPath, 'a CA certificates file', 4 * 1024 * 1024) : undefined;
  const authFiles = [
    flags.string('authfile'),
    env.REGISTRY_AUTH_FILE,
    join(env.HOME || homedir(), '.docker', 'config.json'),
  ].filter((f): f is string => !!f);
  const insecure = INSECURE_SPELLINGS.find((f) => flags.bool(f));
  if (insecure) ctx.out.warn(`--${insecure}: registry traffic is plain HTTP (allowed for loopback registries only)`);
  return {
    insecure: insecure !== undefined,
    ...(caPem ? { caPem } : {}),
    ...(credentials ? { credentials } : {}),
    authFiles,
  };
}
