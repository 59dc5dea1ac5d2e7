// The demo's keyless scene, inside the gap: a demo OIDC issuer standing in for the cluster's
// service-account issuer, the air-gapped side's own CA (`ca init` + `ca serve`) and TSA (`tsa init` +
// `tsa serve`) on loopback beside its log, the imported image signed keylessly with a service
// account's token (`airlock sign --identity-token --fulcio-url --rekor-url --tsa-url`), then verified
// pinned to that identity, and another identity refused. The CA records its issuance in the air-gapped
// side's audit trail, which the record step then shows.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../../crypto/signer.ts';
import type { ImageVerification } from '../../../oci/verify-image.ts';
import type { LoadedTrustedRoot } from '../../../sigstore/trusted-root.ts';
import { auditTrailOf } from './connected-side.ts';
import {
  createDemoIssuer,
  DEMO_ISSUER_URL,
  type DemoIssuer,
  serviceAccountIdentity,
  type ServiceAccount,
} from './demo-issuer.ts';
import { type OnPremCa, startOnPremCa } from './onprem-ca.ts';
import type { OnPremLog } from './onprem-log.ts';
import { type OnPremTsa, startOnPremTsa } from './onprem-tsa.ts';
import type { DemoRun } from './run.ts';

export interface KeylessSceneInputs {
  /** The image as import pushed it to the local registry. */
  readonly imported: string;
  readonly onprem: OnPremLog;
  /** The air-gapped side's state folder: the CA records into its audit trail. */
  readonly stateDir: string;
  /** The air-gapped side's audit key. */
  readonly auditSigner: Signer;
}

const SIGNER: ServiceAccount = { namespace: 'release', name: 'signer' };
const INTRUDER: ServiceAccount = { namespace: 'release', name: 'intruder' };

interface Services {
  readonly ca: OnPremCa;
  readonly tsa: OnPremTsa;
  readonly onprem: OnPremLog;
}

export async function keylessScene(run: DemoRun, inputs: KeylessSceneInputs): Promise<void> {
  // The TSA stamps with this machine's clock: the token and the certificate are made at the scene's own
  // instant, not the run's, so however long the run took, the ten-minute certificate covers the stamp.
  const now = run.ctx.now();
  const dir = join(run.work, 'keyless');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const issuer = await demoIssuer(run, dir);
  // `ca serve` is a process of its own on this side: its own session of the side's audit trail.
  const audit = auditTrailOf(run, inputs.stateDir, inputs.auditSigner);
  let ca: OnPremCa | undefined;
  let tsa: OnPremTsa | undefined;
  try {
    ca = await caServe(run, dir, issuer, audit.record, now);
    tsa = await tsaServe(run, dir, now);
    const services = { ca, tsa, onprem: inputs.onprem };
    await signKeyless(run, inputs.imported, await issuer.token(SIGNER, now), services, now);
    const root = await trustedRootFor(run, dir, services, now);
    await verifyPinned(run, inputs.imported, root, now);
    await refuseOtherIdentity(run, inputs.imported, root, now);
  } finally {
    await tsa?.close();
    await ca?.close();
    await audit.finish(undefined, {});
  }
}

async function demoIssuer(run: DemoRun, dir: string): Promise<DemoIssuer> {
  run.step(
    "keyless inside the gap: a demo issuer standing in for the cluster's service-account issuer; " +
      'its JWKS is generated for the demo',
  );
  const issuer = await createDemoIssuer(join(dir, 'jwks.json'));
  run.out.info(`  issuer ${issuer.url}, its public keys in ${issuer.jwksPath} (RS256)`);
  run.out.info(
    `  it will give system:serviceaccount:${SIGNER.namespace}:${SIGNER.name} a token for audience ` +
      'sigstore, valid 10 minutes (kept in memory, never printed)',
  );
  return issuer;
}

async function caServe(
  run: DemoRun,
  dir: string,
  issuer: DemoIssuer,
  record: Parameters<typeof startOnPremCa>[0]['record'],
  now: Date,
): Promise<OnPremCa> {
  run.step(
    "the air-gapped side's own CA, on loopback, trusting that issuer's JWKS " +
      '(airlock ca init, airlock ca serve --oidc-issuer URL=JWKS_FILE,type=kubernetes)',
  );
  const ca = await startOnPremCa({ chainPath: join(dir, 'ca-chain.pem'), issuer, now, record });
  const subject = ca.certificate.subject.replace(/\n/g, ',');
  run.out.info(`  ${subject} (a root made for the demo) serving Fulcio API v2 at ${ca.url}`);
  run.out.info('  each certificate it issues is recorded in this side’s audit trail before it is answered');
  return ca;
}

async function tsaServe(run: DemoRun, dir: string, now: Date): Promise<OnPremTsa> {
  run.step(
    "the air-gapped side's own timestamp authority, on loopback (airlock tsa init, airlock tsa serve): " +
      'the on-prem log signs no time, so a timestamp proves the short-lived certificate was valid',
  );
  const tsa = await startOnPremTsa(dir, run.ctx.env.PATH, now);
  run.out.info(`  RFC 3161 at ${tsa.url}, signed by openssl ts`);
  return tsa;
}

async function signKeyless(run: DemoRun, imported: string, token: string, services: Services, now: Date) {
  run.step(
    "sign the imported image keylessly with the service account's token (airlock sign --identity-token " +
      '--fulcio-url --rekor-url --rekor-api-version 2 --tsa-url)',
  );
  const { obtainSigningCertificate } = await import('../../../sigstore/keyless.ts');
  const { openImage, resolveImage, withStore } = await import('../../../oci/open-store.ts');
  const { signImage } = await import('../../../oci/sign-image.ts');
  const keyless = await obtainSigningCertificate({ fulcioUrl: services.ca.url, identityToken: token, now });
  try {
    const { certificate } = keyless;
    run.out.info(
      `  an ephemeral key, certified for ${keyless.identity} until ${certificate.validToDate.toISOString()}`,
    );
    const pushed = await openImage(imported, 'write', { insecure: true });
    const signed = await withStore(pushed.store, async () =>
      signImage(pushed.store, await resolveImage(pushed), {
        signer: keyless.signer,
        certificate,
        witnesses: { tlog: { url: services.onprem.service.url, apiVersion: 2 }, tsaUrl: services.tsa.url },
        now,
      }),
    );
    const entry = signed.bundle.verificationMaterial.tlogEntries[0];
    const stamps = signed.bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
    run.out.info(
      `  bundle referrer ${signed.referrer.digest}: logged in the on-prem log at index ${entry?.logIndex}, ` +
        `${stamps} timestamp from the on-prem TSA; the key is gone, the certificate stays in the bundle`,
    );
    run.record('keyless sign', entry !== undefined && stamps === 1);
  } finally {
    await keyless.signer.close();
  }
}

/** What `airlock trust create --fulcio … --rekor … --tsa …` writes for this side's three services. */
async function trustedRootFor(run: DemoRun, dir: string, services: Services, now: Date): Promise<LoadedTrustedRoot> {
  const { createTrustedRoot } = await import('../../../trust/create-trusted-root.ts');
  const { parseTrustedRoot } = await import('../../../sigstore/trusted-root.ts');
  const validFor = { start: new Date(now.getTime() - 60_000) };
  const json = createTrustedRoot({
    certificateAuthorities: [{ certChainPem: services.ca.chainPem, uri: services.ca.url, validFor }],
    tlogs: [services.onprem.tlog(now)],
    timestampAuthorities: [{ certChainPem: services.tsa.chainPem, uri: services.tsa.url, validFor }],
  });
  const text = JSON.stringify(json, null, 2);
  await writeFile(join(dir, 'trusted_root.json'), `${text}\n`);
  return parseTrustedRoot(Buffer.from(text), 'the keyless trusted root');
}

/** `airlock verify --trusted-root --certificate-identity … --certificate-oidc-issuer … --ctlog-threshold 0`. */
async function verifyAs(imported: string, root: LoadedTrustedRoot, account: ServiceAccount, now: Date) {
  const { openImage, resolveImage, withStore } = await import('../../../oci/open-store.ts');
  const { verifyImage } = await import('../../../oci/verify-image.ts');
  const pushed = await openImage(imported, 'read', { insecure: true });
  const policy = { identity: { exact: serviceAccountIdentity(account) }, issuer: { exact: DEMO_ISSUER_URL } };
  return withStore(pushed.store, async () =>
    verifyImage(pushed.store, await resolveImage(pushed), {
      trust: { kind: 'identity', policy },
      trustedRoot: root,
      tlogThreshold: 1,
      timestampThreshold: 1,
      // The private CA has no certificate transparency log: its certificates carry no SCT to require.
      ctlogThreshold: 0,
      now,
    }),
  );
}

const passed = (verdict: ImageVerification) => verdict.results.filter((r) => r.ok).length;

async function verifyPinned(run: DemoRun, imported: string, root: LoadedTrustedRoot, now: Date) {
  const { out } = run;
  run.step(
    `verify it pinned to ${serviceAccountIdentity(SIGNER)} and its issuer, under a trusted root of this ` +
      "side's CA, log and TSA (airlock verify --certificate-identity --certificate-oidc-issuer " +
      '--ctlog-threshold 0: the private CA has no CT log)',
  );
  const verdict = await verifyAs(imported, root, SIGNER, now);
  // The release key's signature and attestations are attached too: signed with a key, they name no one.
  const keySigned = verdict.results.filter((r) => r.code === 'E_KEY_MISMATCH').length;
  out.info(
    `  ${verdict.ok ? out.paint('green', 'Verified OK') : 'NOT VERIFIED'}: ${passed(verdict)} keyless bundle, ` +
      'its certificate chained to the demo CA, its entry in the on-prem log, its time from the on-prem TSA',
  );
  out.info(`  (${keySigned} other bundle(s) signed with the release key: no identity in them to match)`);
  run.record('keyless verify', verdict.ok && passed(verdict) === 1);
}

async function refuseOtherIdentity(run: DemoRun, imported: string, root: LoadedTrustedRoot, now: Date) {
  run.step(`the same image, but ${serviceAccountIdentity(INTRUDER)} required: refused`);
  const verdict = await verifyAs(imported, root, INTRUDER, now);
  const mismatch = verdict.results.find((r) => r.code === 'E_IDENTITY_MISMATCH');
  run.out.info(
    verdict.ok
      ? '  unexpected: accepted for another identity'
      : `  ${run.out.paint('red', 'Refused')}: ${mismatch?.reason ?? 'no bundle verified'} [${mismatch?.code}]`,
  );
  run.record('other identity refused', !verdict.ok && mismatch !== undefined);
}
