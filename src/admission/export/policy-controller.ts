// An ImagePolicy as sigstore/policy-controller objects: a TrustRoot (policy.sigstore.dev/v1alpha1,
// `sigstoreKeys` inline from trusted_root.json, no TUF) per trust root, and ClusterImagePolicies
// (policy.sigstore.dev/v1beta1). policy-controller ANDs every matching CIP and ORs the authorities of
// one, and an authority that lists attestations checks those instead of the image signature; airlock
// wants a signature by any authority AND each attestation type by any authority. So an entry becomes
// one CIP for its signature plus one CIP per attestation type, each with all the entry's authorities.
// Pure: policy, key PEMs and trust roots in; objects and the rules it cannot express out.
import { HashAlgorithm, type TrustedRoot } from '@sigstore/protobuf-specs';
import type { Authority, PolicyEntry } from '../../policy/image-policy.ts';
import {
  caSubject,
  chainPem,
  commonUnexpressed,
  entryLabel,
  type ExportInput,
  type ExportResult,
  type ExportTrustRoot,
  k8sName,
  type K8sObject,
  logKeyPem,
  logKeyType,
  trustRootFor,
  trustRootObjectName,
} from './common.ts';
import { goRegexp, keylessTrust, keyPem, regexpUnexpressed } from './identity.ts';

const POLICY_API = 'policy.sigstore.dev/v1beta1';
const TRUST_API = 'policy.sigstore.dev/v1alpha1';
/** The characters policy-controller accepts in a glob (pkg/apis/glob). */
const VALID_GLOB = /^[a-zA-Z0-9-_:/*.@]+$/;

type Log = TrustedRoot['tlogs'][number];
type Ca = TrustedRoot['certificateAuthorities'][number];

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function hashName(h: HashAlgorithm): string {
  if (h === HashAlgorithm.SHA2_384) return 'sha-384';
  if (h === HashAlgorithm.SHA2_512) return 'sha-512';
  return 'sha-256';
}

// The CRD's certChain and publicKey are Go []byte: base64 of the PEM text.
const caJson = (ca: Ca) => ({
  subject: caSubject(ca),
  uri: ca.uri || 'https://unknown.invalid',
  certChain: b64(chainPem(ca)),
});
const logJson = (log: Log) => ({
  baseURL: log.baseUrl,
  hashAlgorithm: hashName(log.hashAlgorithm),
  publicKey: b64(logKeyPem(log)),
});

/** A TrustRoot with the trusted root's keys and certificates inline, and what policy-controller refuses of them. */
export function trustRootObject(trust: ExportTrustRoot): { object: K8sObject; unexpressed: string[] } {
  const { root, name } = trust;
  const unexpressed: string[] = [];
  if (root.certificateAuthorities.length === 0 && root.timestampAuthorities.length === 0)
    unexpressed.push(
      `trust root '${name}' has no certificate or timestamp authority: policy-controller refuses a TrustRoot ` +
        'without one, so the log keys it holds are not usable there',
    );
  for (const log of root.tlogs) {
    const type = logKeyType(log);
    if (type !== 'ec')
      unexpressed.push(
        `trust root '${name}': the key of log ${log.baseUrl} is ${type ?? 'unreadable'}; policy-controller ` +
          'verifies log entries with ECDSA Rekor keys only, so entries of this log do not verify there',
      );
  }
  const sigstoreKeys = {
    certificateAuthorities: root.certificateAuthorities.map(caJson),
    ...(root.tlogs.length ? { tLogs: root.tlogs.map(logJson) } : {}),
    ...(root.ctlogs.length ? { ctLogs: root.ctlogs.map(logJson) } : {}),
    ...(root.timestampAuthorities.length ? { timestampAuthorities: root.timestampAuthorities.map(caJson) } : {}),
  };
  return {
    object: {
      apiVersion: TRUST_API,
      kind: 'TrustRoot',
      metadata: { name: trustRootObjectName(name) },
      spec: { sigstoreKeys },
    },
    unexpressed,
  };
}

/**
 * policy-controller matches a glob against the fully qualified reference, tag or digest included, and
 * `:` is no separator; airlock's globs name the repository only. `:*` and `@*` add any tag or digest
 * (neither holds a `/`, so `*` is exact where `:**` would also match across a registry port).
 */
export function policyControllerGlobs(glob: string): string[] {
  const qualified = glob.startsWith('docker.io/') ? `index.${glob}` : glob;
  return [`${qualified}:*`, `${qualified}@*`];
}

function identityJson(a: Extract<Authority, { identity: unknown }>) {
  return {
    ...('exact' in a.issuer ? { issuer: a.issuer.exact } : { issuerRegExp: goRegexp(a.issuer.regexp) }),
    ...('exact' in a.identity ? { subject: a.identity.exact } : { subjectRegExp: goRegexp(a.identity.regexp) }),
  };
}

function authorityJson(input: ExportInput, a: Authority, j: number, out: string[], where: string) {
  const trust = trustRootFor(input, a);
  const ctlog = trust ? { ctlog: { trustRootRef: trustRootObjectName(trust.name) } } : {};
  if ('key' in a) {
    if (!trust)
      out.push(
        `${where}: authorities[${j}] (key ${a.key}) must have its signature in a transparency log; with no ` +
          'trust root given, policy-controller skips the log check',
      );
    return { name: `key-${j}`, key: { data: keyPem(input, a.key), hashAlgorithm: 'sha256' }, ...ctlog };
  }
  const keyless = keylessTrust(input, a);
  // policy-controller wants a Fulcio url (or ca-cert); with trustRootRef it verifies with the TrustRoot's CAs.
  const url = keyless.root.certificateAuthorities[0]?.uri || 'https://unknown.invalid';
  return {
    name: `keyless-${j}`,
    keyless: { url, trustRootRef: trustRootObjectName(keyless.name), identities: [identityJson(a)] },
    ...ctlog,
  };
}

function entryObjects(input: ExportInput, entry: PolicyEntry, i: number, out: string[]): K8sObject[] {
  const where = entryLabel(entry, i);
  if (!VALID_GLOB.test(entry.glob))
    out.push(`${where}: policy-controller accepts globs of [a-zA-Z0-9-_:/*.@] only; it refuses this CIP`);
  const authorities = entry.authorities.map((a, j) => authorityJson(input, a, j, out, where));
  const base = k8sName('airlock', String(i), entry.glob.replace(/\*+/g, 'x'));
  const cip = (name: string, auths: readonly object[]): K8sObject => ({
    apiVersion: POLICY_API,
    kind: 'ClusterImagePolicy',
    metadata: { name, annotations: { 'airlock.dev/policy-entry': where } },
    spec: {
      images: policyControllerGlobs(entry.glob).map((glob) => ({ glob })),
      authorities: auths,
      mode: entry.mode,
    },
  });
  return [
    cip(base, authorities),
    ...entry.attestations.map((predicateType, k) =>
      cip(
        k8sName(base.slice(0, 55), 'att', String(k)),
        authorities.map((a) => ({ ...a, attestations: [{ name: `attestation-${k}`, predicateType }] })),
      ),
    ),
  ];
}

function scopeUnexpressed(input: ExportInput): string[] {
  const out: string[] = [];
  input.policy.entries.forEach((entry, i) => {
    const { names, selector } = entry.namespaces;
    const scope = [...(names ? [names.join(', ')] : []), ...(selector ? ['those its label selector selects'] : [])];
    if (scope.length)
      out.push(
        `${entryLabel(entry, i)}: applies in namespaces ${scope.join(' and ')} only; a ClusterImagePolicy ` +
          'applies in every namespace labelled policy.sigstore.dev/include=true',
      );
    if (!entry.pinDigest)
      out.push(
        `${entryLabel(entry, i)}: pinDigest false is not honoured; policy-controller's mutating webhook ` +
          'pins every image to its digest',
      );
  });
  out.push(
    "kube-system (and airlock's own namespace) is exempt unless named; policy-controller exempts a namespace " +
      'only by leaving out its policy.sigstore.dev/include=true label',
  );
  if (input.policy.mode === 'warn')
    out.push(
      'policy mode warn admits an image no entry matches with a warning; policy-controller denies it unless ' +
        'no-match-policy: warn is set in its config-policy-controller ConfigMap (cluster-wide, not in a CIP)',
    );
  return out;
}

export function exportPolicyController(input: ExportInput): ExportResult {
  const unexpressed = [...commonUnexpressed(input), ...regexpUnexpressed(input)];
  const objects: K8sObject[] = [];
  for (const trust of input.trustRoots) {
    const made = trustRootObject(trust);
    objects.push(made.object);
    unexpressed.push(...made.unexpressed);
  }
  input.policy.entries.forEach((entry, i) => objects.push(...entryObjects(input, entry, i, unexpressed)));
  unexpressed.push(...scopeUnexpressed(input));
  return { objects, unexpressed };
}
