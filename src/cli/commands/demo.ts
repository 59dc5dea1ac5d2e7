import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, writeKeyPair } from '../../crypto/generate-key.ts';
import { loadSigner } from '../../crypto/key-ref.ts';
import { keyFingerprint, publicKeyPem } from '../../crypto/keys.ts';
import { EXIT } from '../../errors.ts';
import type { NoteVerifier } from '../../log/note.ts';
import { noteVerifierFor } from '../../log/note-keys.ts';
import type { LogService } from '../../server/log-service.ts';
import type { LoadedTrustedRoot } from '../../sigstore/trusted-root.ts';
import { diagnose } from '../../tools/diagnose.ts';
import type { Command, CommandContext } from '../command.ts';

// The whole air-gap workflow on sample data, narrated, in a temporary directory that is removed at the
// end. Two state directories stand for the two sides of the gap.
type Step = { name: string; ok: boolean; detail?: unknown };

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the air-gap workflow end to end on sample data, narrated step by step',
  usage: '[flags]',
  description:
    'Connected side: a key, a sample image, its signature, SBOM and scan stand-ins (labelled samples), the\n' +
    'vulnerability gate and the signature check as the far side will make it, a signed and sequenced\n' +
    "transfer package, a second team's approval. Air-gapped side: a local registry and an on-prem\n" +
    'transparency log on loopback, inspect (two signers required), import (each signature logged, each\n' +
    'effect recorded first), verify the imported image against the on-prem log, its checkpoint, the\n' +
    'record — and a package on an unaccepted channel and a tampered package refused.\n' +
    'Temporary state only; everything is removed afterwards.',
  flags: {},
  positionals: { min: 0, max: 0 },
  examples: [{ command: 'airlock demo', description: 'Run the demo' }],
  async run(ctx) {
    const { out } = ctx;
    const steps: Step[] = [];
    let n = 0;
    const step = (text: string) => out.info(`\n${out.paint('bold', `Step ${++n}:`)} ${text}`);
    out.info(`${out.paint('bold', 'airlock demo')} — from the build to the air-gapped registry, proven at every step`);

    step('check this machine (airlock doctor)');
    const checks = await diagnose({
      nodeVersion: process.versions.node,
      pathList: ctx.env.PATH,
      pkcs11Module: ctx.env.AIRLOCK_PKCS11_MODULE,
      stateDir: ctx.stateDir,
    });
    for (const c of checks)
      out.info(
        `  ${c.status === 'ok' ? out.paint('green', 'ok') : out.paint('yellow', c.status)}  ${c.name}: ${c.detail}`,
      );
    const ready = checks.every((c) => !c.required || c.status === 'ok');
    steps.push({ name: 'doctor', ok: ready });
    if (!ready) return { json: { ok: false, steps }, exitCode: EXIT.UNAVAILABLE };

    const work = await mkdtemp(join(tmpdir(), 'airlock-demo-'));
    try {
      await workflow(ctx, work, step, steps);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const ok = steps.every((s) => s.ok);
    out.info(
      ok
        ? '\nDemo finished: every step behaved as it should. Temporary files, the registry and the log are gone.'
        : '\nDemo FAILED: see the steps above.',
    );
    return { json: { ok, steps }, exitCode: ok ? EXIT.OK : EXIT.INTERNAL };
  },
};

async function workflow(ctx: CommandContext, work: string, step: (t: string) => void, steps: Step[]): Promise<void> {
  const { out } = ctx;
  const now = ctx.now();
  const connected = join(work, 'connected-state');
  const airgap = join(work, 'airgap-state');

  step("connected side: an organisational key in cosign's format (airlock key generate)");
  const password = randomBytes(16); // demo only: a real key's password comes from you
  const keys = await writeKeyPair(join(work, 'release'), generatePrivateKey('ecdsa-p256'), password);
  out.info(`  ${keys.privateKeyPath} (encrypted, 0600), fingerprint ${keyFingerprint(keys.publicKey)}`);
  steps.push({ name: 'key generate', ok: true });
  const signer = await loadSigner(keys.privateKeyPath, {
    env: {},
    password: async () => password,
    warn: (m) => out.warn(m),
  });
  try {
    step('a SAMPLE image standing in for what CI builds, in an OCI layout');
    const { openLayoutStore } = await import('../../oci/layout/layout-store.ts');
    const { writeSampleImage } = await import('../../demo/sample-image.ts');
    const build = await openLayoutStore(join(work, 'build'), { create: true });
    const image = await writeSampleImage(build, 'myapp-1.0', 'myapp 1.0 — airlock demo sample\n');
    out.info(`  oci:${join(work, 'build')}:myapp-1.0  ${image.digest}`);

    step('sign the image offline (airlock sign --tlog-upload=false): a cosign v3 bundle referrer');
    const { signImage } = await import('../../oci/sign-image.ts');
    const signed = await signImage(build, image, { signer, now });
    await build.close();
    out.info(`  bundle referrer ${signed.referrer.digest}, no network used`);
    steps.push({ name: 'sign', ok: true });

    step('SBOM and vulnerability scan: SAMPLE stand-ins for syft and grype output');
    const sbom = join(work, 'sbom.spdx.json');
    const scan = join(work, 'grype.json');
    // Each names the image it describes by digest, as syft and grype do: pack checks that it is this one.
    const root = {
      SPDXID: 'SPDXRef-DocumentRoot-Image-myapp',
      name: 'myapp',
      versionInfo: image.digest,
      primaryPackagePurpose: 'CONTAINER',
    };
    await writeFile(
      sbom,
      JSON.stringify({
        spdxVersion: 'SPDX-2.3',
        name: 'SAMPLE SBOM',
        packages: [root, { SPDXID: 'SPDXRef-busybox', name: 'busybox', versionInfo: '1.36' }],
        relationships: [
          { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root.SPDXID },
        ],
      }),
    );
    await writeFile(
      scan,
      JSON.stringify({
        descriptor: { name: 'SAMPLE scan' },
        source: { type: 'image', target: { userInput: 'myapp:1.0', manifestDigest: image.digest } },
        matches: [
          { vulnerability: { id: 'CVE-SAMPLE-0001', severity: 'Low' }, artifact: { name: 'musl', version: '1.2.4' } },
        ],
      }),
    );
    out.info('  2 packages; 1 low finding; both name the image by digest (samples, clearly labelled)');

    step(
      'pack a transfer package: the image must verify as the far side will check it, gate on ' +
        'critical findings (airlock pack --image-key --fail-on critical)',
    );
    const { packTransfer } = await import('../../transfer/pack.ts');
    const ref = `oci:${join(work, 'build')}:myapp-1.0`;
    const pkg = join(work, 'myapp-1.0.tar');
    // The connected side's own audit trail: its checkpoint travels in the package.
    const { createAuditTrail } = await import('../audit-trail.ts');
    const connectedAudit = createAuditTrail({
      stateDir: connected,
      env: {},
      now: () => now,
      randomId: randomUUID,
      loadSigner: async () => signer,
    });
    const packed = await packTransfer({
      images: [ref],
      files: [],
      sboms: new Map([[ref, sbom]]),
      scans: new Map([[ref, [scan]]]),
      failOn: 'critical',
      names: new Map([[ref, 'myapp:1.0']]),
      imageTrust: { now, trust: { kind: 'key', publicKey: keys.publicKey }, tlogThreshold: 0, timestampThreshold: 0 },
      out: pkg,
      format: 'tar',
      channel: 'demo',
      stateDir: connected,
      now,
      signer,
      signArtifacts: false,
      audit: await connectedAudit.log(),
      record: connectedAudit.record,
    });
    await connectedAudit.finish(undefined, {});
    out.info(
      `  ${pkg}: channel demo #${packed.metadata.sequence.number}, manifest ` +
        `${packed.manifestDigest.slice(0, 23)}…, signed by the release key`,
    );
    out.info(
      `  carries the connected side's audit checkpoint (${packed.metadata.audit?.origin} at size ` +
        `${packed.metadata.audit?.size})`,
    );
    steps.push({ name: 'pack', ok: true });

    step("the security team co-signs, after verifying the release team's signature (airlock approve --signers)");
    const securityKey = generatePrivateKey('ecdsa-p256');
    const { createKeyObjectSigner } = await import('../../crypto/key-object-signer.ts');
    const security = createKeyObjectSigner(securityKey, 'ecdsa-sha2-256-nistp256', 'security team (demo)');
    const { approvePackage } = await import('../../transfer/approve.ts');
    const { looseSigners, namedSigners } = await import('../../transfer/signers.ts');
    const approvedPkg = join(work, 'myapp-1.0.approved.tar');
    const approval = await approvePackage({
      source: pkg,
      out: approvedPkg,
      format: 'tar',
      signer: security,
      signers: { signers: looseSigners(undefined, [keys.publicKey]), required: 1 },
      stateDir: connected,
      now,
    });
    out.info(`  verified ${approval.verified.length} signature first, then added ${approval.added.join(', ')}`);
    steps.push({ name: 'approve', ok: approval.verified.length === 1 });

    step('— the air gap — a local registry on loopback stands for the internal registry');
    const { startLocalRegistry } = await import('../../demo/local-registry.ts');
    const registry = await startLocalRegistry(ctx.env.PATH);
    out.info(`  docker-registry at ${registry.host}`);
    let onprem: OnPremLog | undefined;
    try {
      step("the air-gapped side's own transparency log, on loopback (airlock log serve)");
      onprem = await startOnPremLog(join(work, 'onprem-log'));
      out.info(`  ${onprem.service.url}, checkpoints signed by ${onprem.service.vkey}`);
      steps.push({ name: 'log serve', ok: true });
      const { importTransfer } = await import('../../transfer/import.ts');
      const { channelsFromNames } = await import('../../transfer/channels.ts');
      // Two teams, one key each: the two-person rule counts teams (a signers file says who holds which key).
      const twoTeams = namedSigners(
        [
          { name: 'release-team', pgp: [], keys: [keys.publicKey] },
          { name: 'security-team', pgp: [], keys: [security.publicKey] },
        ],
        'demo signers',
      );
      const trust = {
        signers: { signers: twoTeams, required: 2 },
        imageTrust: {
          trust: { kind: 'key' as const, publicKey: keys.publicKey },
          tlogThreshold: 0,
          timestampThreshold: 0,
          now,
        },
        channels: channelsFromNames(['demo']),
      };
      // The air-gapped side's own audit trail (its own $AIRLOCK_HOME and audit key).
      const airgapAudit = createAuditTrail({
        stateDir: airgap,
        env: {},
        now: () => now,
        randomId: randomUUID,
        loadSigner: async () => signer,
      });

      step(
        'inspect the package before letting it in: two signers required, channel demo accepted ' +
          '(airlock inspect --signers --require-signers 2 --channel demo)',
      );
      const unapproved = await importTransfer({
        source: pkg,
        ...trust,
        allowGap: false,
        stateDir: airgap,
        now,
        record: airgapAudit.record,
        importId: randomUUID(),
      });
      const refusal = `${out.paint('red', 'refused')} [${unapproved.error?.code}]: one signer, two required`;
      out.info(`  before the approval: ${unapproved.ok ? 'unexpectedly accepted' : refusal}`);
      steps.push({ name: 'two-person rule', ok: !unapproved.ok && unapproved.error?.code === 'E_SIGNERS' });
      const inspected = await importTransfer({
        source: approvedPkg,
        ...trust,
        allowGap: false,
        stateDir: airgap,
        now,
        record: airgapAudit.record,
        importId: randomUUID(),
      });
      out.info(
        `  ${inspected.ok ? out.paint('green', 'verified') : 'REFUSED'}: ` +
          `${inspected.signers.length} signer(s), ${inspected.files} files checked, ` +
          `${inspected.sequence?.detail}`,
      );
      steps.push({ name: 'inspect', ok: inspected.ok });

      step('import: signers, every file, sequence, image signatures — then push by digest, tags last');
      const registryTarget = { host: registry.host, prefix: 'mirror', options: { insecure: true } };
      const rekor = { url: onprem.service.url, logVerifier: onprem.verifier };
      const imported = await importTransfer({
        source: approvedPkg,
        ...trust,
        allowGap: false,
        stateDir: airgap,
        now,
        registry: registryTarget,
        record: airgapAudit.record,
        rekor,
        importId: randomUUID(),
      });
      for (const i of imported.images) {
        out.info(`  ${i.pushedTo} ${i.digest}`);
        for (const l of i.logged ?? [])
          out.info(
            `  its signature logged in the on-prem log at index ${l.logIndex}; the bundle with ` +
              `that entry is attached beside the image`,
          );
      }
      if (imported.connectedAudit)
        out.info(`  connected side's audit checkpoint: ${imported.connectedAudit.verdict.detail}`);
      steps.push({ name: 'import', ok: imported.ok });

      step('a package on a channel this side never accepted is refused, its package #1 too (E_CHANNEL)');
      const otherChannel = join(work, 'other-channel.tar');
      await packTransfer({
        images: [],
        files: [sbom],
        sboms: new Map(),
        scans: new Map(),
        out: otherChannel,
        format: 'tar',
        channel: 'test',
        stateDir: connected,
        now,
        signer,
        signArtifacts: false,
      });
      const unaccepted = await importTransfer({
        source: otherChannel,
        ...trust,
        signers: { signers: looseSigners(undefined, [keys.publicKey]), required: 1 },
        allowGap: false,
        stateDir: airgap,
        now,
        registry: registryTarget,
        record: airgapAudit.record,
        importId: randomUUID(),
      });
      out.info(
        unaccepted.ok
          ? '  unexpected: accepted'
          : `  ${out.paint('red', 'Refused')}: ${unaccepted.error?.message} [${unaccepted.error?.code}]`,
      );
      steps.push({ name: 'unaccepted channel refused', ok: !unaccepted.ok && unaccepted.error?.code === 'E_CHANNEL' });

      await airgapAudit.finish(undefined, {});

      step(
        'verify the imported image in the registry, offline, requiring an inclusion proof in the ' +
          'on-prem log (airlock verify --trusted-root)',
      );
      const { openImage, resolveImage } = await import('../../oci/open-store.ts');
      const { verifyImage } = await import('../../oci/verify-image.ts');
      const pushed = await openImage(imported.images[0]?.pushedTo ?? '', 'read', { insecure: true });
      // Only the on-prem log is trusted, and one entry in it is required: the bundle as packed (no log
      // entry) cannot pass, the one import attached can.
      const verdict = await verifyImage(pushed.store, await resolveImage(pushed), {
        ...trust.imageTrust,
        trustedRoot: onprem.trustedRoot(now),
        tlogThreshold: 1,
        now,
      });
      await pushed.store.close();
      const passed = verdict.results.filter((r) => r.ok).length;
      out.info(
        `  ${verdict.ok ? out.paint('green', 'Verified OK') : 'NOT VERIFIED'}: ${passed} of ` +
          `${verdict.results.length} signature bundle(s), the one with its entry in the on-prem log`,
      );
      steps.push({ name: 'verify', ok: verdict.ok && passed === 1 });

      step("the on-prem log's checkpoint, verified with its key (airlock log info)");
      const { TileClient } = await import('../../log/tile-client.ts');
      const logged = (await new TileClient(onprem.service.url, onprem.verifier).latest()).checkpoint;
      out.info(
        `  ${ONPREM_ORIGIN} at size ${logged.size}, root ` +
          `${Buffer.from(logged.rootHash).toString('hex').slice(0, 16)}…, signature verified`,
      );
      steps.push({ name: 'log info', ok: logged.size === (imported.images[0]?.logged?.length ?? 0) });

      step("the record: the air-gapped side's audit log, verified (airlock audit verify)");
      const { verifyAuditLog } = await import('../../audit/audit-log.ts');
      const audit = await verifyAuditLog(airgap);
      for (const { index, event } of audit.events) {
        out.info(
          `  #${index} ${event.time} ${event.action} ${event.result} ` +
            `${String(event.subjects[0]?.digest ?? '').slice(0, 23)}…`,
        );
      }
      out.info(
        `  ${audit.ok ? out.paint('green', 'intact') : 'TAMPERED'}: ${audit.size} events under a ` +
          `signed checkpoint of ${audit.origin}`,
      );
      steps.push({ name: 'record', ok: audit.ok && audit.events.length >= 2 });

      step('a package tampered with in transit must be refused, and change nothing');
      const bytes = await readFile(approvedPkg);
      bytes[firstBlobDataOffset(bytes)]! ^= 0x01; // one bit of an image layer, as a bad disk or a hand would
      const tampered = join(work, 'tampered.tar');
      await mkdir(work, { recursive: true });
      await writeFile(tampered, bytes);
      const refused = await importTransfer({
        source: tampered,
        ...trust,
        allowGap: false,
        stateDir: join(work, 'airgap-2'),
        now,
        registry: registryTarget,
        importId: randomUUID(),
      });
      out.info(
        refused.ok
          ? '  unexpected: the tampered package was accepted'
          : `  ${out.paint('red', 'Refused')}: ${refused.error?.message} [${refused.error?.code}]`,
      );
      steps.push({ name: 'tampered package refused', ok: !refused.ok, detail: refused.error?.code });
    } finally {
      await onprem?.close();
      await registry.stop();
    }
  } finally {
    await signer.close();
  }
}

// Sigstore clients match a checkpoint's origin against the host of the log's URL in the trusted root.
const ONPREM_ORIGIN = '127.0.0.1';

interface OnPremLog {
  readonly service: LogService;
  /** The log's checkpoint key, as clients pin it (`--rekor-vkey`, `log info --vkey`). */
  readonly verifier: NoteVerifier;
  /** A trusted root naming this log alone (what `airlock trust create --rekor=...` writes). */
  trustedRoot(now: Date): LoadedTrustedRoot;
  close(): Promise<void>;
}

/** `airlock log serve` in this process: an Ed25519 log key made for the demo, one verify worker. */
async function startOnPremLog(dir: string): Promise<OnPremLog> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { createKeyObjectSigner } = await import('../../crypto/key-object-signer.ts');
  const { Metrics } = await import('../../server/metrics.ts');
  const { startLogService } = await import('../../server/log-service.ts');
  const { createTrustedRoot } = await import('../../trust/create-trusted-root.ts');
  const { parseTrustedRoot } = await import('../../sigstore/trusted-root.ts');
  const logKey = generatePrivateKey('ed25519');
  const signer = createKeyObjectSigner(logKey, 'ed25519', 'demo on-prem log key');
  const publicKey = createPublicKey(logKey);
  let service: LogService;
  try {
    service = await startLogService({
      dir,
      origin: ONPREM_ORIGIN,
      signer,
      host: '127.0.0.1',
      port: 0,
      workers: 1,
      metrics: new Metrics(),
      log: () => undefined,
    });
  } catch (err) {
    await signer.close();
    throw err;
  }
  return {
    service,
    verifier: noteVerifierFor(ONPREM_ORIGIN, publicKey),
    trustedRoot(now) {
      const json = createTrustedRoot({
        tlogs: [
          {
            publicKeyPem: publicKeyPem(publicKey),
            baseUrl: service.url,
            origin: ONPREM_ORIGIN,
            validFor: { start: new Date(now.getTime() - 60_000) },
          },
        ],
      });
      return parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'the on-prem log');
    },
    async close() {
      await service.close();
      await signer.close();
    },
  };
}

/** Offset of a byte inside the first OCI blob's data in a ustar package (walks the 512-byte headers). */
function firstBlobDataOffset(tar: Buffer): number {
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar
      .subarray(at, at + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    if (name.startsWith('oci/blobs/') && size > 16) return at + 512 + 8;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return Math.floor(tar.length / 2);
}
