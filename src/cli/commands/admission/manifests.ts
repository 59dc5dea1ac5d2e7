// `airlock admission manifests`: the YAML that runs airlock's admission webhook in a cluster, on stdout
// or in --output FILE; with --generate-tls DIR also the webhook's CA and serving certificate.
import { basename, dirname, resolve } from 'node:path';
import type { K8sObject, NamedText, WebhookTlsMaterial } from '../../../admission/manifests.ts';
import { AirlockError } from '../../../errors.ts';
import type { Command, CommandContext } from '../../command.ts';

/** A ConfigMap's bound: nothing larger could be mounted anyway. */
const MAX_CONFIG_FILE = 1024 * 1024;

async function readText(ctx: CommandContext, path: string, what: string): Promise<string> {
  const { readInputText } = await import('../../../files/read-file.ts');
  return readInputText(resolve(ctx.cwd, path), what, MAX_CONFIG_FILE);
}

/**
 * The policy's text as given, once it reads as a policy, and the files it names (keys, log keys,
 * witness policies) relative to it: they ship beside it, or the webhook could not load them.
 */
async function policyInputs(ctx: CommandContext): Promise<{ text: string; files: NamedText[] }> {
  const path = ctx.flags.string('policy');
  if (!path)
    throw new AirlockError('E_USAGE', 'airlock admission manifests needs --policy FILE', {
      hint: 'the image policy the webhook enforces; it is shipped in a ConfigMap',
    });
  const text = await readText(ctx, path, 'an image policy');
  const { parsePolicyText } = await import('../../../policy/policy-file.ts');
  const { isVkeyText, materialNeeds } = await import('../../../admission/material.ts');
  const needs = materialNeeds(parsePolicyText(text, path));
  const named = [
    ...needs.keys,
    ...needs.logs.flatMap((l) => [
      ...(isVkeyText(l.logKey) ? [] : [l.logKey]),
      ...(l.witnessPolicy ? [l.witnessPolicy] : []),
    ]),
  ];
  const base = dirname(resolve(ctx.cwd, path));
  const files: NamedText[] = [];
  for (const name of [...new Set(named)])
    files.push({ name, text: await readText(ctx, resolve(base, name), 'a file the policy names') });
  return { text, files };
}

async function trustedRoots(ctx: CommandContext): Promise<NamedText[]> {
  const roots: NamedText[] = [];
  const paths = ctx.flags.strings('trusted-root');
  // admission serve verifies against one --trusted-root (plus installed roots by name): shipping more
  // would look like trust that the webhook never uses.
  if (paths.length > 1)
    throw new AirlockError('E_USAGE', 'admission serve takes one --trusted-root; give one', {
      hint: 'merge the CAs and logs into one trusted_root.json with airlock trust create',
    });
  for (const path of paths) {
    const text = await readText(ctx, path, 'a trusted_root.json');
    try {
      JSON.parse(text);
    } catch (err) {
      throw new AirlockError('E_INPUT_MALFORMED', `${path}: not JSON: ${(err as Error).message}`, { cause: err });
    }
    roots.push({ name: basename(path), text });
  }
  return roots;
}

function imageOption(ctx: CommandContext, fallback: string): string {
  const image = ctx.flags.string('image');
  if (image === undefined)
    ctx.out.warn(
      `no --image: the Deployment runs '${fallback}'; give a digest-pinned image ` +
        '(--image registry.corp/airlock@sha256:...) so every replica runs the bytes you verified',
    );
  else if (!/@sha256:[0-9a-f]{64}$/.test(image))
    ctx.out.warn(`--image ${image} has no @sha256: digest; a tag can be moved to other bytes after you apply this`);
  return image ?? fallback;
}

async function makeTls(ctx: CommandContext, dir: string, service: string, namespace: string) {
  const { findExecutable } = await import('../../../tools/external.ts');
  const openssl = await findExecutable('openssl', ctx.env.PATH);
  if (!openssl)
    throw new AirlockError('E_UNAVAILABLE', '--generate-tls needs openssl, and none is on PATH', {
      hint: 'install openssl, or leave out --generate-tls and create the Secret yourself',
    });
  const { generateWebhookTls } = await import('../../../admission/webhook-tls.ts');
  const made = await generateWebhookTls({
    openssl,
    dir: resolve(ctx.cwd, dir),
    service,
    namespace,
    overwrite: ctx.flags.bool('force'),
  });
  ctx.out.info(`TLS: ${made.paths.caCert}, ${made.paths.cert}, ${made.paths.key} (0600), valid until ${made.notAfter}`);
  return made;
}

function objectList(objects: readonly K8sObject[]) {
  return objects.map((o) => ({
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  }));
}

async function runManifests(ctx: CommandContext) {
  const { admissionManifests, checkManifestOptions, manifestsYaml, MANIFEST_DEFAULTS, TLS_SECRET, OPT_IN_LABEL } =
    await import('../../../admission/manifests.ts');
  const policy = await policyInputs(ctx);
  const base = {
    namespace: ctx.flags.string('namespace') ?? MANIFEST_DEFAULTS.namespace,
    name: MANIFEST_DEFAULTS.name,
    image: imageOption(ctx, MANIFEST_DEFAULTS.image),
    policyText: policy.text,
    policyFiles: policy.files,
    trustedRoots: await trustedRoots(ctx),
    timeoutSeconds: ctx.flags.int('timeout-seconds', MANIFEST_DEFAULTS.timeoutSeconds),
    replicas: ctx.flags.int('replicas', MANIFEST_DEFAULTS.replicas),
  };
  checkManifestOptions(base); // before any TLS material is made for options that would be refused
  const tlsDir = ctx.flags.string('generate-tls');
  const tls: (WebhookTlsMaterial & { paths: object; notAfter: string }) | undefined = tlsDir
    ? await makeTls(ctx, tlsDir, base.name, base.namespace)
    : undefined;
  const objects = admissionManifests({ ...base, ...(tls ? { tls } : {}) });
  const text = manifestsYaml(objects);
  if (!tls)
    ctx.out.warn(
      `no --generate-tls: create the Secret ${base.namespace}/${TLS_SECRET} (kubernetes.io/tls, a certificate for ` +
        `${base.name}.${base.namespace}.svc) and set caBundle in both webhook configurations before applying`,
    );
  if (base.replicas === 1)
    ctx.out.warn('--replicas 1 with a PodDisruptionBudget of minAvailable 1: draining its node will wait for you');
  const output = ctx.flags.string('output');
  if (output) {
    const { writeFileAtomic } = await import('../../../files/atomic-write.ts');
    // The Secret carries the serving key: the file is as private as tls.key.
    await writeFileAtomic(resolve(ctx.cwd, output), text, {
      overwrite: ctx.flags.bool('force'),
      mode: tls ? 0o600 : 0o644,
    });
    ctx.out.info(`${objects.length} objects written to ${output}`);
  } else ctx.out.data(text);
  ctx.out.info(`Opt a namespace in with: kubectl label namespace NAME ${OPT_IN_LABEL}=true`);
  return {
    json: {
      namespace: base.namespace,
      image: base.image,
      timeoutSeconds: base.timeoutSeconds,
      objects: objectList(objects),
      ...(output ? { output } : { manifests: text }),
      ...(tls ? { tls: { dir: tlsDir, files: tls.paths, notAfter: tls.notAfter } } : {}),
    },
  };
}

export const admissionManifestsCommand: Command = {
  name: 'admission manifests',
  summary: "Write the Kubernetes YAML that runs airlock's admission webhook",
  usage:
    '--policy FILE [--namespace NS] [--image REF] [--generate-tls DIR] [--trusted-root FILE]... ' +
    '[--timeout-seconds N] [--replicas N] [--output FILE]',
  description:
    'Namespace, ServiceAccount, the policy ConfigMap (the policy and each --trusted-root under its file name),\n' +
    'the TLS Secret (with --generate-tls), a hardened Deployment running `airlock admission serve`, a\n' +
    'PodDisruptionBudget, the Service, and validating + mutating webhook configurations: failurePolicy Fail,\n' +
    `only namespaces labelled admission.airlock.dev/include=true, never the webhook's own. --generate-tls DIR\n` +
    'makes ca.crt, tls.crt and tls.key (0600) with openssl (a one-year P-256 CA whose key is deleted once it\n' +
    'has signed) and fills caBundle. The server inside stops one second before the webhook timeout.',
  flags: {
    policy: { type: 'string', value: 'FILE', description: 'The image policy the webhook enforces' },
    namespace: { type: 'string', value: 'NS', description: 'Namespace to run in (default airlock-system)' },
    image: {
      type: 'string',
      value: 'REF',
      description: 'The airlock container image, pinned by digest (default airlock:latest, with a warning)',
    },
    'trusted-root': {
      type: 'string',
      multiple: true,
      value: 'FILE',
      description: 'A trusted_root.json the server verifies with, in the ConfigMap under its base name',
    },
    'generate-tls': {
      type: 'string',
      value: 'DIR',
      description: 'Make the webhook CA and serving certificate in DIR; fills the Secret and caBundle',
    },
    'timeout-seconds': { type: 'string', value: 'N', description: 'Webhook timeout, 2-30 (default 10)' },
    replicas: { type: 'string', value: 'N', description: 'Webhook replicas (default 2)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the YAML to FILE instead of stdout' },
    force: { type: 'boolean', description: 'Overwrite --output and the files in --generate-tls DIR' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock admission manifests --policy policy.yaml --trusted-root trusted_root.json \\\n' +
        '    --image registry.corp/airlock@sha256:... --generate-tls webhook-tls | kubectl apply -f -',
      description: 'Install with a generated certificate',
    },
    {
      command: 'airlock admission manifests --policy policy.yaml --namespace security -o admission.yaml',
      description: 'Bring your own certificate: create the Secret and set caBundle yourself',
    },
  ],
  run: runManifests,
};
