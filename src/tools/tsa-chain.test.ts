// The TSA certificate checks against certificates openssl made with each extension set (the valid one
// from makeTsaCertificate, the invalid ones by `openssl x509 -req` with other extensions), and
// makeTsaCertificate's own output held to RFC 3161 §2.3 by `openssl x509 -purpose` as well.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isAirlockError } from '../errors.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { makeTsaCertificate, opensslSubject } from './tsa-certificate.ts';
import {
  checkKeyMatches,
  checkTimestampingCertificate,
  parseTsaChain,
  readOpensslKey,
  refuseNonFileKey,
} from './tsa-chain.ts';

const run = promisify(execFile);
const dir = useTempDir('airlock-tsa-chain-');
const p = (name: string) => join(dir, name);
const NOW = new Date('2026-06-01T12:00:00Z');

const code = (c: string) => (err: unknown) => isAirlockError(err) && err.code === c;

let chain: X509Certificate[];
let keyPem: string;

/** A certificate for tsa.key, issued by the made root, with the extensions `ext` (openssl config lines). */
async function leafWith(name: string, ext: string): Promise<X509Certificate> {
  await writeFile(p(`${name}.ext`), `[ e ]\n${ext}\n`);
  await run('openssl', ['req', '-new', '-key', 'tsa.key', '-subj', `/CN=${name}`, '-out', `${name}.csr`], { cwd: dir });
  await run(
    'openssl',
    [
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-days', '1'],
      ...['-extfile', `${name}.ext`, '-extensions', 'e', '-out', `${name}.pem`],
    ],
    { cwd: dir },
  );
  return new X509Certificate(await readFile(p(`${name}.pem`)));
}

before(async () => {
  const made = await makeTsaCertificate({
    openssl: 'openssl',
    keyPath: undefined,
    subject: 'O=airlock test,CN=airlock test TSA',
    validityDays: 30,
    now: NOW,
  });
  assert.ok(made.keyPem);
  keyPem = made.keyPem;
  await writeFile(p('tsa.key'), keyPem, { mode: 0o600 });
  chain = parseTsaChain(made.chainPem.join(''), 'made');
  await writeFile(p('chain.pem'), made.chainPem.join(''));
  // A root whose key we keep, to issue the invalid variants below.
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'root.key'], {
    cwd: dir,
  });
  await run(
    'openssl',
    ['req', '-new', '-x509', '-key', 'root.key', '-subj', '/CN=variants root', '-days', '1', '-out', 'root.pem'],
    { cwd: dir },
  );
});

describe('makeTsaCertificate (no issuer)', () => {
  it('makes [TSA certificate, root] with the dates asked, its key, and the timeStamping purpose', async () => {
    assert.equal(chain.length, 2);
    const [leaf, root] = chain as [X509Certificate, X509Certificate];
    assert.equal(leaf.subject, 'O=airlock test\nCN=airlock test TSA');
    assert.equal(root.subject, 'O=airlock test\nCN=airlock test TSA root');
    assert.ok(root.ca && !leaf.ca);
    assert.equal(new Date(leaf.validFrom).toISOString(), NOW.toISOString());
    assert.equal(new Date(leaf.validTo).getTime(), NOW.getTime() + 30 * 86_400_000);
    assert.equal(root.validTo, leaf.validTo);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(keyPem)));
    checkTimestampingCertificate(leaf, 'made');
    // openssl's own reading: the certificate may sign timestamps, under the root.
    const { stdout } = await run(
      'openssl',
      ['x509', '-in', p('chain.pem'), '-noout', '-purpose', '-ext', 'extendedKeyUsage'],
      {
        cwd: dir,
      },
    );
    assert.match(stdout, /Time Stamp signing : Yes/);
    assert.match(stdout, /critical\n\s*Time Stamping\n/);
  });

  it('certifies an existing key under a given issuer, and refuses a validity past the issuer', async () => {
    const issuer = {
      certPath: p('root.pem'),
      keyPath: p('root.key'),
      chainPem: [await readFile(p('root.pem'), 'utf8')],
    };
    // The root was made for one day from when `before` ran: issue from that instant, not the clock's.
    const rootFrom = new Date(new X509Certificate(issuer.chainPem[0] as string).validFrom);
    const made = await makeTsaCertificate({
      openssl: 'openssl',
      keyPath: p('tsa.key'),
      subject: 'CN=issued TSA',
      issuer,
      validityDays: 1,
      now: rootFrom,
    });
    assert.equal(made.keyPem, undefined);
    const [leaf] = parseTsaChain(made.chainPem.join(''), 'issued');
    assert.ok(leaf?.checkIssued(new X509Certificate(issuer.chainPem[0] as string)));
    await assert.rejects(
      makeTsaCertificate({
        openssl: 'openssl',
        keyPath: p('tsa.key'),
        subject: 'CN=x',
        issuer,
        validityDays: 30,
        now: rootFrom,
      }),
      code('E_USAGE'),
    );
  });

  it('reads --subject as TYPE=VALUE pairs, and refuses anything else before openssl runs', () => {
    assert.deepEqual(opensslSubject('O=Example\\, Inc.,CN=TSA'), [
      ['O', 'Example, Inc.'],
      ['CN', 'TSA'],
    ]);
    for (const bad of ['CN', 'X=1', 'CN=a\nb', 'O=,CN=x'])
      assert.throws(() => opensslSubject(bad), code('E_USAGE'), bad);
  });
});

describe('checkTimestampingCertificate: RFC 3161 §2.3', () => {
  const refused = [
    ['no extended key usage', 'keyUsage = critical, digitalSignature'],
    ['a non-critical timeStamping', 'extendedKeyUsage = timeStamping'],
    ['timeStamping with another purpose', 'extendedKeyUsage = critical, timeStamping, codeSigning'],
    ['another purpose alone', 'extendedKeyUsage = critical, codeSigning'],
    ['key usage keyEncipherment', 'extendedKeyUsage = critical, timeStamping\nkeyUsage = keyEncipherment'],
    ['a CA', 'basicConstraints = critical, CA:TRUE\nextendedKeyUsage = critical, timeStamping'],
  ] as const;
  for (const [what, ext] of refused)
    it(`refuses ${what}`, async () => {
      const cert = await leafWith(what.replace(/\W+/g, '-'), ext);
      assert.throws(() => checkTimestampingCertificate(cert, 'chain.pem'), code('E_INPUT_MALFORMED'));
    });

  it('accepts the same issuance with the one critical timeStamping purpose', async () => {
    const cert = await leafWith(
      'good',
      'extendedKeyUsage = critical, timeStamping\nkeyUsage = critical, digitalSignature',
    );
    checkTimestampingCertificate(cert, 'chain.pem');
  });
});

describe('parseTsaChain, checkKeyMatches, readOpensslKey', () => {
  it('refuses a chain in the wrong order, a key in the chain file, and no certificate', async () => {
    const [leaf, root] = chain.map((c) => c.toString());
    assert.throws(() => parseTsaChain(`${root}${leaf}`, 'reversed'), code('E_INPUT_MALFORMED'));
    assert.throws(() => parseTsaChain(`${leaf}${keyPem}`, 'with key'), code('E_INPUT_MALFORMED'));
    assert.throws(() => parseTsaChain('', 'empty'), code('E_INPUT_MALFORMED'));
  });

  it("refuses a key that is not the TSA certificate's", async () => {
    const other = createPrivateKey(await readFile(p('root.key')));
    assert.throws(() => checkKeyMatches(chain[0] as X509Certificate, other, 'root.key'), code('E_KEY_MISMATCH'));
    checkKeyMatches(chain[0] as X509Certificate, createPrivateKey(keyPem), 'tsa.key');
  });

  it('only unencrypted key files: pkcs11: and schemes E_UNSUPPORTED, an encrypted key E_KEY_UNSUPPORTED', async () => {
    assert.throws(() => refuseNonFileKey('pkcs11:token=tsa;object=key', 'tsa serve'), code('E_UNSUPPORTED'));
    assert.throws(() => refuseNonFileKey('env://TSA_KEY', 'tsa serve'), code('E_UNSUPPORTED'));
    await run('openssl', ['pkey', '-in', 'tsa.key', '-aes256', '-passout', 'pass:secret', '-out', 'enc.key'], {
      cwd: dir,
    });
    await assert.rejects(readOpensslKey('enc.key', dir, 'tsa serve'), (err: unknown) => {
      assert.ok(isAirlockError(err) && err.code === 'E_KEY_UNSUPPORTED');
      assert.doesNotMatch(`${err.message} ${err.hint}`, /secret|BEGIN/);
      return true;
    });
    assert.equal((await readOpensslKey('tsa.key', dir, 'tsa serve')).path, p('tsa.key'));
  });
});
