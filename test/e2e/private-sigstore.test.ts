// A private Sigstore inside the gap, end to end, with no network but loopback: the suite re-runs
// itself inside `unshare -n` (a network namespace whose only interface is lo), where it starts
// `airlock ca serve` (CA key from `ca init`, a Kubernetes-style issuer from a JWKS file), `airlock log
// serve` (Rekor v2), `airlock tsa serve` (openssl ts) and a docker-registry, all as processes. Then:
// @sigstore/sign's own FulcioSigner + RekorWitness + TSAWitness make a bundle that plain
// @sigstore/verify accepts under the `trust create` root; the CLI signs a blob and an image keylessly
// with --identity-token; verify-blob, verify and import accept them pinned to the identity and refuse
// another identity or issuer; import --rekor-url logs the keyless-verified image signature.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { openImage } from '../../src/oci/open-store.ts';
import { parseTrustedRoot } from '../../src/sigstore/trusted-root.ts';
import type { RunningServer, TestLog } from '../helpers/log-server.ts';
import { canUnshareNet } from '../helpers/netns.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { kubernetesClaims, testIssuer } from '../helpers/oidc-issuer.ts';
import { type PrivateSigstore, startPrivateSigstore } from '../helpers/private-sigstore.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const INSIDE = process.env.AIRLOCK_E2E_NETNS === '1';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SAN = 'https://kubernetes.io/namespaces/release/serviceaccounts/signer';
const OTHER_SAN = 'https://kubernetes.io/namespaces/release/serviceaccounts/intruder';

if (!INSIDE) {
  describe('a private Sigstore inside the gap (unshare -n, loopback only)', () => {
    it('every check below passes inside a network namespace that has nothing but loopback', (t) => {
      if (!canUnshareNet())
        return t.skip('`unshare -n true` failed here (needs root): the private Sigstore is not run');
      if (!existsSync('/bin/ip') && !existsSync('/usr/sbin/ip'))
        return t.skip('no `ip` (apt-get install iproute2) to bring loopback up: the private Sigstore is not run');
      const missing = registryAvailable();
      if (missing) return t.skip(missing);
      const self = fileURLToPath(import.meta.url);
      const { NODE_TEST_CONTEXT: _, ...outerEnv } = process.env;
      const r = spawnSync(
        'unshare',
        [
          '-n',
          'sh',
          '-c',
          'ip link set lo up && [ "$(ip -o link | wc -l)" = 1 ] && exec "$@"',
          'sh',
          process.execPath,
          '--test',
          '--test-reporter=spec',
          self,
        ],
        // Without NODE_TEST_CONTEXT: the inner run is a test run of its own, not a child of this one.
        { env: { ...outerEnv, AIRLOCK_E2E_NETNS: '1' }, encoding: 'utf8', timeout: 240_000 },
      );
      const output = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, output);
      assert.match(output, /ℹ fail 0/, output);
      assert.match(output, /ℹ skipped 0/, output);
      assert.match(output, /ℹ pass 3\b/, output);
    });
  });
} else {
  describe('inside unshare -n: ca serve + log serve + tsa serve + a registry on loopback', () => {
    const dir = useTempDir('airlock-private-sigstore-');
    const p = (name: string) => join(dir, name);
    let sigstore: PrivateSigstore;
    let ca: RunningServer;
    let tsa: RunningServer;
    let log: TestLog;
    let registry: TestRegistry;
    let token = '';
    after(async () => {
      await sigstore?.stop();
      await registry?.stop();
    });
    const ok = (args: string[], home?: string) => sigstore.ok(args, home);
    const cli = (args: string[], home?: string) => sigstore.cli(args, home);
    const pinned = (san = SAN, issuer = ISSUER) => [
      ...['--trusted-root', sigstore.trustedRoot, '--certificate-identity', san],
      ...['--certificate-oidc-issuer', issuer, '--ctlog-threshold', '0'],
    ];
    const keyless = () => sigstore.keyless(p('token'));

    before(async () => {
      const issuer = await testIssuer(ISSUER, 'RS256');
      const other = await testIssuer('https://other.issuer.internal', 'ES256');
      token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'release', 'signer'));
      await writeFile(p('token'), `${token}\n`);
      await writeFile(
        p('other-token'),
        `${await other.sign(kubernetesClaims(other.url, new Date(), 'release', 'signer'))}\n`,
      );
      [sigstore, registry] = await Promise.all([
        startPrivateSigstore(dir, [{ issuer }, { issuer: other }]),
        startRegistry(),
      ]);
      ({ ca, tsa, log } = sigstore);
      await ok(['key', 'generate', '--output-key-prefix', p('release')]);
      await writeFile(p('app.txt'), 'an artifact signed keyless inside the gap\n');
    });

    it("@sigstore/sign's Fulcio signer and witnesses against airlock: plain @sigstore/verify accepts", async () => {
      const signer = new FulcioSigner({ fulcioBaseURL: ca.url, identityProvider: { getToken: async () => token } });
      const witnesses = [
        new RekorWitness({ rekorBaseURL: log.url, majorApiVersion: 2 }),
        new TSAWitness({ tsaBaseURL: tsa.url }),
      ];
      const bundle = await new MessageSignatureBundleBuilder({ signer, witnesses }).create({
        data: await readFile(p('app.txt')),
      });
      const root = parseTrustedRoot(await readFile(sigstore.trustedRoot), 'trust create').root;
      const verifier = new Verifier(toTrustMaterial(root), { ctlogThreshold: 0 });
      const entity = toSignedEntity(bundle, await readFile(p('app.txt')));
      const signerFound = verifier.verify(entity, { subjectAlternativeName: SAN, extensions: { issuer: ISSUER } });
      assert.equal(signerFound.identity?.subjectAlternativeName, SAN);
      assert.throws(() =>
        verifier.verify(entity, { subjectAlternativeName: OTHER_SAN, extensions: { issuer: ISSUER } }),
      );
      await writeFile(p('js.sigstore.json'), JSON.stringify(bundleToJSON(bundle)));
      await ok(['verify-blob', p('app.txt'), '--bundle', p('js.sigstore.json'), ...pinned()]);
      const wrongIdentity = await cli([
        'verify-blob',
        p('app.txt'),
        '--bundle',
        p('js.sigstore.json'),
        ...pinned(OTHER_SAN),
      ]);
      assert.equal(wrongIdentity.code, 1, wrongIdentity.stderr);
      const wrongIssuer = await cli([
        'verify-blob',
        p('app.txt'),
        '--bundle',
        p('js.sigstore.json'),
        ...pinned(SAN, 'https://other.issuer.internal'),
      ]);
      assert.equal(wrongIssuer.code, 1, wrongIssuer.stderr);
      assert.ok(bundleFromJSON(bundleToJSON(bundle)));
    });

    it('sign-blob --identity-token: verify-blob accepts it pinned, refuses another identity or issuer', async () => {
      await ok(['sign-blob', p('app.txt'), ...keyless(), '--bundle', p('cli.sigstore.json')]);
      const verified = await ok([
        'verify-blob',
        p('app.txt'),
        '--bundle',
        p('cli.sigstore.json'),
        ...pinned(),
        '--json',
      ]);
      const checks = (JSON.parse(verified.stdout) as { checks: Array<{ name: string }> }).checks.map((c) => c.name);
      assert.ok(checks.includes('log entry verifier'), `the v2 entry names the certificate's key: ${checks}`);
      const other = await cli(['verify-blob', p('app.txt'), '--bundle', p('cli.sigstore.json'), ...pinned(OTHER_SAN)]);
      assert.equal(other.code, 1, other.stderr);
      // The same service account name from another issuer is another identity.
      await ok([
        'sign-blob',
        p('app.txt'),
        ...keyless().map((a) => (a === `@${p('token')}` ? `@${p('other-token')}` : a)),
        '--bundle',
        p('other.sigstore.json'),
      ]);
      const otherIssuer = await cli(['verify-blob', p('app.txt'), '--bundle', p('other.sigstore.json'), ...pinned()]);
      assert.equal(otherIssuer.code, 1, otherIssuer.stderr);
      const issued = ca.lines().filter((l) => l.route === 'signingCert' && l.status === 200);
      assert.ok(issued.length >= 3, 'each signing asked the CA');
      assert.ok(!JSON.stringify(ca.lines()).includes(token.split('.')[2] as string), 'no token in the CA log');
    });

    it('an image signed keylessly: verify accepts it pinned; pack and import (logging it) accept it', async () => {
      const repo = `${registry.host}/build/app`;
      const { store } = await openImage(`docker://${repo}:1.0`, 'write', { insecure: true });
      const image = await makeTestImage(store, { tag: '1.0', layers: 1, layerSize: 4096 });
      await store.close();
      const ref = `${repo}@${image.manifest.digest}`;
      await ok(['sign', ref, ...keyless(), '--allow-insecure-registry']);
      await ok(['verify', ref, ...pinned(), '--allow-insecure-registry']);
      const other = await cli(['verify', ref, ...pinned(OTHER_SAN), '--allow-insecure-registry']);
      assert.equal(other.code, 1, other.stderr);

      await ok([
        'pack',
        `docker://${ref}`,
        '-o',
        p('pkg.tar'),
        ...['--key', p('release.key'), '--sign', '--channel', 'prod', '--allow-insecure-registry'],
        ...pinned().map((a) => (a === '--certificate-identity' ? '--certificate-identity' : a)),
      ]);
      const imported = await ok(
        [
          'import',
          p('pkg.tar'),
          ...['--registry', `${registry.host}/mirror`, '--insecure', '--json'],
          ...['--signer-key', p('release.pub'), '--channel', 'prod'],
          ...pinned(),
          ...['--rekor-url', log.url, '--rekor-vkey', join(log.dataDir, 'log.vkey')],
        ],
        'air',
      );
      const report = JSON.parse(imported.stdout) as { images: Array<{ digest: string; logged?: unknown[] }> };
      assert.equal(report.images[0]?.digest, image.manifest.digest);
      assert.ok((report.images[0]?.logged?.length ?? 0) >= 1, 'the keyless-verified signature was logged');
    });
  });
}
