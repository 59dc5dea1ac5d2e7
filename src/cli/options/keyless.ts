// Where a keyless signature's identity token comes from, in cosign's order: --identity-token (a token,
// or @FILE), then SIGSTORE_ID_TOKEN (also how GitLab and Buildkite tokens are passed), then GitHub
// Actions' token request variables. Read here, at the CLI's edge, and handed to the signer as a value:
// the token is never printed, recorded, or put on another process's argv.
import type { X509Certificate } from 'node:crypto';
import type { Signer } from '../../crypto/signer.ts';
import { isLoopbackHost } from '../../net/loopback.ts';
import { AirlockError } from '../../errors.ts';
import { readInputText } from '../../files/read-file.ts';
import type { Env } from '../output.ts';
import type { CommandContext } from '../command.ts';
import { keySigner } from './key.ts';
import type { SigningPlan } from './signing.ts';

/** A JWT is a few KiB; a file much larger than this is not one. */
const MAX_TOKEN_BYTES = 64 * 1024;

export interface TokenSource {
  /** Where the token comes from, for messages: never the token. */
  readonly name: string;
  read(): Promise<string>;
}

function nonEmpty(token: string, name: string): string {
  const trimmed = token.trim();
  if (trimmed === '') throw new AirlockError('E_USAGE', `the identity token from ${name} is empty`);
  return trimmed;
}

/** GitHub Actions through @sigstore/sign's CIContextProvider (audience `sigstore`). */
function githubActions(): TokenSource {
  const name = 'GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)';
  return {
    name,
    read: async () => {
      const { CIContextProvider } = await import('@sigstore/sign');
      // It reads process.env itself; `env` only decided that the variables are there. Its errors may
      // carry the request URL and bearer: none is passed on.
      const token = await new CIContextProvider('sigstore').getToken().catch(() => {
        throw new AirlockError('E_UNAVAILABLE', `could not get an identity token from ${name}`, {
          hint: "the workflow needs 'permissions: id-token: write'",
        });
      });
      return nonEmpty(token, name);
    },
  };
}

/** The first source present, checked before any work; E_USAGE naming all three when there is none. */
export function identityTokenSource(flag: string | undefined, env: Env): TokenSource {
  if (flag !== undefined) {
    if (flag.startsWith('@')) {
      const path = flag.slice(1);
      const name = `--identity-token @${path}`;
      return {
        name,
        read: async () => nonEmpty(await readInputText(path, 'the identity token', MAX_TOKEN_BYTES), name),
      };
    }
    return { name: '--identity-token', read: async () => nonEmpty(flag, '--identity-token') };
  }
  const fromEnv = env.SIGSTORE_ID_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') {
    return { name: 'SIGSTORE_ID_TOKEN', read: async () => nonEmpty(fromEnv, 'SIGSTORE_ID_TOKEN') };
  }
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) return githubActions();
  throw new AirlockError('E_USAGE', 'keyless signing (no --key) needs an OIDC identity token, and none was found', {
    hint:
      'pass --identity-token @FILE, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with id-token: write ' +
      '(ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN); or sign with --key REF',
  });
}

/** What a command signs with: a key, or an ephemeral key and the certificate the CA issued for it. */
export interface OpenedSigner {
  readonly signer: Signer;
  readonly certificate?: X509Certificate;
  /** The certificate's SAN, keyless only. */
  readonly identity?: string;
}

/** Checked when the plan is made, so a missing token is refused before anything is read or signed. */
export function tokenSourceFor(ctx: CommandContext, plan: SigningPlan): TokenSource | undefined {
  return plan.keyless ? identityTokenSource(ctx.flags.string('identity-token'), ctx.env) : undefined;
}

/** Opens the key the plan names, or obtains a certificate for an ephemeral one. */
export async function openSigner(
  ctx: CommandContext,
  plan: SigningPlan,
  tokens: TokenSource | undefined,
): Promise<OpenedSigner> {
  if (plan.keyRef !== undefined) return { signer: await keySigner(ctx, plan.keyRef, plan.signingAlgorithm) };
  if (!plan.keyless || !tokens) throw new Error('a keyless plan comes with its token source (tokenSourceFor)');
  const identityToken = await tokens.read();
  const { obtainSigningCertificate } = await import('../../sigstore/keyless.ts');
  ctx.out.debug(`requesting a signing certificate from ${plan.keyless.fulcioUrl} with the token from ${tokens.name}`);
  if (sentInTheClear(plan.keyless.fulcioUrl))
    ctx.out.warn(
      `the identity token goes to ${plan.keyless.fulcioUrl} over plain http: anyone on the way can use it ` +
        'until it expires; serve the CA over https',
    );
  return obtainSigningCertificate({ fulcioUrl: plan.keyless.fulcioUrl, identityToken, now: ctx.now() });
}

/** The certificate's facts for --json and the audit event (never the token). */
export function certificateSummary(opened: OpenedSigner) {
  const c = opened.certificate;
  if (!c) return undefined;
  return {
    identity: opened.identity,
    serialNumber: c.serialNumber,
    issuer: c.issuer,
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
  };
}

/** An http:// URL to anything but this machine: a bearer token sent there crosses the network readable. */
export function sentInTheClear(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && !isLoopbackHost(hostname);
}
