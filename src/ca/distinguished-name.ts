// The subject of a CA certificate from the command line: "O=Example,CN=Example CA". Attributes are
// written in the order they are encoded (as `openssl req -subj` and openssl's display show them, not
// RFC 4514's reversed order); "\," and "\\" escape a comma or a backslash in a value.
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

const ATTRIBUTE_TYPES: Readonly<Record<string, string>> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

/** RFC 5280 Appendix A upper bounds (ub-*-name). */
const MAX_LENGTH: Readonly<Record<string, number>> = { C: 2, ST: 128, L: 128, O: 64, OU: 64, CN: 64 };

const KEYS = Object.keys(ATTRIBUTE_TYPES).join(', ');
const HINT = `write the subject as KEY=value pairs separated by commas, e.g. "O=Example,CN=Example CA"; keys: ${KEYS}`;

/** Splits on commas that are not escaped, and unescapes. */
function splitPairs(text: string): string[] {
  const pairs: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && (text[i + 1] === ',' || text[i + 1] === '\\')) {
      current += text[++i];
    } else if (c === ',') {
      pairs.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  pairs.push(current);
  return pairs;
}

function attribute(pair: string): AttributeTypeAndValue {
  const eq = pair.indexOf('=');
  const key = pair.slice(0, Math.max(eq, 0)).trim().toUpperCase();
  const value = pair.slice(eq + 1).trim();
  const type = ATTRIBUTE_TYPES[key];
  if (eq < 0 || type === undefined) {
    throw new AirlockError('E_USAGE', `--subject: '${bounded(pair)}' is not KEY=value with a known key`, {
      hint: HINT,
    });
  }
  if (value === '' || value.length > (MAX_LENGTH[key] as number)) {
    throw new AirlockError('E_USAGE', `--subject: ${key} must be 1 to ${MAX_LENGTH[key]} characters`, { hint: HINT });
  }
  if (key === 'C' && !/^[A-Z]{2}$/.test(value)) {
    throw new AirlockError(
      'E_USAGE',
      `--subject: C must be a two-letter country code (ISO 3166), got '${bounded(value)}'`,
    );
  }
  // X.520 countryName is a PrintableString; the rest are UTF8String, as RFC 5280 §4.1.2.4 recommends.
  const encoded =
    key === 'C' ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
  return new AttributeTypeAndValue({ type, value: encoded });
}

/** Parses "O=…,CN=…" into a Name with one attribute per RDN, in the order written. */
export function parseDistinguishedName(text: string): Name {
  if (text.trim() === '')
    throw new AirlockError('E_USAGE', '--subject is empty: a CA certificate needs a subject', { hint: HINT });
  return new Name(splitPairs(text).map((pair) => new RelativeDistinguishedName([attribute(pair)])));
}
