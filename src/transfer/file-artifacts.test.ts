// File artifacts: the metadata's claims are checked against the manifest and the file's own bundle.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { keyFingerprint, signingAlgorithmFor } from '../crypto/keys.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import { checkFileArtifacts } from './file-artifacts.ts';
import { FORMAT, type FileArtifact, type TransferMetadata } from './format.ts';

const hex = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const signer = createKeyObjectSigner(key, signingAlgorithmFor(key), 'test');
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const otherSigner = createKeyObjectSigner(other, signingAlgorithmFor(other), 'test');
const dir = useTempDir('airlock-files-');
let bundleText: string;

const meta = (artifacts: FileArtifact[]): TransferMetadata => ({
  format: FORMAT,
  packageId: 'p',
  createdAt: '',
  tool: '',
  sequence: { channel: 'c', number: 1, previous: null },
  artifacts,
  approvedBy: [],
});
const listing = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([p, s]) => [p, { sha256: hex(s), size: s.length }]));

before(async () => {
  await mkdir(join(dir, 'files'));
  await writeFile(join(dir, 'files', 'a.txt'), 'A');
  bundleText = JSON.stringify((await signBlob({ data: Buffer.from('A') }, { signer })).bundle);
  await writeFile(join(dir, 'files', 'a.txt.sigstore.json'), bundleText);
});

describe('checkFileArtifacts', () => {
  const signed: FileArtifact = {
    kind: 'file',
    path: 'files/a.txt',
    sha256: hex('A'),
    bundle: 'files/a.txt.sigstore.json',
    signedBy: ['x'],
  };
  const files = () => listing({ 'files/a.txt': 'A', 'files/a.txt.sigstore.json': bundleText });

  it('a signed file verifies with the signer key, and says by whom', async () => {
    const [c] = await checkFileArtifacts(
      meta([signed]),
      files(),
      dir,
      [otherSigner.publicKey, signer.publicKey],
      new Date(),
    );
    assert.equal(c?.signature, 'verified');
    assert.equal(c?.signer, keyFingerprint(signer.publicKey));
  });

  it('a signature no trusted key made is reported unverified, whatever signedBy claims', async () => {
    const [c] = await checkFileArtifacts(meta([signed]), files(), dir, [otherSigner.publicKey], new Date());
    assert.equal(c?.signature, 'unverified');
    assert.match(String(c?.reason), /no --signer-key verifies it/);
    assert.equal((await checkFileArtifacts(meta([signed]), files(), dir, [], new Date()))[0]?.signature, 'unverified');
  });

  it('a hash or path the manifest does not hold is E_PACKAGE_TAMPERED', async () => {
    await assert.rejects(checkFileArtifacts(meta([{ ...signed, sha256: hex('B') }]), files(), dir, [], new Date()), {
      code: 'E_PACKAGE_TAMPERED',
      message: /manifest lists/,
    });
    await assert.rejects(checkFileArtifacts(meta([{ ...signed, path: 'files/b.txt' }]), files(), dir, [], new Date()), {
      code: 'E_PACKAGE_TAMPERED',
    });
    await assert.rejects(checkFileArtifacts(meta([signed]), listing({ 'files/a.txt': 'A' }), dir, [], new Date()), {
      code: 'E_PACKAGE_TAMPERED',
      message: /signature/,
    });
  });

  it('an unsigned file is reported as such', async () => {
    const [c] = await checkFileArtifacts(
      meta([{ kind: 'file', path: 'files/a.txt', sha256: hex('A'), signedBy: [] }]),
      files(),
      dir,
      [signer.publicKey],
      new Date(),
    );
    assert.equal(c?.signature, 'unsigned');
  });
});
