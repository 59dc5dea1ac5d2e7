// The log group of the log clients (log info, get, verify, witness): the log key the user pins (a
// vkey, or a public key with the log's origin; never one the log offers) and a request timeout, mapped
// to a tile client of the log URL that trusts only that key.
import { loadPublicKey } from '../../crypto/key-ref.ts';
import { AirlockError } from '../../errors.ts';
import { type NoteVerifier } from '../../log/note.ts';
import { noteVerifierFor, parseVerifierKey } from '../../log/note-keys.ts';
import { TileClient } from '../../log/tile-client.ts';
import type { Flags, FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';
import { httpUrl } from '../http-url.ts';
import { vkeyText } from '../vkey-text.ts';
import { SERVICE_TIMEOUT_MS } from '../../net/http/exchange.ts';

export const LOG_FLAGS = {
  vkey: {
    type: 'string',
    value: 'VKEY|FILE',
    description: "The log's verifier key (name+id+key), or a file holding it (log serve writes DATA/log.vkey)",
  },
  'log-key': {
    type: 'string',
    value: 'REF',
    description: "The log's public key instead (e.g. DATA/log.pub); needs --origin",
  },
  origin: {
    type: 'string',
    value: 'NAME',
    description: "The log's origin (the name in its checkpoints), with --log-key",
  },
  timeout: {
    type: 'string',
    value: 'SECONDS',
    description: 'Per-request timeout',
    default: String(SERVICE_TIMEOUT_MS / 1000),
  },
} as const satisfies FlagSpecs;

const PIN_HINT =
  '`airlock log serve` writes both into its data folder (log.vkey, log.pub): copy them from the ' +
  "log's operator; a key the log itself offers is never trusted";

type LogKeyPin =
  { readonly vkey: string; readonly origin?: string } | { readonly keyRef: string; readonly origin: string };

/** Which log key the flags pin; refuses none (no trust on first use) and refuses two. */
function logKeyPin(flags: Flags): LogKeyPin {
  const vkey = flags.string('vkey');
  const keyRef = flags.string('log-key');
  const origin = flags.string('origin');
  if (vkey !== undefined && keyRef !== undefined)
    throw new AirlockError('E_USAGE', 'give the log key once: --vkey, or --log-key with --origin');
  if (vkey !== undefined) return origin === undefined ? { vkey } : { vkey, origin };
  if (keyRef === undefined)
    throw new AirlockError('E_USAGE', "pin the log's key: --vkey VKEY|FILE, or --log-key FILE.pub --origin NAME", {
      hint: PIN_HINT,
    });
  if (origin === undefined)
    throw new AirlockError(
      'E_USAGE',
      '--log-key needs --origin NAME: a checkpoint signature covers the key together with the log name',
    );
  return { keyRef, origin };
}

async function pinnedLogVerifier(ctx: CommandContext): Promise<NoteVerifier> {
  const pin = logKeyPin(ctx.flags);
  if ('keyRef' in pin) return noteVerifierFor(pin.origin, await loadPublicKey(pin.keyRef, keyContext(ctx)));
  const key = parseVerifierKey(await vkeyText(ctx, pin.vkey));
  if (pin.origin !== undefined && pin.origin !== key.name)
    throw new AirlockError('E_USAGE', `--origin ${pin.origin} is not the name of the --vkey given (${key.name})`);
  return key.verifier;
}

/** A client of the log URL (the first argument) that trusts only the pinned key. */
export async function openLog(ctx: CommandContext): Promise<{ client: TileClient; verifier: NoteVerifier }> {
  const url = httpUrl(ctx.positionals[0] ?? '', 'the log URL', {
    prefix: true,
    hint: 'e.g. http://rekor.internal:3000 (or https://host/api/v2 for a Rekor v2 log)',
  });
  const verifier = await pinnedLogVerifier(ctx);
  return {
    client: new TileClient(url, verifier, {
      timeoutMs: ctx.flags.int('timeout', SERVICE_TIMEOUT_MS / 1000, 1, 3600) * 1000,
    }),
    verifier,
  };
}
