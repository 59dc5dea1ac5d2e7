import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptChannel,
  channelsFromNames,
  checkAge,
  checkRepository,
  DEFAULT_MAX_AGE_MS,
  parseChannelsFile,
  parseDuration,
} from './channels.ts';

const code = (c: string) => (err: Error & { code?: string }) => err.code === c;
const now = new Date('2026-12-07T12:00:00Z');

describe('channels', () => {
  it('only named channels are accepted, whatever their number', () => {
    const accepted = channelsFromNames(['prod']);
    assert.equal(acceptChannel(accepted, 'prod').name, 'prod');
    assert.throws(() => acceptChannel(accepted, 'test'), code('E_CHANNEL'));
    assert.throws(() => channelsFromNames(['../etc']), code('E_USAGE'));
  });
  it('a channels file binds repositories and a maximum age', () => {
    const accepted = parseChannelsFile(
      {
        apiVersion: 'airlock/v1',
        kind: 'Channels',
        channels: [{ name: 'prod', repositories: ['mirror/team/**'], maxAge: '14d' }],
      },
      'c.json',
    );
    const rule = acceptChannel(accepted, 'prod');
    assert.equal(rule.maxAgeMs, 14 * 86400e3);
    checkRepository(rule, 'mirror/team/app', 'c.json');
    assert.throws(() => checkRepository(rule, 'mirror/other/app', 'c.json'), code('E_CHANNEL'));
    for (const bad of [
      {},
      { apiVersion: 'airlock/v1', kind: 'Channels', channels: [] },
      { apiVersion: 'airlock/v1', kind: 'Channels', channels: [{ name: 'a' }, { name: 'a' }] },
      { apiVersion: 'airlock/v1', kind: 'Channels', channels: [{ name: 'a', maxAge: 'forever' }] },
      { apiVersion: 'airlock/v1', kind: 'Channels', channels: [{ name: 'a', repositories: ['../x'] }] },
    ]) {
      assert.throws(() => parseChannelsFile(bad, 'c.json'), code('E_INPUT_MALFORMED'), JSON.stringify(bad));
    }
  });
  it('age: older than the maximum or ahead of the clock is refused', () => {
    checkAge('2026-12-01T12:00:00Z', now, DEFAULT_MAX_AGE_MS);
    assert.throws(() => checkAge('2026-10-01T12:00:00Z', now, DEFAULT_MAX_AGE_MS), code('E_PACKAGE_STALE'));
    assert.throws(() => checkAge('2026-12-07T11:00:00Z', now, parseDuration('30m', 'x')), code('E_PACKAGE_STALE'));
    checkAge('2026-12-07T12:30:00Z', now, DEFAULT_MAX_AGE_MS);
    assert.throws(() => checkAge('2026-12-08T12:00:00Z', now, DEFAULT_MAX_AGE_MS), code('E_PACKAGE_STALE'));
    assert.throws(() => checkAge('yesterday', now, DEFAULT_MAX_AGE_MS), code('E_INPUT_MALFORMED'));
  });
  it('durations', () => {
    assert.equal(parseDuration('90m', 'x'), 90 * 60e3);
    assert.equal(parseDuration('2w', 'x'), 14 * 86400e3);
    for (const bad of ['0d', '1y', '', '-1d', '1.5d'])
      assert.throws(() => parseDuration(bad, 'x'), code('E_USAGE'), bad);
  });
});
