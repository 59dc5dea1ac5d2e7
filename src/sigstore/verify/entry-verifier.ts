// A Rekor v2 entry names the key (or certificate) its signature verifies with. @sigstore/verify checks
// the entry's signature and digest against the bundle but not that verifier, so a log that wrote an
// entry under another key would pass; cosign and sigstore-go refuse it. Checked here: every v2
// hashedrekord or dsse entry must name the key that verified the bundle (a certificate counts by its key).
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { Checks } from './report.ts';

interface VerifierJson {
  readonly publicKey?: { readonly rawBytes?: string };
  readonly x509Certificate?: { readonly rawBytes?: string };
}

function refuse(logIndex: string, why: string): AirlockError {
  return new AirlockError('E_TLOG_ENTRY', `log entry ${bounded(logIndex, 24)}: ${why}`, {
    hint: 'the log recorded this signature under another key than the one that made it: do not trust the entry',
  });
}

/** The verifiers a v0.0.2 entry body names; undefined for kinds and versions this check does not cover. */
function verifiersOf(body: unknown): VerifierJson[] | undefined {
  const spec = (body as { spec?: Record<string, unknown> } | null)?.spec;
  const hashed = spec?.hashedRekordV002 as { signature?: { verifier?: VerifierJson } } | undefined;
  if (hashed) return hashed.signature?.verifier ? [hashed.signature.verifier] : [];
  const dsse = spec?.dsseV002 as { signatures?: Array<{ verifier?: VerifierJson }> } | undefined;
  if (dsse) return (dsse.signatures ?? []).flatMap((s) => (s.verifier ? [s.verifier] : []));
  return undefined;
}

function keyOf(verifier: VerifierJson): KeyObject | undefined {
  try {
    const cert = verifier.x509Certificate?.rawBytes;
    if (cert) return new X509Certificate(Buffer.from(cert, 'base64')).publicKey;
    const spki = verifier.publicKey?.rawBytes;
    if (spki) return createPublicKey({ key: Buffer.from(spki, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  return undefined;
}

export function checkEntryVerifiers(bundle: Bundle, signerKey: KeyObject, checks: Checks): void {
  let checked = 0;
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    if (entry.kindVersion?.version !== '0.0.2') continue;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString('utf8'));
    } catch {
      throw refuse(entry.logIndex, 'its body is not JSON');
    }
    const verifiers = verifiersOf(body);
    if (verifiers === undefined) continue;
    if (!verifiers.some((v) => keyOf(v)?.equals(signerKey)))
      throw refuse(entry.logIndex, 'it names another verifier than the key or certificate that signed the bundle');
    checked++;
  }
  if (checked > 0) checks.pass('log entry verifier', { entries: checked });
}
