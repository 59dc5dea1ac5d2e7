// An import whose decision cannot be recorded must neither pass as recorded (exit 0) nor as a verdict
// about the package (exit 1), and must change nothing: its intent is recorded before any effect
// (write-ahead), so a trail that cannot be written stops it with E_IO, whatever the log's own error was.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { AirlockError } from '../errors.ts';
import { importTransfer } from './import.ts';
import { packTransfer } from './pack.ts';
import { channelsFromNames } from './channels.ts';
import { readChannel } from './sequence.ts';
import { looseSigners } from './signers.ts';

const tempDir = useTempDirs();

/** A packed file-only package in a fresh folder, and the import options every test here starts from. */
async function packedFile(prefix: string) {
  const work = await tempDir(prefix);
  const now = new Date('2026-11-21T00:00:00Z');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = createKeyObjectSigner(key.privateKey, 'ecdsa-sha2-256-nistp256', 'release');
  await writeFile(join(work, 'notes.txt'), 'notes');
  const out = join(work, 'p1.tar');
  await packTransfer({
    images: [],
    files: [join(work, 'notes.txt')],
    sboms: new Map(),
    scans: new Map(),
    out,
    format: 'tar',
    channel: 'c',
    stateDir: join(work, 'connected'),
    now,
    signer,
    signArtifacts: false,
  });
  const base = {
    source: out,
    signers: { signers: looseSigners(undefined, [key.publicKey]), required: 1 },
    channels: channelsFromNames(['c']),
    importId: 'test-import',
    allowGap: false,
    stateDir: join(work, 'airgap'),
    now,
    registry: { host: 'registry.invalid', options: {} },
  };
  return { key, work, base };
}

it(
  'an import whose intent cannot be recorded fails with E_IO (exit 3), never ok and never ' +
    '"refused", and changes nothing',
  async () => {
    const { key, work, base } = await packedFile('airlock-import-record-');
    const imported = importTransfer({
      ...base,
      imageTrust: {
        now: new Date(),
        trust: { kind: 'key', publicKey: key.publicKey },
        tlogThreshold: 0,
        timestampThreshold: 0,
      },
      record: async () => {
        throw new AirlockError('E_LOG_CORRUPT', 'the audit database is damaged');
      },
    });
    await assert.rejects(
      imported,
      (err: AirlockError) =>
        err.code === 'E_IO' &&
        /did not happen: its audit record could not be written first \(the audit database is damaged\)/.test(
          err.message,
        ) &&
        /could not be recorded/.test(err.message),
    );
    assert.equal(
      await readChannel(join(work, 'airgap'), 'in', 'c'),
      undefined,
      'nothing changed: no effect without its record',
    );
  },
);

it('a refusal whose record fails keeps its verdict (exit 1) and says it was not recorded', async () => {
  const { work, base } = await packedFile('airlock-import-refusal-');
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const report = await importTransfer({
    ...base,
    signers: { signers: looseSigners(undefined, [other.publicKey]), required: 1 },
    imageTrust: {
      now: new Date(),
      trust: { kind: 'key', publicKey: other.publicKey },
      tlogThreshold: 0,
      timestampThreshold: 0,
    },
    record: async () => {
      throw new Error('disk full');
    },
  });
  assert.equal(report.ok, false);
  assert.equal(report.error?.code, 'E_SIGNERS');
  assert.match(report.error?.message ?? '', /could not be recorded in the audit trail: disk full/);
  assert.equal(await readChannel(join(work, 'airgap'), 'in', 'c'), undefined);
});
