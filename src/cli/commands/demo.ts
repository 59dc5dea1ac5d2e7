import { EXIT } from '../../errors.ts';
import { diagnose } from '../../tools/diagnose.ts';
import type { Command } from '../command.ts';

// The demo grows with each part of the workflow that is built; until then it says plainly what is
// not there yet instead of pretending.
export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the air-gap workflow end to end on sample data, narrated step by step',
  usage: '[flags]',
  description:
    'Today the demo checks this machine (airlock doctor). Signing, packing, importing and verifying\n' +
    'join it as they are built; the steps not built yet are listed, not faked.',
  flags: {},
  positionals: { min: 0, max: 0 },
  examples: [{ command: 'airlock demo', description: 'Run the demo' }],
  async run({ out, env, stateDir }) {
    out.info(out.paint('bold', 'airlock demo'));
    out.info('\nStep 1: check this machine (airlock doctor)');
    const checks = await diagnose({
      nodeVersion: process.versions.node,
      pathList: env.PATH,
      pkcs11Module: env.AIRLOCK_PKCS11_MODULE,
      stateDir,
    });
    for (const c of checks) out.info(`  ${c.status === 'ok' ? out.paint('green', 'ok') : out.paint('yellow', c.status)}  ${c.name}: ${c.detail}`);
    const ok = checks.every((c) => !c.required || c.status === 'ok');
    const pending = ['sign and attest', 'pack a transfer package', 'import on the air-gapped side', 'verify offline'];
    out.info(`\nNot built yet (coming issue by issue): ${pending.join(', ')}.`);
    out.info(ok ? '\nDemo finished: this machine is ready.' : '\nDemo stopped: a required part is missing.');
    return { json: { ok, steps: [{ name: 'doctor', ok, checks }], notBuilt: pending }, exitCode: ok ? EXIT.OK : EXIT.UNAVAILABLE };
  },
};
