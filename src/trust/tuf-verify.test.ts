// Tampering and rotation cases against repositories made in the test (keys generated here), through
// the same verifier `trust mirror` and `trust import` use.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { createTufRepo, type TufRepo } from '../../test/helpers/tuf-repo.ts';
import { isAirlockError } from '../errors.ts';
import { directorySource } from './tuf-source.ts';
import { verifyRepository, type Versions } from './tuf-verify.ts';

const tempDir = useTempDirs();

async function repo(options: { rootKeys?: number; rootThreshold?: number } = {}): Promise<TufRepo> {
  const dir = await tempDir('airlock-tuf-');
  const r = await createTufRepo({ dir, ...options });
  r.addTarget('trusted_root.json', '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}');
  await r.publish();
  return r;
}

async function verify(r: TufRepo, previous?: Versions) {
  return verifyRepository(await directorySource(r.dir), r.readFile('1.root.json'), {
    wantTarget: (n) => n === 'trusted_root.json',
    requiredTargets: ['trusted_root.json'],
    ...(previous ? { previous } : {}),
  });
}

const code = (c: string) => (e: unknown) => isAirlockError(e) && e.code === c;

describe('verifyRepository', () => {
  it('verifies a well-formed repository and returns the target byte-exact', async () => {
    const r = await repo();
    const v = await verify(r);
    assert.equal(
      Buffer.from(v.files[0]!.bytes).toString(),
      r.readFile(r.targetPaths('trusted_root.json')[0]!).toString(),
    );
    assert.deepEqual(
      v.roles.map((x) => x.role),
      ['root', 'timestamp', 'snapshot', 'targets'],
    );
  });

  // Attack: a modified trust root on the mirror.
  it('a changed target byte → E_TUF_HASH', async () => {
    const r = await repo();
    const path = r.targetPaths('trusted_root.json')[0]!;
    const bytes = r.readFile(path);
    bytes[10]! ^= 1;
    r.writeFile(path, bytes);
    await assert.rejects(verify(r), code('E_TUF_HASH'));
  });

  // Attack: a target (or metadata file) of another length than its signed metadata records, longer or
  // shorter: a verdict about the mirror whichever way it differs, never "malformed input".
  it(
    'a target or a referenced metadata file of another length than recorded → E_TUF_HASH, longer ' + 'or shorter',
    async () => {
      const r = await repo();
      const path = r.targetPaths('trusted_root.json')[0]!;
      const bytes = r.readFile(path);
      for (const changed of [
        Buffer.concat([bytes, Buffer.from(' ')]),
        Buffer.concat([bytes, Buffer.alloc(64 * 1024, 0x20)]),
        bytes.subarray(0, -1),
      ]) {
        r.writeFile(path, changed);
        await assert.rejects(
          verify(r),
          (e: unknown) => code('E_TUF_HASH')(e) && /longer than|length/i.test((e as Error).message),
          `${changed.length} bytes for ${bytes.length}`,
        );
      }
      r.writeFile(path, bytes);
      const snapshot = r.metadataPath('snapshot', r.snapshot.signed.version);
      r.writeFile(snapshot, Buffer.concat([r.readFile(snapshot), Buffer.from('\n')]));
      await assert.rejects(verify(r), code('E_TUF_HASH'));
    },
  );

  // Attack: metadata signed by fewer keys than the role's threshold.
  it('a metadata signature below threshold → E_TUF_SIGNATURE', async () => {
    const r = await repo();
    await r.publish({ signWith: { timestamp: 0 } });
    await assert.rejects(verify(r), code('E_TUF_SIGNATURE'));
  });

  it('a root rotation v1 → v2 with new keys and threshold 2, signed by old and new, verifies', async () => {
    const r = await repo();
    r.rotateRoot({ newRootKeys: 3, threshold: 2, signWith: 'old+new', rotateRoles: ['timestamp'] });
    await r.publish();
    const v = await verify(r);
    assert.equal(v.roles[0]!.version, 2);
    assert.equal(v.roots.length, 1);
  });

  // Attack: a new root not approved by the keys of the root before it.
  it('a rotation signed only by the new keys → E_TUF_SIGNATURE', async () => {
    const r = await repo();
    r.rotateRoot({ newRootKeys: 3, threshold: 2, signWith: 'new-only' });
    await assert.rejects(verify(r), code('E_TUF_SIGNATURE'));
  });

  it('a rotation with fewer new-key signatures than the new threshold → E_TUF_SIGNATURE', async () => {
    const r = await repo();
    r.rotateRoot({ newRootKeys: 3, threshold: 2, signWith: { old: 1, new: 1 } });
    await assert.rejects(verify(r), code('E_TUF_SIGNATURE'));
  });

  // Attack: replaying an older (validly signed) state after a newer one was trusted.
  it('a rollback to an older version → E_TUF_ROLLBACK', async () => {
    const r = await repo();
    const first = await verify(r);
    const trusted = Object.fromEntries(first.roles.map((x) => [x.role, x.version + 1])) as Versions;
    await assert.rejects(verify(r, trusted), code('E_TUF_ROLLBACK'));
    await assert.rejects(verify(r, { timestamp: first.roles[1]!.version + 1 }), code('E_TUF_ROLLBACK'));
  });

  // Attack: an old snapshot combined with a newer timestamp (mix-and-match).
  it('a mix-and-match snapshot → E_TUF_HASH', async () => {
    const r = await repo();
    r.addTarget('trusted_root.json', '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","x":1}');
    await r.publish();
    const current = r.snapshot.signed.version;
    r.writeFile(r.metadataPath('snapshot', current), r.snapshotFromVersion(current - 1));
    await assert.rejects(verify(r), code('E_TUF_HASH'));
  });

  it('a root file carrying another version than its name → E_TUF_VERSION', async () => {
    const r = await repo();
    r.rotateRoot({ newRootKeys: 0, signWith: 'old+new' });
    r.rotateRoot({ newRootKeys: 0, signWith: 'old+new' });
    r.writeFile('2.root.json', r.readFile('3.root.json'));
    await assert.rejects(verify(r), code('E_TUF_VERSION'));
  });

  it('metadata that is not JSON → E_TUF_MALFORMED', async () => {
    const r = await repo();
    r.writeFile('timestamp.json', '{ not json');
    await assert.rejects(verify(r), code('E_TUF_MALFORMED'));
  });

  it('a missing timestamp is E_INPUT_MISSING (could not evaluate), not a verdict', async () => {
    await assert.rejects(directorySource(join(tmpdir(), 'airlock-no-such-repo')), code('E_INPUT_MISSING'));
  });
});
