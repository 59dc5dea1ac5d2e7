import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Metadata, MetadataKind } from '@tufjs/models';
import { useTempDir } from './temp-dir.ts';
import { createTufRepo, type TufRepo } from './tuf-repo.ts';

const base = useTempDir('airlock-tuf-repo-');
let n = 0;
const freshDir = (): string => join(base, `repo-${++n}`);

function load(repo: TufRepo) {
  const json = (rel: string) => JSON.parse(repo.readFile(rel).toString('utf8'));
  const root = Metadata.fromJSON(MetadataKind.Root, json(`${repo.root.signed.version}.root.json`));
  const timestamp = Metadata.fromJSON(MetadataKind.Timestamp, json('timestamp.json'));
  const snapshotRel = repo.metadataPath('snapshot', timestamp.signed.snapshotMeta.version);
  const snapshot = Metadata.fromJSON(MetadataKind.Snapshot, json(snapshotRel));
  const targetsVersion = snapshot.signed.meta['targets.json']?.version;
  assert.ok(targetsVersion);
  const targetsRel = repo.metadataPath('targets', targetsVersion);
  const targets = Metadata.fromJSON(MetadataKind.Targets, json(targetsRel));
  return { root, timestamp, snapshot, targets, snapshotRel, targetsRel };
}

/** Verifies the written repository the way a TUF client would, with @tufjs/models itself. */
async function verifyWritten(repo: TufRepo): Promise<ReturnType<typeof load>> {
  const md = load(repo);
  md.root.verifyDelegate('root', md.root);
  md.root.verifyDelegate('timestamp', md.timestamp);
  md.root.verifyDelegate('snapshot', md.snapshot);
  md.root.verifyDelegate('targets', md.targets);
  md.timestamp.signed.snapshotMeta.verify(repo.readFile(md.snapshotRel));
  const targetsMeta = md.snapshot.signed.meta['targets.json'];
  assert.ok(targetsMeta?.length && targetsMeta.hashes?.sha256);
  targetsMeta.verify(repo.readFile(md.targetsRel));
  for (const [name, target] of Object.entries(md.targets.signed.targets)) {
    for (const rel of repo.targetPaths(name)) {
      await target.verify(Readable.from([repo.readFile(rel)]));
    }
  }
  return md;
}

describe('createTufRepo', () => {
  it('writes a repository that verifies with @tufjs/models', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const repo = await createTufRepo({ dir: freshDir(), now });
    assert.equal(repo.initialRootPath, join(repo.dir, '1.root.json'));
    for (const rel of ['1.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json']) {
      assert.ok(existsSync(join(repo.dir, rel)), rel);
    }
    const md = await verifyWritten(repo);
    assert.equal(md.root.signed.version, 1);
    assert.equal(md.root.signed.consistentSnapshot, true);
    assert.equal(md.root.signed.expires, '2031-01-01T00:00:00Z'); // +365 days
    assert.equal(md.timestamp.signed.expires, '2030-01-08T00:00:00Z');
    assert.equal(md.snapshot.signed.expires, '2030-01-31T00:00:00Z');
    assert.equal(md.targets.signed.expires, '2031-01-01T00:00:00Z');
    const rootKey = repo.rootKeys[0];
    assert.ok(rootKey);
    assert.equal(md.root.signed.keys[rootKey.keyId]?.keyType, 'ecdsa-sha2-nistp256');
    assert.match(md.root.signed.keys[rootKey.keyId]?.keyVal.public ?? '', /^-----BEGIN PUBLIC KEY-----/);
    // A corrupted signature is rejected.
    const ts = JSON.parse(repo.readFile('timestamp.json').toString());
    ts.signed.version = 99;
    assert.throws(() => md.root.verifyDelegate('timestamp', Metadata.fromJSON(MetadataKind.Timestamp, ts)));
  });

  it('lists targets with length and hashes and writes them content-addressed', async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    repo.addTarget('trusted_root.json', '{"mediaType":"x"}', {
      custom: { sigstore: { usage: 'Unknown', status: 'Active' } },
    });
    repo.addTarget('dir/b.bin', new Uint8Array([1, 2, 3]), { sha512: true });
    await repo.publish();
    const md = await verifyWritten(repo);
    const content = Buffer.from('{"mediaType":"x"}');
    const sha = createHash('sha256').update(content).digest('hex');
    assert.deepEqual(repo.readFile(`targets/${sha}.trusted_root.json`), content);
    const t = md.targets.signed.targets['trusted_root.json'];
    assert.equal(t?.length, content.length);
    assert.deepEqual(t?.custom, { sigstore: { usage: 'Unknown', status: 'Active' } });
    assert.equal(repo.targetPaths('dir/b.bin').length, 2);
    assert.ok(repo.targetPaths('dir/b.bin').every((p) => p.startsWith('targets/dir/')));
    // A tampered target no longer verifies.
    const [rel] = repo.targetPaths('trusted_root.json');
    assert.ok(rel);
    repo.writeFile(rel, '{"mediaType":"y"}');
    await assert.rejects(t!.verify(Readable.from([repo.readFile(rel)])));
  });

  it('uses plain names without consistent snapshots', async () => {
    const repo = await createTufRepo({ dir: freshDir(), consistentSnapshot: false });
    repo.addTarget('a.txt', 'hello');
    await repo.publish();
    assert.equal(repo.metadataPath('snapshot'), 'snapshot.json');
    assert.equal(repo.readFile('targets/a.txt').toString(), 'hello');
    assert.ok(!existsSync(join(repo.dir, '2.snapshot.json')));
    const md = await verifyWritten(repo);
    assert.equal(md.root.signed.consistentSnapshot, false);
  });

  it('publish bumps targets, snapshot and timestamp and keeps old snapshots for mix-and-match', async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    await repo.publish();
    await repo.publish();
    const md = await verifyWritten(repo);
    assert.equal(md.timestamp.signed.version, 3);
    assert.equal(md.snapshot.signed.version, 3);
    assert.equal(md.targets.signed.version, 3);
    assert.equal(md.timestamp.signed.snapshotMeta.version, 3);
    assert.equal(md.snapshot.signed.meta['targets.json']?.version, 3);
    assert.equal(repo.timestamp.signed.version, 3);
    const old = repo.snapshotFromVersion(1);
    assert.deepEqual(old, readFileSync(join(repo.dir, '1.snapshot.json')));
    assert.throws(() => md.timestamp.signed.snapshotMeta.verify(old));
    // Only the timestamp.
    await repo.publish({ bump: { targets: false, snapshot: false } });
    const md2 = await verifyWritten(repo);
    assert.equal(md2.timestamp.signed.version, 4);
    assert.equal(md2.snapshot.signed.version, 3);
  });

  it('publish can sign below the threshold', async () => {
    const repo = await createTufRepo({ dir: freshDir(), keyCounts: { timestamp: 2 }, thresholds: { timestamp: 2 } });
    await verifyWritten(repo);
    await repo.publish({ signWith: { timestamp: 1 } });
    const md = load(repo);
    assert.equal(Object.keys(md.timestamp.signatures).length, 1);
    assert.throws(() => md.root.verifyDelegate('timestamp', md.timestamp), /signed by 1\/2/);
  });

  it('setExpiry applies to the next publish, and to root at once', async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    repo.setExpiry('timestamp', new Date('2000-01-01T00:00:00Z'));
    repo.setExpiry('root', new Date('2001-01-01T00:00:00Z'));
    assert.equal(load(repo).root.signed.expires, '2001-01-01T00:00:00Z');
    await repo.publish();
    const md = await verifyWritten(repo);
    assert.equal(md.timestamp.signed.expires, '2000-01-01T00:00:00Z');
    assert.ok(md.timestamp.signed.isExpired());
    assert.equal(md.root.signed.version, 1);
  });
});

describe('rotateRoot', () => {
  const rootFile = (repo: TufRepo, v: number) =>
    Metadata.fromJSON(MetadataKind.Root, JSON.parse(repo.readFile(`${v}.root.json`).toString()));

  it("'old+new': the new root verifies with the old root and with itself", async () => {
    const repo = await createTufRepo({ dir: freshDir(), rootKeys: 2, rootThreshold: 2 });
    const oldKeyIds = repo.rootKeys.map((k) => k.keyId);
    repo.rotateRoot({ newRootKeys: 3, threshold: 2, signWith: 'old+new' });
    const v1 = rootFile(repo, 1);
    const v2 = rootFile(repo, 2);
    assert.equal(v2.signed.version, 2);
    assert.equal(v2.signed.roles.root?.threshold, 2);
    assert.equal(repo.rootKeys.length, 3);
    assert.ok(repo.rootKeys.every((k) => !oldKeyIds.includes(k.keyId)));
    v1.verifyDelegate('root', v2);
    v2.verifyDelegate('root', v2);
    assert.equal(repo.roots.length, 2);
    // The other roles' files still verify under the new root.
    await verifyWritten(repo);
    // And root expiry re-signing keeps the cross-signature.
    repo.setExpiry('root', new Date('2099-01-01T00:00:00Z'));
    v1.verifyDelegate('root', rootFile(repo, 2));
  });

  it("'new-only': the old root does not accept the new one", async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    repo.rotateRoot({ signWith: 'new-only' });
    const v1 = rootFile(repo, 1);
    const v2 = rootFile(repo, 2);
    v2.verifyDelegate('root', v2);
    assert.throws(() => v1.verifyDelegate('root', v2));
  });

  it("'old-only': the new root does not accept itself", async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    repo.rotateRoot({ signWith: 'old-only', expires: new Date('2040-01-01T00:00:00Z') });
    const v1 = rootFile(repo, 1);
    const v2 = rootFile(repo, 2);
    assert.equal(v2.signed.expires, '2040-01-01T00:00:00Z');
    v1.verifyDelegate('root', v2);
    assert.throws(() => v2.verifyDelegate('root', v2));
  });

  it('rotating the timestamp key invalidates timestamp.json until the next publish', async () => {
    const repo = await createTufRepo({ dir: freshDir() });
    repo.rotateRoot({ newRootKeys: 0, signWith: 'old+new', rotateRoles: ['timestamp'] });
    assert.throws(() => load(repo).root.verifyDelegate('timestamp', load(repo).timestamp));
    await repo.publish();
    await verifyWritten(repo);
    assert.equal(repo.root.signed.version, 2);
  });
});
