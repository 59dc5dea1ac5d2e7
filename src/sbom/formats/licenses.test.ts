import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSingleListedId, joinExpressions, licenseRefFor, spdxExpression, splitExpression } from './licenses.ts';

describe('spdxExpression', () => {
  it('accepts SPDX expressions and writes identifiers as the licence list spells them', () => {
    const cases: Array<[string, string]> = [
      ['MIT', 'MIT'],
      ['mit', 'MIT'],
      ['GPL-2.0+', 'GPL-2.0+'],
      ['GPL-2.0-or-later WITH classpath-exception-2.0', 'GPL-2.0-or-later WITH Classpath-exception-2.0'],
      ['(MIT OR Apache-2.0) AND BSD-3-Clause', '(MIT OR Apache-2.0) AND BSD-3-Clause'],
      ['((MIT))', 'MIT'],
      ['LicenseRef-foo.1', 'LicenseRef-foo.1'],
      ['DocumentRef-x:LicenseRef-y', 'DocumentRef-x:LicenseRef-y'],
    ];
    for (const [text, expected] of cases) assert.equal(spdxExpression(text), expected, text);
  });

  it('refuses what is not one: unknown ids, lower-case operators, dangling operators, unbalanced parentheses', () => {
    for (const text of [
      'GPL-2+',
      'Apache 2.0',
      'MIT or Apache-2.0',
      'MIT AND',
      '(MIT',
      'MIT WITH MIT-0+',
      '',
      'M'.repeat(5000),
    ])
      assert.equal(spdxExpression(text), undefined, text);
  });
});

describe('joinExpressions and splitExpression', () => {
  it('join as syft does and split back into the same licences', () => {
    const licences = ['MIT AND Apache-2.0', 'BSD-3-Clause', 'GPL-2.0-only WITH Classpath-exception-2.0'];
    const joined = joinExpressions(licences);
    assert.equal(joined, '(MIT AND Apache-2.0) AND BSD-3-Clause AND (GPL-2.0-only WITH Classpath-exception-2.0)');
    assert.deepEqual(splitExpression(joined), licences);
    assert.deepEqual(splitExpression('(MIT OR Apache-2.0)'), ['MIT OR Apache-2.0']);
  });

  it('tell single listed ids from the rest and sanitise LicenseRefs', () => {
    assert.equal(isSingleListedId('MIT'), true);
    assert.equal(isSingleListedId('GPL-2.0+'), false);
    assert.equal(isSingleListedId('LicenseRef-x'), false);
    assert.equal(licenseRefFor('Apache License, Version 2.0'), 'LicenseRef-Apache-License--Version-2.0');
  });
});
