import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../../test/helpers/cli.ts';
import { AirlockError } from '../errors.ts';
import { VERSION } from '../version.ts';
import type { Command } from './command.ts';

const failing = (err: unknown): Command => ({
  name: 'explode',
  summary: 'test command that throws',
  usage: '',
  flags: { 'tlog-upload': { type: 'boolean', default: true, description: 'x' } },
  positionals: { min: 0, max: 1 },
  examples: [],
  async run({ flags }) {
    if (flags.has('tlog-upload')) return { json: { tlogUpload: flags.bool('tlog-upload') } };
    throw err;
  },
});

const ESC = String.fromCharCode(27);

describe('main', () => {
  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `airlock ${VERSION}\n`);
  });

  it('--help lists the commands on stdout and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Commands:\n( {2}.*\n)* {2}doctor /);
  });

  it('loads only the module of the command it runs', async () => {
    // A child process: this test process may already have loaded any module.
    const { execFileSync } = await import('node:child_process');
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({
        load(url, context, next) {
          if (url.includes('/src/cli/commands/')) seen.push(url.replace(/.*\\/commands\\//, ''));
          return next(url, context);
        },
      });
      const { main } = await import(${JSON.stringify(new URL('./main.ts', import.meta.url).href)});
      const io = { stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin };
      await main(['key', 'public', '--help'], io, {});
      console.log(JSON.stringify(seen));`;
    const seen = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    ) as string[];
    assert.deepEqual(seen.sort(), ['index.ts', 'key/public.ts']);
  });

  it('no command prints help and exits 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no command given/);
  });

  it('an unknown command exits 2 with a one-line reason and a suggestion', async () => {
    const r = await runCli(['doctr']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: unknown command 'doctr' \[E_USAGE\]\nhint: did you mean 'airlock doctor'\?/);
  });

  it('an unknown flag exits 2 and points at the command help', async () => {
    const r = await runCli(['doctor', '--nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown flag '--nope'.*\nhint: run 'airlock doctor --help'/);
  });

  it('a command --help shows flags and examples', async () => {
    const r = await runCli(['doctor', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: airlock doctor/);
    assert.match(r.stdout, /Examples:/);
  });

  it('doctor --json writes one valid JSON document on stdout', async () => {
    const r = await runCli(['doctor', '--json'], { env: { AIRLOCK_HOME: '/tmp/airlock-test-home' } });
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.stateDir, '/tmp/airlock-test-home');
    assert.ok(doc.checks.some((c: { name: string }) => c.name === 'node'));
    assert.deepEqual(
      doc.checks.find((c: { name: string }) => c.name === 'native ECDSA checker'),
      {
        name: 'native ECDSA checker',
        status: 'ok',
        required: false,
        detail: 'OpenSSL (native/ecdsa-prehash)',
        usedFor: 'log serve: ECDSA signatures over digests at native speed; verify-blob sha256:<hex>',
      },
      'scripts/setup builds native/ecdsa-prehash',
    );
    assert.equal(r.stderr, '', 'human report is not printed in --json mode');
  });

  it('accepts --flag=false for booleans (cosign spelling)', async () => {
    const commands = [failing(null)];
    const r = await runCli(['explode', '--tlog-upload=false', '--json'], { commands });
    assert.deepEqual(JSON.parse(r.stdout), { tlogUpload: false });
    const bad = await runCli(['explode', '--tlog-upload=maybe'], { commands });
    assert.equal(bad.code, 2);
  });

  it('maps AirlockError codes to their exit codes, with the error in --json', async () => {
    const err = new AirlockError('E_SIGNATURE_INVALID', 'signature does not verify', { hint: 'check the key' });
    const r = await runCli(['explode', '--json'], { commands: [failing(err)] });
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_SIGNATURE_INVALID');
    assert.match(r.stderr, /signature does not verify \[E_SIGNATURE_INVALID\]/);
  });

  it('an unexpected exception is an internal error (exit 4) without a stack trace', async () => {
    const r = await runCli(['explode'], { commands: [failing(new TypeError('oops'))] });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /internal error: oops \[E_INTERNAL\]/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });

  it('AIRLOCK_DEBUG=1 shows the stack trace', async () => {
    const r = await runCli(['explode'], { commands: [failing(new TypeError('oops'))], env: { AIRLOCK_DEBUG: '1' } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /TypeError: oops\n\s+at /);
  });

  it('colours only on a TTY and never with NO_COLOR', async () => {
    const err = new AirlockError('E_USAGE', 'x');
    const commands = [failing(err)];
    assert.match((await runCli(['explode'], { commands, tty: true })).stderr, new RegExp(`${ESC}\\[31m`));
    assert.doesNotMatch((await runCli(['explode'], { commands, tty: false })).stderr, new RegExp(`${ESC}\\[`));
    assert.doesNotMatch(
      (await runCli(['explode'], { commands, tty: true, env: { NO_COLOR: '1' } })).stderr,
      new RegExp(`${ESC}\\[`),
    );
  });
});
