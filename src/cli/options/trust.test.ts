import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { writePublicKey, writeTrustedRoot } from '../../../test/helpers/trust-files.ts';
import { planVerification, TRUST_FLAGS, verificationOptions } from './trust.ts';

const ID = ['--certificate-identity', 'ci@example.com', '--certificate-oidc-issuer', 'https://issuer.example'];
let dir: string;
let pub: string;
let root: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-trust-flags-'));
  pub = (await writePublicKey(dir, 'cosign')).path;
  root = await writeTrustedRoot(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

const context = (argv: string[]) => testContext(argv, TRUST_FLAGS, { stateDir: join(dir, 'home') });
const plan = (...argv: string[]) => planVerification(context(argv).ctx.flags, '/state');

describe('planVerification', () => {
  it('a key: one log entry and no timestamp required by default; the installed public-good root', () => {
    const p = plan('--key', 'cosign.pub');
    assert.deepEqual(p.trust, { kind: 'key', keyRef: 'cosign.pub' });
    assert.deepEqual([p.tlogThreshold, p.ctlogThreshold, p.timestampThreshold], [1, 1, 0]);
    assert.equal(p.installedRootPath, '/state/trust/public-good/current/trusted_root.json');
    assert.equal(p.trustedRootOptional, false);
  });

  it('keyless: both pins, exact or anchored regexp, and a timestamp required', () => {
    const p = plan('--certificate-identity-regexp', '.*@example\\.com', '--certificate-oidc-issuer', 'https://i');
    assert.deepEqual(p.trust, {
      kind: 'identity',
      identity: { regexp: '.*@example\\.com' },
      issuer: { exact: 'https://i' },
    });
    assert.equal(p.timestampThreshold, 1);
  });

  it('--insecure-ignore-tlog with a key needs no trust root at all', () => {
    const p = plan('--key', 'k.pub', '--insecure-ignore-tlog', '--trust', 'private');
    assert.deepEqual([p.tlogThreshold, p.trustedRootOptional, p.trustName], [0, true, 'private']);
  });

  it('refuses what is no policy, before any file is read', () => {
    for (const argv of [
      [],
      ['--certificate-identity', 'x'],
      ['--key', 'k', ...ID],
      ['--certificate-identity', 'x', '--certificate-identity-regexp', 'y', '--certificate-oidc-issuer', 'i'],
      [...ID, '--insecure-ignore-tlog'],
      ['--key', 'k', '--insecure-ignore-tlog', '--tlog-threshold', '1'],
      ['--key', 'k', '--trust', '../etc'],
      ['--certificate-identity-regexp', '(', '--certificate-oidc-issuer', 'i'],
    ])
      assert.throws(() => plan(...argv), { code: 'E_USAGE' }, argv.join(' '));
  });
});

describe('verificationOptions', () => {
  it('--key and --insecure-ignore-tlog: the key itself, nothing required of a log, and a warning', async () => {
    const { ctx, stderr } = context(['--key', pub, '--insecure-ignore-tlog']);
    const options = await verificationOptions(ctx);
    assert.equal(options.trust.kind, 'key');
    assert.equal(options.trustedRoot, undefined);
    assert.deepEqual([options.tlogThreshold, options.ctlogThreshold, options.timestampThreshold], [0, 1, 0]);
    assert.equal(options.now.toISOString(), '2026-12-01T00:00:00.000Z');
    assert.match(stderr(), /warning: --insecure-ignore-tlog/);
  });

  it('keyless with --trusted-root: the pinned identity, the root file, and a predicate type', async () => {
    const { ctx } = context([...ID, '--trusted-root', root, '--timestamp-threshold', '2', '--ctlog-threshold', '0']);
    const options = await verificationOptions(ctx, 'spdxjson');
    assert.deepEqual(options.trust, {
      kind: 'identity',
      policy: { identity: { exact: 'ci@example.com' }, issuer: { exact: 'https://issuer.example' } },
    });
    assert.equal(options.trustedRoot?.source, root);
    assert.equal(options.timestampThreshold, 2);
    assert.equal(options.predicateType, 'https://spdx.dev/Document');
  });

  it('keyless under a root with no CT log: E_TRUST_ROOT unless --ctlog-threshold 0; a key needs none', async () => {
    await assert.rejects(verificationOptions(context([...ID, '--trusted-root', root]).ctx), {
      code: 'E_TRUST_ROOT',
      message: /has no Certificate Transparency log/,
      hint: /--ctlog-threshold 0/,
    });
    const keyed = await verificationOptions(context(['--key', pub, '--trusted-root', root]).ctx);
    assert.equal(keyed.ctlogThreshold, 1);
  });

  it('no --trusted-root and none installed: E_TRUST_ROOT_MISSING naming where it would be', async () => {
    await assert.rejects(verificationOptions(context(ID).ctx), {
      code: 'E_TRUST_ROOT_MISSING',
      hint: /home\/trust\/public-good\/current\/trusted_root\.json/,
    });
  });

  it("pack's spelling: the trusted key is --image-key", async () => {
    const { ctx } = testContext(['--image-key', pub, '--insecure-ignore-tlog'], {
      ...TRUST_FLAGS,
      'image-key': TRUST_FLAGS.key,
    });
    assert.equal((await verificationOptions(ctx, undefined, 'image-key')).trust.kind, 'key');
  });
});
