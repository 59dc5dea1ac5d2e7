import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { describeScope, parseNamespaceScope, scopeApplies } from './namespace-scope.ts';

describe('namespace scope', () => {
  it('applies everywhere but kube-system and airlock’s own namespace when nothing is said', () => {
    const all = parseNamespaceScope(undefined, 'p', 'policy');
    assert.equal(scopeApplies(all, 'team-a', 'airlock-system'), true);
    assert.equal(scopeApplies(all, 'kube-system', 'airlock-system'), false);
    assert.equal(scopeApplies(all, 'airlock-system', 'airlock-system'), false);
  });

  it('with names only, applies in those alone — the exempt ones too when named', () => {
    const named = parseNamespaceScope({ names: ['prod', 'kube-system'] }, 'p', 'entry');
    assert.equal(scopeApplies(named, 'prod', 'airlock-system'), true);
    assert.equal(scopeApplies(named, 'kube-system', 'airlock-system'), true);
    assert.equal(scopeApplies(named, 'dev', 'airlock-system'), false);
  });

  it('takes a label selector at the top of a policy (the API server applies it), not on an entry', () => {
    const selector = { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['x'] }] };
    const top = parseNamespaceScope({ selector }, 'p', 'policy');
    assert.deepEqual(top.selector, selector);
    assert.equal(scopeApplies(top, 'anything', undefined), true);
    assert.match(describeScope(top), /labelled team=a, tier In \(x\)/);
    assert.throws(
      () => parseNamespaceScope({ selector }, 'p: images[0].namespaces', 'entry'),
      (e) => isAirlockError(e, 'E_INPUT_MALFORMED') && /sees a namespace's name only/.test(e.message),
    );
  });

  it('refuses malformed scopes', () => {
    for (const bad of [
      'prod',
      { names: 'prod' },
      { names: [''] },
      { selector: { matchLabels: { a: 1 } } },
      { selector: { matchExpressions: [{ key: 'a', operator: 'Is' }] } },
      { selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      { selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } },
    ])
      assert.throws(
        () => parseNamespaceScope(bad, 'p', 'policy'),
        (e) => isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
  });
});
