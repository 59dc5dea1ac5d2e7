import { EXIT } from '../../errors.ts';
import { type Check, diagnose } from '../../tools/diagnose.ts';
import type { Command } from '../command.ts';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check the runtime, the state directory and the optional parts airlock uses',
  usage: '[flags]',
  description:
    'Reports the Node version, $AIRLOCK_HOME and whether a PKCS#11 module, gpg, skopeo, docker-registry\n' +
    'and openssl are usable. Exits 0 when everything required is fine (optional parts may be missing),\n' +
    '3 when a required part is not usable.',
  flags: {},
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock doctor', description: 'Human report on stderr' },
    { command: 'airlock doctor --json | jq .checks', description: 'Machine-readable report' },
  ],
  async run({ out, env, stateDir }) {
    const checks = await diagnose({
      nodeVersion: process.versions.node,
      pathList: env.PATH,
      pkcs11Module: env.AIRLOCK_PKCS11_MODULE,
      stateDir,
    });
    const ok = checks.every((c) => !c.required || c.status === 'ok');
    const mark = (c: Check) =>
      c.status === 'ok'
        ? out.paint('green', 'ok     ')
        : c.required
          ? out.paint('red', 'FAIL   ')
          : out.paint('yellow', c.status.padEnd(7));
    out.info(out.paint('bold', 'airlock doctor'));
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) {
      out.info(`  ${mark(c)} ${c.name.padEnd(width)} ${c.detail}`);
      out.debug(`          used for: ${c.usedFor}${c.path ? `; path: ${c.path}` : ''}`);
    }
    const missing = checks.filter((c) => !c.required && c.status !== 'ok');
    if (missing.length > 0) {
      out.info(`\n${missing.length} optional part(s) not usable; the commands that need them will say so.`);
    }
    out.info(ok ? 'airlock is ready.' : 'airlock cannot run here: fix the FAIL lines above.');
    return { json: { ok, stateDir, checks }, exitCode: ok ? EXIT.OK : EXIT.UNAVAILABLE };
  },
};
