// installedTrustStatuses reads what is installed under $AIRLOCK_HOME/trust: a root in good order is
// evaluated at the instant asked, a broken one is reported (never read as absent), none is UNKNOWN.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { oneLogTrustedRoot } from '../../test/helpers/trust-files.ts';
import type { InstallRecord } from './install.ts';
import { installedTrustStatuses, overallLevel } from './installed-status.ts';

const at = new Date('2026-12-01T00:00:00Z');
let home: string;

/** Installs `name` as `trust import` leaves it: current/ with the root and its record, and state.json. */
async function install(name: string, timestampExpires: string): Promise<string> {
  const root = oneLogTrustedRoot();
  const bytes = Buffer.from(JSON.stringify(root));
  const record: InstallRecord = {
    format: 'airlock-trust-install/v1',
    name,
    importedAt: '2026-11-30T00:00:00Z',
    source: 'test',
    pinnedRootVersion: 1,
    graceDays: 0,
    roles: [
      {
        role: 'timestamp',
        version: 3,
        expires: timestampExpires,
        status: 'fresh',
        acceptableUntil: timestampExpires,
      },
    ],
    trustedRootSha256: createHash('sha256').update(bytes).digest('hex'),
  };
  const current = join(home, 'trust', name, 'current');
  await mkdir(current, { recursive: true });
  await writeFile(join(current, 'trusted_root.json'), bytes);
  await writeFile(join(current, 'install.json'), JSON.stringify(record));
  await writeFile(join(home, 'trust', name, 'state.json'), '{}');
  return current;
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-installed-status-'));
});
after(() => rm(home, { recursive: true, force: true }));

describe('installedTrustStatuses', () => {
  it('nothing installed: no statuses, and the overall level is UNKNOWN', async () => {
    const statuses = await installedTrustStatuses(home, undefined, at);
    assert.deepEqual(statuses, []);
    assert.equal(overallLevel(statuses), 3);
  });

  it('evaluates each installed root at the instant given, by name or all of them', async () => {
    await install('fresh', '2027-01-01T00:00:00Z');
    await install('soon', '2026-12-03T00:00:00Z');
    const all = await installedTrustStatuses(home, undefined, at);
    assert.deepEqual(
      all.map((s) => [s.name, s.level]),
      [
        ['fresh', 0],
        ['soon', 1],
      ],
    );
    assert.equal(all[0]?.authorities[0]?.name, 'https://rekor.internal');
    assert.equal(overallLevel(all), 1);
    const later = await installedTrustStatuses(home, ['soon'], new Date('2026-12-04T00:00:00Z'));
    assert.deepEqual(
      later.map((s) => [s.name, s.level]),
      [['soon', 2]],
    );
    assert.deepEqual(await installedTrustStatuses(home, ['never-installed'], at), []);
  });

  it('a root changed after import is reported broken (CRITICAL, E_TRUST_ROOT), not skipped', async () => {
    const current = await install('edited', '2027-01-01T00:00:00Z');
    await writeFile(join(current, 'trusted_root.json'), '{}');
    const [status] = await installedTrustStatuses(home, ['edited'], at);
    assert.equal(status?.level, 2);
    assert.equal(status?.problem?.code, 'E_TRUST_ROOT');
  });

  it('an $AIRLOCK_HOME that is a file is an error, not an empty list', async () => {
    const file = join(home, 'not-a-folder');
    await writeFile(file, '');
    await assert.rejects(installedTrustStatuses(file, undefined, at), { code: 'E_IO' });
  });
});
