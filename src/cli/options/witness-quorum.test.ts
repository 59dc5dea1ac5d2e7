import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { encodeCosignerKey } from '../../log/cosignature.ts';
import { planWitnesses, WITNESS_QUORUM_FLAGS, witnessPolicy } from './witness-quorum.ts';

const vkey = (name: string) => encodeCosignerKey(name, generateKeyPairSync('ed25519').publicKey);
const FLAGS = { ...WITNESS_QUORUM_FLAGS, 'insecure-ignore-tlog': { type: 'boolean', description: '' } } as const;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-witness-quorum-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const context = (argv: string[]) => testContext(argv, FLAGS, { cwd: dir });
const policy = async (...argv: string[]) => {
  const t = context(argv);
  return { policy: await witnessPolicy(t.ctx, planWitnesses(t.ctx.flags)), stderr: t.stderr() };
};

describe('planWitnesses', () => {
  it('none given: no witness check', () => {
    assert.equal(planWitnesses(context([]).ctx.flags), undefined);
  });
  it('refuses a quorum without keys, keys or a policy with --insecure-ignore-tlog, and a policy with keys', () => {
    for (const argv of [
      ['--require-witnesses', '1'],
      ['--witness-key', 'w.vkey', '--insecure-ignore-tlog'],
      ['--witness-policy', 'p.txt', '--insecure-ignore-tlog'],
      ['--witness-policy', 'p.txt', '--witness-key', 'w.vkey'],
      ['--witness-key', 'w.vkey', '--require-witnesses', '101'],
    ])
      assert.throws(() => planWitnesses(context(argv).ctx.flags), { code: 'E_USAGE' }, argv.join(' '));
  });
});

describe('witnessPolicy', () => {
  it('every distinct witness by default; keys given inline or in a file (relative to the cwd)', async () => {
    const [a, b] = [vkey('w1.example'), vkey('w2.example')];
    await writeFile(join(dir, 'w2.vkey'), `${b}\n`);
    const { policy: p } = await policy('--witness-key', a, '--witness-key', 'w2.vkey', '--witness-key', a);
    assert.ok(p && 'verifiers' in p);
    assert.deepEqual(
      p.verifiers.map((v) => v.name),
      ['w1.example', 'w2.example'],
    );
    assert.equal(p.required, 2);
  });

  it('--require-witnesses N of them; 0 turns the check off, with a warning; more than given is refused', async () => {
    const keys = ['--witness-key', vkey('w1'), '--witness-key', vkey('w2')];
    const one = (await policy(...keys, '--require-witnesses', '1')).policy;
    assert.ok(one && 'required' in one);
    assert.equal(one.required, 1);
    const off = await policy(...keys, '--require-witnesses', '0');
    assert.equal(off.policy, undefined);
    assert.match(off.stderr, /warning: --require-witnesses 0/);
    await assert.rejects(policy(...keys, '--require-witnesses', '3'), { code: 'E_USAGE' });
  });

  it('--witness-policy FILE: its quorum; `quorum none` turns the check off, with a warning', async () => {
    const w = vkey('w1.example');
    await writeFile(join(dir, 'policy.txt'), `witness w1 ${w}\nquorum w1\n`);
    const { policy: p } = await policy('--witness-policy', 'policy.txt');
    assert.ok(p && 'policy' in p);
    assert.equal(p.source, join(dir, 'policy.txt'));
    await writeFile(join(dir, 'none.txt'), 'quorum none\n');
    const none = await policy('--witness-policy', 'none.txt');
    assert.equal(none.policy, undefined);
    assert.match(none.stderr, /quorum none/);
  });
});
