import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { CHANNEL_FLAGS, channelOptions } from './channels.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-channel-flags-'));
  await writeFile(
    join(dir, 'channels.json'),
    JSON.stringify({
      apiVersion: 'airlock/v1',
      kind: 'Channels',
      channels: [{ name: 'prod', repositories: ['mirror/**'], maxAge: '14d' }],
    }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const channels = (...argv: string[]) => channelOptions(testContext(argv, CHANNEL_FLAGS).ctx);

describe('channelOptions', () => {
  it('none named: nothing accepted here, no age given', async () => {
    assert.deepEqual(await channels(), {});
  });

  it('--channel names, and --max-age in milliseconds', async () => {
    const c = await channels('--channel', 'prod', '--channel', 'test', '--max-age', '36h');
    assert.deepEqual([...(c.channels?.rules.keys() ?? [])], ['prod', 'test']);
    assert.equal(c.channels?.source, '--channel');
    assert.equal(c.maxAgeMs, 36 * 3600 * 1000);
  });

  it('--channels FILE: its rules', async () => {
    const c = await channels('--channels', join(dir, 'channels.json'));
    assert.deepEqual(c.channels?.rules.get('prod'), {
      name: 'prod',
      repositories: ['mirror/**'],
      maxAgeMs: 14 * 86_400_000,
    });
  });

  it('refuses both spellings at once, a bad name and a bad age', async () => {
    await assert.rejects(channels('--channel', 'a', '--channels', join(dir, 'channels.json')), { code: 'E_USAGE' });
    await assert.rejects(channels('--channel', 'no/slash'), { code: 'E_USAGE' });
    await assert.rejects(channels('--max-age', 'soon'), { code: 'E_USAGE' });
  });
});
