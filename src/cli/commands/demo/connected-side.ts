// The connected side of the demo: a release key, a sample image signed offline, its SBOM and a scan
// against a database of labelled sample advisories, a transfer package that must pass the gate and
// carries the database, and a second team's approval.
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type GeneratedKeyFiles, generatePrivateKey, writeKeyPair } from '../../../crypto/generate-key.ts';
import { loadSigner } from '../../../crypto/key-ref.ts';
import { keyFingerprint } from '../../../crypto/keys.ts';
import type { Signer } from '../../../crypto/signer.ts';
import type { Descriptor } from '../../../oci/types.ts';
import { createAuditTrail } from '../../audit-trail.ts';
import type { DemoRun } from './run.ts';
import { type SbomDocuments, sbomAndScan } from './sbom-scene.ts';

/** The release team's key: its files, and its signer (also each side's audit key in the demo). */
export interface ReleaseKey {
  readonly files: GeneratedKeyFiles;
  readonly signer: Signer;
}

/** What crosses the gap, and who signed it. */
export interface ConnectedSide {
  readonly release: ReleaseKey;
  readonly security: Signer;
  /** The package as the release team packed it: one signer. */
  readonly pkg: string;
  /** The same package after the security team's approval: two signers. */
  readonly approvedPkg: string;
  /** The sample SBOM, reused as a plain file for the package on another channel. */
  readonly sbom: string;
}

/** A key in cosign's format, and its signer; the caller closes the signer. */
export async function releaseKey(run: DemoRun): Promise<ReleaseKey> {
  run.step("connected side: an organisational key in cosign's format (airlock key generate)");
  const password = randomBytes(16); // demo only: a real key's password comes from you
  const files = await writeKeyPair(join(run.work, 'release'), generatePrivateKey('ecdsa-p256'), password);
  run.out.info(`  ${files.privateKeyPath} (encrypted, 0600), fingerprint ${keyFingerprint(files.publicKey)}`);
  run.record('key generate', true);
  const signer = await loadSigner(files.privateKeyPath, {
    env: {},
    password: async () => password,
    warn: (m) => run.out.warn(m),
  });
  return { files, signer };
}

export async function connectedSide(run: DemoRun, release: ReleaseKey): Promise<ConnectedSide> {
  await buildAndSignImage(run, release.signer);
  const documents = await sbomAndScan(run, buildLayout(run).ref, release.signer);
  const pkg = await packImage(run, release, documents);
  const { security, approvedPkg } = await approve(run, release, pkg);
  return { release, security, pkg, approvedPkg, sbom: documents.sbom };
}

/** Where the sample image is built: what CI's output would be. */
export function buildLayout(run: DemoRun): { dir: string; ref: string } {
  const dir = join(run.work, 'build');
  return { dir, ref: `oci:${dir}:myapp-1.0` };
}

async function buildAndSignImage(run: DemoRun, signer: Signer): Promise<Descriptor> {
  run.step('a SAMPLE image standing in for what CI builds, in an OCI layout');
  const { openLayoutStore } = await import('../../../oci/layout/layout-store.ts');
  const { writeSampleImage } = await import('../../../demo/sample-image.ts');
  const build = buildLayout(run);
  const store = await openLayoutStore(build.dir, { create: true });
  const image = await writeSampleImage(store, 'myapp-1.0', 'myapp 1.0 — airlock demo sample\n');
  run.out.info(`  ${build.ref}  ${image.digest}`);

  run.step('sign the image offline (airlock sign --tlog-upload=false): a cosign v3 bundle referrer');
  const { signImage } = await import('../../../oci/sign-image.ts');
  const signed = await signImage(store, image, { signer, now: run.now });
  await store.close();
  run.out.info(`  bundle referrer ${signed.referrer.digest}, no network used`);
  run.record('sign', true);
  return image;
}

/** Each side's own audit trail (its own state folder), signed with the release key in the demo. */
export function auditTrailOf(run: DemoRun, stateDir: string, signer: Signer): ReturnType<typeof createAuditTrail> {
  return createAuditTrail({
    stateDir,
    env: {},
    now: () => run.now,
    randomId: randomUUID,
    loadSigner: async () => signer,
  });
}

/** The connected side's state folder: its audit trail and its channels' sequence numbers. */
export function connectedState(run: DemoRun): string {
  return join(run.work, 'connected-state');
}

async function packImage(run: DemoRun, release: ReleaseKey, documents: SbomDocuments): Promise<string> {
  run.step(
    'pack a transfer package: the image must verify as the far side will check it, gate on ' +
      'critical findings, carry the database (airlock pack --image-key --fail-on critical --vulndb)',
  );
  const { packTransfer } = await import('../../../transfer/pack.ts');
  const { ref } = buildLayout(run);
  const pkg = join(run.work, 'myapp-1.0.tar');
  // The connected side's own audit trail: its checkpoint travels in the package.
  const audit = auditTrailOf(run, connectedState(run), release.signer);
  const packed = await packTransfer({
    images: [ref],
    files: [],
    sboms: new Map([[ref, documents.sbom]]),
    scans: new Map([[ref, [documents.scan]]]),
    failOn: 'critical',
    vulndb: documents.vulndb,
    names: new Map([[ref, 'myapp:1.0']]),
    imageTrust: {
      now: run.now,
      trust: { kind: 'key', publicKey: release.files.publicKey },
      tlogThreshold: 0,
      timestampThreshold: 0,
    },
    out: pkg,
    format: 'tar',
    channel: 'demo',
    stateDir: connectedState(run),
    now: run.now,
    signer: release.signer,
    signArtifacts: false,
    audit: await audit.log(),
    record: audit.record,
  });
  await audit.finish(undefined, {});
  run.out.info(
    `  ${pkg}: channel demo #${packed.metadata.sequence.number}, manifest ` +
      `${packed.manifestDigest.slice(0, 23)}…, signed by the release key`,
  );
  run.out.info(
    `  carries the connected side's audit checkpoint (${packed.metadata.audit?.origin} at size ` +
      `${packed.metadata.audit?.size})`,
  );
  run.record('pack', true);
  return pkg;
}

async function approve(
  run: DemoRun,
  release: ReleaseKey,
  pkg: string,
): Promise<{ security: Signer; approvedPkg: string }> {
  run.step("the security team co-signs, after verifying the release team's signature (airlock approve --signers)");
  const { createKeyObjectSigner } = await import('../../../crypto/key-object-signer.ts');
  const security = createKeyObjectSigner(
    generatePrivateKey('ecdsa-p256'),
    'ecdsa-sha2-256-nistp256',
    'security team (demo)',
  );
  const { approvePackage } = await import('../../../transfer/approve.ts');
  const { looseSigners } = await import('../../../transfer/signers.ts');
  const approvedPkg = join(run.work, 'myapp-1.0.approved.tar');
  const approval = await approvePackage({
    source: pkg,
    out: approvedPkg,
    format: 'tar',
    signer: security,
    signers: { signers: looseSigners(undefined, [release.files.publicKey]), required: 1 },
    stateDir: connectedState(run),
    now: run.now,
  });
  run.out.info(`  verified ${approval.verified.length} signature first, then added ${approval.added.join(', ')}`);
  run.record('approve', approval.verified.length === 1);
  return { security, approvedPkg };
}
