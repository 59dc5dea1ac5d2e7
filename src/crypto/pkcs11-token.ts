// Finding the token a pkcs11: URI names and logging in to it. The PIN only ever travels from its
// source to C_Login: it is never part of a message, a detail or a description.
import { readFile as fsReadFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pkcs11js from 'pkcs11js';
import { AirlockError, fromFsError } from '../errors.ts';
import { ckrName, type Pkcs11Handle, type Pkcs11Lib, pkcs11Failure, readUlong } from './pkcs11-module.ts';
import type { Pkcs11Uri } from './pkcs11-uri.ts';

export interface SelectedToken {
  readonly slot: Pkcs11Handle;
  /** The token label without its blank padding. */
  readonly label: string;
  readonly flags: number;
}

function selectorText(uri: Pkcs11Uri): string {
  const parts = [
    uri.token !== undefined ? `token "${uri.token}"` : undefined,
    uri.serial !== undefined ? `serial "${uri.serial}"` : undefined,
    uri.slotId !== undefined ? `slot-id ${uri.slotId}` : undefined,
    uri.manufacturer !== undefined ? `manufacturer "${uri.manufacturer}"` : undefined,
    uri.model !== undefined ? `model "${uri.model}"` : undefined,
  ];
  return parts.filter((p) => p !== undefined).join(', ');
}

/** The one slot whose token matches every token attribute of the URI. */
export function selectToken(lib: Pkcs11Lib, uri: Pkcs11Uri, modulePath: string): SelectedToken {
  let present: Array<SelectedToken & { serial: string; manufacturer: string; model: string; id: bigint }>;
  try {
    present = lib.C_GetSlotList(true).map((slot) => {
      const info = lib.C_GetTokenInfo(slot);
      return {
        slot,
        label: info.label.trimEnd(),
        flags: info.flags,
        serial: info.serialNumber.trimEnd(),
        manufacturer: info.manufacturerID.trimEnd(),
        model: info.model.trimEnd(),
        id: readUlong(slot),
      };
    });
  } catch (err) {
    throw pkcs11Failure(err, 'list its tokens');
  }
  // Free slots (SoftHSM keeps one, card readers with blank cards) hold no keys worth listing.
  const initialized = present.filter((t) => (t.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0);
  const matches = initialized.filter(
    (t) =>
      (uri.token === undefined || t.label === uri.token) &&
      (uri.serial === undefined || t.serial === uri.serial) &&
      (uri.slotId === undefined || t.id === uri.slotId) &&
      (uri.manufacturer === undefined || t.manufacturer === uri.manufacturer) &&
      (uri.model === undefined || t.model === uri.model),
  );
  const listing = initialized.map((t) => `"${t.label}" (serial ${t.serial}, slot-id ${t.id})`).join(', ');
  const [match, second] = matches;
  if (!match) {
    throw new AirlockError('E_PKCS11', `no token with ${selectorText(uri)} in PKCS#11 module ${modulePath}`, {
      hint:
        initialized.length > 0
          ? `tokens present: ${listing}`
          : 'the module has no initialized token: is the HSM connected and configured?',
      details: { modulePath, tokens: initialized.map((t) => t.label) },
    });
  }
  if (second) {
    throw new AirlockError('E_PKCS11', `more than one token matches ${selectorText(uri)}`, {
      hint: `add serial= or slot-id= to the URI; tokens present: ${listing}`,
    });
  }
  return { slot: match.slot, label: match.label, flags: match.flags };
}

export interface PinOptions {
  readonly pin?: string;
  readonly readFile?: (path: string) => Promise<string>;
}

/** The PIN from pin-value, else pin-source (a file: URI or a path), else the caller's; undefined if none. */
export async function resolvePin(uri: Pkcs11Uri, options: PinOptions): Promise<string | undefined> {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinSource === undefined) return options.pin;
  const source = uri.pinSource;
  if (source.startsWith('|')) {
    throw new AirlockError('E_PKCS11', 'pin-source commands (|program) are not supported', {
      hint: 'write the PIN to a file readable only by you and give pin-source=file:/path',
    });
  }
  let path: string;
  try {
    path = source.startsWith('file:') ? fileURLToPath(new URL(source)) : source;
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `pkcs11 URI pin-source '${source}' is not a usable file URI`, {
      cause: err,
    });
  }
  const read = options.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw fromFsError(err, path);
  }
  // Files written with `echo` end in a newline that is not part of the PIN.
  return text.replace(/\r?\n$/, '');
}

/** Logs the session's user in when the token wants it; a PIN pad token is given no PIN. */
export function login(lib: Pkcs11Lib, session: Pkcs11Handle, token: SelectedToken, pin: string | undefined): void {
  const pinPad = (token.flags & pkcs11js.CKF_PROTECTED_AUTHENTICATION_PATH) !== 0;
  if (pin === undefined && !pinPad) {
    if ((token.flags & pkcs11js.CKF_LOGIN_REQUIRED) === 0) return;
    throw new AirlockError('E_PKCS11', `token "${token.label}" requires a PIN and none was given`, {
      hint: 'add pin-source=file:/path/to/pin to the URI, or set AIRLOCK_PKCS11_PIN',
    });
  }
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (err) {
    // Login state is per token and application: another signer in this process already logged in.
    if (ckrName(err) === 'CKR_USER_ALREADY_LOGGED_IN') return;
    throw pkcs11Failure(err, 'log in', token.label);
  }
}
