// Verification throughput, airlock's in-process verifyBlob against a plain @sigstore/verify Verifier
// (trust material built once; JSON.parse + bundleFromJSON + toSignedEntity + verify per bundle), and
// the raw node:crypto signature-verify rate as the limit, same run, same bundles, one core. The same
// set is verified every round, as admission re-verifies the same signatures; airlock remembers
// signature checks that succeeded (src/crypto/signature-memo.ts), so key-based bundles also get a
// "first sight" row with that memo emptied before each round.
//   keyless: the keyless conformance bundles with inclusion proofs (../shared), cycled to N verifications
//   key:     N distinct key-signed bundles made here
//   npm run bench -- verify [--n 1000] [--rounds 3]
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createKeyObjectSigner } from '../src/crypto/key-object-signer.ts';
import { signBlob } from '../src/sigstore/sign-blob.ts';
import { parseTrustedRoot } from '../src/sigstore/trusted-root.ts';
import { verifiedSignatures } from '../src/sigstore/verify/signature-content.ts';
import { verifyBlob } from '../src/sigstore/verify/verify-blob.ts';
import { CONFORMANCE_DIR } from '../test/helpers/shared.ts';
import { compare, report } from './harness.ts';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/' +
  '.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

interface Case {
  bundleText: string;
  artifact: Buffer;
  rootText: string;
}

function keylessCases(): Case[] {
  const dir = join(CONFORMANCE_DIR, 'bundle-verify');
  if (!existsSync(dir)) return [];
  const cases: Case[] = [];
  for (const name of readdirSync(dir)) {
    if (
      name.endsWith('_fail') ||
      !existsSync(join(dir, name, 'bundle.sigstore.json')) ||
      existsSync(join(dir, name, 'key.pub'))
    )
      continue;
    if (existsSync(join(dir, name, 'identity'))) continue;
    const bundleText = readFileSync(join(dir, name, 'bundle.sigstore.json'), 'utf8');
    const b = JSON.parse(bundleText);
    if (!b.verificationMaterial?.tlogEntries?.some((e: { inclusionProof?: unknown }) => e.inclusionProof)) continue;
    if (b.dsseEnvelope) continue; // message signatures: the artifact is the subject of the signature
    const artifact = readFileSync(
      existsSync(join(dir, name, 'artifact')) ? join(dir, name, 'artifact') : join(dir, 'a.txt'),
    );
    const rootPath = existsSync(join(dir, name, 'trusted_root.json'))
      ? join(dir, name, 'trusted_root.json')
      : join(CONFORMANCE_DIR, 'production-trusted_root.json');
    cases.push({ bundleText, artifact, rootText: readFileSync(rootPath, 'utf8') });
  }
  return cases;
}

async function keylessBench(): Promise<void> {
  const cases = keylessCases();
  if (cases.length === 0) return console.log('\nkeyless: ../shared conformance bundles are absent, skipped');
  const set = Array.from({ length: n }, (_, i) => cases[i % cases.length]!);
  const plainVerifiers = new Map<string, Verifier>();
  const plainFor = (rootText: string) => {
    let v = plainVerifiers.get(rootText);
    if (!v)
      plainVerifiers.set(rootText, (v = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(rootText))))));
    return v;
  };
  const roots = new Map(cases.map((c) => [c.rootText, parseTrustedRoot(Buffer.from(c.rootText), 'root')]));
  const policy = { identity: { exact: IDENTITY }, issuer: { exact: ISSUER } };
  const airlockRun = async () => {
    for (const c of set) {
      const r = await verifyBlob(
        { bytes: c.artifact },
        { json: JSON.parse(c.bundleText) },
        { now: new Date(), trust: { kind: 'identity', policy }, trustedRoot: roots.get(c.rootText) },
      );
      if (!r.ok) throw new Error(`airlock rejected a good bundle: ${r.error?.message}`);
    }
  };
  const plainRun = async () => {
    for (const c of set) {
      plainFor(c.rootText).verify(toSignedEntity(bundleFromJSON(JSON.parse(c.bundleText)), c.artifact), {
        subjectAlternativeName: IDENTITY,
        extensions: { issuer: ISSUER },
      });
    }
  };
  await airlockRun(); // warm-up: caches of trust material, JIT
  await plainRun();
  const samples = await compare(
    [
      { name: 'airlock verifyBlob', run: airlockRun },
      { name: 'plain @sigstore/verify', run: plainRun },
    ],
    rounds,
  );
  report(
    `keyless bundles with inclusion proofs (${cases.length} distinct conformance bundles cycled ` +
      `to ${n}), median of ${rounds}`,
    samples,
    (s) => n / s,
    'bundles/s',
  );
}

async function keyBench(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = createKeyObjectSigner(privateKey, 'ecdsa-sha2-256-nistp256', 'bench');
  const set: Array<{ bundleText: string; artifact: Buffer }> = [];
  for (let i = 0; i < n; i++) {
    const artifact = Buffer.from(`artifact number ${i}\n`);
    set.push({ bundleText: JSON.stringify((await signBlob({ data: artifact }, { signer })).bundle), artifact });
  }
  const hint = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  const plain = new Verifier(
    toTrustMaterial(
      TrustedRoot.fromJSON({
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        ctlogs: [],
        certificateAuthorities: [],
        timestampAuthorities: [],
      }),
      (h) => {
        if (h !== hint) throw new Error('unknown key');
        return { publicKey, validFor: () => true };
      },
    ),
    { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 },
  );
  const options = {
    now: new Date(),
    trust: { kind: 'key' as const, publicKey },
    tlogThreshold: 0,
    timestampThreshold: 0,
  };
  const sigs = set.map((c) => Buffer.from(JSON.parse(c.bundleText).messageSignature.signature, 'base64'));
  const airlockRun = async () => {
    for (const c of set) {
      const r = await verifyBlob({ bytes: c.artifact }, { json: JSON.parse(c.bundleText) }, options);
      if (!r.ok) throw new Error(r.error?.message);
    }
  };
  const plainRun = async () => {
    for (const c of set) plain.verify(toSignedEntity(bundleFromJSON(JSON.parse(c.bundleText)), c.artifact));
  };
  const rawRun = async () => {
    for (const [i, c] of set.entries()) if (!verify('sha256', c.artifact, publicKey, sigs[i]!)) throw new Error('bad');
  };
  // First sight: the same bundles never verified before (signature memo emptied before each round).
  const coldRun = async () => {
    verifiedSignatures.clear();
    await airlockRun();
  };
  await airlockRun();
  await plainRun();
  const samples = await compare(
    [
      { name: 'airlock verifyBlob', run: airlockRun },
      { name: 'airlock, first sight of each bundle', run: coldRun },
      { name: 'plain @sigstore/verify', run: plainRun },
      { name: 'node:crypto verify only (limit)', run: rawRun },
    ],
    rounds,
  );
  report(`key-based bundles (P-256, ${n} distinct), median of ${rounds}`, samples, (s) => n / s, 'bundles/s');
}

/** The conformance key-signed bundle that carries a log entry (SET + inclusion proof), cycled to N. */
async function keyWithLogBench(): Promise<void> {
  const dir = join(CONFORMANCE_DIR, 'bundle-verify', 'managed-key-and-trusted-root');
  if (!existsSync(dir)) return console.log('\nkey + log entry: ../shared conformance bundles are absent, skipped');
  const bundleText = readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8');
  const rootText = readFileSync(join(dir, 'trusted_root.json'), 'utf8');
  const artifact = readFileSync(join(CONFORMANCE_DIR, 'bundle-verify', 'a.txt'));
  const publicKey = createPublicKey(readFileSync(join(dir, 'key.pub')));
  const plain = new Verifier({
    ...toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(rootText))),
    publicKey: () => ({ publicKey, validFor: () => true }),
  });
  const options = {
    now: new Date(),
    trust: { kind: 'key' as const, publicKey },
    trustedRoot: parseTrustedRoot(Buffer.from(rootText), 'root'),
  };
  const airlockRun = async () => {
    for (let i = 0; i < n; i++) {
      const r = await verifyBlob({ bytes: artifact }, { json: JSON.parse(bundleText) }, options);
      if (!r.ok) throw new Error(r.error?.message);
    }
  };
  const plainRun = async () => {
    for (let i = 0; i < n; i++) plain.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleText)), artifact));
  };
  await airlockRun();
  await plainRun();
  const samples = await compare(
    [
      { name: 'airlock verifyBlob', run: airlockRun },
      { name: 'plain @sigstore/verify', run: plainRun },
    ],
    rounds,
  );
  report(
    `key-based bundle with a log entry (SET + inclusion proof; conformance managed-key, ${n}x), median of ${rounds}`,
    samples,
    (s) => n / s,
    'bundles/s',
  );
}

await keylessBench();
await keyWithLogBench();
await keyBench();
