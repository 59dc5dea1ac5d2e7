// An ImagePolicy as one Kyverno ClusterPolicy (kyverno.io/v1) with a verifyImages rule per entry: the
// image signature by any authority (one attestor set, count 1) and each attestation type by any
// authority (its own attestor set). Every piece of trust material is inline — keys, the trust root's
// CA chain as keyless roots, its Rekor and CT log keys — because Kyverno fetches whatever is missing
// through TUF, which an air-gapped cluster cannot reach. Pure: policy, keys and roots in; the object
// and the rules it cannot express out.
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { NamespaceScope } from '../../policy/namespace-scope.ts';
import { ALWAYS_EXEMPT } from '../../policy/namespace-scope.ts';
import type { Authority, PolicyEntry } from '../../policy/image-policy.ts';
import {
  chainPem,
  commonUnexpressed,
  entryLabel,
  type ExportInput,
  type ExportResult,
  type ExportTrustRoot,
  k8sName,
  type K8sObject,
  logKeyPem,
  trustRootFor,
} from './common.ts';
import { goRegexp, keylessTrust, keyPem, regexpUnexpressed } from './identity.ts';

type Log = TrustedRoot['tlogs'][number];

/** The name of the ClusterPolicy made. */
export const KYVERNO_POLICY_NAME = 'airlock-image-policy';

/**
 * Kyverno matches imageReferences against the reference with its tag or digest; `*` there is any run
 * of characters, `/` included, and `?` any one character. airlock's `**` is Kyverno's `*`.
 */
export function kyvernoImageReferences(glob: string): string[] {
  const pattern = glob.replace(/\*\*/g, '*');
  return [`${pattern}:*`, `${pattern}@*`];
}

/** The log whose key Kyverno gets (it takes one): the newest that has not ended. */
function currentLog(logs: readonly Log[]): Log | undefined {
  const open = logs.filter((l) => !l.publicKey?.validFor?.end);
  const start = (l: Log): number => l.publicKey?.validFor?.start?.getTime() ?? 0;
  return [...(open.length ? open : logs)].sort((a, b) => start(b) - start(a))[0];
}

function rekorJson(trust: ExportTrustRoot | undefined) {
  const log = trust && currentLog(trust.root.tlogs);
  return log ? { rekor: { url: log.baseUrl, pubkey: logKeyPem(log) } } : {};
}

function attestorEntry(input: ExportInput, a: Authority) {
  if ('key' in a) {
    // A key signature has no certificate, so no SCT: without ignoreSCT Kyverno would load CT keys from TUF.
    return {
      keys: { publicKeys: keyPem(input, a.key), ...rekorJson(trustRootFor(input, a)), ctlog: { ignoreSCT: true } },
    };
  }
  const trust = keylessTrust(input, a);
  const ctlog = currentLog(trust.root.ctlogs);
  return {
    keyless: {
      ...('exact' in a.identity ? { subject: a.identity.exact } : { subjectRegExp: goRegexp(a.identity.regexp) }),
      ...('exact' in a.issuer ? { issuer: a.issuer.exact } : { issuerRegExp: goRegexp(a.issuer.regexp) }),
      roots: trust.root.certificateAuthorities.map(chainPem).join(''),
      ...rekorJson(trust),
      ...(ctlog ? { ctlog: { pubkey: logKeyPem(ctlog) } } : {}),
    },
  };
}

function matchJson(scope: NamespaceScope) {
  const kinds = ['Pod'];
  const any: object[] = [];
  if (scope.names) any.push({ resources: { kinds, namespaces: scope.names } });
  if (scope.selector) any.push({ resources: { kinds, namespaceSelector: scope.selector } });
  if (any.length === 0) any.push({ resources: { kinds } });
  const exempt = ALWAYS_EXEMPT.filter((n) => !scope.names?.includes(n));
  return {
    match: { any },
    ...(exempt.length && (scope.selector || !scope.names)
      ? { exclude: { any: [{ resources: { namespaces: exempt } }] } }
      : {}),
  };
}

function ruleJson(input: ExportInput, entry: PolicyEntry, i: number) {
  const attestors = [{ count: 1, entries: entry.authorities.map((a) => attestorEntry(input, a)) }];
  const enforce = entry.mode === 'enforce';
  return {
    name: k8sName('airlock', String(i), entry.glob.replace(/\*+/g, 'x')),
    ...matchJson(entry.namespaces),
    verifyImages: [
      {
        imageReferences: kyvernoImageReferences(entry.glob),
        failureAction: enforce ? 'Enforce' : 'Audit',
        // Kyverno refuses mutateDigest under Audit.
        mutateDigest: enforce && entry.pinDigest,
        verifyDigest: true,
        required: true,
        attestors,
        ...(entry.attestations.length ? { attestations: entry.attestations.map((type) => ({ type, attestors })) } : {}),
      },
    ],
  };
}

function entryUnexpressed(input: ExportInput, entry: PolicyEntry, i: number): string[] {
  const where = entryLabel(entry, i);
  const out: string[] = [];
  if (/(^|[^*])\*([^*]|$)/.test(entry.glob) || entry.glob.includes('?'))
    out.push(
      `${where}: Kyverno's * also matches across /, and ? any character: the rule applies to more images than ` +
        'the glob names (each must then pass it too)',
    );
  if (entry.mode === 'warn' && entry.pinDigest)
    out.push(
      `${where}: warn mode pins digests in airlock; Kyverno refuses mutateDigest under Audit, so none is pinned`,
    );
  if (entry.namespaces.names?.includes('kube-system'))
    out.push(`${where}: names kube-system, which Kyverno's default webhook configuration never sends for review`);
  entry.authorities.forEach((a, j) => {
    const trust = trustRootFor(input, a);
    const holder = trust ? `trust root '${trust.name}' holds` : 'no trust root was given to hold';
    if (!trust?.root.tlogs.length)
      out.push(
        `${where}: authorities[${j}] needs a transparency-log entry, and ${holder} no log key: Kyverno would ` +
          'load public-good Rekor keys through TUF',
      );
    if (!('key' in a) && !trust?.root.ctlogs.length)
      out.push(`${where}: authorities[${j}]: the trust root holds no CT log key: Kyverno would load one through TUF`);
  });
  return out;
}

function rootsUnexpressed(input: ExportInput): string[] {
  return input.trustRoots.flatMap(({ name, root }) =>
    (['tlogs', 'ctlogs'] as const)
      .filter((kind) => root[kind].length > 1)
      .map(
        (kind) =>
          `trust root '${name}' has ${root[kind].length} ${kind}; Kyverno takes one key, so only entries of ` +
          `${currentLog(root[kind])?.baseUrl ?? 'the newest'} (the newest key) verify`,
      ),
  );
}

export function exportKyverno(input: ExportInput): ExportResult {
  const policy: K8sObject = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: {
      name: KYVERNO_POLICY_NAME,
      annotations: { 'policies.kyverno.io/description': 'Exported by airlock admission export' },
    },
    spec: { background: false, rules: input.policy.entries.map((e, i) => ruleJson(input, e, i)) },
  };
  const unexpressed = [
    ...commonUnexpressed(input),
    ...regexpUnexpressed(input),
    ...input.policy.entries.flatMap((e, i) => entryUnexpressed(input, e, i)),
    ...rootsUnexpressed(input),
    "an image no entry matches is denied by airlock (admitted with a warning in warn mode); Kyverno's " +
      'verifyImages admits any image no rule names',
  ];
  return { objects: [policy], unexpressed };
}
