// cosignLatestCheckpoint against a log served in this process: the first run needs --init, a run
// remembers what it cosigned, and a log smaller than what was cosigned is refused with the state kept.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { type LogService, startLogService } from '../server/log-service.ts';
import { Metrics } from '../server/metrics.ts';
import { noteVerifierFor } from './note-keys.ts';
import { cosignLatestCheckpoint, type PullWitnessOptions } from './pull-witness.ts';
import { TileClient } from './tile-client.ts';

let dir: string;
let service: LogService;
let options: PullWitnessOptions;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pull-witness-'));
  await mkdir(join(dir, 'log'));
  const logKey = generateKeyPairSync('ed25519').privateKey;
  service = await startLogService({
    dir: join(dir, 'log'),
    origin: '127.0.0.1',
    signer: createKeyObjectSigner(logKey, 'ed25519', 'test log key'),
    host: '127.0.0.1',
    port: 0,
    workers: 1,
    metrics: new Metrics(),
    log: () => undefined,
  });
  const logVerifier = noteVerifierFor('127.0.0.1', createPublicKey(logKey));
  options = {
    client: new TileClient(service.url, logVerifier),
    logVerifier,
    signer: createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test witness key'),
    name: 'w1.test',
    statePath: join(dir, 'witness.json'),
    init: false,
    now: () => new Date('2026-12-01T00:00:00Z'),
  };
});
after(async () => {
  await service?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cosignLatestCheckpoint', () => {
  it('refuses to start from nothing unless told this is the first run', async () => {
    await assert.rejects(cosignLatestCheckpoint(options), { code: 'E_INPUT_MISSING' });
  });

  it('cosigns the latest checkpoint and remembers it; the next run starts from there', async () => {
    const first = await cosignLatestCheckpoint({ ...options, init: true });
    assert.equal(first.previous, undefined);
    assert.match(first.cosignature, /^— w1\.test \S+\n$/);
    assert.ok(first.note.endsWith(first.cosignature), first.note);
    const state = JSON.parse(await readFile(options.statePath, 'utf8'));
    assert.equal(state.logs['127.0.0.1'].size, first.head.checkpoint.size);
    const second = await cosignLatestCheckpoint(options);
    assert.equal(second.previous?.size, first.head.checkpoint.size);
  });

  it('refuses a log smaller than what it cosigned, and leaves its state as it was', async () => {
    const state = JSON.parse(await readFile(options.statePath, 'utf8'));
    state.logs['127.0.0.1'].size = 5;
    const rewound = `${JSON.stringify(state)}\n`;
    await writeFile(options.statePath, rewound);
    await assert.rejects(cosignLatestCheckpoint(options), { code: 'E_LOG_INCONSISTENT' });
    assert.equal(await readFile(options.statePath, 'utf8'), rewound);
  });
});
