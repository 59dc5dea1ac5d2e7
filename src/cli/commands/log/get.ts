// `airlock log get`: one entry, proven included in the latest signed checkpoint; Rekor v2 entries
// described for people.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { hashAlgorithmToJSON } from '@sigstore/protobuf-specs';
import { Entry } from '@sigstore/protobuf-specs/rekor/v2';
import { keyFingerprint } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import type { Command, CommandContext } from '../../command.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';
import { LOG_FLAGS, openLog } from '../../options/log.ts';
import { b64, PIN_EXAMPLE, summary } from './checkpoint-summary.ts';

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
