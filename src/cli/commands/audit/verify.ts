// `airlock audit verify`: the audit trail recomputed — every event, the tree, its signed checkpoints —
// and the imports it shows stopped half-way.
import { resolve } from 'node:path';
import { verifyAuditLog } from '../../../audit/audit-log.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { readFileBounded } from '../../../files/read-file.ts';
import { MAX_NOTE_BYTES } from '../../../log/note.ts';
import { counted } from '../../../text.ts';
import { sharedAuditTrail } from '../../options/audit-url.ts';
import type { Command } from '../../command.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  summary: 'Recompute the audit trail: every event, the tree, and its signed checkpoints',
  usage: '[--since CHECKPOINT_FILE] [--out FILE]',
  description:
    'Re-hashes every event against the hash the log recorded at its index, rebuilds the Merkle tree from\n' +
    'the events alone and compares its root with the signed checkpoint, and checks consistency with the\n' +
    'checkpoint kept beside the database and, with --since, with one saved earlier (ideally somewhere\n' +
    'else: a transfer package, another machine). Any edited, removed or reordered event is reported with\n' +
    'its index: E_LOG_CORRUPT, exit 1. --out saves the verified checkpoint for the next --since; a --since\n' +
    'file that is no checkpoint at all is E_INPUT_MALFORMED (exit 3), one that does not verify a verdict.\n' +
    'Imports whose intent is recorded without their completion (stopped half-way) are listed as warnings.\n' +
    'With AIRLOCK_AUDIT_URL set, the shared trail in PostgreSQL is read instead (docs/audit.md, "On\n' +
    'PostgreSQL"): no key is needed, and a role that may only read will do.',
  flags: {
    since: {
      type: 'string',
      value: 'FILE',
      description: 'A checkpoint of this audit log saved earlier: the log must still extend it',
    },
    ...outFileFlags('Save the verified checkpoint (for a later --since)'),
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock audit verify --out /media/usb/audit.checkpoint',
      description: 'Check, and take the checkpoint away',
    },
    {
      command: 'airlock audit verify --since /media/usb/audit.checkpoint',
      description: 'Later: nothing before it was rewritten',
    },
  ],
  async run(ctx) {
    const sinceFlag = ctx.flags.string('since');
    const sincePath = sinceFlag === undefined ? undefined : resolve(ctx.cwd, sinceFlag);
    const since =
      sincePath === undefined
        ? undefined
        : (await readFileBounded(sincePath, MAX_NOTE_BYTES, 'a checkpoint')).toString('utf8');
    const shared = await sharedAuditTrail(ctx.env, 'read');
    const v = await verifyAuditLog(ctx.stateDir, {
      ...(since === undefined ? {} : { since }),
      ...(shared ? { shared } : {}),
    });
    const problems = v.problems.map((p) => (p.index === undefined ? p.problem : `event ${p.index}: ${p.problem}`));
    if (!v.ok) {
      for (const p of problems) ctx.out.info(`  ${p}`);
      throw new AirlockError(
        'E_LOG_CORRUPT',
        `the audit log in ${v.where} does not verify: ${problems.length} problem(s)`,
        {
          details: { problems: v.problems },
          hint: shared
            ? 'keep a dump of the database as it is now (pg_dump): it is the evidence'
            : 'keep a copy of the audit directory as it is now: it is the evidence',
        },
      );
    }
    const saved = outFile(ctx);
    const out = saved?.path;
    if (saved) await writeFileAtomic(saved.path, v.checkpoint, { overwrite: saved.overwrite });
    ctx.out.info(
      `Audit log ${v.origin}: ${counted(v.size, 'event')} verified (every event re-hashed, tree rebuilt, ` +
        `signed checkpoint matches${since === undefined ? '' : `, extends ${sinceFlag}`})`,
    );
    const keptWhere = shared ? 'in the database' : 'beside the log';
    ctx.out.info(`  key ${v.keyFingerprint} (as found ${keptWhere}: compare it with the one you recorded)`);
    if (out) ctx.out.info(`  checkpoint saved to ${out}`);
    // Not tampering, but state to act on: an import that recorded its intent and never its completion.
    const { incompleteImports } = await import('../../../transfer/import-journal.ts');
    const incomplete = incompleteImports(v.events);
    for (const i of incomplete) {
      ctx.out.warn(
        `incomplete import ${i.importId}: channel ${i.channel} package #${i.number}, intent ` +
          `recorded at event ${i.index} (${i.time}), ${i.tags.length} tag(s); \`airlock import ` +
          `--recover --registry HOST\` finishes it`,
      );
    }
    return {
      json: {
        ok: true,
        origin: v.origin,
        keyFingerprint: v.keyFingerprint,
        size: v.size,
        checkpoint: v.checkpoint,
        incompleteImports: incomplete,
        ...(sincePath === undefined ? {} : { since: sincePath }),
        ...(out ? { out } : {}),
      },
    };
  },
};
