// Which namespaces an admission policy (or one of its entries) applies in. A webhook sees a request's
// namespace by name only — its labels would take a call to the API server, and admission makes no
// network calls but to the registry — so names are decided here, and a label selector is allowed only
// at the top of a policy, where `airlock admission manifests` carries it into the webhook
// configurations' namespaceSelector for the API server to apply before a request is sent.
// kube-system and airlock's own namespace are left out unless named, so a policy cannot lock the
// cluster's control plane or the webhook itself out.
import { AirlockError } from '../errors.ts';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

/** A Kubernetes label selector, as a webhook's namespaceSelector takes it. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface NamespaceScope {
  /** Namespaces named: the scope is these alone (plus the selector's, at the top of a policy). */
  readonly names?: readonly string[];
  readonly selector?: LabelSelector;
}

/** Namespaces a policy never applies in unless it names them. */
export const ALWAYS_EXEMPT = ['kube-system'] as const;

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function malformed(message: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', message);
}

function parseNames(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((n) => typeof n !== 'string' || !n))
    throw malformed(`${where}.names: a list of namespace names`);
  return value as string[];
}

function parseRequirement(r: unknown, where: string): LabelSelectorRequirement {
  const x = r as { key?: unknown; operator?: unknown; values?: unknown };
  if (typeof x?.key !== 'string' || !OPERATORS.includes(String(x.operator)))
    throw malformed(`${where}: needs a key and an operator (${OPERATORS.join(', ')})`);
  const needsValues = x.operator === 'In' || x.operator === 'NotIn';
  const values = x.values;
  if (needsValues && (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string')))
    throw malformed(`${where}: ${String(x.operator)} needs a non-empty list of values`);
  if (!needsValues && values !== undefined) throw malformed(`${where}: ${String(x.operator)} takes no values`);
  return {
    key: x.key,
    operator: x.operator as LabelSelectorRequirement['operator'],
    ...(needsValues ? { values: values as string[] } : {}),
  };
}

function parseSelector(value: unknown, where: string): LabelSelector | undefined {
  if (value === undefined) return undefined;
  const s = value as { matchLabels?: unknown; matchExpressions?: unknown };
  if (typeof s !== 'object' || s === null) throw malformed(`${where}: a label selector`);
  const labels = s.matchLabels;
  if (
    labels !== undefined &&
    (typeof labels !== 'object' || labels === null || Object.values(labels).some((v) => typeof v !== 'string'))
  )
    throw malformed(`${where}.matchLabels: a map of label to value`);
  if (s.matchExpressions !== undefined && !Array.isArray(s.matchExpressions))
    throw malformed(`${where}.matchExpressions: a list`);
  const expressions = (s.matchExpressions as unknown[] | undefined)?.map((r, i) =>
    parseRequirement(r, `${where}.matchExpressions[${i}]`),
  );
  return {
    ...(labels ? { matchLabels: labels as Record<string, string> } : {}),
    ...(expressions ? { matchExpressions: expressions } : {}),
  };
}

/** A policy's (`top`) or an entry's scope; an entry's may name namespaces but not select by label. */
export function parseNamespaceScope(value: unknown, where: string, level: 'policy' | 'entry'): NamespaceScope {
  if (value === undefined) return {};
  const v = value as { names?: unknown; selector?: unknown };
  if (typeof v !== 'object' || v === null) throw malformed(`${where}: {"names": [...], "selector": {...}}`);
  const names = parseNames(v.names, where);
  const selector = parseSelector(v.selector, `${where}.selector`);
  if (selector && level === 'entry')
    throw malformed(
      `${where}.selector: a webhook sees a namespace's name only, so an entry can name namespaces but not ` +
        'select them by label; put the selector at the top of the policy (admission manifests makes it the ' +
        "webhooks' namespaceSelector)",
    );
  return { ...(names ? { names } : {}), ...(selector ? { selector } : {}) };
}

/**
 * Whether a scope applies in `namespace`, as the webhook can tell: a named namespace always; the
 * exempt ones (kube-system, airlock's own) only when named; with names and no selector, only those;
 * otherwise every namespace the API server sent (a top-level selector was applied before sending).
 */
export function scopeApplies(scope: NamespaceScope, namespace: string, ownNamespace: string | undefined): boolean {
  if (scope.names?.includes(namespace)) return true;
  if ((ALWAYS_EXEMPT as readonly string[]).includes(namespace) || namespace === ownNamespace) return false;
  if (scope.names && !scope.selector) return false;
  return true;
}

/** In words, for `airlock policy check`. */
export function describeScope(scope: NamespaceScope): string {
  const parts: string[] = [];
  if (scope.names) parts.push(`namespaces ${scope.names.join(', ')}`);
  if (scope.selector) parts.push(`namespaces labelled ${describeSelector(scope.selector)}`);
  const where = parts.length ? parts.join(' and ') : 'every namespace';
  return `${where} (kube-system and airlock's own namespace only when named)`;
}

function describeSelector(s: LabelSelector): string {
  const labels = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const exprs = (s.matchExpressions ?? []).map((e) =>
    e.values ? `${e.key} ${e.operator} (${e.values.join(', ')})` : `${e.key} ${e.operator}`,
  );
  return [...labels, ...exprs].join(', ') || '(any)';
}
