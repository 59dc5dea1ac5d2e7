// `airlock log verify`: the log still extends a checkpoint saved earlier (a rewritten or forked log is
// caught here).
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { openCheckpointFrom } from '../../../log/tile-client.ts';
import type { Command, CommandContext } from '../../command.ts';
import { readInputFile } from '../../../files/read-file.ts';
import { LOG_FLAGS, openLog } from '../../options/log.ts';
import { b64, PIN_EXAMPLE, summary } from './checkpoint-summary.ts';

// ---------------------------------------------------------------------------------------------------
// log verify

async function verify(ctx: CommandContext) {
  const since = ctx.flags.string('since');
  if (!since)
    throw new AirlockError(
      'E_USAGE',
      'airlock log verify needs --since FILE, a checkpoint saved earlier (airlock log info --out FILE)',
    );
  const { client, verifier } = await openLog(ctx);
  const path = resolve(ctx.cwd, since);
  const saved = await readInputFile(path, 'a saved checkpoint', 1024 * 1024);
  const older = openCheckpointFrom(path, saved, verifier).checkpoint;
  const head = await client.latest();
  const proof = await head.proveExtends(older);
  const updated = ctx.flags.bool('update') && !saved.equals(Buffer.from(head.note, 'utf8'));
  if (updated) await writeFileAtomic(path, head.note, { overwrite: true });
  const { origin, size } = head.checkpoint;
  ctx.out.info(
    `Log ${origin} at ${client.url}: the checkpoint at size ${size} extends the one at size ` +
      `${older.size} in ${path} (consistency proof of ${proof.length} hashes verified)`,
  );
  if (updated) ctx.out.info(`  ${path} now holds the checkpoint at size ${size}`);
  return {
    json: {
      ...summary(head, client.url),
      since: { file: path, size: older.size, root: b64(older.rootHash) },
      proof: proof.map(b64),
      updated,
      checkpoint: head.note,
    },
  };
}

export const logVerifyCommand: Command = {
  name: 'log verify',
  summary: 'Check that a log still extends a checkpoint saved earlier (detects a rewritten or forked log)',
  usage: 'URL --since FILE (--vkey VKEY|FILE | --log-key FILE.pub --origin NAME) [--update]',
  description:
    "Verifies the saved checkpoint's signature, then the latest one, then a consistency proof between\n" +
    "them built from the log's tiles. A smaller tree, or one that does not contain the saved one, is\n" +
    'E_LOG_INCONSISTENT (exit 1): keep both checkpoints, they prove the log was rewritten or forked.\n' +
    "Tiles that contradict the log's own checkpoint are E_LOG_CORRUPT. --update then saves the newer one.",
  flags: {
    ...LOG_FLAGS,
    since: { type: 'string', value: 'FILE', description: 'The checkpoint note saved earlier (log info --out)' },
    update: { type: 'boolean', description: 'After success, replace FILE with the newer checkpoint (atomically)' },
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: `airlock log verify http://rekor.internal:3000 --since rekor.checkpoint ${PIN_EXAMPLE} --update`,
      description: 'From cron: consistent since last time, then remember the new checkpoint',
    },
  ],
  run: verify,
};
