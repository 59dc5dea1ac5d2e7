// `airlock log info`: a log's latest checkpoint, verified with the pinned key, and the witnesses that
// cosigned it.
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { parseCosignerKey, verifyWitnessQuorum, type WitnessQuorum } from '../../../log/cosignature.ts';
import { keyIdHex } from '../../../log/note.ts';
import { type VerifiedCheckpoint } from '../../../log/tile-client.ts';
import type { Command, CommandContext } from '../../command.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';
import { vkeyText } from '../../vkey-text.ts';
import { LOG_FLAGS, openLog } from '../../options/log.ts';
import { PIN_EXAMPLE, summary } from './checkpoint-summary.ts';

// ---------------------------------------------------------------------------------------------------
// log info

function signatureRows(head: VerifiedCheckpoint, quorum: WitnessQuorum | undefined) {
  const cosigned = new Map((quorum?.cosignatures ?? []).map((c) => [`${c.name}+${c.keyId}`, c.time]));
  const row = (s: { name: string; keyId: number }, role: string, verified: boolean, time?: Date) => ({
    name: s.name,
    keyId: keyIdHex(s.keyId),
    role,
    verified,
    ...(time ? { time: time.toISOString() } : {}),
  });
  return [
    ...head.signatures.verified.map((s) => row(s, 'log', true)),
    ...head.signatures.unverified.map((s) => {
      const time = cosigned.get(`${s.name}+${s.keyId}`);
      return time ? row(s, 'witness', true, time) : row(s, 'unknown', false);
    }),
  ];
}

async function info(ctx: CommandContext) {
  const { flags, out } = ctx;
  const { client } = await openLog(ctx);
  const witnesses = await Promise.all(
    flags.strings('witness').map(async (v) => parseCosignerKey(await vkeyText(ctx, v)).verifier),
  );
  if (flags.has('quorum') && witnesses.length === 0)
    throw new AirlockError('E_USAGE', '--quorum counts the --witness keys given: give at least one');
  const head = await client.latest();
  const quorum =
    witnesses.length === 0
      ? undefined
      : verifyWitnessQuorum(
          head.note,
          witnesses,
          flags.int('quorum', new Set(witnesses.map((w) => w.name)).size, 1, 100),
        );
  if (quorum && !quorum.ok) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `${client.url}/checkpoint is cosigned by ${quorum.cosigned.length} of the witnesses given ` +
        `(${quorum.cosigned.join(', ') || 'none'}), ${quorum.required} required`,
      {
        details: { required: quorum.required, cosigned: quorum.cosigned },
      },
    );
  }
  const saved = outFile(ctx);
  const file = saved?.path;
  if (saved) await writeFileAtomic(saved.path, head.note, { overwrite: saved.overwrite });
  const rows = signatureRows(head, quorum);
  const { origin, size, root } = summary(head, client.url);
  out.info(`Log ${origin} at ${client.url}: ${size} entries, checkpoint signed by the pinned key`);
  out.info(`  root      ${root}`);
  for (const r of rows)
    out.info(
      `  ${r.role.padEnd(9)} ${r.name}+${r.keyId}  ` +
        `${r.verified ? `verified${r.time ? `, cosigned at ${r.time}` : ''}` : 'not checked (no key given for it)'}`,
    );
  if (file) out.info(`  saved     ${file}`);
  return {
    json: {
      ...summary(head, client.url),
      signatures: rows,
      ...(quorum ? { witnesses: { ok: quorum.ok, required: quorum.required, cosigned: quorum.cosigned } } : {}),
      checkpoint: head.note,
      ...(file ? { out: file } : {}),
    },
  };
}

export const logInfoCommand: Command = {
  name: 'log info',
  summary: "A log's latest checkpoint, verified with its pinned key",
  usage: 'URL (--vkey VKEY|FILE | --log-key FILE.pub --origin NAME) [--out FILE] [--witness VKEY|FILE]... [--quorum N]',
  description:
    'Fetches URL/checkpoint (C2SP tlog-checkpoint) and opens it with the log key you pin: a checkpoint not\n' +
    'signed by it is refused (E_TLOG_CHECKPOINT). Shows origin, size, root and every signature line; with\n' +
    '--witness, cosignatures of those witnesses are verified and --quorum of them required (default all).\n' +
    '--out saves the note byte for byte, for a later `airlock log verify --since`. See docs/log.md.',
  flags: {
    ...LOG_FLAGS,
    ...outFileFlags('Save the checkpoint note to FILE'),
    witness: {
      type: 'string',
      multiple: true,
      value: 'VKEY|FILE',
      description: 'A witness cosigner key whose cosignature to verify',
    },
    quorum: {
      type: 'string',
      value: 'N',
      description: 'Cosignatures of that many --witness keys required (default: all)',
    },
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: `airlock log info http://rekor.internal:3000 ${PIN_EXAMPLE}`,
      description: 'The verified latest checkpoint',
    },
    {
      command: `airlock log info http://rekor.internal:3000 ${PIN_EXAMPLE} --out rekor.checkpoint`,
      description: 'Save it to check consistency later',
    },
    {
      command:
        'airlock log info https://rekor.internal/api/v2 --log-key log.pub --origin ' +
        'rekor.internal --witness w1.vkey --witness w2.vkey --quorum 1',
      description: 'Require a witness cosignature',
    },
  ],
  run: info,
};
