// trust mirror / import / status against the real Sigstore TUF data (../shared) with the clock injected
// through the library API, plus break-glass and monitoring output, and the no-network proof.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, runCliProcess } from '../helpers/cli.ts';
import { canUnshareNet, UNSHARE_NET } from '../helpers/netns.ts';
import { sharedMissing, TUF_FIXTURES_DIR } from '../helpers/shared.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { createTufRepo } from '../helpers/tuf-repo.ts';

const F = TUF_FIXTURES_DIR;
const PINNED = join(F, 'metadata', '1.root.json');
const at = (iso: string) => () => new Date(iso);
const dir = useTempDir('airlock-trust-');
const mirror = join(dir, 'mirror');
const home = (name: string) => ({ AIRLOCK_HOME: join(dir, name) });

const missing = sharedMissing(F);

describe('trust mirror + import with the real Sigstore TUF repository (../shared)', () => {
  it(
    'at 2026-08-22 mirror and import succeed; the installed trusted_root.json is byte-identical to ' +
      'the signed target',
    async (t) => {
      if (missing) return t.skip(missing);
      const m = await runCli(['trust', 'mirror', '--source', F, '--root', PINNED, '--out', mirror, '--json'], {
        env: home('h1'),
        now: at('2026-08-22T00:00:00Z'),
      });
      assert.equal(m.code, 0, m.stderr);
      const record = JSON.parse(m.stdout);
      assert.deepEqual(
        record.roles.map((r: { role: string; version: number }) => `${r.role}@${r.version}`),
        ['root@15', 'timestamp@762', 'snapshot@165', 'targets@14'],
      );
      const i = await runCli(['trust', 'import', mirror, '--root', PINNED], {
        env: home('h1'),
        now: at('2026-08-22T00:00:00Z'),
      });
      assert.equal(i.code, 0, i.stderr);
      const installed = await readFile(join(dir, 'h1', 'trust', 'public-good', 'current', 'trusted_root.json'));
      const signed = await readFile(
        join(F, 'targets', '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json'),
      );
      assert.ok(installed.equals(signed));
      assert.equal(
        createHash('sha256').update(installed).digest('hex'),
        '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66',
      );
    },
  );

  it("at today's date import fails closed: root v15 expired (code, role and date named)", async (t) => {
    if (missing) return t.skip(missing);
    const i = await runCli(['trust', 'import', mirror, '--root', PINNED, '--json'], {
      env: home('h2'),
      now: at('2026-11-21T09:00:00Z'),
    });
    assert.equal(i.code, 1);
    const err = JSON.parse(i.stdout).error;
    assert.equal(err.code, 'E_TUF_EXPIRED');
    assert.match(err.message, /root v15 expired at 2026-11-20T13:58:18Z/);
  });

  it('grace 30 days: the stale timestamp is accepted at 2026-09-15 and refused at 2026-10-15', async (t) => {
    if (missing) return t.skip(missing);
    const ok = await runCli(['trust', 'import', mirror, '--root', PINNED, '--grace', '30'], {
      env: home('h3'),
      now: at('2026-09-15T00:00:00Z'),
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /timestamp\s+v762 .* within-grace/);
    const late = await runCli(['trust', 'import', mirror, '--root', PINNED, '--grace', '30', '--json'], {
      env: home('h4'),
      now: at('2026-10-15T00:00:00Z'),
    });
    assert.equal(late.code, 1);
    const err = JSON.parse(late.stdout).error;
    assert.equal(err.code, 'E_TUF_EXPIRED');
    assert.match(
      err.message,
      /timestamp v762 expired at 2026-08-28T19:25:56Z, 47 days ago: beyond the accepted transfer latency of 30 days/,
    );
  });

  it('versions never go backwards across imports: an older mirror after a newer import is refused', async (t) => {
    if (missing) return t.skip(missing);
    const state = join(dir, 'h3', 'trust', 'public-good', 'state.json');
    const s = JSON.parse(await readFile(state, 'utf8'));
    s.versions.timestamp = 763; // as if a newer timestamp had been imported before
    await writeFile(state, JSON.stringify(s));
    const r = await runCli(['trust', 'import', mirror, '--root', PINNED], {
      env: home('h3'),
      now: at('2026-09-15T00:00:00Z'),
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /E_TUF_ROLLBACK/);
  });

  it(
    'break-glass: installs expired roles until a deadline, warns on every verification, is refused ' + 'after it',
    async (t) => {
      if (missing) return t.skip(missing);
      const env = home('h5');
      const now = at('2026-11-21T12:00:00Z');
      const tooLong = await runCli(
        [
          'trust',
          'import',
          mirror,
          '--root',
          PINNED,
          '--break-glass',
          '--reason',
          'x',
          '--until',
          '2026-12-31T00:00:00Z',
        ],
        { env, now },
      );
      assert.equal(tooLong.code, 2, 'at most 14 days ahead');
      const noReason = await runCli(['trust', 'import', mirror, '--root', PINNED, '--break-glass'], { env, now });
      assert.equal(noReason.code, 2);
      const bg = await runCli(
        [
          'trust',
          'import',
          mirror,
          '--root',
          PINNED,
          '--break-glass',
          '--reason',
          'CHG-1: courier late',
          '--until',
          '2026-11-25T00:00:00Z',
          '--json',
        ],
        { env, now },
      );
      assert.equal(bg.code, 0, bg.stderr);
      assert.deepEqual(JSON.parse(bg.stdout).breakGlass.expiredRoles, ['root v15', 'timestamp v762']);
      const shown = await runCli(['audit', 'show', '--action', 'trust', '--json'], { env, now });
      assert.equal(shown.code, 0, shown.stderr);
      const attempts = JSON.parse(shown.stdout).events.filter(
        (e: { action: string }) => e.action === 'trust.break-glass',
      );
      // The refused attempts (deadline too far, no reason) are on the record too.
      assert.deepEqual(
        attempts.map((e: { result: string }) => e.result),
        ['refused', 'refused', 'ok'],
      );
      const breakGlass = attempts.filter((e: { result: string }) => e.result === 'ok');
      assert.equal(breakGlass[0].result, 'ok');
      assert.match(JSON.stringify(breakGlass[0].details), /CHG-1: courier late/);
      // verification with the installed root warns while break-glass is active, refuses after the deadline
      const { generateKeyPairSync } = await import('node:crypto');
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { createKeyObjectSigner } = await import('../../src/crypto/key-object-signer.ts');
      const { signBlob } = await import('../../src/sigstore/sign-blob.ts');
      const artifact = join(dir, 'a.txt');
      await writeFile(artifact, 'a');
      const { bundle } = await signBlob(
        { path: artifact },
        { signer: createKeyObjectSigner(privateKey, 'ecdsa-sha2-256-nistp256', 'k') },
      );
      await writeFile(join(dir, 'a.json'), JSON.stringify(bundle));
      await writeFile(join(dir, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      const args = [
        'verify-blob',
        artifact,
        '--bundle',
        join(dir, 'a.json'),
        '--key',
        join(dir, 'k.pub'),
        '--insecure-ignore-tlog',
      ];
      const during = await runCli(args, { env, now: at('2026-11-22T00:00:00Z') });
      assert.equal(during.code, 0, during.stderr);
      assert.match(during.stderr, /BREAK-GLASS install/);
      const afterDeadline = await runCli(args, { env, now: at('2026-11-26T00:00:00Z') });
      assert.equal(afterDeadline.code, 1);
      assert.match(afterDeadline.stderr, /E_BREAK_GLASS/);
      const status = await runCli(['trust', 'status', '--check'], { env, now: at('2026-11-22T00:00:00Z') });
      assert.equal(status.code, 2);
      assert.match(status.stdout, /^AIRLOCK TRUST CRITICAL - public-good: break-glass install until 2026-11-25/);
    },
  );

  it('status --check: 0 fresh, 1 warning, 2 critical, 3 nothing installed; --prometheus parses', async (t) => {
    if (missing) return t.skip(missing);
    const env = home('h1');
    const check = (iso: string) => runCli(['trust', 'status', '--check'], { env, now: at(iso) });
    assert.equal((await check('2026-08-23T00:00:00Z')).code, 0);
    assert.equal((await check('2026-09-22T00:00:00Z')).code, 1, 'timestamp grace ends within 7 days');
    assert.equal((await check('2026-11-15T00:00:00Z')).code, 2, 'root expires within 7 days');
    assert.equal((await runCli(['trust', 'status', '--check'], { env: home('empty') })).code, 3);
    assert.equal(
      (await runCli(['trust', 'status', '--check', '--at', '2026-08-23T00:00:00Z'], { env })).code,
      0,
      '--at audits a past instant',
    );
    const prom = join(dir, 'airlock.prom');
    assert.equal(
      (await runCli(['trust', 'status', '--prometheus', prom], { env, now: at('2026-08-23T00:00:00Z') })).code,
      0,
    );
    const text = await readFile(prom, 'utf8');
    const declared = new Set<string>();
    for (const line of text.trimEnd().split('\n')) {
      const meta = /^# (HELP|TYPE) ([a-z_:][a-z0-9_:]*) (.+)$/.exec(line);
      if (meta) {
        if (meta[1] === 'TYPE') declared.add(meta[2]!);
        continue;
      }
      const sample =
        // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
        /^([a-z_:][a-z0-9_:]*)\{([a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*)\} (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(
          line,
        );
      assert.ok(sample, `not Prometheus text format: ${line}`);
      assert.ok(declared.has(sample[1]!), `${sample[1]} has no TYPE line`);
    }
    assert.match(text, /airlock_trust_role_expiry_timestamp_seconds\{name="public-good",role="root"\} 1795183098/);
  });
});

// A root whose files are gone or changed is not "nothing to report": the check that watches it must
// go CRITICAL, not read a missing trusted_root.json as an empty one and say OK.
describe('trust status --check on a broken install', () => {
  async function installed(name: string): Promise<string> {
    const repo = await createTufRepo({ dir: join(dir, `repo-${name}`) });
    repo.addTarget(
      'trusted_root.json',
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      }),
    );
    await repo.publish();
    const env = { AIRLOCK_HOME: join(dir, `broken-${name}`) };
    for (const root of ['good', 'bad'])
      assert.equal(
        (
          await runCli(['trust', 'import', join(dir, `repo-${name}`), '--root', repo.initialRootPath, '--name', root], {
            env,
          })
        ).code,
        0,
      );
    return join(dir, `broken-${name}`, 'trust', 'bad');
  }
  const breakages: Array<[string, (bad: string) => Promise<unknown>, RegExp]> = [
    ['trusted_root.json deleted', (bad) => rm(join(bad, 'current', 'trusted_root.json')), /missing/],
    [
      'trusted_root.json edited',
      async (bad) =>
        writeFile(
          join(bad, 'current', 'trusted_root.json'),
          JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [] }),
        ),
      /changed after import/,
    ],
    [
      'trusted_root.json not JSON',
      (bad) => writeFile(join(bad, 'current', 'trusted_root.json'), '{'),
      /changed after import/,
    ],
    ['install.json not JSON', (bad) => writeFile(join(bad, 'current', 'install.json'), 'garbage'), /corrupt/],
    ['the current install gone', (bad) => rm(join(bad, 'current')), /no current install/],
  ];
  for (const [what, breakIt, why] of breakages) {
    it(`${what}: CRITICAL (exit 2) naming the root and why, the others still reported`, async () => {
      const bad = await installed(what.replace(/\W+/g, '-'));
      const env = { AIRLOCK_HOME: join(bad, '..', '..') };
      assert.equal((await runCli(['trust', 'status', '--check'], { env })).code, 0, 'both fine before');
      await breakIt(bad);
      for (const args of [['--check'], ['--check', '--name', 'bad']]) {
        const r = await runCli(['trust', 'status', ...args], { env });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /^AIRLOCK TRUST CRITICAL - /);
        assert.match(r.stdout, new RegExp(`bad: .*${why.source}`));
      }
      const report = await runCli(['trust', 'status', '--json'], { env });
      assert.equal(report.code, 1, report.stderr);
      const doc = JSON.parse(report.stdout);
      assert.deepEqual(
        doc.roots.map((r: { name: string; level: number }) => [r.name, r.level]),
        [
          ['bad', 2],
          ['good', 0],
        ],
      );
      assert.equal(doc.roots[0].problem.code, 'E_TRUST_ROOT');
    });
  }
});

describe('no network in trust import / status (unshare -n)', () => {
  it('imports a repository made here and reports its status with no interfaces at all', async (t) => {
    if (!canUnshareNet()) return t.skip('unshare -n is not permitted here (needs root)');
    const repoDir = join(dir, 'synthetic');
    const repo = await createTufRepo({ dir: repoDir });
    repo.addTarget(
      'trusted_root.json',
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      }),
    );
    await repo.publish();
    const env = { AIRLOCK_HOME: join(dir, 'netns') };
    const imp = await runCliProcess(['trust', 'import', repoDir, '--root', repo.initialRootPath, '--name', 'private'], {
      env,
      prefix: UNSHARE_NET,
    });
    assert.equal(imp.code, 0, imp.stderr);
    const st = await runCliProcess(['trust', 'status', '--check'], { env, prefix: UNSHARE_NET });
    assert.equal(st.code, 0, st.stdout + st.stderr);
  });
});

describe('trust show --name / create under unshare -n', () => {
  it('shows an installed root by name; show and create make no network access', async (t) => {
    if (missing) return t.skip(missing);
    const show = await runCli(['trust', 'show', '--name', 'public-good', '--json'], {
      env: home('h1'),
      now: at('2026-08-23T00:00:00Z'),
    });
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).tlogs.length, 2);
    assert.equal((await runCli(['trust', 'show', '--name', 'nope'], { env: home('h1') })).code, 3);
    if (!canUnshareNet()) return t.skip('unshare -n is not permitted here (needs root)');
    const file = join(
      F,
      'targets',
      '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json',
    );
    const offline = await runCliProcess(['trust', 'show', file], { prefix: UNSHARE_NET });
    assert.equal(offline.code, 0, offline.stderr);
    const { generateKeyPairSync } = await import('node:crypto');
    await writeFile(
      join(dir, 'log.pub'),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const created = await runCliProcess(
      [
        'trust',
        'create',
        '--out',
        join(dir, 'private-root.json'),
        `--rekor=url=https://rekor.internal,public-key=${join(dir, 'log.pub')},start-time=2026-01-01T00:00:00Z`,
      ],
      { prefix: UNSHARE_NET },
    );
    assert.equal(created.code, 0, created.stderr);
  });
});

describe('trust mirror from an HTTP mirror (CDN layout, loopback server)', () => {
  it('mirrors the fixture served as the CDN serves it, identical to the folder mirror', async (t) => {
    if (missing) return t.skip(missing);
    const { createServer } = await import('node:http');
    const { readFile: read } = await import('node:fs/promises');
    let requests = 0;
    const server = createServer(async (req, res) => {
      requests++;
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = path.startsWith('/targets/') ? join(F, path) : join(F, 'metadata', path);
      if (path.includes('..')) return res.writeHead(400).end();
      const body = await read(file).catch(() => undefined);
      if (body) res.writeHead(200).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const out = join(dir, 'http-mirror');
      const r = await runCli(
        ['trust', 'mirror', '--source', `http://127.0.0.1:${port}`, '--root', PINNED, '--out', out, '--json'],
        { now: at('2026-08-22T00:00:00Z') },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(requests > 15);
      const a = JSON.parse(await readFile(join(out, 'mirror.json'), 'utf8')).files;
      const b = JSON.parse(await readFile(join(mirror, 'mirror.json'), 'utf8')).files;
      assert.deepEqual(a, b);
      const again = await runCli(
        ['trust', 'mirror', '--source', `http://127.0.0.1:${port}`, '--root', PINNED, '--out', out],
        { now: at('2026-08-22T00:00:00Z') },
      );
      assert.equal(again.code, 2, 'never overwrites without --force');
    } finally {
      server.close();
    }
  });
});
