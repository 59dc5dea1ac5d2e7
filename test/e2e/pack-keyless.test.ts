// Keyless transfer packages, end to end against the private Sigstore as processes on loopback: `airlock
// ca serve` (a Kubernetes-style issuer from a JWKS file), `airlock log serve` (Rekor v2) and `airlock tsa
// serve`, with the trusted root `trust create` makes of them. `pack --sign` with no --key signs the
// manifest (and the file) keylessly; inspect and import count it for the signer whose identity it
// carries (--signer-identity, or a signers file's identities) and refuse it for another (E_SIGNERS);
// `approve` keyless adds a second identity that satisfies --require-signers 2.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import type { RunningServer } from '../helpers/log-server.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { kubernetesClaims, testIssuer } from '../helpers/oidc-issuer.ts';
import { type PrivateSigstore, startPrivateSigstore } from '../helpers/private-sigstore.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const RELEASE = 'https://kubernetes.io/namespaces/release/serviceaccounts/signer';
const SECURITY = 'https://kubernetes.io/namespaces/security/serviceaccounts/approver';
const OTHER = 'https://kubernetes.io/namespaces/release/serviceaccounts/intruder';
const enc = { encoding: 'utf8' } as const;

describe('keyless transfer packages: pack --sign and approve without --key, signers by identity', () => {
  const dir = useTempDir('airlock-pack-keyless-');
  const p = (name: string) => join(dir, name);
  let sigstore: PrivateSigstore;
  let ca: RunningServer;
  after(() => sigstore?.stop());
  const ok = (args: string[], home?: string) => sigstore.ok(args, home);
  const cli = (args: string[], home?: string) => sigstore.cli(args, home);
  const keyless = (token: string) => sigstore.keyless(p(token));
  /** The far side's trust: the private root without a CT log, the file's signature pinned to the release identity. */
  const trust = () => [
    ...['--trusted-root', sigstore.trustedRoot, '--ctlog-threshold', '0'],
    ...['--certificate-identity', RELEASE, '--certificate-oidc-issuer', ISSUER],
  ];
  const signerIdentity = (san: string) => ['--signer-identity', san, '--signer-oidc-issuer', ISSUER];

  before(async () => {
    const issuer = await testIssuer(ISSUER, 'ES256');
    const now = new Date();
    await writeFile(p('release.token'), await issuer.sign(kubernetesClaims(ISSUER, now, 'release', 'signer')));
    await writeFile(p('security.token'), await issuer.sign(kubernetesClaims(ISSUER, now, 'security', 'approver')));
    sigstore = await startPrivateSigstore(dir, [{ issuer }]);
    ca = sigstore.ca;
    await ok(['key', 'generate', '--output-key-prefix', p('image')]);
    await writeFile(p('app.txt'), 'an artifact packed keyless\n');
    await writeFile(
      p('signers.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'Signers',
        signers: [
          { name: 'release-team', identities: [{ issuer: ISSUER, subject: RELEASE }] },
          { name: 'security-team', identities: [{ issuer: ISSUER, subject: SECURITY }] },
        ],
      }),
    );
    await ok([
      ...['pack', p('app.txt'), '-o', p('pkg.tar'), '--channel', 'prod', '--sign'],
      ...keyless('release.token'),
    ]);
  });

  it('the manifest bundle carries the certificate, a log entry and a timestamp; keyless needs its log', async () => {
    const r = await cli(['pack', p('app.txt'), '-o', p('offline.tar'), '--sign', '--tlog-upload=false']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /keyless signing cannot work without a transparency log/);
    const v2NoTsa = await cli([
      ...['pack', p('app.txt'), '-o', p('no-tsa.tar'), '--sign'],
      ...keyless('release.token').slice(0, -2),
    ]);
    assert.equal(v2NoTsa.code, 2, v2NoTsa.stderr);
    assert.match(v2NoTsa.stderr, /needs a timestamp authority/);
    const bundle = JSON.parse(execFileSync('tar', ['-xOf', p('pkg.tar'), 'manifest.sha256.sigstore.json'], enc)) as {
      verificationMaterial: {
        certificate?: { rawBytes: string };
        tlogEntries?: unknown[];
        timestampVerificationData?: { rfc3161Timestamps?: unknown[] };
      };
    };
    const m = bundle.verificationMaterial;
    const leaf = new X509Certificate(Buffer.from(m.certificate?.rawBytes ?? '', 'base64'));
    assert.equal(leaf.subjectAltName, `URI:${RELEASE}`);
    assert.equal(m.tlogEntries?.length, 1);
    assert.equal(m.timestampVerificationData?.rfc3161Timestamps?.length, 1);
    // --sign also signed the file keylessly, with the same certificate.
    const fileBundle = JSON.parse(execFileSync('tar', ['-xOf', p('pkg.tar'), 'files/app.txt.sigstore.json'], enc)) as {
      verificationMaterial: { certificate?: { rawBytes: string } };
    };
    assert.equal(fileBundle.verificationMaterial.certificate?.rawBytes, m.certificate?.rawBytes);
  });

  it('inspect counts it for the pinned identity and refuses it for another (E_SIGNERS)', async () => {
    const inspected = await ok(['inspect', p('pkg.tar'), ...signerIdentity(RELEASE), ...trust(), '--json']);
    const report = JSON.parse(inspected.stdout) as { signers: Array<{ kind: string; signer: string; id: string }> };
    assert.deepEqual(
      report.signers.map((s) => [s.kind, s.id]),
      [['sigstore-identity', RELEASE]],
    );
    const other = await cli(['inspect', p('pkg.tar'), ...signerIdentity(OTHER), ...trust()]);
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /E_SIGNERS/);
    assert.match(other.stderr, /no signature by a trusted signer/);
    const unpaired = await cli(['inspect', p('pkg.tar'), '--signer-identity', RELEASE, ...trust()]);
    assert.equal(unpaired.code, 2, unpaired.stderr);
    // The root has no CT log: the SCT rule is dropped only by saying so (images here trust a key).
    const sct = await cli([
      ...['inspect', p('pkg.tar'), ...signerIdentity(RELEASE), '--trusted-root', sigstore.trustedRoot],
      ...['--key', p('image.pub'), '--insecure-ignore-tlog'],
    ]);
    assert.equal(sct.code, 1, sct.stderr);
    assert.match(sct.stderr, /E_TRUST_ROOT.*--ctlog-threshold 0/s);
  });

  it('approve keyless adds a second identity (a signers file); one identity twice counts once', async () => {
    const signers = ['--signers', p('signers.json')];
    const one = await cli(['inspect', p('pkg.tar'), ...signers, '--require-signers', '2', ...trust()]);
    assert.equal(one.code, 1, one.stderr);
    assert.match(one.stderr, /E_SIGNERS/);
    // An approver co-signs only what verifies, and asks the CA for nothing before it does.
    const issued = () => ca.lines().filter((l) => l.route === 'signingCert').length;
    const before = issued();
    const refused = await cli([
      ...['approve', p('pkg.tar'), '-o', p('refused.tar'), ...signerIdentity(OTHER), ...trust().slice(0, 4)],
      ...keyless('security.token'),
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /E_SIGNERS/);
    assert.equal(issued(), before, 'no certificate was asked for');
    await ok([
      ...['approve', p('pkg.tar'), '-o', p('approved.tar'), ...signers, ...trust().slice(0, 4)],
      ...keyless('security.token'),
    ]);
    assert.equal(issued(), before + 1, 'the approval asked for its certificate once the package verified');
    const two = await ok(['inspect', p('approved.tar'), ...signers, '--require-signers', '2', ...trust(), '--json']);
    const report = JSON.parse(two.stdout) as { signers: Array<{ signer: string }> };
    assert.deepEqual(report.signers.map((s) => s.signer).sort(), ['release-team', 'security-team']);
    // The release identity approving its own package is still one signer.
    await ok([
      ...['approve', p('pkg.tar'), '-o', p('self.tar'), ...signers, ...trust().slice(0, 4)],
      ...keyless('release.token'),
    ]);
    const self = await cli(['inspect', p('self.tar'), ...signers, '--require-signers', '2', ...trust()]);
    assert.equal(self.code, 1, self.stderr);
    assert.match(self.stderr, /2 signatures, but keys of one signer count once/);
  });

  it('an image packed with --sign keyless verifies inside the gap pinned to the identity, not to another', async () => {
    const store = await openLayoutStore(p('layout'), { create: true });
    await makeTestImage(store, { tag: 'v1' });
    const image = `oci:${p('layout')}:v1`;
    const legacy = await cli([
      ...['pack', image, '-o', p('legacy.tar'), '--sign', '--legacy-signature'],
      ...keyless('release.token'),
      ...trust(),
    ]);
    assert.equal(legacy.code, 2, legacy.stderr);
    assert.match(legacy.stderr, /--legacy-signature is not available for keyless/);
    // pack checks the image against the trust the far side uses: the identity, not the ephemeral key.
    await ok(['pack', image, '-o', p('image.tar'), '--sign', ...keyless('release.token'), ...trust()]);
    await ok(['inspect', p('image.tar'), ...signerIdentity(RELEASE), ...trust()]);
    const other = await cli([
      ...['inspect', p('image.tar'), ...signerIdentity(RELEASE), ...trust()],
      ...['--certificate-identity', SECURITY],
    ]);
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /E_SIGNATURE_INVALID|E_IDENTITY_MISMATCH/);
  });

  it('import accepts the approved package with two identities', async (t) => {
    const missing = registryAvailable();
    if (missing) return t.skip(missing);
    const registry: TestRegistry = await startRegistry();
    try {
      await ok(
        [
          ...['import', p('approved.tar'), '--registry', `${registry.host}/mirror`, '--insecure'],
          ...['--channel', 'prod', '--signers', p('signers.json'), '--require-signers', '2', ...trust()],
        ],
        'air',
      );
      const state = JSON.parse(await readFile(join(p('air'), 'channels', 'in', 'prod.json'), 'utf8')) as object;
      assert.ok(state, 'the channel moved');
    } finally {
      await registry.stop();
    }
  });
});
