// CA material for the tests of src/ca/: in-memory signers of every kind the CA accepts, roots and
// intermediates made by airlock's own builder, a Fulcio-like principal, and the openssl CLI as an
// independent judge of what was built.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCaCertificate } from '../../src/ca/ca-certificate.ts';
import { type IssuedCertificate, type IssuingCa, issueCertificate } from '../../src/ca/certificate.ts';
import type { Principal } from '../../src/ca/identity.ts';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { signingAlgorithmFor } from '../../src/crypto/keys.ts';
import type { Signer } from '../../src/crypto/signer.ts';
import { type AirlockError, isAirlockError } from '../../src/errors.ts';

const run = promisify(execFile);

export type TestKeyKind = 'P-256' | 'P-384' | 'ed25519' | 'rsa-2048';

export function generateTestKey(kind: TestKeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  if (kind === 'ed25519') return generateKeyPairSync('ed25519');
  if (kind === 'rsa-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  return generateKeyPairSync('ec', { namedCurve: kind });
}

export function testSigner(kind: TestKeyKind, description = `test ${kind} key`): Signer {
  return testKeyAndSigner(kind, description).signer;
}

function testKeyAndSigner(kind: TestKeyKind, description: string): { signer: Signer; privateKeyPem: string } {
  const { privateKey } = generateTestKey(kind);
  return {
    signer: createKeyObjectSigner(privateKey, signingAlgorithmFor(privateKey), description),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export interface TestCa extends IssuingCa {
  readonly rootPem: string;
  /** The issuing CA's key as an unencrypted PKCS#8 PEM, for tests that need it in a file. */
  readonly privateKeyPem: string;
  readonly rootPrivateKeyPem: string;
}

/** A root (and, with `intermediate`, an intermediate under it) valid from `now` for a year. */
export async function makeTestCa(
  options: { root?: TestKeyKind; intermediate?: TestKeyKind; now?: Date } = {},
): Promise<TestCa> {
  const now = options.now ?? new Date();
  const { signer: rootSigner, privateKeyPem: rootPrivateKeyPem } = testKeyAndSigner(
    options.root ?? 'P-256',
    'test root key',
  );
  const rootPem = await createCaCertificate({
    signer: rootSigner,
    subject: 'O=airlock test,CN=test root',
    validityDays: 365,
    now,
    serial: randomBytes(20),
  });
  const root = new X509Certificate(rootPem);
  if (!options.intermediate) {
    const privateKeyPem = rootPrivateKeyPem;
    return { signer: rootSigner, certificate: root, chainPem: [rootPem], rootPem, privateKeyPem, rootPrivateKeyPem };
  }
  const { signer, privateKeyPem } = testKeyAndSigner(options.intermediate, 'test intermediate key');
  const pem = await createCaCertificate({
    signer,
    subject: 'O=airlock test,CN=test intermediate',
    validityDays: 180,
    now,
    serial: randomBytes(20),
    issuer: { signer: rootSigner, certificate: root },
  });
  const certificate = new X509Certificate(pem);
  return { signer, certificate, chainPem: [pem, rootPem], rootPem, privateKeyPem, rootPrivateKeyPem };
}

export const ISSUER_URL = 'https://issuer.airlock.test';

/** A principal as the OIDC part maps a Kubernetes service-account token. */
export function testPrincipal(san: Principal['san'] = { kind: 'email', value: 'dev@airlock.test' }): Principal {
  const subject = san.kind === 'email' ? 'dev-subject' : san.value;
  return {
    issuer: ISSUER_URL,
    subject,
    challenge: san.kind === 'email' ? san.value : subject,
    san,
    extensions: [
      { oid: '1.3.6.1.4.1.57264.1.1', encoding: 'raw', value: ISSUER_URL },
      { oid: '1.3.6.1.4.1.57264.1.8', encoding: 'der-utf8', value: ISSUER_URL },
      { oid: '1.3.6.1.4.1.57264.1.24', encoding: 'der-utf8', value: subject },
    ],
  };
}

/** A leaf for a fresh P-256 key and testPrincipal(), valid 10 minutes from `notBefore`. */
export function issueTestLeaf(ca: IssuingCa, notBefore = new Date()): Promise<IssuedCertificate> {
  return issueCertificate(ca, {
    publicKey: generateTestKey('P-256').publicKey,
    principal: testPrincipal(),
    notBefore,
    validitySeconds: 600,
    serial: randomBytes(20),
  });
}

/** The AirlockError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function airlockRejection(promise: Promise<unknown>): Promise<AirlockError> {
  const err = await promise.then(
    () => assert.fail('expected an AirlockError, but it succeeded'),
    (e: unknown) => e,
  );
  assert.ok(isAirlockError(err), String(err));
  return err;
}

/** Runs openssl; resolves with stdout, rejects with stderr in the message. */
export async function openssl(args: string[]): Promise<string> {
  try {
    return (await run('openssl', args, { encoding: 'utf8' })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

/**
 * `openssl verify` of `leafPem` under the chain (root last, trusted; the rest untrusted), strict
 * RFC 5280 checks on; rejects with openssl's reason.
 */
export async function opensslVerify(dir: string, leafPem: string, chainPem: readonly string[]): Promise<string> {
  const name = (n: string) => join(dir, `${randomBytes(4).toString('hex')}-${n}.pem`);
  const [rootFile, untrustedFile, leafFile] = [name('root'), name('untrusted'), name('leaf')];
  await writeFile(rootFile, chainPem.at(-1) ?? '');
  await writeFile(leafFile, leafPem);
  const untrusted = chainPem.slice(0, -1);
  if (untrusted.length > 0) await writeFile(untrustedFile, untrusted.join(''));
  return openssl([
    'verify',
    '-x509_strict',
    '-purpose',
    'any',
    '-CAfile',
    rootFile,
    ...(untrusted.length > 0 ? ['-untrusted', untrustedFile] : []),
    leafFile,
  ]);
}
