import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { encodeVerifierKey } from '../../log/note-keys.ts';
import { LOG_FLAGS, openLog } from './log.ts';

const key = generateKeyPairSync('ed25519').publicKey;
const vkey = encodeVerifierKey('rekor.internal', key);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-log-flags-'));
  await writeFile(join(dir, 'log.vkey'), `${vkey}\n`);
  await writeFile(join(dir, 'log.pub'), key.export({ type: 'spki', format: 'pem' }));
});
after(() => rm(dir, { recursive: true, force: true }));

const open = (...argv: string[]) => openLog(testContext(argv, LOG_FLAGS, { cwd: dir }).ctx);

describe('openLog', () => {
  it('the URL (without trailing slash), the key pinned inline, in a file, or as a public key and origin', async () => {
    for (const pin of [
      ['--vkey', vkey],
      ['--vkey', 'log.vkey', '--origin', 'rekor.internal'],
      ['--log-key', join(dir, 'log.pub'), '--origin', 'rekor.internal'],
    ]) {
      const { client, verifier } = await open('http://rekor.internal:3000/', ...pin);
      assert.equal(client.url, 'http://rekor.internal:3000', pin.join(' '));
      assert.equal(verifier.name, 'rekor.internal', pin.join(' '));
    }
  });

  it('no pin is refused (never trust on first use), and so are two', async () => {
    await assert.rejects(open('http://log'), { code: 'E_USAGE', hint: /never trusted/ });
    await assert.rejects(open('http://log', '--vkey', vkey, '--log-key', 'log.pub'), { code: 'E_USAGE' });
  });

  it('refuses a public key without its origin, an origin that is not the vkey name, and a bad URL', async () => {
    await assert.rejects(open('http://log', '--log-key', 'log.pub'), { code: 'E_USAGE' });
    await assert.rejects(open('http://log', '--vkey', vkey, '--origin', 'other.internal'), { code: 'E_USAGE' });
    await assert.rejects(open('ftp://log', '--vkey', vkey), { code: 'E_USAGE' });
    await assert.rejects(open('http://log', '--vkey', vkey, '--timeout', '0'), { code: 'E_USAGE' });
  });
});
