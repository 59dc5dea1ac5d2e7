// in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) and the
// predicate-type short names cosign users type for --type.
import { AirlockError } from '../errors.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE_V1 = 'https://in-toto.io/Statement/v1';

/** cosign's --type short names (cmd/cosign/cli/options/predicate.go). */
export const PREDICATE_TYPE_ALIASES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** A short name or an absolute URI → the predicate type URI. */
export function resolvePredicateType(type: string): string {
  const alias = PREDICATE_TYPE_ALIASES[type.toLowerCase()];
  if (alias) return alias;
  if (/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(type)) return type;
  throw new AirlockError('E_USAGE', `unknown predicate type '${type}'`, {
    hint: `use a URI or one of: ${Object.keys(PREDICATE_TYPE_ALIASES).join(', ')}`,
  });
}

export interface Subject {
  /** cosign's image signatures leave the name out: the signature binds the digest only. */
  readonly name?: string;
  readonly digest: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Statement {
  readonly _type: string;
  readonly subject: readonly Subject[];
  readonly predicateType: string;
  readonly predicate: unknown;
}

export function makeStatement(subject: readonly Subject[], predicateType: string, predicate: unknown): Statement {
  return { _type: STATEMENT_TYPE_V1, subject, predicateType, predicate };
}

/** Parses a DSSE payload as an in-toto Statement (v0.1 or v1); malformed → E_BUNDLE_MALFORMED. */
export function parseStatement(payload: Uint8Array): Statement {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_BUNDLE_MALFORMED', 'DSSE payload is not JSON', { cause: err });
  }
  const s = doc as Partial<Statement>;
  const okType = s?._type === STATEMENT_TYPE_V1 || s?._type === 'https://in-toto.io/Statement/v0.1';
  const okSubjects =
    Array.isArray(s?.subject) &&
    s.subject.every(
      (x) =>
        (x?.name === undefined || typeof x.name === 'string') && typeof x?.digest === 'object' && x.digest !== null,
    );
  if (!okType || !okSubjects || typeof s.predicateType !== 'string') {
    throw new AirlockError('E_BUNDLE_MALFORMED', 'DSSE payload is not an in-toto Statement');
  }
  return s as Statement;
}
