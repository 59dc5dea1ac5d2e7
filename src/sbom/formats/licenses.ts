// Licences as SPDX license expressions (SPDX 2.3 Annex D): which recorded licence strings are valid
// expressions (identifiers from the SPDX licence list the CycloneDX library ships, `LicenseRef-`,
// `DocumentRef-…:LicenseRef-`, `+`, `WITH` an exception, AND/OR, parentheses), written with the list's
// spelling, and a package's licences joined into one expression and split back the way syft joins them:
// ` AND ` between them, a compound one in parentheses.
import { fixupSpdxId } from '@cyclonedx/cyclonedx-library/SPDX';

/** Longer than this, a recorded licence is not read as an expression (it is kept as a name). */
const MAX_EXPRESSION = 4096;
const TOKEN = /\s*(\(|\)|[A-Za-z0-9.:+-]+)/y;
const REF = /^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/;

function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m?.[1]) return undefined;
    tokens.push(m[1]);
  }
  return tokens;
}

/** A licence or exception identifier as the SPDX list spells it (`+` kept), or undefined. */
function identifier(token: string, exception: boolean): string | undefined {
  if (REF.test(token)) return exception ? undefined : token;
  const plus = !exception && token.endsWith('+');
  const id = fixupSpdxId(plus ? token.slice(0, -1) : token);
  return id === undefined ? undefined : `${id}${plus ? '+' : ''}`;
}

/** Recursive descent over the tokens (or-expr := and-expr (OR and-expr)*; and-expr := term (AND term)*). */
class ExpressionReader {
  readonly out: string[] = [];
  private at = 0;
  private readonly tokens: readonly string[];

  constructor(tokens: readonly string[]) {
    this.tokens = tokens;
  }

  done(): boolean {
    return this.at === this.tokens.length;
  }

  orExpression(): boolean {
    return this.chain('OR', () => this.andExpression());
  }

  private andExpression(): boolean {
    return this.chain('AND', () => this.term());
  }

  /** operand (operator operand)* */
  private chain(operator: string, operand: () => boolean): boolean {
    if (!operand()) return false;
    while (this.tokens[this.at] === operator) {
      this.at++;
      this.out.push(operator);
      if (!operand()) return false;
    }
    return true;
  }

  private term(): boolean {
    const token = this.tokens[this.at++];
    if (token === '(') {
      this.out.push('(');
      if (!this.orExpression() || this.tokens[this.at++] !== ')') return false;
      this.out.push(')');
      return true;
    }
    const id = token === undefined ? undefined : identifier(token, false);
    if (id === undefined) return false;
    this.out.push(id);
    if (this.tokens[this.at] !== 'WITH') return true;
    this.at++;
    const next = this.tokens[this.at++];
    const exception = next === undefined ? undefined : identifier(next, true);
    if (exception === undefined) return false;
    this.out.push('WITH', exception);
    return true;
  }
}

/** The text as a valid SPDX license expression in the list's spelling, or undefined when it is not one. */
export function spdxExpression(text: string): string | undefined {
  if (text.length > MAX_EXPRESSION) return undefined;
  const tokens = tokenize(text);
  if (!tokens || tokens.length === 0) return undefined;
  const reader = new ExpressionReader(tokens);
  if (!reader.orExpression() || !reader.done()) return undefined;
  return stripOuterParentheses(reader.out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')'));
}

/** Whether the expression is one identifier (a CycloneDX `license.id`), not a compound or a LicenseRef. */
export function isSingleListedId(expression: string): boolean {
  return !/[\s()+]/.test(expression) && !REF.test(expression);
}

function isCompound(expression: string): boolean {
  return /\s(AND|OR|WITH)\s/.test(expression);
}

/** `(A OR B)` → `A OR B`, when the parentheses enclose the whole expression. */
function stripOuterParentheses(expression: string): string {
  let e = expression;
  while (e.startsWith('(') && e.endsWith(')') && closingOf(e, 0) === e.length - 1) e = e.slice(1, -1);
  return e;
}

function closingOf(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Valid expressions joined as syft joins a package's licences: ` AND `, compound ones in parentheses. */
export function joinExpressions(expressions: readonly string[]): string {
  return expressions.map((e) => (isCompound(e) ? `(${e})` : e)).join(' AND ');
}

/** The reverse of joinExpressions: the parts of a top-level AND, each without its enclosing parentheses. */
export function splitExpression(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && expression.startsWith(' AND ', i)) {
      parts.push(expression.slice(start, i));
      start = i + 5;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((p) => stripOuterParentheses(p.trim())).filter((p) => p !== '');
}

/** A `LicenseRef-` identifier for a licence that is not an expression (syft: the text, sanitised). */
export function licenseRefFor(text: string): string {
  const idstring = text.replace(/[^A-Za-z0-9.-]/g, '-');
  return `LicenseRef-${idstring === '' ? 'empty' : idstring}`;
}
