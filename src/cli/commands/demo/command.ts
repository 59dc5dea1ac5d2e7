// `airlock demo`: the whole air-gap workflow on sample data, narrated, in a temporary folder that is
// removed at the end. Two state folders stand for the two sides of the gap.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../../errors.ts';
import { diagnose } from '../../../tools/diagnose.ts';
import type { Command } from '../../command.ts';
import { airGappedSide } from './air-gapped-side.ts';
import { connectedSide, releaseKey } from './connected-side.ts';
import { DemoRun } from './run.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the air-gap workflow end to end on sample data, narrated step by step',
  usage: '[flags]',
  description:
    'Connected side: a key, a sample image, its signature, its SBOM (airlock sbom), a vulnerability\n' +
    'database built from SAMPLE advisories the demo writes (the matching is real), the scan and its gate,\n' +
    'the signature check as the far side will make it, a signed and sequenced transfer package carrying\n' +
    "the database, a second team's approval. Air-gapped side: a local registry and an on-prem\n" +
    'transparency log on loopback, inspect (two signers required), import (each signature logged, each\n' +
    'effect recorded first; the database installed), a rescan inside against the database that crossed,\n' +
    'verify the imported image against the on-prem log, its checkpoint, the\n' +
    'record — and a package on an unaccepted channel and a tampered package refused.\n' +
    'Temporary state only; everything is removed afterwards.',
  flags: {},
  positionals: { min: 0, max: 0 },
  examples: [{ command: 'airlock demo', description: 'Run the demo' }],
  async run(ctx) {
    const { out } = ctx;
    out.info(`${out.paint('bold', 'airlock demo')} — from the build to the air-gapped registry, proven at every step`);
    const work = await mkdtemp(join(tmpdir(), 'airlock-demo-'));
    const run = new DemoRun(ctx, work, ctx.now());
    try {
      if (!(await machineIsReady(run))) return { json: { ok: false, steps: run.steps }, exitCode: EXIT.UNAVAILABLE };
      await workflow(run);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    out.info(
      run.ok
        ? '\nDemo finished: every step behaved as it should. Temporary files, the registry and the log are gone.'
        : '\nDemo FAILED: see the steps above.',
    );
    return { json: { ok: run.ok, steps: run.steps }, exitCode: run.ok ? EXIT.OK : EXIT.INTERNAL };
  },
};

/** `airlock doctor`'s checks: the demo stops before making anything when a required one fails. */
async function machineIsReady(run: DemoRun): Promise<boolean> {
  const { ctx, out } = run;
  run.step('check this machine (airlock doctor)');
  const checks = await diagnose({
    nodeVersion: process.versions.node,
    pathList: ctx.env.PATH,
    pkcs11Module: ctx.env.AIRLOCK_PKCS11_MODULE,
    stateDir: ctx.stateDir,
  });
  for (const c of checks)
    out.info(
      `  ${c.status === 'ok' ? out.paint('green', 'ok') : out.paint('yellow', c.status)}  ${c.name}: ${c.detail}`,
    );
  const ready = checks.every((c) => !c.required || c.status === 'ok');
  run.record('doctor', ready);
  return ready;
}

async function workflow(run: DemoRun): Promise<void> {
  const release = await releaseKey(run);
  try {
    const connected = await connectedSide(run, release);
    await airGappedSide(run, connected);
  } finally {
    await release.signer.close();
  }
}
