// The air-gapped side of the demo: a local registry and the on-prem log on loopback, then the package
// inspected, imported and verified, the imported image signed keylessly by this side's own CA, and the
// refusals the far side must make (one signer, an unaccepted channel, a tampered package) — each
// against this side's own state and audit trail.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalRegistry } from '../../../demo/local-registry.ts';
import type { ImportOptions, ImportReport } from '../../../transfer/import.ts';
import { type ConnectedSide, auditTrailOf, connectedState } from './connected-side.ts';
import { ONPREM_ORIGIN, type OnPremLog, startOnPremLog } from './onprem-log.ts';
import type { DemoRun } from './run.ts';
import { rescanInside } from './sbom-scene.ts';
import { firstBlobDataOffset } from './tamper.ts';

/** The on-prem log, stopped, is returned: the PostgreSQL scene carries it on. */
export async function airGappedSide(run: DemoRun, connected: ConnectedSide): Promise<OnPremLog> {
  run.step('— the air gap — a local registry on loopback stands for the internal registry');
  const { startLocalRegistry } = await import('../../../demo/local-registry.ts');
  const registry = await startLocalRegistry(run.ctx.env.PATH, run.work);
  run.out.info(`  docker-registry at ${registry.host}`);
  let onprem: OnPremLog | undefined;
  try {
    run.step("the air-gapped side's own transparency log, on loopback (airlock log serve)");
    onprem = await startOnPremLog(join(run.work, 'onprem-log'));
    run.out.info(`  ${onprem.service.url}, checkpoints signed by ${onprem.service.vkey}`);
    run.record('log serve', true);
    const gap = await AirGap.open(run, connected, registry, onprem);
    await gap.inspect();
    const imported = await gap.importApproved();
    await rescanInside(run, gap.stateDir);
    await gap.refuseUnacceptedChannel();
    await gap.admission(imported);
    await gap.audit.finish(undefined, {});
    await gap.verifyImported(imported);
    await gap.showCheckpoint(imported);
    await gap.keyless(imported);
    await gap.showRecord();
    await gap.refuseTampered();
    return onprem;
  } finally {
    await onprem?.close();
    await registry.stop();
  }
}

type Trust = Pick<ImportOptions, 'signers' | 'imageTrust' | 'channels'> & {
  imageTrust: Extract<ImportOptions['imageTrust'], { trust: unknown }>;
};

/** The air-gapped side: what it trusts, its state folder, its audit trail, its registry and log. */
class AirGap {
  readonly #run: DemoRun;
  readonly #connected: ConnectedSide;
  readonly #trust: Trust;
  readonly audit: ReturnType<typeof auditTrailOf>;
  readonly #registry: NonNullable<ImportOptions['registry']>;
  readonly #onprem: OnPremLog;

  private constructor(
    run: DemoRun,
    connected: ConnectedSide,
    trust: Trust,
    registry: LocalRegistry,
    onprem: OnPremLog,
  ) {
    this.#run = run;
    this.#connected = connected;
    this.#trust = trust;
    this.#onprem = onprem;
    this.#registry = { host: registry.host, prefix: 'mirror', options: { insecure: true } };
    // The air-gapped side's own audit trail (its own $AIRLOCK_HOME and audit key).
    this.audit = auditTrailOf(run, this.#state, connected.release.signer);
  }

  static async open(
    run: DemoRun,
    connected: ConnectedSide,
    registry: LocalRegistry,
    onprem: OnPremLog,
  ): Promise<AirGap> {
    const { channelsFromNames } = await import('../../../transfer/channels.ts');
    const { namedSigners } = await import('../../../transfer/signers.ts');
    const releaseKey = connected.release.files.publicKey;
    // Two teams, one key each: the two-person rule counts teams (a signers file says who holds which key).
    const twoTeams = namedSigners(
      [
        { name: 'release-team', pgp: [], keys: [releaseKey] },
        { name: 'security-team', pgp: [], keys: [connected.security.publicKey] },
      ],
      'demo signers',
    );
    const trust: Trust = {
      signers: { signers: twoTeams, required: 2 },
      imageTrust: {
        trust: { kind: 'key', publicKey: releaseKey },
        tlogThreshold: 0,
        timestampThreshold: 0,
        now: run.now,
      },
      channels: channelsFromNames(['demo']),
    };
    return new AirGap(run, connected, trust, registry, onprem);
  }

  get #state(): string {
    return join(this.#run.work, 'airgap-state');
  }

  get stateDir(): string {
    return this.#state;
  }

  /** An import (or, with no registry, an inspection) on this side, as `airlock import` runs it. */
  async #import(source: string, extra: Partial<ImportOptions> = {}): Promise<ImportReport> {
    const { importTransfer } = await import('../../../transfer/import.ts');
    return importTransfer({
      source,
      ...this.#trust,
      allowGap: false,
      stateDir: this.#state,
      now: this.#run.now,
      record: this.audit.record,
      importId: randomUUID(),
      ...extra,
    });
  }

  async inspect(): Promise<void> {
    const { out } = this.#run;
    this.#run.step(
      'inspect the package before letting it in: two signers required, channel demo accepted ' +
        '(airlock inspect --signers --require-signers 2 --channel demo)',
    );
    const unapproved = await this.#import(this.#connected.pkg);
    const refusal = `${out.paint('red', 'refused')} [${unapproved.error?.code}]: one signer, two required`;
    out.info(`  before the approval: ${unapproved.ok ? 'unexpectedly accepted' : refusal}`);
    this.#run.record('two-person rule', !unapproved.ok && unapproved.error?.code === 'E_SIGNERS');
    const inspected = await this.#import(this.#connected.approvedPkg);
    out.info(
      `  ${inspected.ok ? out.paint('green', 'verified') : 'REFUSED'}: ` +
        `${inspected.signers.length} signer(s), ${inspected.files} files checked, ` +
        `${inspected.sequence?.detail}`,
    );
    this.#run.record('inspect', inspected.ok);
  }

  async importApproved(): Promise<ImportReport> {
    const { out } = this.#run;
    this.#run.step('import: signers, every file, sequence, image signatures — then push by digest, tags last');
    const rekor = { url: this.#onprem.service.url, logVerifier: this.#onprem.verifier };
    const imported = await this.#import(this.#connected.approvedPkg, { registry: this.#registry, rekor });
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
    for (const d of imported.vulnDbs)
      out.info(`  vulnerability database ${d.path} verified (the release key) and installed as '${d.name}'`);
    this.#run.record('import', imported.ok);
    return imported;
  }

  async refuseUnacceptedChannel(): Promise<void> {
    const run = this.#run;
    run.step('a package on a channel this side never accepted is refused, its package #1 too (E_CHANNEL)');
    const { packTransfer } = await import('../../../transfer/pack.ts');
    const { looseSigners } = await import('../../../transfer/signers.ts');
    const otherChannel = join(run.work, 'other-channel.tar');
    await packTransfer({
      images: [],
      files: [this.#connected.sbom],
      sboms: new Map(),
      scans: new Map(),
      out: otherChannel,
      format: 'tar',
      channel: 'test',
      stateDir: connectedState(run),
      now: run.now,
      signer: this.#connected.release.signer,
      signArtifacts: false,
    });
    const unaccepted = await this.#import(otherChannel, {
      signers: { signers: looseSigners(undefined, [this.#connected.release.files.publicKey]), required: 1 },
      registry: this.#registry,
    });
    run.out.info(run.refusal(unaccepted, 'accepted'));
    run.record('unaccepted channel refused', !unaccepted.ok && unaccepted.error?.code === 'E_CHANNEL');
  }

  async verifyImported(imported: ImportReport): Promise<void> {
    const { out, now } = this.#run;
    this.#run.step(
      'verify the imported image in the registry, offline, requiring an inclusion proof in the ' +
        'on-prem log (airlock verify --trusted-root)',
    );
    const { openImage, resolveImage } = await import('../../../oci/open-store.ts');
    const { verifyImage } = await import('../../../oci/verify-image.ts');
    const pushed = await openImage(imported.images[0]?.pushedTo ?? '', 'read', { insecure: true });
    // Only the on-prem log is trusted, and one entry in it is required: the bundle as packed (no log
    // entry) cannot pass, the one import attached can.
    const verdict = await verifyImage(pushed.store, await resolveImage(pushed), {
      ...this.#trust.imageTrust,
      trustedRoot: this.#onprem.trustedRoot(now),
      tlogThreshold: 1,
      now,
    });
    await pushed.store.close();
    const passed = verdict.results.filter((r) => r.ok).length;
    out.info(
      `  ${verdict.ok ? out.paint('green', 'Verified OK') : 'NOT VERIFIED'}: ${passed} of ` +
        `${verdict.results.length} signature bundle(s), the one with its entry in the on-prem log`,
    );
    this.#run.record('verify', verdict.ok && passed === 1);
  }

  async admission(imported: ImportReport): Promise<void> {
    const { admissionScene } = await import('./admission-scene.ts');
    await admissionScene(this.#run, {
      registryHost: this.#registry.host,
      imported: imported.images[0]?.pushedTo ?? '',
      releaseKey: this.#connected.release.files.publicKey,
      trustedRoot: this.#onprem.trustedRoot(this.#run.now),
      record: this.audit.record,
    });
  }

  /** After the checkpoint step, which counts the log's entries: the keyless signature adds one. */
  async keyless(imported: ImportReport): Promise<void> {
    const { keylessScene } = await import('./keyless-scene.ts');
    await keylessScene(this.#run, {
      imported: imported.images[0]?.pushedTo ?? '',
      onprem: this.#onprem,
      stateDir: this.#state,
      auditSigner: this.#connected.release.signer,
    });
  }

  async showCheckpoint(imported: ImportReport): Promise<void> {
    this.#run.step("the on-prem log's checkpoint, verified with its key (airlock log info)");
    const { TileClient } = await import('../../../log/tile-client.ts');
    const logged = (await new TileClient(this.#onprem.service.url, this.#onprem.verifier).latest()).checkpoint;
    this.#run.out.info(
      `  ${ONPREM_ORIGIN} at size ${logged.size}, root ` +
        `${Buffer.from(logged.rootHash).toString('hex').slice(0, 16)}…, signature verified`,
    );
    this.#run.record('log info', logged.size === (imported.images[0]?.logged?.length ?? 0));
  }

  async showRecord(): Promise<void> {
    const { out } = this.#run;
    this.#run.step("the record: the air-gapped side's audit log, verified (airlock audit verify)");
    const { verifyAuditLog } = await import('../../../audit/audit-log.ts');
    const audit = await verifyAuditLog(this.#state);
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
    // The keyless scene's certificate must be there: the CA records each issuance before answering it.
    const issued = audit.events.some(({ event }) => event.action === 'ca.issue');
    this.#run.record('record', audit.ok && audit.events.length >= 2 && issued);
  }

  async refuseTampered(): Promise<void> {
    const run = this.#run;
    run.step('a package tampered with in transit must be refused, and change nothing');
    const bytes = await readFile(this.#connected.approvedPkg);
    bytes[firstBlobDataOffset(bytes)]! ^= 0x01; // one bit of an image layer, as a bad disk or a hand would
    const tampered = join(run.work, 'tampered.tar');
    await mkdir(run.work, { recursive: true });
    await writeFile(tampered, bytes);
    // A second, fresh air-gapped side: the refusal is shown apart from the first side's state and record.
    const refused = await this.#import(tampered, {
      stateDir: join(run.work, 'airgap-2'),
      registry: this.#registry,
      record: undefined,
    });
    run.out.info(run.refusal(refused, 'the tampered package was accepted'));
    run.record('tampered package refused', !refused.ok, refused.error?.code);
  }
}
