// Who signed, and for which channel (issue 22, items 7-9, 14): signers are people, not keys; approve
// co-signs only what it verifies; a channel is accepted only by name, a package only while fresh, and a
// tag only by the channel that owns it; two packs on one channel never both take the same number.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCli, runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-channels-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const env = (h: string) => ({ AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home(h) });
const cli = (args: string[], h: string) => runCliProcess(args, { env: env(h) });
/** In-process, at a chosen instant: packages made "long ago". */
const cliAt = (args: string[], h: string, at: Date) => runCli(args, { env: env(h), now: () => at });
const src = () => `oci:${join(dir, 'build')}:app-1.0`;
const packArgs = (out: string, channel: string, extra: string[] = []) => [
  'pack',
  src(),
  '-o',
  out,
  '--key',
  join(dir, 'release.key'),
  '--channel',
  channel,
  '--image-key',
  join(dir, 'img.pub'),
  '--insecure-ignore-tlog',
  ...extra,
];
const imageTrust = () => ['--key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];

before(async () => {
  const store = await openLayoutStore(join(dir, 'build'), { create: true });
  await makeTestImage(store, { tag: 'app-1.0', layers: 1, layerSize: 2000 });
  await store.close();
  for (const k of ['release', 'release2', 'security', 'img'])
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, k)], 'keys')).code, 0);
  assert.equal((await cli(['sign', src(), '--key', join(dir, 'img.key'), '--tlog-upload=false'], 'keys')).code, 0);
  // One team with two keys, and a second team.
  await writeFile(
    join(dir, 'signers.json'),
    JSON.stringify({
      apiVersion: 'airlock/v1',
      kind: 'Signers',
      signers: [
        { name: 'release-team', keys: ['release.pub', 'release2.pub'] },
        { name: 'security-team', keys: ['security.pub'] },
      ],
    }),
  );
  if (!missingRegistry) registry = await startRegistry();
});

describe('the two-person rule counts people, not keys', () => {
  it('two signatures by one team fail --require-signers 2; another team co-signing passes', async () => {
    const pkg = join(dir, 'one-team.tar');
    assert.equal((await cli(packArgs(pkg, 'prod'), 'p')).code, 0);
    const sameTeam = join(dir, 'same-team.tar');
    const a = await cli(
      ['approve', pkg, '-o', sameTeam, '--key', join(dir, 'release2.key'), '--signers', join(dir, 'signers.json')],
      'p',
    );
    assert.equal(a.code, 0, a.stderr);
    const check = (p: string) =>
      cli(
        [
          'inspect',
          p,
          '--signers',
          join(dir, 'signers.json'),
          '--require-signers',
          '2',
          '--channel',
          'prod',
          ...imageTrust(),
          '--json',
        ],
        'air',
      );
    const one = await check(sameTeam);
    assert.equal(one.code, 1, one.stderr);
    assert.equal(JSON.parse(one.stdout).error.code, 'E_SIGNERS');
    assert.match(JSON.parse(one.stdout).error.message, /keys of one signer count once/);
    const twoTeams = join(dir, 'two-teams.tar');
    assert.equal(
      (
        await cli(
          [
            'approve',
            sameTeam,
            '-o',
            twoTeams,
            '--key',
            join(dir, 'security.key'),
            '--signers',
            join(dir, 'signers.json'),
          ],
          'p',
        )
      ).code,
      0,
    );
    assert.equal((await check(twoTeams)).code, 0);
  });

  it('--require-signers 2 with loose keys is a usage error: nothing says which keys are one person', async () => {
    const r = await cli(
      [
        'inspect',
        join(dir, 'one-team.tar'),
        '--signer-key',
        join(dir, 'release.pub'),
        '--signer-key',
        join(dir, 'release2.pub'),
        '--require-signers',
        '2',
        '--channel',
        'prod',
        ...imageTrust(),
      ],
      'air',
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /counts people, not keys: .*--signers FILE/);
  });

  it('approve refuses to co-sign what it cannot verify, and writes nothing', async () => {
    await writeFile(
      join(dir, 'security-only.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'Signers',
        signers: [{ name: 'security-team', keys: ['security.pub'] }],
      }),
    );
    const out = join(dir, 'unverified-approval.tar');
    const r = await cli(
      [
        'approve',
        join(dir, 'one-team.tar'),
        '-o',
        out,
        '--key',
        join(dir, 'security.key'),
        '--signers',
        join(dir, 'security-only.json'),
        '--json',
      ],
      'p',
    );
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_SIGNERS');
    await assert.rejects(readFile(out));
    const noSigners = await cli(
      ['approve', join(dir, 'one-team.tar'), '-o', out, '--key', join(dir, 'security.key')],
      'p',
    );
    assert.equal(noSigners.code, 2, 'whose signatures to check must be said');
  });
});

describe('channels are bound on the far side', () => {
  it('import needs the accepted channels: exit 2 before the package is read, nothing recorded', async () => {
    const r = await cli(
      [
        'import',
        join(dir, 'one-team.tar'),
        '--registry',
        '127.0.0.1:9/x',
        '--signer-key',
        join(dir, 'release.pub'),
        ...imageTrust(),
      ],
      'unnamed',
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--channel NAME .* or --channels FILE/);
    await assert.rejects(verifyAuditLog(home('unnamed')), 'no audit event for a usage error');
  });

  it('package #1 of a channel nobody named is refused (E_CHANNEL), even on a fresh machine', async () => {
    const pkg = join(dir, 'test-1.tar');
    assert.equal((await cli(packArgs(pkg, 'test'), 'p-test')).code, 0);
    const r = await cli(
      ['inspect', pkg, '--signer-key', join(dir, 'release.pub'), '--channel', 'prod', ...imageTrust(), '--json'],
      'fresh',
    );
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_CHANNEL');
    const unchecked = await cli(
      ['inspect', pkg, '--signer-key', join(dir, 'release.pub'), ...imageTrust(), '--json'],
      'fresh',
    );
    assert.equal(unchecked.code, 0, 'inspect without --channel says it did not check');
    assert.match(JSON.parse(unchecked.stdout).channel.accepted, /not checked/);
  });

  it(
    'an old package — replayed into a fresh machine, or of a retired channel — is refused unless ' +
      'the age is raised',
    async () => {
      const pkg = join(dir, 'old.tar');
      const longAgo = new Date(Date.now() - 45 * 86400e3);
      const p = await cliAt(packArgs(pkg, 'prod'), 'p-old', longAgo);
      assert.equal(p.code, 0, p.stderr);
      const args = [
        'inspect',
        pkg,
        '--signer-key',
        join(dir, 'release.pub'),
        '--channel',
        'prod',
        ...imageTrust(),
        '--json',
      ];
      const stale = await cli(args, 'fresh-2');
      assert.equal(stale.code, 1);
      assert.equal(JSON.parse(stale.stdout).error.code, 'E_PACKAGE_STALE');
      assert.equal((await cli([...args, '--max-age', '60d'], 'fresh-2')).code, 0, 'explicitly accepted');
      await writeFile(
        join(dir, 'channels-strict.json'),
        JSON.stringify({ apiVersion: 'airlock/v1', kind: 'Channels', channels: [{ name: 'prod', maxAge: '7d' }] }),
      );
      const young = await cliAt(
        packArgs(join(dir, 'ten-days.tar'), 'prod'),
        'p-young',
        new Date(Date.now() - 10 * 86400e3),
      );
      assert.equal(young.code, 0, young.stderr);
      const strict = await cli(
        [
          'inspect',
          join(dir, 'ten-days.tar'),
          '--signer-key',
          join(dir, 'release.pub'),
          '--channels',
          join(dir, 'channels-strict.json'),
          ...imageTrust(),
          '--json',
        ],
        'fresh-3',
      );
      assert.equal(JSON.parse(strict.stdout).error.code, 'E_PACKAGE_STALE', "the channel's own maximum age");
    },
  );

  it('a channel writes only its repositories, and never a tag another channel owns', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const host = registry.host;
    const prodPkg = join(dir, 'own-prod.tar');
    const devPkg = join(dir, 'own-dev.tar');
    assert.equal((await cli(packArgs(prodPkg, 'prod', ['--name', `${src()}=team/app:1.0`]), 'p-own')).code, 0);
    assert.equal((await cli(packArgs(devPkg, 'dev', ['--name', `${src()}=team/app:1.0`]), 'p-own')).code, 0);
    const imp = (pkg: string, extra: string[]) =>
      cli(
        [
          'import',
          pkg,
          '--registry',
          `${host}/own`,
          '--signer-key',
          join(dir, 'release.pub'),
          ...imageTrust(),
          '--insecure',
          '--json',
          ...extra,
        ],
        'air-own',
      );
    assert.equal((await imp(prodPkg, ['--channel', 'prod'])).code, 0);
    const stolen = await imp(devPkg, ['--channel', 'dev']);
    assert.equal(stolen.code, 1, stolen.stderr);
    assert.equal(JSON.parse(stolen.stdout).error.code, 'E_CHANNEL');
    assert.match(JSON.parse(stolen.stdout).error.message, /belongs to channel prod/);
    await writeFile(
      join(dir, 'channels-bound.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'Channels',
        channels: [{ name: 'dev', repositories: ['own/dev/**'] }],
      }),
    );
    const outside = await cli(
      [
        'import',
        devPkg,
        '--registry',
        `${host}/own`,
        '--signer-key',
        join(dir, 'release.pub'),
        '--channels',
        join(dir, 'channels-bound.json'),
        ...imageTrust(),
        '--insecure',
        '--json',
      ],
      'air-own-2',
    );
    assert.equal(JSON.parse(outside.stdout).error.code, 'E_CHANNEL');
    assert.match(JSON.parse(outside.stdout).error.message, /may not write own\/team\/app/);
  });
});

describe('pack holds its channel', () => {
  it('packs started together on one channel never take the same number', async () => {
    const h = 'race';
    for (let round = 0; round < 3; round++) {
      const outs = [0, 1, 2].map((i) => join(dir, `race-${round}-${i}.tar`));
      const runs = await Promise.all(outs.map((o) => cli([...packArgs(o, 'race'), '--json'], h)));
      const numbers: number[] = [];
      for (const r of runs) {
        if (r.code === 0) numbers.push(JSON.parse(r.stdout).metadata.sequence.number);
        else assert.equal(JSON.parse(r.stdout).error.code, 'E_UNAVAILABLE', r.stderr);
      }
      assert.equal(new Set(numbers).size, numbers.length, `round ${round}: ${numbers}`);
    }
    const state = JSON.parse(await readFile(join(home(h), 'channels', 'out', 'race.json'), 'utf8'));
    const events = (await verifyAuditLog(home(h))).events.filter(
      (e) => e.event.action === 'transfer.pack' && e.event.result === 'ok',
    );
    assert.equal(state.number, events.length, 'every number taken was recorded, and the state is the last');
  });
});

describe('SIGKILL at random points of a pack', () => {
  it(
    'a package in place always has its record and moves the channel; one not in place leaves the ' + 'number free',
    async (t) => {
      const { spawn } = await import('node:child_process');
      const { AIRLOCK_BIN } = await import('../helpers/cli.ts');
      const { seededRandom, testSeed } = await import('../helpers/seeded-random.ts');
      const { packageHeadersOnly } = await import('../../src/transfer/package/read-package.ts');
      const { HEADER_NAMES } = await import('../../src/transfer/format.ts');
      const { createHash } = await import('node:crypto');
      const seed = testSeed('AIRLOCK_KILL_SEED');
      const random = seededRandom(seed);
      const h = 'pack-kill';
      const manifestOf = async (p: string) =>
        createHash('sha256')
          .update((await packageHeadersOnly(p, HEADER_NAMES)).get('manifest.sha256') ?? '')
          .digest('hex');
      const started = Date.now();
      const first = await cli([...packArgs(join(dir, 'pk-0.tar'), 'pk'), '--json'], h);
      assert.equal(first.code, 0, first.stderr);
      const span = Date.now() - started;
      let previous = `sha256:${await manifestOf(join(dir, 'pk-0.tar'))}`;
      let number = 1;
      const outcomes = { placed: 0, absent: 0 };
      for (let run = 1; run <= 12; run++) {
        const out = join(dir, `pk-${run}.tar`);
        const child = spawn(process.execPath, [AIRLOCK_BIN, ...packArgs(out, 'pk')], {
          env: { ...process.env, ...env(h) },
          stdio: 'ignore',
        });
        const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
        await new Promise((r) => setTimeout(r, Math.floor(span * (0.5 + random() * 0.7))));
        child.kill('SIGKILL');
        await exited;
        const placed = await manifestOf(out).then(
          (m) => `sha256:${m}`,
          () => undefined,
        );
        const recorded = (await verifyAuditLog(home(h))).events
          .filter((e) => e.event.action === 'transfer.pack' && e.event.result === 'ok')
          .map((e) => e.event.subjects[0]?.digest);
        if (placed) {
          assert.ok(recorded.includes(placed), `run ${run} (seed ${seed}): a package in place without its record`);
          outcomes.placed++;
        } else outcomes.absent++;
        const next = await cli([...packArgs(join(dir, `pk-next-${run}.tar`), 'pk'), '--json'], h);
        assert.equal(next.code, 0, next.stderr);
        const seq = JSON.parse(next.stdout).metadata.sequence;
        const expected = placed ? { number: number + 2, previous: placed } : { number: number + 1, previous };
        assert.deepEqual(
          { number: seq.number, previous: seq.previous },
          expected,
          `run ${run} (seed ${seed}): the channel follows what was placed`,
        );
        number = seq.number;
        previous = `sha256:${await manifestOf(join(dir, `pk-next-${run}.tar`))}`;
      }
      const { readdir } = await import('node:fs/promises');
      assert.deepEqual(await readdir(join(home(h), 'staging')), [], 'what killed packs staged was swept by the next');
      assert.deepEqual(
        (await readdir(dir)).filter((n) => /^\.pk-.*\.tmp-/.test(n)),
        [],
        'and their half-written packages',
      );
      t.diagnostic(`seed ${seed}: ${JSON.stringify(outcomes)}`);
    },
  );
});
