// Witnessed checkpoints end to end, every part a real process: two `airlock log witness-serve`
// witnesses, `airlock log serve --witness-policy` asking both to cosign each checkpoint (quorum: all),
// `sign-blob` against the log, and `verify-blob --witness-key` requiring both cosignatures in the
// bundle — no splicing by hand. Then a witness goes down: writes answer 503 and publish nothing; once it
// is back, a retry of the same entry is answered with a checkpoint both cosigned. A restarted log
// publishes its checkpoint witnessed before any write.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeCosignerKey } from '../../src/log/cosignature.ts';
import { parseNote } from '../../src/log/note.ts';
import { encodeVerifierKey } from '../../src/log/note-keys.ts';
import { cosignersIn, parseTlogPolicy } from '../../src/log/tlog-policy.ts';
import { witnessCheckpointPath } from '../../src/log/witness-protocol.ts';
import { runCliProcess } from '../helpers/cli.ts';
import {
  makeLogKey,
  type RunningServer,
  spawnServer,
  startLog,
  type TestLog,
  writeTrustedRootFor,
} from '../helpers/log-server.ts';
import { verifyWithSigstoreJs } from '../helpers/sigstore.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { EntrySource } from '../helpers/write-load.ts';

let log: TestLog;
const witnesses = new Map<string, RunningServer & { vkey: string; port: number }>();
// Registered before the folder below (after hooks run in order): the log and witnesses stop first.
after(async () => {
  await log?.stop();
  for (const w of witnesses.values()) await w.stop();
});
const dir = useTempDir('airlock-witnessing-');
const cli = (args: string[]) =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') } });
const policyPath = () => join(dir, 'witnesses.policy');
const root = () => join(dir, 'root.json');

async function startWitness(name: string, port = 0, init = true): Promise<void> {
  const args = [
    'log',
    'witness-serve',
    '--state',
    join(dir, `${name}.state.json`),
    '--key',
    join(dir, `${name}.key`),
    '--name',
    `${name}.example`,
    '--log',
    join(dir, 'log.vkey'),
    '--listen',
    `127.0.0.1:${port}`,
  ];
  const running = await spawnServer(init ? [...args, '--init'] : args, { AIRLOCK_HOME: join(dir, `${name}-home`) })
    .ready;
  const serving = running.lines().find((l) => l.msg === 'serving') as { vkey: string };
  witnesses.set(name, { ...running, vkey: serving.vkey, port: Number(new URL(running.url).port) });
}

async function signed(name: string) {
  const file = join(dir, name);
  await writeFile(file, `artifact ${name}\n`);
  const r = await cli([
    'sign-blob',
    file,
    '--key',
    join(dir, 'k.key'),
    '--rekor-url',
    log.url,
    '--rekor-api-version',
    '2',
    '--bundle',
    `${file}.bundle`,
  ]);
  return { r, file, bundle: `${file}.bundle` };
}
const envelopeOf = async (bundle: string): Promise<string> =>
  (
    JSON.parse(await readFile(bundle, 'utf8')) as {
      verificationMaterial: { tlogEntries: Array<{ inclusionProof: { checkpoint: { envelope: string } } }> };
    }
  ).verificationMaterial.tlogEntries[0]?.inclusionProof.checkpoint.envelope ?? '';
const policy = async () => parseTlogPolicy(await readFile(policyPath(), 'utf8'));

before(async () => {
  await makeLogKey(join(dir, 'log'));
  await writeFile(
    join(dir, 'log.vkey'),
    `${encodeVerifierKey('127.0.0.1', createPublicKey(await readFile(join(dir, 'log.pub'))))}\n`,
  );
  for (const prefix of ['w1', 'w2'])
    assert.equal(
      (await cli(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', join(dir, prefix)])).code,
      0,
    );
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'k')])).code, 0);
  await Promise.all([startWitness('w1'), startWitness('w2')]);
  const [w1, w2] = [witnesses.get('w1'), witnesses.get('w2')] as [
    { vkey: string; url: string },
    { vkey: string; url: string },
  ];
  await writeFile(
    policyPath(),
    `# both on-prem witnesses must cosign\nwitness w1 ${w1.vkey} ${w1.url}\nwitness w2 ${w2.vkey}` +
      ` ${w2.url}\ngroup both all w1 w2\nquorum both\n`,
  );
  await writeFile(join(dir, 'w1.vkey'), `${w1.vkey}\n`);
  await writeFile(join(dir, 'w2.vkey'), `${w2.vkey}\n`);
  log = await startLog(join(dir, 'data'), join(dir, 'log.key'), {
    extra: ['--witness-policy', policyPath(), '--witness-timeout', '2'],
  });
  await writeTrustedRootFor(log, root());
});

describe('log serve --witness-policy with log witness-serve witnesses', () => {
  let first: { file: string; bundle: string };

  it('bundles signed through the log carry both cosignatures, and verify-blob requiring them passes', async () => {
    for (const name of ['warm-0', 'warm-1']) assert.equal((await signed(name)).r.code, 0);
    const s = await signed('a.txt');
    assert.equal(s.r.code, 0, s.r.stderr);
    first = s;
    const envelope = await envelopeOf(s.bundle);
    assert.deepEqual([...cosignersIn(await policy(), parseNote(envelope))].sort(), ['w1', 'w2']);
    const v = await cli([
      'verify-blob',
      s.file,
      '--key',
      join(dir, 'k.pub'),
      '--bundle',
      s.bundle,
      '--trusted-root',
      root(),
      '--witness-key',
      join(dir, 'w1.vkey'),
      '--witness-key',
      join(dir, 'w2.vkey'),
      '--json',
    ]);
    assert.equal(v.code, 0, v.stderr);
    const check = (
      JSON.parse(v.stdout) as {
        checks: Array<{ name: string; result: string; detail: { entries: Array<{ cosigned: string[] }> } }>;
      }
    ).checks.find((c) => c.name === 'witness cosignatures');
    assert.deepEqual(check?.detail.entries[0]?.cosigned, ['w1.example', 'w2.example']);
    // Sigstore clients ignore the extra lines: plain @sigstore/verify takes the same bundle.
    const bundle = JSON.parse(await readFile(s.bundle, 'utf8'));
    const rootJson = JSON.parse(await readFile(root(), 'utf8'));
    const key = createPublicKey(await readFile(join(dir, 'k.pub')));
    assert.doesNotThrow(() =>
      verifyWithSigstoreJs(bundle, Buffer.from('artifact a.txt\n'), key, {
        trustedRoot: rootJson,
        tlogThreshold: 1,
        timestampThreshold: 0,
      }),
    );
  });

  it(
    'verify-blob --witness-policy takes the policy the log was given: met with both, refused short ' +
      'of it or for another log',
    async () => {
      const base = [
        'verify-blob',
        first.file,
        '--key',
        join(dir, 'k.pub'),
        '--bundle',
        first.bundle,
        '--trusted-root',
        root(),
      ];
      const v = await cli([...base, '--witness-policy', policyPath(), '--json']);
      assert.equal(v.code, 0, v.stderr);
      const check = (
        JSON.parse(v.stdout) as {
          checks: Array<{ name: string; detail: { quorum: string; entries: Array<{ cosigned: string[] }> } }>;
        }
      ).checks.find((c) => c.name === 'witness cosignatures');
      assert.equal(check?.detail.quorum, 'both');
      assert.deepEqual(check?.detail.entries[0]?.cosigned, ['w1', 'w2']);
      const w1 = witnesses.get('w1') as { vkey: string };
      const w2 = witnesses.get('w2') as { vkey: string };
      // A third witness nobody asked: the bundle cannot meet a quorum that needs it.
      const third = join(dir, 'third.policy');
      const w3Vkey = encodeCosignerKey('w3.example', generateKeyPairSync('ed25519').publicKey);
      await writeFile(
        third,
        `witness w1 ${w1.vkey}\nwitness w2 ${w2.vkey}\nwitness w3 ${w3Vkey}\ngroup all3 all w1 w2 w3\nquorum all3\n`,
      );
      const short = await cli([...base, '--witness-policy', third]);
      assert.equal(short.code, 1, short.stderr);
      assert.match(short.stderr, /cosigned by w1, w2: not enough for the quorum 'all3' .*\[E_TLOG_CHECKPOINT\]/);
      // Naming this log, the policy applies; naming another log (another key), it does not.
      const logVkey = (await readFile(join(dir, 'log.vkey'), 'utf8')).trim();
      const mine = join(dir, 'this-log.policy');
      await writeFile(mine, `log ${logVkey}\nwitness w1 ${w1.vkey}\nquorum w1\n`);
      assert.equal((await cli([...base, '--witness-policy', mine])).code, 0);
      const other = join(dir, 'other-log.policy');
      await writeFile(
        other,
        `log ${encodeVerifierKey('127.0.0.1', generateKeyPairSync('ed25519').publicKey)}\nwitness ` +
          `w1 ${w1.vkey}\nquorum w1\n`,
      );
      const wrongLog = await cli([...base, '--witness-policy', other]);
      assert.equal(wrongLog.code, 1, wrongLog.stderr);
      assert.match(wrongLog.stderr, /not signed by a log the witness policy names/);
      // Usage: with --witness-key or --insecure-ignore-tlog; a missing or oversized policy file.
      assert.equal(
        (await cli([...base, '--witness-policy', policyPath(), '--witness-key', join(dir, 'w1.vkey')])).code,
        2,
      );
      const ignoring = await cli([...base, '--witness-policy', policyPath(), '--insecure-ignore-tlog']);
      assert.equal(ignoring.code, 2);
      assert.match(ignoring.stderr, /--witness-policy conflicts with --insecure-ignore-tlog: .*\[E_USAGE\]/);
      assert.match((await cli([...base, '--witness-policy', join(dir, 'absent.policy')])).stderr, /E_INPUT_MISSING/);
      const huge = join(dir, 'huge.policy');
      await writeFile(huge, `${'# padding\n'.repeat(8000)}quorum none\n`);
      assert.match(
        (await cli([...base, '--witness-policy', huge])).stderr,
        /a witness policy is at most 65536 \[E_INPUT_MALFORMED\]/,
      );
      const none = join(dir, 'none.policy');
      await writeFile(none, 'quorum none\n');
      const off = await cli([...base, '--witness-policy', none]);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stderr, /'quorum none', witness cosignatures are not checked/);
    },
  );

  it(
    "the log's /checkpoint and each witness's monitoring path serve the cosigned checkpoint; log " +
      'info checks the quorum',
    async () => {
      const published = await (await fetch(`${log.url}/checkpoint`)).text();
      assert.deepEqual([...cosignersIn(await policy(), parseNote(published))].sort(), ['w1', 'w2']);
      for (const w of witnesses.values()) {
        const theirs = await (await fetch(`${w.url}/${witnessCheckpointPath('127.0.0.1')}`)).text();
        assert.equal(parseNote(theirs).text, parseNote(published).text);
      }
      const info = await cli([
        'log',
        'info',
        log.url,
        '--vkey',
        join(dir, 'log.vkey'),
        '--witness',
        join(dir, 'w1.vkey'),
        '--witness',
        join(dir, 'w2.vkey'),
        '--json',
      ]);
      assert.equal(info.code, 0, info.stderr);
      assert.deepEqual((JSON.parse(info.stdout) as { witnesses: unknown }).witnesses, {
        ok: true,
        required: 2,
        cosigned: ['w1.example', 'w2.example'],
      });
    },
  );

  it(
    'with a witness down, writes answer 503 and nothing new is published; back up, a retry gets ' +
      'the entry with both cosignatures',
    async () => {
      const w2 = witnesses.get('w2');
      assert.ok(w2);
      await w2.stop();
      const before = await (await fetch(`${log.url}/checkpoint`)).text();
      const s = await signed('b.txt');
      assert.equal(s.r.code, 3, s.r.stderr);
      assert.match(s.r.stderr, /E_TLOG_UPLOAD/);
      assert.match(s.r.stderr, /witness policy/);
      const entries = new EntrySource('witnessing');
      const post = () =>
        fetch(`${log.url}/api/v2/log/entries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: entries.request(1),
        });
      const refused = await post();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(((await refused.json()) as { code: string }).code, 'E_UNAVAILABLE');
      assert.equal(
        await (await fetch(`${log.url}/checkpoint`)).text(),
        before,
        'a checkpoint short of the quorum is not published',
      );
      assert.ok(log.lines().some((l) => l.msg === 'witness' && l.satisfied === false));
      // The witness comes back where it was (its state file, no --init), at the URL the policy names.
      await startWitness('w2', w2.port, false);
      const retried = await post();
      assert.equal(retried.status, 409, 'the entry was logged by the refused write');
      const entry = (await retried.json()) as { inclusionProof: { checkpoint: { envelope: string } } };
      assert.deepEqual([...cosignersIn(await policy(), parseNote(entry.inclusionProof.checkpoint.envelope))].sort(), [
        'w1',
        'w2',
      ]);
    },
  );

  it('a restarted log publishes its checkpoint cosigned before any write', async () => {
    const size = Number(((await (await fetch(`${log.url}/healthz`)).json()) as { size: number }).size);
    await log.stop();
    log = await startLog(join(dir, 'data'), join(dir, 'log.key'), {
      port: Number(new URL(log.url).port),
      extra: ['--witness-policy', policyPath()],
    });
    const published = await (await fetch(`${log.url}/checkpoint`)).text();
    assert.equal(Number(parseNote(published).text.split('\n')[1]), size);
    assert.deepEqual([...cosignersIn(await policy(), parseNote(published))].sort(), ['w1', 'w2']);
    // The first bundle still verifies with both required (its checkpoint is older and was cosigned then).
    const v = await cli([
      'verify-blob',
      first.file,
      '--key',
      join(dir, 'k.pub'),
      '--bundle',
      first.bundle,
      '--trusted-root',
      root(),
      '--witness-key',
      join(dir, 'w1.vkey'),
      '--witness-key',
      join(dir, 'w2.vkey'),
    ]);
    assert.equal(v.code, 0, v.stderr);
  });

  it('each witness recorded its cosignatures in its own audit trail', async () => {
    const r = await runCliProcess(['audit', 'export'], { env: { AIRLOCK_HOME: join(dir, 'w1-home') } });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; result: string });
    assert.ok(events.filter((e) => e.action === 'log.witness' && e.result === 'ok').length >= 3, r.stdout);
  });

  it(
    '--witness-fail-open publishes without the quorum (as Rekor v2 does); verifiers requiring ' +
      'cosignatures refuse what it returns',
    async () => {
      const w1 = witnesses.get('w1') as { vkey: string };
      const dead = join(dir, 'dead.policy');
      await writeFile(dead, `witness w1 ${w1.vkey} http://127.0.0.1:9\nquorum w1\n`);
      const open = await startLog(join(dir, 'fail-open'), join(dir, 'log.key'), {
        extra: ['--witness-policy', dead, '--witness-fail-open', '--witness-timeout', '1'],
      });
      try {
        const openRoot = join(dir, 'fail-open-root.json');
        await writeTrustedRootFor(open, openRoot);
        const file = join(dir, 'c.txt');
        await writeFile(file, 'artifact c.txt\n');
        const r = await cli([
          'sign-blob',
          file,
          '--key',
          join(dir, 'k.key'),
          '--rekor-url',
          open.url,
          '--rekor-api-version',
          '2',
          '--bundle',
          `${file}.bundle`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(cosignersIn(await policy(), parseNote(await envelopeOf(`${file}.bundle`))).size, 0);
        assert.ok(
          open.lines().some((l) => l.msg === 'witness' && l.satisfied === false),
          'the missed quorum is logged',
        );
        const base = [
          'verify-blob',
          file,
          '--key',
          join(dir, 'k.pub'),
          '--bundle',
          `${file}.bundle`,
          '--trusted-root',
          openRoot,
        ];
        assert.equal((await cli(base)).code, 0);
        const strict = await cli([...base, '--witness-key', join(dir, 'w1.vkey')]);
        assert.equal(strict.code, 1, strict.stderr);
        assert.match(strict.stderr, /E_TLOG_CHECKPOINT/);
      } finally {
        await open.stop();
      }
    },
  );

  it(
    'refuses what cannot be used: a witness without a URL, a malformed policy line, fail-open ' +
      'without a policy, a witness serving no log',
    async () => {
      const w1 = witnesses.get('w1') as { vkey: string };
      const cases: Array<[string, RegExp, number]> = [
        [`witness w1 ${w1.vkey}\nquorum w1\n`, /gives no URL for w1/, 2],
        [`witness w1 ${w1.vkey} http://x\nquorum w2\n`, /line 2: quorum 'w2' is not defined/, 3],
      ];
      for (const [text, pattern, code] of cases) {
        const file = join(dir, 'bad.policy');
        await writeFile(file, text);
        const r = await cli([
          'log',
          'serve',
          '--data',
          join(dir, 'other'),
          '--key',
          join(dir, 'log.key'),
          '--origin',
          '127.0.0.1',
          '--listen',
          '127.0.0.1:0',
          '--witness-policy',
          file,
        ]);
        assert.equal(r.code, code, r.stderr);
        assert.match(r.stderr, pattern);
      }
      const noPolicy = await cli([
        'log',
        'serve',
        '--data',
        join(dir, 'other'),
        '--key',
        join(dir, 'log.key'),
        '--origin',
        '127.0.0.1',
        '--witness-fail-open',
      ]);
      assert.equal(noPolicy.code, 2, noPolicy.stderr);
      assert.match(
        noPolicy.stderr,
        /--witness-fail-open and --witness-timeout go with --witness-policy FILE \[E_USAGE\]/,
      );
      const noLog = await cli([
        'log',
        'witness-serve',
        '--state',
        join(dir, 'w9.json'),
        '--init',
        '--key',
        join(dir, 'w1.key'),
        '--name',
        'w9.example',
      ]);
      assert.equal(noLog.code, 2, noLog.stderr);
      assert.match(noLog.stderr, /at least one --log VKEY\|FILE \[E_USAGE\]/);
    },
  );
});
