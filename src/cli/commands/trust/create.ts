// `airlock trust create` (cosign trusted-root create): a trusted_root.json for a private Sigstore
// deployment from PEM files. Service specs use cosign's key=value spelling.
import { createHash, type X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { parseTrustedRoot } from '../../../sigstore/trusted-root.ts';
import {
  type CaInput,
  createTrustedRoot,
  type LogInput,
  TRUSTED_ROOT_MEDIA_TYPE,
  type TrustedRootVersion,
} from '../../../trust/create-trusted-root.ts';
import { summariseTrustedRoot } from '../../../trust/trusted-root-summary.ts';
import type { Command, CommandContext } from '../../command.ts';
import { httpUrl } from '../../http-url.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';
import { readInputText } from '../../../files/read-file.ts';
import { printSummary } from './trusted-root-text.ts';

type SpecKind = 'fulcio' | 'rekor' | 'ctfe' | 'tsa';

// cosign v3 `trusted-root create` keys, with one deliberate difference: start-time is required for
// every service, because Sigstore clients read a missing start as "valid since the beginning of time".
const SPEC_KEYS: Record<SpecKind, { readonly required: readonly string[]; readonly optional: readonly string[] }> = {
  // A Fulcio's chain comes from a file, or, without one, from the running CA at url= (its trust bundle).
  fulcio: { required: ['start-time'], optional: ['certificate-chain', 'url', 'chain', 'end-time', 'operator'] },
  tsa: { required: ['certificate-chain', 'start-time'], optional: ['url', 'end-time', 'operator'] },
  rekor: { required: ['url', 'public-key', 'start-time'], optional: ['origin', 'end-time', 'operator'] },
  ctfe: { required: ['url', 'public-key', 'start-time'], optional: ['end-time', 'operator'] },
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Parses cosign's `key=value,key=value` spec; every mistake is E_USAGE naming the flag. */
export function parseServiceSpec(kind: SpecKind, spec: string): Record<string, string> {
  const { required, optional } = SPEC_KEYS[kind];
  const hint =
    `--${kind} takes key=value pairs separated by commas: required ${required.join(', ')}; ` +
    `optional ${optional.join(', ')}`;
  const values: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const value = eq < 0 ? '' : pair.slice(eq + 1).trim();
    if (eq < 0 || value === '') throw new AirlockError('E_USAGE', `--${kind}: '${pair}' is not key=value`, { hint });
    if (!required.includes(key) && !optional.includes(key))
      throw new AirlockError('E_USAGE', `--${kind}: unknown key '${key}'`, { hint });
    if (key in values) throw new AirlockError('E_USAGE', `--${kind}: '${key}' given twice`, { hint });
    values[key] = value;
  }
  for (const key of required) {
    if (values[key] !== undefined) continue;
    if (key === 'start-time') {
      throw new AirlockError('E_USAGE', `--${kind}${values.url ? ` ${values.url}` : ''} needs start-time`, {
        hint:
          "add start-time=RFC3339 (when this CA or key began to be used, e.g. the certificate's " +
          'notBefore); Sigstore clients read a missing start as "always valid"',
      });
    }
    throw new AirlockError('E_USAGE', `--${kind} needs ${key}=`, { hint });
  }
  if (kind === 'fulcio') checkChainSource(values, hint);
  return values;
}

/** --fulcio: the chain from certificate-chain=FILE, or fetched from url= (chain=N picks one of several). */
function checkChainSource(values: Record<string, string>, hint: string): void {
  if (values['certificate-chain'] === undefined && values.url === undefined) {
    throw new AirlockError('E_USAGE', '--fulcio needs certificate-chain=FILE, or url= of the running CA', {
      hint: `with url= alone the chain is fetched from URL/api/v2/trustBundle; ${hint}`,
    });
  }
  const chain = values.chain;
  if (chain === undefined) return;
  if (values['certificate-chain'] !== undefined)
    throw new AirlockError(
      'E_USAGE',
      '--fulcio: chain= picks a chain fetched from url=, not one in certificate-chain=',
    );
  if (!/^[1-9][0-9]{0,2}$/.test(chain))
    throw new AirlockError('E_USAGE', `--fulcio: chain '${chain}' is not a chain number (1, 2, ...)`);
}

function parseTime(kind: SpecKind, key: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (!RFC3339.test(text) || Number.isNaN(date.getTime())) {
    throw new AirlockError('E_USAGE', `--${kind}: ${key} '${text}' is not an RFC 3339 time`, {
      hint: 'e.g. 2026-01-01T00:00:00Z',
    });
  }
  return date;
}

function validFor(kind: SpecKind, values: Record<string, string>): { start: Date; end?: Date } {
  const start = parseTime(kind, 'start-time', values['start-time']) as Date;
  const end = parseTime(kind, 'end-time', values['end-time']);
  return end === undefined ? { start } : { start, end };
}

async function readText(ctx: CommandContext, path: string): Promise<string> {
  return readInputText(resolve(ctx.cwd, path), path);
}

/** The CA's chain fetched from its trust bundle, shown with its root's fingerprint to compare out of band. */
async function fetchedChainPem(
  ctx: CommandContext,
  fetched: Array<Record<string, string>>,
  url: string,
  chain: string | undefined,
): Promise<string> {
  const base = httpUrl(url, '--fulcio url=', { prefix: true });
  const { fetchTrustBundle, trustBundleUrl } = await import('../../../trust/fetch-trust-bundle.ts');
  const { chainPem, describeCertificate, selectChain } = await import('../../../trust/fulcio-trust-bundle.ts');
  const where = trustBundleUrl(base);
  const certs = selectChain(await fetchTrustBundle(base), where, chain === undefined ? undefined : Number(chain));
  const root = certs.at(-1) as X509Certificate;
  const fingerprint = `SHA256:${root.fingerprint256}`;
  ctx.out.info(`Fetched the CA chain from ${where}: ${certs.map(describeCertificate).join(' → ')}`);
  ctx.out.info(`  root fingerprint ${fingerprint}: compare it with the CA's own before trusting this root`);
  if (new URL(base).protocol === 'http:')
    ctx.out.warn(`${where} was fetched over plain http: anyone on the path could have swapped the chain`);
  fetched.push({ url: where, root: describeCertificate(root), fingerprint });
  return chainPem(certs);
}

async function authorityInput(
  ctx: CommandContext,
  kind: 'fulcio' | 'tsa',
  spec: string,
  fetched: Array<Record<string, string>> = [],
): Promise<CaInput> {
  const v = parseServiceSpec(kind, spec);
  const file = v['certificate-chain'];
  return {
    certChainPem:
      file === undefined ? await fetchedChainPem(ctx, fetched, v.url as string, v.chain) : await readText(ctx, file),
    validFor: validFor(kind, v),
    ...(v.url !== undefined ? { uri: v.url } : {}),
    ...(v.operator !== undefined ? { operator: v.operator } : {}),
  };
}

async function logInput(ctx: CommandContext, kind: 'rekor' | 'ctfe', spec: string): Promise<LogInput> {
  const v = parseServiceSpec(kind, spec);
  return {
    publicKeyPem: await readText(ctx, v['public-key'] as string),
    baseUrl: v.url as string,
    validFor: validFor(kind, v),
    ...(v.origin !== undefined ? { origin: v.origin } : {}),
    ...(v.operator !== undefined ? { operator: v.operator } : {}),
  };
}

function mediaTypeFlag(value: string | undefined): TrustedRootVersion {
  const v = value ?? 'v0.1';
  for (const [version, mediaType] of Object.entries(TRUSTED_ROOT_MEDIA_TYPE)) {
    if (v === version || v === version.slice(1) || v === mediaType) return version as TrustedRootVersion;
  }
  throw new AirlockError('E_USAGE', `--media-type: unknown '${v}'`, {
    hint: 'use v0.1 (default, what cosign and production read) or v0.2',
  });
}

// ---------------------------------------------------------------------------------------------------

async function runCreate(ctx: CommandContext) {
  const { flags, out } = ctx;
  const mediaType = mediaTypeFlag(flags.string('media-type'));
  const specs = {
    fulcio: flags.strings('fulcio'),
    rekor: flags.strings('rekor'),
    ctfe: flags.strings('ctfe'),
    tsa: flags.strings('tsa'),
  };
  if (Object.values(specs).every((list) => list.length === 0)) {
    throw new AirlockError('E_USAGE', 'nothing to put in the trusted root', {
      hint: 'give at least one --fulcio, --rekor, --ctfe or --tsa',
    });
  }
  // Every spec is checked before any file is read, so a typo in the last flag is reported first.
  for (const [kind, list] of Object.entries(specs) as Array<[SpecKind, string[]]>) {
    for (const spec of list) validFor(kind, parseServiceSpec(kind, spec));
  }
  const fetched: Array<Record<string, string>> = [];
  const json = createTrustedRoot(
    {
      mediaType,
      certificateAuthorities: await Promise.all(specs.fulcio.map((s) => authorityInput(ctx, 'fulcio', s, fetched))),
      tlogs: await Promise.all(specs.rekor.map((s) => logInput(ctx, 'rekor', s))),
      ctlogs: await Promise.all(specs.ctfe.map((s) => logInput(ctx, 'ctfe', s))),
      timestampAuthorities: await Promise.all(specs.tsa.map((s) => authorityInput(ctx, 'tsa', s))),
    },
    { warn: (m) => out.warn(m) },
  );
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const summary = summariseTrustedRoot(parseTrustedRoot(Buffer.from(text), 'the new trusted root').root);
  const saved = outFile(ctx);
  const outPath = saved?.given;
  ctx.audit.subject(outPath ?? '(stdout)', digest);
  ctx.audit.detail('authorities', summary);
  if (fetched.length > 0) ctx.audit.detail('fetchedChains', fetched);
  if (saved === undefined) {
    out.data(text); // cosign prints the root when --out is absent
  } else {
    await writeFileAtomic(saved.path, text, { overwrite: saved.overwrite });
    out.info(`Trusted root written to ${outPath} (${digest})`);
    printSummary(out, summary);
  }
  return {
    json: {
      out: outPath ?? null,
      digest,
      ...summary,
      ...(fetched.length > 0 ? { fetchedChains: fetched } : {}),
      ...(outPath === undefined ? { trustedRoot: json } : {}),
    },
  };
}

const SPEC_HELP = (kind: SpecKind) =>
  `key=value,...: ${SPEC_KEYS[kind].required.join(', ')} required; ${SPEC_KEYS[kind].optional.join(', ')} optional`;

export const trustCreateCommand: Command = {
  name: 'trust create',
  audit: 'trust.create',
  summary: 'Write a trusted_root.json for a private Sigstore deployment (cosign trusted-root create)',
  usage: '[--out FILE] --fulcio SPEC... --rekor SPEC... --ctfe SPEC... --tsa SPEC... [--media-type v0.1|v0.2]',
  description:
    "Each service is one repeatable flag taking cosign's comma-separated key=value spec. Files are PEM:\n" +
    'certificate-chain leaf-most first and the self-signed root last (checked), public-key an SPKI PUBLIC KEY.\n' +
    'start-time (RFC 3339) is required everywhere, unlike cosign. Log IDs are SHA-256 of the key (RFC 6962)\n' +
    "for Rekor v1 and CT logs; a Rekor v2 log needs origin= (its checkpoint name, the URL's host name), which\n" +
    'makes the log ID the C2SP signed-note key ID. The root is checked to load in @sigstore/verify before it is\n' +
    'written (atomically; an existing file only with --force). Without --out it goes to stdout.\n' +
    '--fulcio with url= and no certificate-chain= fetches the chain from the running CA (airlock ca serve, or\n' +
    'Fulcio): GET URL/api/v2/trustBundle, redirects not followed; it must end at a self-signed root. A CA that\n' +
    'serves several chains (a rotation) needs chain=N, one --fulcio per chain. The root fingerprint is printed:\n' +
    "compare it with the CA's before you trust the root. A root without --ctfe has no CT log: verifiers then\n" +
    'need `airlock verify-blob … --ctlog-threshold 0` for keyless bundles (said, never assumed).',
  flags: {
    ...outFileFlags('Where to write trusted_root.json (default: stdout)'),
    'media-type': {
      type: 'string',
      value: 'V',
      description: 'v0.1 (what cosign and production read) or v0.2 (adds checkpointKeyId, operator)',
      default: 'v0.1',
    },
    fulcio: { type: 'string', multiple: true, value: 'SPEC', description: `Fulcio CA, ${SPEC_HELP('fulcio')}` },
    rekor: { type: 'string', multiple: true, value: 'SPEC', description: `Rekor log, ${SPEC_HELP('rekor')}` },
    ctfe: { type: 'string', multiple: true, value: 'SPEC', description: `CT log, ${SPEC_HELP('ctfe')}` },
    tsa: { type: 'string', multiple: true, value: 'SPEC', description: `RFC 3161 TSA, ${SPEC_HELP('tsa')}` },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock trust create --out trusted_root.json \\\n' +
        '    --fulcio="url=https://fulcio.internal,certificate-chain=fulcio-chain.pem,' +
        'start-time=2026-01-01T00:00:00Z" \\\n' +
        '    --rekor="url=https://rekor.internal,public-key=rekor.pub,start-time=2026-01-01T00:00:00Z,' +
        'origin=rekor.internal" \\\n' +
        '    --ctfe="url=https://ctfe.internal,public-key=ctfe.pub,start-time=2026-01-01T00:00:00Z" \\\n' +
        '    --tsa="url=https://tsa.internal/api/v1/timestamp,certificate-chain=tsa-chain.pem,' +
        'start-time=2026-01-01T00:00:00Z"',
      description: 'A private deployment: Fulcio, Rekor v2, CT log and TSA',
    },
    {
      command:
        'airlock trust create --out trusted_root.json \\\n' +
        '    --fulcio="url=https://ca.internal:5555,start-time=2026-01-01T00:00:00Z" \\\n' +
        '    --rekor="url=https://log.internal,public-key=log.pub,start-time=2026-01-01T00:00:00Z,' +
        'origin=log.internal" \\\n' +
        '    --tsa="url=https://tsa.internal/api/v1/timestamp,certificate-chain=tsa-chain.pem,' +
        'start-time=2026-01-01T00:00:00Z"',
      description:
        'Inside the gap: the chain fetched from `airlock ca serve` (its /api/v2/trustBundle), `airlock log ' +
        'serve` as the Rekor v2 log, a TSA; no CT log, so `airlock verify … --ctlog-threshold 0`',
    },
    {
      command:
        'airlock trust create --out old+new.json ' +
        '--rekor="url=https://rekor.internal,public-key=old.pub,start-time=2025-01-01T00:00:00Z,' +
        'end-time=2026-01-31T23:59:59Z" ' +
        '--rekor="url=https://rekor.internal,public-key=new.pub,start-time=2026-01-01T00:00:00Z"',
      description: 'A key rotation: keep the old key with its end-time so old entries still verify',
    },
  ],
  run: runCreate,
};
