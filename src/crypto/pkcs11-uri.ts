// RFC 7512 `pkcs11:` URIs, the key references HSM users already write for cosign, OpenSSL and p11-kit.
// Parsing is strict (duplicates, unknown path attributes and bad escapes are errors) because a lenient
// parser that dropped a filter would silently select a different key than the one the user named.
import { AirlockError } from '../errors.ts';

export const PKCS11_OBJECT_TYPES = ['public', 'private', 'cert', 'secret-key', 'data'] as const;
export type Pkcs11ObjectType = (typeof PKCS11_OBJECT_TYPES)[number];

export interface Pkcs11Uri {
  readonly token?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  readonly slotId?: bigint;
  /** CKA_LABEL of the key. */
  readonly object?: string;
  /** CKA_ID of the key: raw bytes. */
  readonly id?: Uint8Array;
  readonly type?: Pkcs11ObjectType;
  /** Secret: never print it; use formatPkcs11UriRedacted. */
  readonly pinValue?: string;
  readonly pinSource?: string;
  readonly modulePath?: string;
  readonly moduleName?: string;
}

type Field = Exclude<keyof Pkcs11Uri, 'slotId' | 'id' | 'type'>;

const PATH_STRINGS: Record<string, Field> = {
  token: 'token',
  manufacturer: 'manufacturer',
  model: 'model',
  serial: 'serial',
  object: 'object',
};
const QUERY_STRINGS: Record<string, Field> = {
  'pin-value': 'pinValue',
  'pin-source': 'pinSource',
  'module-path': 'modulePath',
  'module-name': 'moduleName',
};
// Standard RFC 7512 attributes airlock does not match on. Rejected rather than ignored: ignoring a
// filter widens the match.
const UNSUPPORTED_PATH = new Set([
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-description',
  'slot-manufacturer',
]);

function malformed(message: string, hint?: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', message, {
    hint: hint ?? 'expected e.g. pkcs11:token=my-token;object=my-key?module-path=/usr/lib/softhsm/libsofthsm2.so',
  });
}

/** Percent-decodes to bytes; literal characters stand for their UTF-8 encoding. */
function percentDecode(value: string, name: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length;) {
    if (value[i] === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw malformed(`pkcs11 URI attribute '${name}' has a bad %-escape`);
      out.push(Number.parseInt(hex, 16));
      i += 3;
    } else {
      const codePoint = value.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(codePoint);
      if (codePoint < 0x20 || codePoint === 0x7f)
        throw malformed(`pkcs11 URI attribute '${name}' contains a control character`);
      out.push(...encoder.encode(char));
      i += char.length;
    }
  }
  return Uint8Array.from(out);
}

function decodeText(value: string, name: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(percentDecode(value, name));
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw malformed(`pkcs11 URI attribute '${name}' is not valid UTF-8 after %-decoding`);
  }
}

function splitAttributes(part: string, separator: string): Array<[string, string]> {
  if (part === '') return [];
  return part.split(separator).map((attr) => {
    const eq = attr.indexOf('=');
    if (eq <= 0) throw malformed(`pkcs11 URI attribute '${attr}' is not name=value`);
    return [attr.slice(0, eq).toLowerCase(), attr.slice(eq + 1)];
  });
}

/** Parses an RFC 7512 PKCS#11 URI naming one key: a token (token/serial/slot-id) and an object (object/id). */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(text)) throw malformed('not a pkcs11: URI');
  const rest = text.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q + 1);
  const uri: Record<string, unknown> = {};
  const seen = new Set<string>();
  const claim = (name: string) => {
    if (seen.has(name)) throw malformed(`pkcs11 URI attribute '${name}' appears more than once`);
    seen.add(name);
  };

  for (const [name, value] of splitAttributes(path, ';')) {
    claim(name);
    const field = PATH_STRINGS[name];
    if (field) uri[field] = decodeText(value, name);
    else if (name === 'id') uri.id = percentDecode(value, name);
    else if (name === 'slot-id') {
      if (!/^[0-9]{1,20}$/.test(value)) throw malformed(`pkcs11 URI slot-id '${value}' is not a decimal number`);
      uri.slotId = BigInt(value);
    } else if (name === 'type') {
      const type = decodeText(value, name);
      if (!(PKCS11_OBJECT_TYPES as readonly string[]).includes(type)) {
        throw malformed(`pkcs11 URI type '${type}' is not one of ${PKCS11_OBJECT_TYPES.join(', ')}`);
      }
      uri.type = type;
    } else if (UNSUPPORTED_PATH.has(name)) {
      throw malformed(
        `pkcs11 URI attribute '${name}' is not supported by airlock`,
        'select the token with token=, serial= or slot-id=',
      );
    } else {
      throw malformed(`unknown pkcs11 URI path attribute '${name}'`);
    }
  }
  for (const [name, value] of splitAttributes(query, '&')) {
    claim(name);
    const field = QUERY_STRINGS[name];
    if (field) uri[field] = decodeText(value, name);
    // RFC 7512 lets consumers ignore vendor query attributes: they tune behaviour, never the match.
    else if (!name.startsWith('x-')) throw malformed(`unknown pkcs11 URI query attribute '${name}'`);
  }

  const result = uri as Pkcs11Uri;
  if (result.pinValue !== undefined && result.pinSource !== undefined) {
    throw malformed('pkcs11 URI has both pin-value and pin-source; give one');
  }
  if (result.token === undefined && result.serial === undefined && result.slotId === undefined) {
    throw malformed('pkcs11 URI does not name a token: add token=, serial= or slot-id=');
  }
  if (result.object === undefined && result.id === undefined) {
    throw malformed('pkcs11 URI does not name a key: add object= (the key label) or id=');
  }
  return result;
}

// Everything outside RFC 3986 unreserved characters is escaped, except what each component may carry
// literally and humans like to read (':' everywhere, '/' in module paths).
function percentEncode(bytes: Uint8Array, literal: RegExp): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && literal.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const PATH_LITERAL = /^[A-Za-z0-9\-._~:]$/;
const QUERY_LITERAL = /^[A-Za-z0-9\-._~:/]$/;

/** The URI as text with the PIN replaced by `***`, safe for messages and logs. */
export function formatPkcs11UriRedacted(uri: Pkcs11Uri): string {
  const text = (s: string, literal: RegExp) => percentEncode(new TextEncoder().encode(s), literal);
  const path: string[] = [];
  for (const [name, field] of Object.entries(PATH_STRINGS)) {
    const value = uri[field];
    if (value !== undefined) path.push(`${name}=${text(value, PATH_LITERAL)}`);
  }
  if (uri.slotId !== undefined) path.push(`slot-id=${uri.slotId}`);
  if (uri.id !== undefined) path.push(`id=${percentEncode(uri.id, /^$/)}`);
  if (uri.type !== undefined) path.push(`type=${uri.type}`);
  const query: string[] = [];
  for (const [name, field] of Object.entries(QUERY_STRINGS)) {
    const value = uri[field];
    if (value !== undefined) query.push(`${name}=${field === 'pinValue' ? '***' : text(value, QUERY_LITERAL)}`);
  }
  return `pkcs11:${path.join(';')}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}
