// What both export targets share: the input (a policy, the key PEMs it names, the trust roots), PEM
// from a trusted root's DER, the trust root an authority uses, Kubernetes names, the airlock rules no
// target can express, and the YAML stream with those rules listed in a comment at its top.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { PublicKeyDetails, type TrustedRoot } from '@sigstore/protobuf-specs';
import { stringify } from 'yaml';
import { AirlockError } from '../../errors.ts';
import type { Authority, ImagePolicy, PolicyEntry } from '../../policy/image-policy.ts';

type TransparencyLog = TrustedRoot['tlogs'][number];
type CertificateAuthority = TrustedRoot['certificateAuthorities'][number];

/** A trust root by the name authorities use for it (`trust: NAME`). */
export interface ExportTrustRoot {
  readonly name: string;
  readonly root: TrustedRoot;
}

export interface ExportInput {
  readonly policy: ImagePolicy;
  /** Each `key` authority's value (as written in the policy) → its public key, SPKI PEM. */
  readonly keys: ReadonlyMap<string, string>;
  /** The first is the default: authorities without `trust` verify against it. */
  readonly trustRoots: readonly ExportTrustRoot[];
}

export type K8sObject = Readonly<Record<string, unknown>> & {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>> };
};

export interface ExportResult {
  readonly objects: readonly K8sObject[];
  /** Airlock rules the target cannot express, one sentence each: never dropped silently. */
  readonly unexpressed: readonly string[];
}

export type ExportTarget = 'policy-controller' | 'kyverno';

function pem(type: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** A trusted root's certificate chain, leaf first, as PEM. */
export function chainPem(ca: CertificateAuthority): string {
  return (ca.certChain?.certificates ?? []).map((c) => pem('CERTIFICATE', c.rawBytes)).join('');
}

/** A log's key as SPKI PEM (a trusted root holds PKCS#1 DER for RSA PKCS#1 v1.5 keys, SPKI otherwise). */
export function logKeyPem(log: TransparencyLog): string {
  const raw = log.publicKey?.rawBytes;
  if (!raw?.length) throw new AirlockError('E_TRUST_ROOT', `log ${log.baseUrl} has no public key`);
  const pkcs1 = log.publicKey?.keyDetails === PublicKeyDetails.PKCS1_RSA_PKCS1V5;
  const key = createPublicKey({ key: Buffer.from(raw), format: 'der', type: pkcs1 ? 'pkcs1' : 'spki' });
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export function logKeyType(log: TransparencyLog): string | undefined {
  try {
    return createPublicKey(logKeyPem(log)).asymmetricKeyType;
  } catch {
    return undefined;
  }
}

/** The subject policy-controller requires (both fields): the trusted root's, else the root certificate's. */
export function caSubject(ca: CertificateAuthority): { organization: string; commonName: string } {
  let fromCert: { O?: string; CN?: string } = {};
  const certs = ca.certChain?.certificates ?? [];
  const last = certs[certs.length - 1];
  try {
    if (last) {
      const subject = new X509Certificate(Buffer.from(last.rawBytes)).subject;
      fromCert = Object.fromEntries(subject.split('\n').map((l) => l.split('=', 2) as [string, string]));
    }
  } catch {
    fromCert = {};
  }
  return {
    organization: ca.subject?.organization || fromCert.O || 'unknown',
    commonName: ca.subject?.commonName || fromCert.CN || 'unknown',
  };
}

/** The trust root an authority verifies against: its `trust`, else the first one given. */
export function trustRootFor(input: ExportInput, authority: Authority): ExportTrustRoot | undefined {
  const name = 'trust' in authority ? authority.trust : undefined;
  if (name === undefined) return input.trustRoots[0];
  const found = input.trustRoots.find((r) => r.name === name);
  if (!found)
    throw new AirlockError('E_USAGE', `the policy names trust root '${name}', which was not given`, {
      hint: `add --trust ${name} (an installed root) or --trusted-root ${name}=FILE`,
    });
  return found;
}

/** A Kubernetes object name (RFC 1123 subdomain) from free text. */
export function k8sName(...parts: string[]): string {
  const name = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return name.slice(0, 63).replace(/-$/, '') || 'airlock';
}

/** The name of the TrustRoot object made of trust root `name`. */
export function trustRootObjectName(name: string): string {
  return k8sName('airlock', name);
}

/** An entry's name in messages and object names: its index and glob. */
export function entryLabel(entry: PolicyEntry, index: number): string {
  return `images[${index}] (${entry.glob})`;
}

/** The airlock rules neither target can express: on-prem log inclusion, attestation content, root freshness. */
export function commonUnexpressed(input: ExportInput): string[] {
  const out: string[] = [];
  input.policy.entries.forEach((entry, i) => {
    const where = entryLabel(entry, i);
    if (entry.requireLogInclusion)
      out.push(
        `${where}: requireLogInclusion (inclusion in the on-prem log ${entry.requireLogInclusion.logKey}` +
          `${entry.requireLogInclusion.witnessPolicy ? ', cosigned by the witness quorum' : ''}) is not checked`,
      );
    for (const c of entry.conditions)
      out.push(
        `${where}: ${c.predicateType} must be attested, but its findings are not checked against maxSeverity ` +
          `${c.maxSeverity ?? ''} (a vulnerability attestation with critical findings passes)`,
      );
  });
  if (input.trustRoots.length > 0)
    out.push(
      "trust roots are copied as keys and certificates only: airlock's checks of their validity windows " +
        "(validFor of each CA, log and TSA) and of the installed root's freshness are not made",
    );
  return out;
}

/** The objects as one YAML stream, the rules it cannot express listed in a comment at its top. */
export function exportYaml(result: ExportResult, target: ExportTarget, source: string): string {
  const head = [`Generated by airlock admission export --format ${target} from ${source}.`];
  if (result.unexpressed.length > 0) {
    head.push(`NOT EXPRESSED: ${result.unexpressed.length} airlock rule(s) ${target} cannot enforce:`);
    for (const u of result.unexpressed) head.push(`  - ${u}`);
  } else head.push(`Every rule of the policy is expressed for ${target}.`);
  const comment = head.map((l) => `# ${l}`.replace(/[\r\n]+/g, ' ')).join('\n');
  const docs = result.objects.map((o) => stringify(o, { lineWidth: 0 }));
  return `${comment}\n---\n${docs.join('---\n')}`;
}
