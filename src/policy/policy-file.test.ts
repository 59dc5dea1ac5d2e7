import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../errors.ts';
import { describePolicy } from './describe-policy.ts';
import { loadPolicyFile, parsePolicyText } from './policy-file.ts';

const yamlPolicy = `apiVersion: airlock/v1
kind: ImagePolicy
images:
  - glob: registry.corp/**
    authorities: [{ key: team.pub }]
`;

describe('policy files', () => {
  const dir = useTempDir('airlock-policy-');

  it('reads YAML and JSON alike', async () => {
    const yaml = parsePolicyText(yamlPolicy, 'p.yaml');
    const json = parsePolicyText(
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'ImagePolicy',
        images: [{ glob: 'registry.corp/**', authorities: [{ key: 'team.pub' }] }],
      }),
      'p.json',
    );
    assert.deepEqual(yaml, json);
    await writeFile(join(dir, 'p.yaml'), yamlPolicy);
    assert.deepEqual(await loadPolicyFile(join(dir, 'p.yaml')), yaml);
  });

  it('refuses what is not one policy: bad YAML, two documents, an alias bomb, a missing file', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghij'.split('').map((c, i) => {
        const prev = String.fromCharCode(97 + i);
        return `${c}: &${c} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join('\n');
    for (const text of ['images: [', `${yamlPolicy}---\n${yamlPolicy}`, bomb]) {
      assert.throws(
        () => parsePolicyText(text, 'p.yaml'),
        (e) => isAirlockError(e, 'E_INPUT_MALFORMED'),
        text.slice(0, 40),
      );
    }
    await assert.rejects(loadPolicyFile(join(dir, 'absent.yaml')), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
  });

  it('says what a policy means in words', () => {
    const lines = describePolicy(parsePolicyText(yamlPolicy, 'p.yaml'));
    assert.match(lines.join('\n'), /images named registry\.corp\/\*\*\n {2}must be signed by the key team\.pub/);
    assert.match(lines.join('\n'), /not met, or not checkable, is a denial \(enforce\)/);
  });
});
