import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../errors.ts';
import { findExecutable } from '../tools/external.ts';
import { generateWebhookTls, serviceDnsNames } from './webhook-tls.ts';

const openssl = await findExecutable('openssl', process.env.PATH);
const DAY = 24 * 3600 * 1000;

describe('webhook TLS', { skip: openssl ? false : 'openssl not on PATH' }, () => {
  const dir = useTempDir('airlock-webhook-tls-');
  const options = (sub: string, overwrite = false) => ({
    openssl: openssl ?? '',
    dir: join(dir, sub),
    service: 'airlock-admission',
    namespace: 'airlock-system',
    overwrite,
  });

  it('a serving certificate for the Service names, signed by a one-year P-256 CA; the key matches', async () => {
    const made = await generateWebhookTls(options('a'));
    const ca = new X509Certificate(await readFile(join(dir, 'a', 'ca.crt')));
    const cert = new X509Certificate(await readFile(join(dir, 'a', 'tls.crt')));
    const key = await readFile(join(dir, 'a', 'tls.key'), 'utf8');
    assert.equal(made.caCert, ca.toString());
    assert.equal(made.key, key);
    assert.ok(ca.ca);
    assert.ok(!cert.ca);
    assert.ok(cert.verify(ca.publicKey), 'tls.crt verifies against ca.crt');
    assert.ok(!ca.verify(cert.publicKey));
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.checkPrivateKey(createPrivateKey(key)), 'tls.key is the key of tls.crt');
    assert.ok(!ca.checkPrivateKey(createPrivateKey(key)));
    assert.deepEqual(made.dnsNames, [
      'airlock-admission',
      'airlock-admission.airlock-system',
      'airlock-admission.airlock-system.svc',
      'airlock-admission.airlock-system.svc.cluster.local',
    ]);
    for (const name of serviceDnsNames('airlock-admission', 'airlock-system')) assert.equal(cert.checkHost(name), name);
    assert.equal(cert.checkHost('other.airlock-system.svc'), undefined);
    assert.ok(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
    for (const c of [ca, cert]) {
      assert.equal(c.publicKey.asymmetricKeyType, 'ec');
      assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const days = (Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY;
      assert.ok(days >= 364 && days <= 366, `${days} days`);
    }
    assert.notEqual(ca.serialNumber, cert.serialNumber);
  });

  it('the key is 0600, the certificates 0644, and no CA key or working file is left', async () => {
    await generateWebhookTls(options('b'));
    const mode = async (name: string) => (await stat(join(dir, 'b', name))).mode & 0o777;
    assert.equal(await mode('tls.key'), 0o600);
    assert.equal(await mode('tls.crt'), 0o644);
    assert.equal(await mode('ca.crt'), 0o644);
    assert.deepEqual((await readdir(join(dir, 'b'))).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  });

  it('refuses to overwrite existing files without overwrite, and replaces them with it', async () => {
    const first = await generateWebhookTls(options('c'));
    await assert.rejects(generateWebhookTls(options('c')), (e) => isAirlockError(e, 'E_OUTPUT_EXISTS'));
    assert.equal(await readFile(join(dir, 'c', 'tls.key'), 'utf8'), first.key, 'untouched');
    const second = await generateWebhookTls(options('c', true));
    assert.notEqual(second.key, first.key);
    assert.equal(await readFile(join(dir, 'c', 'ca.crt'), 'utf8'), second.caCert);
  });

  it('no private key and no key file content is ever on the openssl command line', async () => {
    const log = join(dir, 'argv.log');
    const wrapper = join(dir, 'logging-openssl');
    await writeFile(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\nexec '${openssl}' "$@"\n`, { mode: 0o755 });
    const made = await generateWebhookTls({ ...options('f'), openssl: wrapper });
    const argv = await readFile(log, 'utf8');
    assert.match(argv, /^genpkey$/m, 'the wrapper saw the calls');
    assert.doesNotMatch(argv, /PRIVATE KEY|-pass|pass:/);
    const keyBody = made.key.split('\n')[1] ?? '';
    assert.ok(keyBody.length > 20 && !argv.includes(keyBody));
  });

  it('a failing openssl is E_UNAVAILABLE and leaves nothing behind', async () => {
    const failing = join(dir, 'false-openssl');
    await writeFile(failing, '#!/bin/sh\necho "no such curve" >&2\nexit 1\n', { mode: 0o755 });
    await assert.rejects(
      generateWebhookTls({ ...options('e'), openssl: failing }),
      (e) => isAirlockError(e, 'E_UNAVAILABLE') && /no such curve/.test(e.message),
    );
    assert.deepEqual(await readdir(join(dir, 'e')), []);
  });
});
