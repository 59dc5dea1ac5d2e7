// `airlock admission test`: the webhook's decision for workload manifests, before they are deployed (in
// CI, as `kyverno apply` or policy-tester). Each workload in the files becomes the CREATE request the API
// server would send, and is decided exactly as `airlock admission serve` decides it: the same policy and
// material loading, the same registry verifier (tags resolved read-only in the registry, nothing else
// contacted), the same internal deadline, the same enforce/warn rules. Nothing is recorded: it changes
// nothing. Exit 0 when every workload would be admitted (warnings included), 1 when one would be denied
// by a verdict, 3 when a file cannot be read or the only denials are could-not-evaluate.
import { resolve } from 'node:path';
import { blocks, decide, type Decision, type ImageOutcome } from '../../../admission/decide.ts';
import { describeOutcome, isVerdict, mutateResponse, validateResponse } from '../../../admission/respond.ts';
import { RegistryVerifier } from '../../../admission/registry-verifier.ts';
import {
  type ManifestStream,
  MAX_MANIFEST_BYTES,
  placeLabel,
  type SkippedObject,
  type WorkloadRequest,
  workloadRequests,
} from '../../../admission/workload-manifests.ts';
import { AirlockError, ERROR_CODES } from '../../../errors.ts';
import { readInputText } from '../../../files/read-file.ts';
import type { Command, CommandContext } from '../../command.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { TRUST_FLAGS } from '../../options/trust.ts';
import { type Loaded, loadAdmissionMaterial } from './material.ts';

type Verdict = 'ALLOWED' | 'WARN' | 'DENIED';

interface PinnedField {
  readonly pointer: string;
  readonly where: string;
  readonly image: string;
  readonly pinned: string;
}

interface WorkloadResult {
  readonly workload: WorkloadRequest;
  readonly decision: Decision;
  readonly verdict: Verdict;
  /** What /mutate would set, field by field (only images it would change). */
  readonly pinned: readonly PinnedField[];
  /** kubectl's message for a denial (status.message of /validate). */
  readonly message?: string;
}

async function readStreams(ctx: CommandContext): Promise<ManifestStream[]> {
  const defaultNamespace = ctx.flags.string('namespace') ?? 'default';
  const streams: ManifestStream[] = [];
  for (const file of ctx.positionals) {
    const text = await readInputText(resolve(ctx.cwd, file), 'a manifest file', MAX_MANIFEST_BYTES);
    streams.push(workloadRequests(text, file, { defaultNamespace }));
  }
  return streams;
}

function verdictOf(decision: Decision): Verdict {
  if (!decision.allowed) return 'DENIED';
  return decision.images.some((o) => o.outcome !== 'verified') ? 'WARN' : 'ALLOWED';
}

/** The pinned references /mutate would answer with: its own patch, read back. */
function pinnedFields(uid: string, decision: Decision): PinnedField[] {
  const { patch } = mutateResponse(uid, decision);
  if (!patch) return [];
  const ops = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as { path: string; value: string }[];
  return ops.flatMap((op) => {
    const field = decision.images.find((o) => o.field.pointer === op.path)?.field;
    return field ? [{ pointer: op.path, where: field.where, image: field.image, pinned: op.value }] : [];
  });
}

function resultOf(workload: WorkloadRequest, decision: Decision): WorkloadResult {
  const verdict = verdictOf(decision);
  const message = verdict === 'DENIED' ? validateResponse(workload.request.uid, decision).status?.message : undefined;
  return {
    workload,
    decision,
    verdict,
    pinned: pinnedFields(workload.request.uid, decision),
    ...(message ? { message } : {}),
  };
}

async function evaluate(ctx: CommandContext, loaded: Loaded, workloads: readonly WorkloadRequest[]) {
  const verifier = new RegistryVerifier({
    registry: await registryOptions(ctx),
    material: () => loaded.material,
    policyIndex: (entry) => loaded.policy.entries.indexOf(entry),
    now: ctx.now,
  });
  // The deadline serve keeps for each review, from the same flag and default.
  const timeoutMs = Math.max(500, ctx.flags.int('timeout-seconds', 9, 1, 29) * 1000 - 500);
  const ownNamespace = ctx.flags.string('webhook-namespace') ?? 'airlock-system';
  const results: WorkloadResult[] = [];
  for (const workload of workloads) {
    const decision = await decide(workload.request, {
      policy: loaded.policy,
      verify: verifier.verify,
      known: verifier.known,
      ownNamespace,
      deadline: AbortSignal.timeout(timeoutMs),
    });
    results.push(resultOf(workload, decision));
  }
  return results;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function headLine(w: WorkloadRequest): string {
  return `${w.source}:${placeLabel(w)} ${w.kind} ${w.namespace}/${w.name || '(no name)'}`;
}

function printResult(ctx: CommandContext, r: WorkloadResult): void {
  const colour = r.verdict === 'ALLOWED' ? 'green' : r.verdict === 'WARN' ? 'yellow' : 'red';
  const lines = [`${headLine(r.workload)}: ${ctx.out.paint(colour, r.verdict)}`];
  if (r.decision.skipped) lines.push(`  not checked: ${r.decision.skipped}`);
  else if (r.decision.images.length === 0) lines.push('  no image found in its pod spec');
  for (const o of r.decision.images) lines.push(`  ${o.field.where}: ${describeOutcome(o)}`);
  for (const p of r.pinned) lines.push(`  pin ${p.where}: ${p.pinned}`);
  ctx.out.data(lines.join('\n'));
}

function noteSkipped(ctx: CommandContext, s: SkippedObject): void {
  ctx.out.info(`note: ${s.source}:${placeLabel(s)} ${s.kind}${s.name ? ` ${s.name}` : ''} skipped: ${s.why}`);
}

/** A denial by a verdict is exit 1; denials that are only could-not-evaluate are exit 3. */
function failureOf(results: readonly WorkloadResult[]): AirlockError | undefined {
  const denied = results.filter((r) => r.verdict === 'DENIED');
  if (denied.length === 0) return undefined;
  const byVerdict = denied.filter((r) => r.decision.images.some((o) => blocks(o) && isVerdict(o)));
  const of = `of ${plural(results.length, 'workload')}`;
  if (byVerdict.length > 0)
    return new AirlockError('E_POLICY_DENIED', `${denied.length} ${of} would be denied by the admission webhook`);
  return new AirlockError(
    'E_UNAVAILABLE',
    `${denied.length} ${of} could not be evaluated, and would be denied: is the registry reachable?`,
  );
}

function outcomeJson(o: ImageOutcome) {
  const { field, ...rest } = o;
  return { where: field.where, pointer: field.pointer, image: field.image, ...rest, line: describeOutcome(o) };
}

function resultJson(r: WorkloadResult) {
  const w = r.workload;
  return {
    file: w.source,
    doc: w.doc,
    ...(w.item === undefined ? {} : { item: w.item }),
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    result: r.verdict,
    allowed: r.decision.allowed,
    ...(r.decision.skipped ? { skipped: r.decision.skipped } : {}),
    images: r.decision.images.map(outcomeJson),
    pinned: r.pinned,
    ...(r.message ? { message: r.message } : {}),
  };
}

async function runTest(ctx: CommandContext) {
  const policyFlag = ctx.flags.string('policy');
  if (!policyFlag)
    throw new AirlockError('E_USAGE', 'airlock admission test needs --policy FILE', {
      hint: 'the image policy the webhook enforces (docs/policy.md)',
    });
  const streams = await readStreams(ctx);
  const loaded = await loadAdmissionMaterial(ctx, resolve(ctx.cwd, policyFlag));
  const skipped = streams.flatMap((s) => s.skipped);
  for (const s of skipped) noteSkipped(ctx, s);
  const results = await evaluate(
    ctx,
    loaded,
    streams.flatMap((s) => s.workloads),
  );
  for (const r of results) printResult(ctx, r);
  const failure = failureOf(results);
  const counts = (v: Verdict) => results.filter((r) => r.verdict === v).length;
  ctx.out.info(
    `${plural(results.length, 'workload')}: ${counts('ALLOWED')} allowed, ${counts('WARN')} allowed with warnings, ` +
      `${counts('DENIED')} denied; ${plural(skipped.length, 'other object')} skipped (policy ${policyFlag})`,
  );
  if (failure) ctx.out.error(`${failure.message} [${failure.code}]`);
  const json = {
    ok: !failure,
    policy: policyFlag,
    material: loaded.material.digest,
    workloads: results.map(resultJson),
    skipped: skipped.map((s) => ({
      file: s.source,
      doc: s.doc,
      ...(s.item === undefined ? {} : { item: s.item }),
      kind: s.kind,
      name: s.name,
      why: s.why,
    })),
    ...(failure ? { error: failure.toJSON() } : {}),
  };
  return { json, exitCode: failure ? ERROR_CODES[failure.code].exit : 0 };
}

export const admissionTestCommand: Command = {
  name: 'admission test',
  summary: 'Evaluate workload manifests against the policy as the admission webhook would, before deploying',
  usage: '--policy FILE [--trusted-root FILE | --trust NAME] [--namespace NS] [--insecure] MANIFEST.yaml...',
  description:
    'Reads each file as kubectl apply -f does (multi-document YAML or JSON, List kinds), and decides each\n' +
    'workload (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,\n' +
    'PodTemplate) as a CREATE exactly as `airlock admission serve` would: images resolved read-only in the\n' +
    'registry, verified offline against the policy. Prints ALLOWED, WARN or DENIED per workload, one line per\n' +
    'image, and the digest-pinned references /mutate would set. Other kinds are noted and skipped. Exit 0\n' +
    'when all would be admitted, 1 (E_POLICY_DENIED) when one would be denied, 3 when a file cannot be read\n' +
    'or an image could not be evaluated (registry unreachable). See docs/admission.md.',
  flags: {
    policy: { type: 'string', value: 'FILE', description: 'The ImagePolicy the webhook enforces (YAML or JSON)' },
    namespace: {
      type: 'string',
      value: 'NS',
      description: 'Namespace of objects that name none (as kubectl apply -n)',
      default: 'default',
    },
    'webhook-namespace': {
      type: 'string',
      value: 'NS',
      description: "The webhook's own namespace, exempt unless the policy names it",
      default: 'airlock-system',
    },
    'timeout-seconds': {
      type: 'string',
      value: 'N',
      description: "Each workload's deadline, as admission serve's flag of that name",
      default: '9',
    },
    ...TRUST_FLAGS,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  examples: [
    {
      command: 'airlock admission test --policy policy.yaml --trust corp k8s/*.yaml',
      description: 'In CI, before kubectl apply: fails when the webhook would deny a workload',
    },
    {
      command:
        'helm template shop ./chart > rendered.yaml && airlock admission test --policy policy.yaml rendered.yaml',
      description: 'A chart, rendered',
    },
  ],
  run: runTest,
};
