// Key references: the one syntax every --key takes.
//   path/to/cosign.key | path/to/key.pem | path/to/cosign.pub   a file
//   env://VAR                                                   PEM text in an environment variable
//   pkcs11:token=...;object=...?pin-source=...                  a key inside an HSM (RFC 7512)
//   gcpkms:// awskms:// azurekms:// hashivault:// k8s://         recognised, refused: not supported
import type { KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { createKeyObjectSigner } from './key-object-signer.ts';
import { loadPrivateKeyPem, loadPublicKeyPem, type PasswordSource, signingAlgorithmFor } from './keys.ts';
import type { Signer, SigningAlgorithm } from './signer.ts';
import { readInputText } from '../files/read-file.ts';

export type KeyRef =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'pkcs11'; readonly uri: string }
  | { readonly kind: 'unsupported'; readonly scheme: string };

const UNSUPPORTED_SCHEMES = ['gcpkms', 'awskms', 'azurekms', 'hashivault', 'k8s', 'gitlab'];

export function parseKeyRef(text: string): KeyRef {
  if (text === '') throw new AirlockError('E_USAGE', '--key is empty');
  if (text.startsWith('pkcs11:')) return { kind: 'pkcs11', uri: text };
  const scheme = /^([a-z0-9]+):\/\//.exec(text)?.[1];
  if (scheme === 'env') {
    const variable = text.slice('env://'.length);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable))
      throw new AirlockError('E_USAGE', `env:// needs a variable name, got '${variable}'`);
    return { kind: 'env', variable };
  }
  if (scheme && UNSUPPORTED_SCHEMES.includes(scheme)) return { kind: 'unsupported', scheme };
  if (scheme) throw new AirlockError('E_USAGE', `unknown key reference scheme '${scheme}://'`, { hint: KEY_REF_HINT });
  return { kind: 'file', path: text };
}

const KEY_REF_HINT = 'a key reference is a file path, env://VAR, or a pkcs11: URI';

export interface KeyContext {
  /** Environment, passed in: env:// lookups, AIRLOCK_PKCS11_MODULE, AIRLOCK_PKCS11_PIN. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly password: PasswordSource;
  /** Non-fatal notices for the user (an unencrypted key, a PIN in the URI). */
  readonly warn: (message: string) => void;
}

function refuseUnsupported(scheme: string): never {
  throw new AirlockError('E_KEY_REF_UNSUPPORTED', `${scheme}:// keys are not supported by airlock`, {
    hint:
      'cloud KMS and Vault are out of reach in an air gap; keep the key in an HSM and use a ' +
      'pkcs11: URI, or a key file',
  });
}

async function readKeyText(ref: KeyRef, ctx: KeyContext): Promise<{ text: string; what: string }> {
  if (ref.kind === 'env') {
    const text = ctx.env[ref.variable];
    if (text === undefined || text === '') {
      throw new AirlockError('E_INPUT_MISSING', `environment variable ${ref.variable} is not set or empty`);
    }
    return { text, what: `env://${ref.variable}` };
  }
  if (ref.kind !== 'file') throw new Error(`readKeyText: ${ref.kind}`);
  return { text: await readInputText(ref.path, 'a key file', 1024 * 1024), what: ref.path };
}

async function openPkcs11(uriText: string, ctx: KeyContext): Promise<Signer> {
  // Loaded on demand: the native pkcs11js addon is only needed by HSM users.
  const [{ parsePkcs11Uri }, { openPkcs11Signer }] = await Promise.all([
    import('./pkcs11-uri.ts'),
    import('./pkcs11-signer.ts'),
  ]);
  const uri = parsePkcs11Uri(uriText);
  if (uri.pinValue !== undefined) {
    ctx.warn(
      'the pkcs11: URI carries pin-value=; it is visible in the process list: prefer pin-source= or AIRLOCK_PKCS11_PIN',
    );
  }
  return openPkcs11Signer(uri, { modulePath: ctx.env.AIRLOCK_PKCS11_MODULE, pin: ctx.env.AIRLOCK_PKCS11_PIN });
}

/** Opens a Signer for any key reference. The caller closes it. */
export async function loadSigner(refText: string, ctx: KeyContext, preferred?: SigningAlgorithm): Promise<Signer> {
  const ref = parseKeyRef(refText);
  if (ref.kind === 'unsupported') refuseUnsupported(ref.scheme);
  if (ref.kind === 'pkcs11') return openPkcs11(ref.uri, ctx);
  const { text, what } = await readKeyText(ref, ctx);
  const { privateKey, encrypted } = await loadPrivateKeyPem(text, what, ctx.password);
  if (!encrypted)
    ctx.warn(`${what} is an unencrypted private key; protect it, or re-create it with 'airlock key generate'`);
  const algorithm = signingAlgorithmFor(privateKey, preferred);
  return createKeyObjectSigner(privateKey, algorithm, ref.kind === 'file' ? `key file ${what}` : what);
}

/** The public key of any key reference (a .pub, a private key, env://, or a token's key). */
export async function loadPublicKey(refText: string, ctx: KeyContext): Promise<KeyObject> {
  const ref = parseKeyRef(refText);
  if (ref.kind === 'unsupported') refuseUnsupported(ref.scheme);
  if (ref.kind === 'pkcs11') {
    const signer = await openPkcs11(ref.uri, ctx);
    try {
      return signer.publicKey;
    } finally {
      await signer.close();
    }
  }
  const { text, what } = await readKeyText(ref, ctx);
  return loadPublicKeyPem(text, what, ctx.password);
}
