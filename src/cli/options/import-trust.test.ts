import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { writePublicKey } from '../../../test/helpers/trust-files.ts';
import { IMPORT_TRUST_FLAGS, importTrustOption } from './import-trust.ts';

let dir: string;
let pub: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-import-trust-'));
  pub = (await writePublicKey(dir, 'cosign')).path;
  await writeFile(
    join(dir, 'policy.json'),
    JSON.stringify({
      apiVersion: 'airlock/v1',
      kind: 'ImagePolicy',
      images: [{ glob: '**', authorities: [{ key: pub }] }],
    }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const trust = (...argv: string[]) => importTrustOption(testContext(argv, IMPORT_TRUST_FLAGS).ctx);

describe('importTrustOption', () => {
  it('--policy FILE: the image policy', async () => {
    const t = await trust('--policy', join(dir, 'policy.json'), '--insecure-ignore-tlog');
    assert.ok('policy' in t);
    assert.equal(t.keys.size, 1);
  });
  it("without --policy: verify's trust flags", async () => {
    const t = await trust('--key', pub, '--insecure-ignore-tlog');
    assert.ok('trust' in t);
    assert.equal(t.trust.kind, 'key');
  });
});
