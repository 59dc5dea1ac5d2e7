import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { writePublicKey, writeTrustedRoot } from '../../../test/helpers/trust-files.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { policyOption } from './image-policy.ts';
import { TRUST_FLAGS } from './trust.ts';

let dir: string;
let team: Awaited<ReturnType<typeof writePublicKey>>;
let root: string;
const policyDoc = (authorities: unknown[]) =>
  JSON.stringify({ apiVersion: 'airlock/v1', kind: 'ImagePolicy', images: [{ glob: '**', authorities }] });
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-image-policy-'));
  await mkdir(join(dir, 'policy', 'keys'), { recursive: true });
  team = await writePublicKey(join(dir, 'policy', 'keys'), 'team');
  root = await writeTrustedRoot(dir);
  await writeFile(join(dir, 'policy', 'keys-only.json'), policyDoc([{ key: 'keys/team.pub' }]));
  await writeFile(
    join(dir, 'policy', 'keyless.json'),
    policyDoc([{ identity: { exact: 'ci@example.com' }, issuer: { exact: 'https://issuer.example' } }]),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const load = (file: string, ...argv: string[]) => {
  const t = testContext(argv, TRUST_FLAGS, { stateDir: join(dir, 'home') });
  return { t, loaded: policyOption(t.ctx, join(dir, 'policy', file), 'key') };
};

describe('policyOption', () => {
  it('reads the keys the policy names relative to the policy file', async () => {
    const { loaded } = load('keys-only.json', '--insecure-ignore-tlog');
    const policy = await loaded;
    assert.equal(policy.policy.entries.length, 1);
    const key = policy.keys.get('keys/team.pub');
    assert.ok(key);
    assert.equal(keyFingerprint(key), keyFingerprint(team.key));
  });

  it('keys only and --insecure-ignore-tlog: no log, no timestamp, no trust root needed, and a warning', async () => {
    const { t, loaded } = load('keys-only.json', '--insecure-ignore-tlog');
    const { base } = await loaded;
    assert.deepEqual([base.tlogThreshold, base.timestampThreshold, base.trustedRoot], [0, 0, undefined]);
    assert.match(t.stderr(), /warning: --insecure-ignore-tlog/);
  });

  it('keyless authorities: the trust root and thresholds of the flags', async () => {
    const { base } = await load('keyless.json', '--trusted-root', root, '--ctlog-threshold', '0').loaded;
    assert.equal(base.trustedRoot?.source, root);
    assert.deepEqual([base.tlogThreshold, base.ctlogThreshold, base.timestampThreshold], [1, 0, 1]);
  });

  it('keyless authorities under a root with no CT log: E_TRUST_ROOT, until --ctlog-threshold 0', async () => {
    await assert.rejects(load('keyless.json', '--trusted-root', root).loaded, {
      code: 'E_TRUST_ROOT',
      hint: /--ctlog-threshold 0/,
    });
    const keys = await load('keys-only.json', '--trusted-root', root).loaded;
    assert.equal(keys.base.ctlogThreshold, 1, 'key authorities need no SCT');
  });

  it('refuses the trust flags the policy replaces, and --insecure-ignore-tlog beside keyless authorities', async () => {
    await assert.rejects(load('keys-only.json', '--key', team.path).loaded, { code: 'E_USAGE' });
    await assert.rejects(load('keys-only.json', '--certificate-identity', 'x').loaded, { code: 'E_USAGE' });
    await assert.rejects(load('keyless.json', '--insecure-ignore-tlog').loaded, { code: 'E_USAGE' });
  });

  it('refuses what only admission evaluates (log inclusion, attestation contents, trust per authority)', async () => {
    const entries = [
      { requireLogInclusion: { logKey: 'log.vkey' } },
      { attestations: [{ predicateType: 'vuln', maxSeverity: 'high' }] },
    ];
    for (const extra of entries) {
      const file = `admission-${Object.keys(extra)[0]}.json`;
      await writeFile(
        join(dir, 'policy', file),
        JSON.stringify({
          apiVersion: 'airlock/v1',
          kind: 'ImagePolicy',
          images: [{ glob: '**', authorities: [{ key: 'keys/team.pub' }], ...extra }],
        }),
      );
      await assert.rejects(load(file, '--insecure-ignore-tlog').loaded, (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_USAGE');
        assert.match(e.message, /only admission evaluates so far/);
        return true;
      });
    }
    await writeFile(
      join(dir, 'policy', 'admission-trust.json'),
      policyDoc([{ identity: { exact: 'a' }, issuer: { exact: 'b' }, trust: 'corp' }]),
    );
    await assert.rejects(load('admission-trust.json', '--trusted-root', root).loaded, /trust: NAME on an authority/);
  });
});
