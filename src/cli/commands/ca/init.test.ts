// `airlock ca init` through the CLI, with keys made by `airlock key generate`: a root, an intermediate
// under it that `loadIssuingCa` (what `ca serve` runs) accepts, and the usage mistakes.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { issueTestLeaf, opensslVerify } from '../../../../test/helpers/airlock-ca.ts';
import { runCli } from '../../../../test/helpers/cli.ts';
import { useTempDir } from '../../../../test/helpers/temp-dir.ts';
import { loadIssuingCa } from '../../../ca/issuing-ca.ts';
import { parsePemBlocks } from '../../../crypto/pem.ts';

const dir = useTempDir('airlock-ca-init-');
const env = { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') };
const at = (name: string) => join(dir, name);
const ca = (args: string[]) => runCli(['ca', 'init', ...args], { env });

describe('airlock ca init', () => {
  before(async () => {
    for (const name of ['root', 'signing', 'other']) {
      const made = await runCli(['key', 'generate', '--output-key-prefix', at(name)], { env });
      assert.equal(made.code, 0, made.stderr);
    }
  });

  it('writes a root, then an intermediate chain that the CA server loads and issues under', async () => {
    const root = await ca(['--key', at('root.key'), '--subject', 'O=airlock test,CN=cli root', '-o', at('root.pem')]);
    assert.equal(root.code, 0, root.stderr);
    assert.match(root.stderr, /CA certificate \(root\) O=airlock test,CN=cli root written to/);
    const made = await ca([
      ...['--key', at('signing.key'), '--subject', 'O=airlock test,CN=cli signing', '--validity', '30'],
      ...['--issuer-cert', at('root.pem'), '--issuer-key', at('root.key'), '-o', at('ca-chain.pem'), '--json'],
    ]);
    assert.equal(made.code, 0, made.stderr);
    const summary = JSON.parse(made.stdout) as Record<string, string>;
    const text = await readFile(at('ca-chain.pem'), 'utf8');
    const [first, second] = parsePemBlocks(text).map((b) => new X509Certificate(b.der));
    assert.ok(first && second);
    assert.equal(
      second.raw.toString('base64'),
      new X509Certificate(await readFile(at('root.pem'))).raw.toString('base64'),
    );
    assert.deepEqual(summary, {
      out: at('ca-chain.pem'),
      kind: 'intermediate',
      subject: 'O=airlock test,CN=cli signing',
      issuer: 'O=airlock test,CN=cli root',
      serial: first.serialNumber.toLowerCase(),
      fingerprint: `sha256:${first.fingerprint256.replace(/:/g, '').toLowerCase()}`,
      notBefore: first.validFromDate.toISOString(),
      notAfter: new Date(first.validFromDate.getTime() + 30 * 86_400_000).toISOString(),
    });

    // The chain file is what trust create takes for a private Fulcio (it loads the root in @sigstore/verify).
    const spec = `url=https://ca.airlock.test,certificate-chain=${at('ca-chain.pem')},start-time=${summary.notBefore}`;
    const trust = await runCli(['trust', 'create', '--fulcio', spec, '--out', at('trusted_root.json')], { env });
    assert.equal(trust.code, 0, trust.stderr);

    const keyCtx = { env: {}, password: async () => Buffer.from('pw'), warn: () => undefined };
    const issuing = await loadIssuingCa(at('signing.key'), at('ca-chain.pem'), keyCtx, new Date());
    const leaf = await issueTestLeaf(issuing, new Date());
    await issuing.signer.close();
    assert.match(await opensslVerify(dir, leaf.pem, issuing.chainPem), /: OK\n$/);
  });

  it('leaves an existing file alone without --force, and replaces it with', async () => {
    const args = ['--key', at('other.key'), '--subject', 'CN=again', '-o', at('again.pem')];
    assert.equal((await ca(args)).code, 0);
    const before = await readFile(at('again.pem'), 'utf8');
    const refused = await ca(args);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /E_OUTPUT_EXISTS/);
    assert.equal(await readFile(at('again.pem'), 'utf8'), before);
    assert.equal((await ca([...args, '--force'])).code, 0);
    assert.notEqual(await readFile(at('again.pem'), 'utf8'), before);
  });

  it('refuses usage mistakes with exit 2, and an issuer key that is not the issuer’s with exit 1', async () => {
    const base = ['--key', at('other.key'), '-o', at('never.pem')];
    const cases: Array<[string[], number, RegExp]> = [
      [[...base], 2, /needs --subject/],
      [[...base, '--subject', 'XX=1'], 2, /not KEY=value/],
      [[...base, '--subject', 'CN=x', '--issuer-cert', at('root.pem')], 2, /go together/],
      [[...base, '--subject', 'CN=x', '--validity', 'ten'], 2, /whole number/],
      [
        [...base, '--subject', 'CN=x', '--issuer-cert', at('ca-chain.pem'), '--issuer-key', at('signing.key')],
        3,
        /allows 0 CAs below it/,
      ],
      [
        [...base, '--subject', 'CN=x', '--issuer-cert', at('root.pem'), '--issuer-key', at('other.key')],
        1,
        /E_KEY_MISMATCH/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await ca(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    await assert.rejects(readFile(at('never.pem')));
  });

  it('refuses an intermediate that would outlive its issuer, naming the most it can have', async () => {
    const result = await ca([
      ...['--key', at('other.key'), '--subject', 'CN=long', '--validity', '4000', '-o', at('long.pem')],
      ...['--issuer-cert', at('root.pem'), '--issuer-key', at('root.key')],
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /outlives the issuer[\s\S]*--validity 3649 or less/);
  });

  it('has help with examples', async () => {
    const help = await runCli(['ca', 'init', '--help'], { env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--issuer-cert FILE/);
    assert.match(help.stdout, /pkcs11:token=ca;object=root/);
  });
});
