// A readable account of a trusted_root.json for `airlock trust show` (and for what `trust create`
// wrote): every CA, TSA and log with its validity window, and each log ID recomputed from its key —
// RFC 6962 or the C2SP checkpoint key ID — rather than taken from the file.
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import {
  type CertificateAuthority,
  publicKeyDetailsToJSON,
  type TransparencyLogInstance,
  type TrustedRoot,
} from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { checkpointKeyId, rfc6962LogId } from '../log/note-keys.ts';
import { hostnameOf, rfc3339, type Subject } from './create-trusted-root.ts';

export interface KeyIdSummary {
  readonly base64: string;
  readonly hex: string;
}

export interface LogSummary {
  readonly baseUrl: string;
  readonly keyDetails: string;
  /** e.g. "ECDSA P-256", "Ed25519", "RSA 4096"; "unreadable" when the bytes do not parse. */
  readonly keyType: string;
  readonly logId: KeyIdSummary;
  readonly checkpointKeyId?: KeyIdSummary;
  /** How the log ID relates to the key: recomputed, not trusted from the file. */
  readonly logIdRule: 'rfc6962' | 'c2sp-checkpoint' | 'unrecognised';
  /** The origin the C2SP rule matched with (the URL's host name). */
  readonly origin?: string;
  readonly operator?: string;
  readonly validFor: { readonly start?: string; readonly end?: string };
}

export interface AuthoritySummary {
  readonly subject: Subject;
  readonly uri?: string;
  readonly chainLength: number;
  readonly certificates: ReadonlyArray<{
    readonly subject: string;
    readonly notBefore: string;
    readonly notAfter: string;
  }>;
  readonly operator?: string;
  readonly validFor: { readonly start?: string; readonly end?: string };
}

export interface TrustedRootSummary {
  readonly mediaType: string;
  readonly certificateAuthorities: AuthoritySummary[];
  readonly timestampAuthorities: AuthoritySummary[];
  readonly tlogs: LogSummary[];
  readonly ctlogs: LogSummary[];
  /** What would make a Sigstore client reject or mis-read this root; empty when none is seen. */
  readonly problems: string[];
}

const idSummary = (bytes: Uint8Array): KeyIdSummary => ({
  base64: Buffer.from(bytes).toString('base64'),
  hex: Buffer.from(bytes).toString('hex'),
});

const windowOf = (range: { start?: Date; end?: Date } | undefined) => ({
  ...(range?.start ? { start: rfc3339(range.start) } : {}),
  ...(range?.end ? { end: rfc3339(range.end) } : {}),
});

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec')
    return (
      `ECDSA ` +
      `${{ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[d?.namedCurve ?? ''] ?? d?.namedCurve}`
    );
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d?.modulusLength}`;
  return String(key.asymmetricKeyType);
}

function summariseLog(log: TransparencyLogInstance, kind: string, problems: string[]): LogSummary {
  const keyDetails = publicKeyDetailsToJSON(log.publicKey?.keyDetails ?? 0);
  const raw = Buffer.from(log.publicKey?.rawBytes ?? []);
  const logId = Buffer.from(log.logId?.keyId ?? []);
  let key: KeyObject | undefined;
  try {
    key = createPublicKey({ key: raw, format: 'der', type: keyDetails === 'PKCS1_RSA_PKCS1V5' ? 'pkcs1' : 'spki' });
  } catch {
    problems.push(`${kind} ${log.baseUrl}: public key does not parse as ${keyDetails}`);
  }
  let logIdRule: LogSummary['logIdRule'] = 'unrecognised';
  let origin: string | undefined;
  if (key) {
    const host = hostnameOf(log.baseUrl);
    if (rfc6962LogId(key.export({ type: 'spki', format: 'der' })).equals(logId)) logIdRule = 'rfc6962';
    else if (host && kind === 'tlog' && checkpointKeyId(host, key).equals(logId))
      [logIdRule, origin] = ['c2sp-checkpoint', host];
    else
      problems.push(
        `${kind} ${log.baseUrl}: log ID matches neither SHA-256(SPKI) nor the checkpoint key ID for origin '${host}'`,
      );
  }
  return {
    baseUrl: log.baseUrl,
    keyDetails,
    keyType: key ? describeKey(key) : 'unreadable',
    logId: idSummary(logId),
    ...(log.checkpointKeyId ? { checkpointKeyId: idSummary(log.checkpointKeyId.keyId) } : {}),
    logIdRule,
    ...(origin !== undefined ? { origin } : {}),
    ...(log.operator ? { operator: log.operator } : {}),
    validFor: windowOf(log.publicKey?.validFor),
  };
}

function summariseAuthority(ca: CertificateAuthority, kind: string, problems: string[]): AuthoritySummary {
  const certificates = (ca.certChain?.certificates ?? []).flatMap((c, i) => {
    try {
      const x = new X509Certificate(c.rawBytes);
      return [
        {
          subject: x.subject.replace(/\n/g, ', '),
          notBefore: rfc3339(x.validFromDate),
          notAfter: rfc3339(x.validToDate),
        },
      ];
    } catch {
      problems.push(`${kind} ${ca.uri || '(no URI)'}: certificate ${i + 1} does not parse`);
      return [];
    }
  });
  return {
    subject: {
      ...(ca.subject?.organization ? { organization: ca.subject.organization } : {}),
      ...(ca.subject?.commonName ? { commonName: ca.subject.commonName } : {}),
    },
    ...(ca.uri ? { uri: ca.uri } : {}),
    chainLength: ca.certChain?.certificates.length ?? 0,
    certificates,
    ...(ca.operator ? { operator: ca.operator } : {}),
    validFor: windowOf(ca.validFor),
  };
}

/** A readable account of a parsed trusted root; log IDs are recomputed from the keys, not taken on trust. */
export function summariseTrustedRoot(root: TrustedRoot): TrustedRootSummary {
  const problems: string[] = [];
  const summary = {
    mediaType: root.mediaType,
    certificateAuthorities: root.certificateAuthorities.map((c) =>
      summariseAuthority(c, 'certificate authority', problems),
    ),
    timestampAuthorities: root.timestampAuthorities.map((c) => summariseAuthority(c, 'timestamp authority', problems)),
    tlogs: root.tlogs.map((l) => summariseLog(l, 'tlog', problems)),
    ctlogs: root.ctlogs.map((l) => summariseLog(l, 'ctlog', problems)),
  };
  try {
    toTrustMaterial(root);
  } catch (err) {
    problems.push(`@sigstore/verify cannot load it: ${(err as Error).message}`);
  }
  return { ...summary, problems };
}
