// `airlock log info|get|verify|witness`: clients of a C2SP tlog-tiles log (ours, or any other) that
// trust only the log key the user pinned, and a pull-mode Ed25519 witness that cosigns a checkpoint
// (C2SP tlog-cosignature) only after proving it extends the last one it cosigned for that origin.
// Proofs come from the log's tiles, verified in src/log/tile-client.ts.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { hashAlgorithmToJSON } from '@sigstore/protobuf-specs';
import { Entry } from '@sigstore/protobuf-specs/rekor/v2';
import { keyFingerprint } from '../../crypto/keys.ts';
import { AirlockError, isAirlockError } from '../../errors.ts';
import { pathExists, writeFileAtomic } from '../../files/atomic-write.ts';
import { encodeCosignerKey, parseCosignerKey, verifyWitnessQuorum, type WitnessQuorum } from '../../log/cosignature.ts';
import { keyIdHex } from '../../log/note.ts';
import { openCheckpointFrom, type VerifiedCheckpoint } from '../../log/tile-client.ts';
import { cosignLatestCheckpoint, type PulledCosignature } from '../../log/pull-witness.ts';
import type { Command, CommandContext } from '../command.ts';
import { outFile, outFileFlags } from '../options/out-file.ts';
import { vkeyText } from '../vkey-text.ts';
import { readInputFile } from '../../files/read-file.ts';
import { keySigner } from '../options/key.ts';
import { LOG_FLAGS, openLog } from '../options/log.ts';
import { WITNESS_FLAGS, witnessIdentity } from '../options/witness.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function summary(head: VerifiedCheckpoint, url: string) {
  const { origin, size, rootHash } = head.checkpoint;
  return { url, origin, size, root: b64(rootHash) };
}

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

// ---------------------------------------------------------------------------------------------------
// log get

const DIGEST_NAMES: Readonly<Record<string, string>> = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' };

/** What a Rekor v2 entry says, for people; undefined for entries of other formats (the log takes any bytes). */
function describeEntry(bytes: Uint8Array): Record<string, string> | undefined {
  let entry: Entry;
  try {
    entry = Entry.fromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    return undefined;
  }
  if (!entry.kind) return undefined;
  const spec = entry.spec?.spec;
  if (spec?.$case !== 'hashedRekordV002') return { kind: entry.kind, apiVersion: entry.apiVersion };
  const { data, signature } = spec.hashedRekordV002;
  const verifier = signature?.verifier?.verifier;
  const described: Record<string, string> = { kind: entry.kind, apiVersion: entry.apiVersion };
  if (data)
    described.digest =
      `${DIGEST_NAMES[hashAlgorithmToJSON(data.algorithm)] ?? hashAlgorithmToJSON(data.algorithm)}` +
      `:${data.digest.toString('hex')}`;
  try {
    if (verifier?.$case === 'publicKey') {
      const key = createPublicKey({ key: verifier.publicKey.rawBytes, format: 'der', type: 'spki' });
      Object.assign(described, { keyType: key.asymmetricKeyType ?? 'unknown', keyFingerprint: keyFingerprint(key) });
    } else if (verifier?.$case === 'x509Certificate') {
      const cert = new X509Certificate(verifier.x509Certificate.rawBytes);
      Object.assign(described, {
        certificateSubject: cert.subject.replaceAll('\n', ', '),
        keyFingerprint: keyFingerprint(cert.publicKey),
      });
    }
  } catch {
    described.verifier = 'unreadable';
  }
  return described;
}

// Entries (and what they decode to) are whatever a log was sent: nothing in them may reach a terminal
// as a control character. \p{Cc} is C0, DEL and C1 (U+0080–U+009F: U+009B is an 8-bit CSI).
/** Text a terminal would act on, other than tab, newline, carriage return and form feed. */
const hasControls = (text: string) => /[^\P{Cc}\t\n\f\r]/u.test(text);
/** One value for a one-line field: control characters shown as \uXXXX escapes. */
const printable = (text: string) =>
  text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

async function get(ctx: CommandContext) {
  const text = ctx.positionals[1] ?? '';
  const index = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(index))
    throw new AirlockError('E_USAGE', `INDEX must be a whole number, got '${text}'`);
  const { client } = await openLog(ctx);
  const head = await client.latest();
  const { entry, leafHash, proof } = await head.entry(index);
  const described = describeEntry(entry);
  const saved = outFile(ctx);
  const file = saved?.path;
  if (saved) await writeFileAtomic(saved.path, entry, { overwrite: saved.overwrite });
  const { out } = ctx;
  const { origin, size } = head.checkpoint;
  out.info(
    `Entry ${index} of ${origin}: included in the signed checkpoint at size ${size} (proof of ` +
      `${proof.length} hashes verified)`,
  );
  for (const [k, v] of Object.entries(described ?? { format: 'not a Rekor v2 entry' }))
    out.info(`  ${k.padEnd(18)} ${printable(v)}`);
  out.info(`  ${'leaf hash'.padEnd(18)} ${b64(leafHash)}`);
  if (file) out.info(`  ${'saved'.padEnd(18)} ${file}`);
  const utf8 = entry.toString('utf8');
  // Exact bytes go to --out; the terminal gets text, or base64 when the entry is not text.
  out.data(Buffer.from(utf8, 'utf8').equals(entry) && !hasControls(utf8) ? utf8 : entry.toString('base64'));
  return {
    json: {
      ...summary(head, client.url),
      index,
      entry: b64(entry),
      leafHash: b64(leafHash),
      proof: proof.map(b64),
      ...(described ? { decoded: described } : {}),
      checkpoint: head.note,
      ...(file ? { out: file } : {}),
    },
  };
}

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

// ---------------------------------------------------------------------------------------------------

const PIN_EXAMPLE = '--vkey /var/lib/airlock-log/log.vkey';

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

export const logGetCommand: Command = {
  name: 'log get',
  summary: 'One log entry, with its inclusion proof built from the tiles and verified',
  usage: 'URL INDEX (--vkey VKEY|FILE | --log-key FILE.pub --origin NAME) [--out FILE]',
  description:
    'Reads entry INDEX from the entry bundle, checks it against its leaf in the verified tiles, and proves\n' +
    'its inclusion in the latest signed checkpoint. The entry is printed on stdout (text, or base64);\n' +
    'Rekor v2 hashedrekord entries are also decoded (digest, signing key fingerprint) on stderr.',
  flags: {
    ...LOG_FLAGS,
    ...outFileFlags('Write the entry bytes to FILE'),
  },
  positionals: { min: 2, max: 2 },
  examples: [
    { command: `airlock log get http://rekor.internal:3000 42 ${PIN_EXAMPLE}`, description: 'Entry 42, verified' },
    {
      command: `airlock log get http://rekor.internal:3000 42 ${PIN_EXAMPLE} --json | jq .decoded`,
      description: 'As JSON, with the proof',
    },
  ],
  run: get,
};

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
