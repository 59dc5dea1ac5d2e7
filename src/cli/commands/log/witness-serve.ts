// `airlock log witness-serve`: a witness logs push to (C2SP tlog-witness add-checkpoint), the way
// omniwitness serves one. Same state file, key and decision as the pull-mode `log witness`; the state
// is locked for as long as it serves, so the two modes never interleave on one file.
import { AirlockError } from '../../../errors.ts';
import { CheckpointWitness } from '../../../log/checkpoint-witness.ts';
import { encodeCosignerKey } from '../../../log/cosignature.ts';
import { parseVerifierKey } from '../../../log/note-keys.ts';
import {
  lockWitnessState,
  readWitnessStateFile,
  type WitnessState,
  writeWitnessStateFile,
} from '../../../log/witness-state.ts';
import { createWitnessHandler } from '../../../server/witness-server.ts';
import type { Command, CommandContext } from '../../command.ts';
import { closeServer, jsonLineLog, listen, parseListen, untilStopped } from '../../serve.ts';
import { vkeyText } from '../../vkey-text.ts';
import { keySigner } from '../../options/key.ts';
import { WITNESS_FLAGS, witnessIdentity } from '../../options/witness.ts';

async function serveWitness(ctx: CommandContext) {
  const { flags, out } = ctx;
  const usage = 'airlock log witness-serve needs --state FILE, --key REF, --name NAME and at least one --log VKEY|FILE';
  const logKeys = flags.strings('log');
  if (logKeys.length === 0) throw new AirlockError('E_USAGE', usage);
  const { statePath, keyRef, name, init } = witnessIdentity(ctx, usage);
  const address = flags.string('listen') ?? '127.0.0.1:8100';
  parseListen(address);
  const logs = await Promise.all(logKeys.map(async (v) => parseVerifierKey(await vkeyText(ctx, v)).verifier));
  const signer = await keySigner(ctx, keyRef);
  const log = jsonLineLog(ctx);
  try {
    const vkey = encodeCosignerKey(name, signer.publicKey); // refuses a key that cannot cosign before anything else
    // Refusals (a forked or rolled-back log) are evidence: an audit trail that cannot take them stops us first.
    await ctx.audit.ready();
    // Listening for SIGTERM before it serves: see log serve.
    const stopped = untilStopped();
    const lock = await lockWitnessState(statePath);
    try {
      const stateStore = {
        logs: await readWitnessStateFile(statePath, init),
        save: (l: WitnessState) => writeWitnessStateFile(statePath, l),
      };
      const witness = new CheckpointWitness({
        name,
        signer,
        logs,
        state: stateStore,
        now: ctx.now,
        record: ctx.audit.record,
      });
      const origins = logs.map((l) => l.name);
      const { server, url } = await listen(createWitnessHandler({ witness, origins, log }), address);
      log({ msg: 'serving', url, name, vkey, logs: origins, state: statePath });
      out.info(`Witness ${name} serving tlog-witness at ${url} for ${origins.join(', ')}; state in ${statePath}`);
      out.info(`  vkey      ${vkey}`);
      out.info(`  policy    witness ${name} ${vkey} ${url}`);
      const signal = await stopped;
      log({ msg: 'stopping', signal });
      await closeServer(server);
      return { json: { url, name, vkey, logs: origins } };
    } finally {
      await lock.release();
    }
  } finally {
    await signer.close();
  }
}

export const logWitnessServeCommand: Command = {
  name: 'log witness-serve',
  summary: 'Serve a witness that logs ask to cosign their checkpoints (C2SP tlog-witness)',
  usage: '--state FILE --key REF --name NAME --log VKEY|FILE... [--listen HOST:PORT] [--init]',
  description:
    'Answers POST /add-checkpoint: a checkpoint signed by one of the --log keys, with a consistency\n' +
    'proof from the size this witness last cosigned for that log, gets a cosignature/v1 line back; the\n' +
    'state (--state, the same file `log witness` keeps) is written before the answer. 409 tells a log\n' +
    'the size last cosigned; 403 an unknown key or bad signature; 422 a proof that fails (a forked or\n' +
    'rewritten log, recorded in the audit trail). GET /<sha256(origin) hex>/checkpoint returns the\n' +
    'latest cosigned checkpoint. Requests are logged as JSON lines on stdout. See docs/log.md.',
  flags: {
    ...WITNESS_FLAGS,
    log: {
      type: 'string',
      multiple: true,
      value: 'VKEY|FILE',
      description: "A log to witness: its verifier key (log serve writes DATA/log.vkey); its name is the log's origin",
    },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:8100' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock key generate --algorithm ed25519 --output-key-prefix witness',
      description: 'The witness key (once)',
    },
    {
      command:
        'airlock log witness-serve --state witness.json --init --key witness.key --name ' +
        'w1.internal --log /srv/log.vkey --listen 0.0.0.0:8100',
      description: 'Serve it (--init on the first run only)',
    },
  ],
  run: serveWitness,
};
