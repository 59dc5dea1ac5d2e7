import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { writePublicKey } from '../../../test/helpers/trust-files.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { PACK_TRUST_FLAGS, packTrustOption } from './pack-trust.ts';

const FLAGS = { ...PACK_TRUST_FLAGS, sign: { type: 'boolean', description: '' } } as const;
let dir: string;
let image: Awaited<ReturnType<typeof writePublicKey>>;
let signing: Awaited<ReturnType<typeof writePublicKey>>;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pack-trust-'));
  image = await writePublicKey(dir, 'image');
  signing = await writePublicKey(dir, 'signing');
});
after(() => rm(dir, { recursive: true, force: true }));

const trust = (argv: string[], signingKey = signing.key) =>
  packTrustOption(testContext(argv, FLAGS, { stateDir: join(dir, 'home') }).ctx, signingKey);

describe('packTrustOption', () => {
  it('--image-key: the key images must verify with inside the gap', async () => {
    const t = await trust(['--image-key', image.path, '--insecure-ignore-tlog']);
    assert.ok(t && 'trust' in t && t.trust.kind === 'key');
    assert.equal(keyFingerprint(t.trust.publicKey), keyFingerprint(image.key));
  });

  it('--sign alone: the key pack signs with, offline (no log entry, no timestamp)', async () => {
    const t = await trust(['--sign']);
    assert.ok(t && 'trust' in t && t.trust.kind === 'key');
    assert.equal(keyFingerprint(t.trust.publicKey), keyFingerprint(signing.key));
    assert.deepEqual([t.tlogThreshold, t.timestampThreshold, t.now.toISOString()], [0, 0, '2026-12-01T00:00:00.000Z']);
  });

  it('no trust named and no --sign: none (pack then needs --allow-unsigned)', async () => {
    assert.equal(await trust([]), undefined);
    assert.equal(await trust(['--allow-unsigned']), undefined);
  });
});
