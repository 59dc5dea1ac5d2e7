// `airlock log witness`: a pull-mode witness run (log/pull-witness.ts decides), with its audit record.
import { AirlockError, isAirlockError } from '../../../errors.ts';
import { pathExists, writeFileAtomic } from '../../../files/atomic-write.ts';
import { encodeCosignerKey } from '../../../log/cosignature.ts';
import { cosignLatestCheckpoint, type PulledCosignature } from '../../../log/pull-witness.ts';
import type { Command, CommandContext } from '../../command.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';
import { keySigner } from '../../options/key.ts';
import { LOG_FLAGS, openLog } from '../../options/log.ts';
import { WITNESS_FLAGS, witnessIdentity } from '../../options/witness.ts';
import { b64, PIN_EXAMPLE, summary } from './checkpoint-summary.ts';

// ---------------------------------------------------------------------------------------------------
// log witness

async function witness(ctx: CommandContext) {
  const { out } = ctx;
  const { statePath, keyRef, name, init } = witnessIdentity(
    ctx,
    'airlock log witness needs --state FILE, --key REF and --name NAME',
  );
  const saved = outFile(ctx);
  const file = saved?.path;
  if (saved && file && !saved.overwrite && (await pathExists(file)))
    throw new AirlockError('E_OUTPUT_EXISTS', `${file} already exists`, { hint: 'pass --force to overwrite it' });
  const opened = await openLog(ctx);
  const { client } = opened;
  // Named now, so a refusal (a rollback or fork, the event that matters most) is recorded against the log.
  ctx.audit.subject(client.url);
  const signer = await keySigner(ctx, keyRef);
  let done: PulledCosignature;
  let vkey: string;
  try {
    vkey = encodeCosignerKey(name, signer.publicKey); // refuses a key that cannot cosign before any request
    // The state changes and a cosignature leaves: an audit trail that cannot record it stops us first.
    await ctx.audit.ready();
    done = await cosignLatestCheckpoint({
      client,
      logVerifier: opened.verifier,
      signer,
      name,
      statePath,
      init,
      now: ctx.now,
    });
  } catch (err) {
    // Both checkpoints (sizes, roots, the log's newer note) are the evidence: keep them in the trail.
    if (isAirlockError(err, 'E_LOG_INCONSISTENT')) ctx.audit.detail('inconsistent', err.details);
    throw err;
  } finally {
    await signer.close();
  }
  const { head, previous, proof, cosignature: line, note } = done;
  ctx.audit.detail('cosigned', {
    origin: head.checkpoint.origin,
    size: head.checkpoint.size,
    root: b64(head.checkpoint.rootHash),
    previousSize: previous?.size ?? null,
  });
  if (file) await writeFileAtomic(file, note, { overwrite: true });
  const { origin, size } = head.checkpoint;
  const since = previous
    ? `extends size ${previous.size}, cosigned ${previous.time}`
    : `the first checkpoint of ${origin} in ${statePath}`;
  out.info(`Cosigned ${origin} at size ${size} as ${name}: ${since}`);
  out.info(`  vkey  ${vkey}`);
  if (file) out.info(`  note  ${file}`);
  out.data(line);
  const before = previous ? { size: previous.size, root: previous.root } : null;
  return {
    json: {
      ...summary(head, client.url),
      previous: before,
      proof: proof.map(b64),
      cosignature: line,
      vkey,
      state: statePath,
      note,
      ...(file ? { out: file } : {}),
    },
  };
}

export const logWitnessCommand: Command = {
  name: 'log witness',
  audit: 'log.witness',
  summary: "Cosign a log's checkpoint as a witness, after proving it extends the last one cosigned",
  usage:
    'URL --state FILE --key REF --name NAME (--vkey VKEY|FILE | --log-key FILE.pub --origin ' +
    'NAME) [--init] [--out FILE]',
  description:
    "Keeps, per origin, the size and root it last cosigned in --state. Verifies the log's signature, then\n" +
    'consistency from that state to the latest checkpoint via the tiles; a smaller or forked tree is\n' +
    'refused (E_LOG_INCONSISTENT). The state is written (locked, atomically) before the C2SP\n' +
    'cosignature/v1 line is printed on stdout; --out writes the checkpoint with it appended. --key is\n' +
    'Ed25519; give each witness its own key. Witness vkey for verifiers: printed as `vkey`.',
  flags: {
    ...LOG_FLAGS,
    ...WITNESS_FLAGS,
    ...outFileFlags('Write the cosigned checkpoint note to FILE'),
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock key generate --algorithm ed25519 --output-key-prefix witness',
      description: 'The witness key (once)',
    },
    {
      command:
        `airlock log witness http://rekor.internal:3000 ${PIN_EXAMPLE} --state witness.json --init ` +
        `--key witness.key --name w1.internal`,
      description: 'First run',
    },
    {
      command:
        `airlock log witness http://rekor.internal:3000 ${PIN_EXAMPLE} --state witness.json --key ` +
        `witness.key --name w1.internal --out cosigned.checkpoint`,
      description: 'Every later run (cron)',
    },
  ],
  run: witness,
};
