// PEM armour (RFC 7468): the textual wrapper around DER. Only the armour lives here; what is inside is
// parsed by node:crypto or the format modules.
import { AirlockError } from '../errors.ts';

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. Headers (Proc-Type etc.) are not supported and rejected. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const type = m[1] ?? '';
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new AirlockError('E_INPUT_MALFORMED', `PEM block ${type} has headers or bad base64`);
    }
    blocks.push({ type, der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** The single PEM block in `text`; E_INPUT_MALFORMED when there is none or more than one. */
export function parseSinglePem(text: string, what: string): PemBlock {
  const blocks = parsePemBlocks(text);
  const first = blocks[0];
  if (!first) throw new AirlockError('E_INPUT_MALFORMED', `${what} is not PEM: no BEGIN/END block found`);
  if (blocks.length > 1)
    throw new AirlockError('E_INPUT_MALFORMED', `${what} holds ${blocks.length} PEM blocks, expected one`);
  return first;
}

/** Go's pem.EncodeToMemory layout: 64-column base64, trailing newline, no headers. */
export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${type}-----\n`;
}
