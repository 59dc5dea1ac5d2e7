// `airlock admission serve`: the validating and mutating webhook. It loads the policy and everything
// it names, serves HTTPS, and every few seconds fingerprints those files: when any changed (a trust
// root imported, a key rotated, the policy edited) the whole set is loaded again and swapped in at
// once; a set that does not load leaves the one in use and is logged.
import { fingerprint } from '../../../admission/material-loader.ts';
import { RegistryVerifier } from '../../../admission/registry-verifier.ts';
import { AirlockError } from '../../../errors.ts';
import {
  AdmissionApi,
  type AdmissionState,
  cacheCounter,
  registerAdmissionMetrics,
} from '../../../server/admission-server.ts';
import { listenHttps } from '../../../server/https-listener.ts';
import { Metrics } from '../../../server/metrics.ts';
import type { Command, CommandContext } from '../../command.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { TRUST_FLAGS } from '../../options/trust.ts';
import { jsonLineLog, parseListen, untilStopped } from '../../serve.ts';
import { type Loaded, loadAdmissionMaterial as load } from './material.ts';
import { resolve } from 'node:path';

function trustRootGauge(current: () => Loaded | undefined, now: () => Date) {
  return () => {
    const m = current()?.material;
    const roots = m ? [m.defaultRoot, ...m.roots.values()] : [];
    return roots.flatMap((r) =>
      r?.usableUntil
        ? [{ labels: { name: r.name }, value: Math.round((r.usableUntil.getTime() - now().getTime()) / 1000) }]
        : [],
    );
  };
}

/** The loaded set in use, and the loop that loads a new one when any of its files changed. */
class MaterialHolder {
  current: Loaded;
  readonly #ctx: CommandContext;
  readonly #policyPath: string;
  readonly #metrics: Metrics;
  readonly log: (event: Record<string, unknown>) => void;

  constructor(ctx: CommandContext, policyPath: string, first: Loaded, metrics: Metrics, log: MaterialHolder['log']) {
    this.#ctx = ctx;
    this.#policyPath = policyPath;
    this.current = first;
    this.#metrics = metrics;
    this.log = log;
  }

  async reload(): Promise<void> {
    try {
      if ((await fingerprint(this.current.files)) === this.current.fingerprint) return;
      this.current = await load(this.#ctx, this.#policyPath);
      this.#metrics.inc('airlock_admission_reloads_total', { result: 'ok' });
      this.log({ msg: 'policy and trust material reloaded', digest: this.current.material.digest });
    } catch (err) {
      this.#metrics.inc('airlock_admission_reloads_total', { result: 'failed' });
      this.log({ level: 'error', msg: 'reload failed; keeping the material in use', error: (err as Error).message });
    }
  }
}

function admissionMetrics(): Metrics {
  const metrics = new Metrics();
  registerAdmissionMetrics(metrics);
  metrics.counter('airlock_admission_cache_total', 'Verdict cache lookups by result');
  metrics.counter('airlock_admission_reloads_total', 'Policy and trust material loads by result');
  return metrics;
}

async function startApi(ctx: CommandContext, holder: MaterialHolder, metrics: Metrics, ownNamespace: string) {
  const verifier = new RegistryVerifier({
    registry: await registryOptions(ctx),
    material: () => holder.current.material,
    policyIndex: (entry) => holder.current.policy.entries.indexOf(entry),
    now: ctx.now,
    onCache: cacheCounter(metrics),
  });
  const state = (): AdmissionState => ({
    policy: holder.current.policy,
    verify: verifier.verify,
    known: verifier.known,
    digest: holder.current.material.digest,
  });
  metrics.gauge(
    'airlock_admission_trust_root_seconds_left',
    'Seconds until each installed trust root is stale',
    trustRootGauge(() => holder.current, ctx.now),
  );
  const timeoutSeconds = ctx.flags.int('timeout-seconds', 9, 1, 29);
  return new AdmissionApi({
    state,
    ownNamespace,
    // Recording and answering come after the decision: keep half a second for them.
    timeoutMs: Math.max(500, timeoutSeconds * 1000 - 500),
    record: ctx.audit.record,
    metrics,
    log: holder.log,
  });
}

async function serveAdmission(ctx: CommandContext) {
  const { flags, out } = ctx;
  const policyFlag = flags.string('policy');
  const cert = flags.string('tls-cert');
  const key = flags.string('tls-key');
  if (!policyFlag || !cert || !key)
    throw new AirlockError(
      'E_USAGE',
      'airlock admission serve needs --policy FILE, --tls-cert FILE and --tls-key FILE',
    );
  const { host, port } = parseListen(flags.string('listen') ?? '127.0.0.1:8443');
  const ownNamespace = flags.string('namespace') ?? ctx.env.POD_NAMESPACE ?? 'airlock-system';
  const policyPath = resolve(ctx.cwd, policyFlag);
  const log = jsonLineLog(ctx);
  const metrics = admissionMetrics();
  await ctx.audit.ready();
  const holder = new MaterialHolder(ctx, policyPath, await load(ctx, policyPath), metrics, log);
  const api = await startApi(ctx, holder, metrics, ownNamespace);
  const stopped = untilStopped();
  const tls = { certPath: resolve(ctx.cwd, cert), keyPath: resolve(ctx.cwd, key) };
  const listener = await listenHttps(api.handler, host, port, tls, { log });
  const timer = setInterval(() => void holder.reload(), flags.int('reload-seconds', 5, 1, 3600) * 1000);
  const digest = holder.current.material.digest;
  log({ msg: 'serving', url: listener.url, policy: policyPath, namespace: ownNamespace, digest });
  out.info(`Admission webhook serving /validate and /mutate at ${listener.url}; policy ${policyFlag}`);
  const signal = await stopped;
  clearInterval(timer);
  log({ msg: 'stopping', signal });
  await listener.close();
  return { json: { url: listener.url } };
}

export const admissionServeCommand: Command = {
  name: 'admission serve',
  summary: 'Serve the Kubernetes admission webhook: verify images offline against the policy, pin digests',
  usage: '--policy FILE --tls-cert FILE --tls-key FILE [--listen HOST:PORT] [--trusted-root FILE | --trust NAME]',
  description:
    'POST /validate and /mutate take AdmissionReview v1 (HTTPS only). Images are resolved to digests in\n' +
    'the registry the cluster pulls from and verified offline against the policy (docs/policy.md):\n' +
    'signatures, attestations and their conditions, on-prem log inclusion. Verdicts and\n' +
    'could-not-evaluate both deny in enforce mode and warn in warn mode. Each decision is recorded in\n' +
    'the audit trail before it is answered. /healthz, /readyz, /metrics. The policy, keys, trust roots\n' +
    'and TLS files are read again when they change. See docs/admission.md.',
  flags: {
    policy: { type: 'string', value: 'FILE', description: 'The ImagePolicy (YAML or JSON)' },
    'tls-cert': { type: 'string', value: 'FILE', description: 'Serving certificate (PEM), reloaded when it changes' },
    'tls-key': { type: 'string', value: 'FILE', description: 'Its private key (PEM), reloaded when it changes' },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:8443' },
    'timeout-seconds': {
      type: 'string',
      value: 'N',
      description: "Answer within N seconds (below the webhook's timeoutSeconds)",
      default: '9',
    },
    namespace: { type: 'string', value: 'NS', description: "The webhook's own namespace (exempt unless named)" },
    'reload-seconds': {
      type: 'string',
      value: 'N',
      description: 'How often changed files are looked for',
      default: '5',
    },
    ...TRUST_FLAGS,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock admission serve --policy policy.yaml --tls-cert tls/tls.crt --tls-key tls/tls.key ' +
        '--listen 0.0.0.0:8443 --trust corp',
      description: 'Serve with the installed trust root "corp"',
    },
  ],
  run: serveAdmission,
};
