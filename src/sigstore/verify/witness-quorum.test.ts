// Witness cosignatures on the checkpoints of a bundle (VerifyBlobOptions.witnesses): a real Rekor v2
// style log entry (hashedrekord v0.0.2, inclusion proof, checkpoint signed by an Ed25519 log key in the
// trusted root), cosigned by real C2SP tlog-cosignature witnesses. Everything else about the bundle
// verifies, so each failure here is the witness rule's.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { verifyWithSigstoreJs } from '../../../test/helpers/sigstore.ts';
import { createKeyObjectSigner } from '../../crypto/key-object-signer.ts';
import { signingAlgorithmFor } from '../../crypto/keys.ts';
import type { Signer } from '../../crypto/signer.ts';
import { checkpointSignerFor } from '../../log/checkpoint-signer.ts';
import { formatCheckpoint } from '../../log/checkpoint.ts';
import { cosignCheckpoint, encodeCosignerKey, parseCosignerKey } from '../../log/cosignature.ts';
import { leafHash, nodeHash } from '../../log/merkle.ts';
import { encodeVerifierKey, noteVerifierFor, logIdFor } from '../../log/note-keys.ts';
import { parseTlogPolicy } from '../../log/tlog-policy.ts';
import { parseNote } from '../../log/note.ts';
import { parseCreateEntryRequest, toCreateEntryRequest } from '../../log/rekor-request.ts';
import { toTransparencyLogEntry } from '../../log/rekor-response.ts';
import { createTrustedRoot } from '../../trust/create-trusted-root.ts';
import { signBlob } from '../sign-blob.ts';
import { parseTrustedRoot } from '../trusted-root.ts';
import { type VerifyBlobOptions, verifyBlob } from './verify-blob.ts';
import type { WitnessPolicy } from './witness-quorum.ts';

const ORIGIN = 'log.example';
const artifact = Buffer.from('the witnessed artifact\n');

interface BundleJson {
  verificationMaterial: {
    tlogEntries: Array<{ logIndex: string; inclusionProof: { checkpoint: { envelope: string } } }>;
  };
}

interface Witness {
  readonly name: string;
  readonly signer: Signer;
  readonly vkey: string;
}

let signingKey: KeyObject;
let bundle: BundleJson;
let keyOnlyBundle: unknown;
/** The checkpoint text (no signatures) the entry is proven in, and another of the same log. */
let text: string;
let laterText: string;
let options: VerifyBlobOptions;
let rootJson: unknown;
let logVkey: string;

function witness(name: string): Witness {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    name,
    signer: createKeyObjectSigner(privateKey, 'ed25519', `witness ${name}`),
    vkey: encodeCosignerKey(name, publicKey),
  };
}
const w1 = witness('w1.example');
const w2 = witness('w2.example');
const w3 = witness('w3.example');
/** A second key under w1's name: another key ID, so a different signer as far as a note is concerned. */
const w1Again = witness('w1.example');
const stranger = witness('stranger.example');

const policy = (witnesses: readonly Witness[], required: number): WitnessPolicy => ({
  verifiers: witnesses.map((w) => parseCosignerKey(w.vkey).verifier),
  required,
});
const cosign = (w: Witness, over = text) => cosignCheckpoint(over, w.name, w.signer, new Date('2026-03-01T12:00:00Z'));

/** The bundle with `lines` appended to its checkpoint, as a log that gathers cosignatures serves it. */
function withLines(lines: readonly string[]): BundleJson {
  const copy = structuredClone(bundle);
  const proof = copy.verificationMaterial.tlogEntries[0]?.inclusionProof;
  assert.ok(proof);
  proof.checkpoint.envelope += lines.join('');
  return copy;
}
const verify = (json: unknown, witnesses?: WitnessPolicy) =>
  verifyBlob({ bytes: artifact }, { json }, { ...options, ...(witnesses ? { witnesses } : {}) });

before(async () => {
  const log = generateKeyPairSync('ed25519');
  const checkpoints = checkpointSignerFor(ORIGIN, createKeyObjectSigner(log.privateKey, 'ed25519', 'test log'));
  logVkey = encodeVerifierKey(ORIGIN, log.publicKey);
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  signingKey = signing.publicKey;
  const signer = createKeyObjectSigner(signing.privateKey, signingAlgorithmFor(signing.privateKey), 'test signer');
  const signed = await signBlob({ data: artifact }, { signer });
  keyOnlyBundle = signed.bundle;
  // The log: another entry at index 0, ours at 1, a checkpoint at size 2.
  const body = parseCreateEntryRequest(
    toCreateEntryRequest({
      digest: Buffer.from(signed.digest.hex, 'hex'),
      signature: signed.signature,
      verifier: signingKey,
    }),
  ).body;
  const other = leafHash(Buffer.from('another entry'));
  const root = nodeHash(other, leafHash(body));
  const checkpoint = await checkpoints.sign(2, root);
  text = parseNote(checkpoint).text;
  laterText = formatCheckpoint({
    origin: ORIGIN,
    size: 3,
    rootHash: nodeHash(root, leafHash(Buffer.from('a third entry'))),
    extensions: [],
  });
  const entry = toTransparencyLogEntry({
    logIndex: 1,
    logId: logIdFor(ORIGIN, log.publicKey),
    body,
    inclusionHashes: [other],
    checkpoint,
    treeSize: 2,
    rootHash: root,
  });
  bundle = {
    ...structuredClone(signed.bundle),
    verificationMaterial: { ...structuredClone(signed.bundle.verificationMaterial), tlogEntries: [entry] },
  } as unknown as BundleJson;
  const publicKeyPem = log.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  rootJson = createTrustedRoot(
    {
      tlogs: [
        {
          publicKeyPem,
          baseUrl: `https://${ORIGIN}`,
          origin: ORIGIN,
          validFor: { start: new Date(Date.now() - 3_600_000) },
        },
      ],
    },
    { warn: () => undefined },
  );
  options = {
    now: new Date(),
    trust: { kind: 'key', publicKey: signingKey },
    trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(rootJson)), 'test root'),
    tlogThreshold: 1,
    timestampThreshold: 0,
  };
});

describe('witness cosignatures on log checkpoints', () => {
  it('the bundle verifies without witnesses, and with cosignatures added (extra note lines are ignored)', async () => {
    const baseline = await verify(bundle);
    assert.equal(baseline.ok, true, baseline.error?.message);
    assert.equal(baseline.tlogEntries?.[0]?.proof, 'inclusion proof + checkpoint');
    assert.ok(
      baseline.checks.some((c) => c.name === 'log key validity'),
      'the entry was checked against the trusted log',
    );
    const cosigned = withLines([await cosign(w1), await cosign(stranger)]);
    const report = await verify(cosigned);
    assert.equal(report.ok, true, report.error?.message);
    assert.ok(!report.checks.some((c) => c.name === 'witness cosignatures'), 'not checked when not asked for');
    // Plain @sigstore/verify ignores them too: the log signature is all it looks for.
    assert.doesNotThrow(() =>
      verifyWithSigstoreJs(cosigned, artifact, signingKey, {
        trustedRoot: rootJson,
        tlogThreshold: 1,
        timestampThreshold: 0,
      }),
    );
  });

  it('quorum met: the check lists which witnesses cosigned, and when', async () => {
    const report = await verify(
      withLines([await cosign(w2), await cosign(stranger), await cosign(w1)]),
      policy([w1, w2, w3], 2),
    );
    assert.equal(report.ok, true, report.error?.message);
    const check = report.checks.find((c) => c.name === 'witness cosignatures');
    assert.equal(check?.result, 'pass');
    assert.deepEqual(check?.detail.witnesses, ['w1.example', 'w2.example', 'w3.example']);
    const entries = check?.detail.entries as Array<{
      logIndex: string;
      cosigned: string[];
      cosignatures: Array<{ name: string; time: string }>;
    }>;
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.logIndex, '1');
    assert.deepEqual(entries[0]?.cosigned, ['w1.example', 'w2.example']);
    assert.deepEqual(
      entries[0]?.cosignatures.map((c) => c.time),
      ['2026-03-01T12:00:00.000Z', '2026-03-01T12:00:00.000Z'],
    );
    // All of them, when all are required.
    const all = await verify(
      withLines([await cosign(w1), await cosign(w2), await cosign(w3)]),
      policy([w1, w2, w3], 3),
    );
    assert.equal(all.ok, true, all.error?.message);
  });

  it(
    'quorum not met: E_TLOG_CHECKPOINT saying how many of which witnesses cosigned, and how many ' + 'are required',
    async () => {
      const report = await verify(withLines([await cosign(w1)]), policy([w1, w2, w3], 2));
      assert.equal(report.ok, false);
      assert.equal(report.error?.code, 'E_TLOG_CHECKPOINT');
      assert.equal(report.error?.exitCode, 1);
      assert.match(
        report.error?.message ?? '',
        /cosigned by 1 of the witnesses w1\.example, w2\.example, w3\.example \(w1\.example\); 2 required/,
      );
      assert.deepEqual(report.error?.details?.cosigned, ['w1.example']);
      assert.equal(report.checks.at(-1)?.result, 'fail');
      // The bare log checkpoint: none.
      const bare = await verify(bundle, policy([w1], 1));
      assert.equal(bare.error?.code, 'E_TLOG_CHECKPOINT');
      assert.match(bare.error?.message ?? '', /cosigned by 0 of the witnesses w1\.example \(none\); 1 required/);
    },
  );

  it('two keys of one witness name count once', async () => {
    const report = await verify(withLines([await cosign(w1), await cosign(w1Again)]), policy([w1, w1Again, w2], 2));
    assert.equal(report.error?.code, 'E_TLOG_CHECKPOINT');
    assert.deepEqual(report.error?.details?.cosigned, ['w1.example']);
    // The same line twice is one cosignature too.
    const line = await cosign(w1);
    assert.equal((await verify(withLines([line, line]), policy([w1, w2], 2))).error?.code, 'E_TLOG_CHECKPOINT');
  });

  it('a cosignature by a witness not given, or by another key under a given name, does not count', async () => {
    const unknown = await verify(withLines([await cosign(stranger)]), policy([w1], 1));
    assert.equal(unknown.error?.code, 'E_TLOG_CHECKPOINT');
    assert.deepEqual(unknown.error?.details?.cosigned, []);
    const impostor = await verify(withLines([await cosign(w1Again)]), policy([w1], 1));
    assert.equal(impostor.error?.code, 'E_TLOG_CHECKPOINT', "same name, another key: not w1's cosignature");
    assert.deepEqual(impostor.error?.details?.cosigned, []);
  });

  it('a cosignature over a different checkpoint refuses the note, even when the quorum is otherwise met', async () => {
    const replayed = await cosign(w1, laterText);
    const report = await verify(withLines([replayed]), policy([w1], 1));
    assert.equal(report.error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(report.error?.message ?? '', /^log entry 1: .*w1\.example\+[0-9a-f]{8} does not verify/);
    // A known witness's bad line refuses the note (signed-note rules), whatever else cosigned.
    const mixed = await verify(withLines([await cosign(w2), replayed]), policy([w1, w2], 1));
    assert.equal(mixed.error?.code, 'E_TLOG_CHECKPOINT');
  });

  it('no checkpoint in the bundle is a denial (fail closed)', async () => {
    const keyOnly = { ...options, tlogThreshold: 0 };
    assert.equal(
      (await verifyBlob({ bytes: artifact }, { json: keyOnlyBundle }, keyOnly)).ok,
      true,
      'baseline: verifies without a log',
    );
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keyOnlyBundle },
      { ...keyOnly, witnesses: policy([w1], 1) },
    );
    assert.equal(report.ok, false);
    assert.equal(report.error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(report.error?.message ?? '', /no log entry with a checkpoint/);
  });

  it('a policy that cannot be met, or a log key given as a witness, is a usage error', async () => {
    const cosigned = withLines([await cosign(w1)]);
    await assert.rejects(verify(cosigned, policy([w1, w1Again], 2)), { code: 'E_USAGE' });
    await assert.rejects(verify(cosigned, policy([w1], 0)), { code: 'E_USAGE' });
    await assert.rejects(verify(cosigned, { verifiers: [], required: 1 }), { code: 'E_USAGE' });
    const logKey = noteVerifierFor(ORIGIN, generateKeyPairSync('ed25519').publicKey);
    await assert.rejects(verify(cosigned, { verifiers: [logKey as never], required: 1 }), { code: 'E_USAGE' });
  });
});

describe('witness cosignatures required by a C2SP tlog-policy', () => {
  /** Policy names w1..w3 for the witnesses (their keys are named w1.example..w3.example). */
  const tlogPolicy = (quorumLines: string, logLine = `log ${logVkey}`): WitnessPolicy => ({
    policy: parseTlogPolicy(
      [logLine, `witness w1 ${w1.vkey}`, `witness w2 ${w2.vkey}`, `witness w3 ${w3.vkey}`, quorumLines, ''].join('\n'),
      'test.policy',
    ),
    source: 'test.policy',
  });

  it('a group quorum met passes, naming the policy, its quorum and who cosigned (by policy name)', async () => {
    const report = await verify(
      withLines([await cosign(w3), await cosign(stranger), await cosign(w1)]),
      tlogPolicy('group two 2 w1 w2 w3\nquorum two'),
    );
    assert.equal(report.ok, true, report.error?.message);
    const check = report.checks.find((c) => c.name === 'witness cosignatures');
    assert.equal(check?.detail.policy, 'test.policy');
    assert.equal(check?.detail.quorum, 'two');
    assert.deepEqual((check?.detail.entries as Array<{ cosigned: string[] }>)[0]?.cosigned, ['w1', 'w3']);
  });

  it('nested groups: one of w1, w2 AND w3', async () => {
    const strict = tlogPolicy('group either any w1 w2\ngroup strict all either w3\nquorum strict');
    const short = await verify(withLines([await cosign(w1), await cosign(w2)]), strict);
    assert.equal(short.error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(
      short.error?.message ?? '',
      /^log entry 1: its checkpoint is cosigned by w1, w2: not enough for the quorum 'strict' of test\.policy/,
    );
    assert.deepEqual(short.error?.details?.cosigned, ['w1', 'w2']);
    const met = await verify(withLines([await cosign(w1), await cosign(w3)]), strict);
    assert.equal(met.ok, true, met.error?.message);
  });

  it('a checkpoint of a log the policy does not name is refused; a policy naming no log applies to any', async () => {
    const otherLog = `log ${encodeVerifierKey(ORIGIN, generateKeyPairSync('ed25519').publicKey)}`;
    const cosigned = withLines([await cosign(w1)]);
    const refused = await verify(cosigned, tlogPolicy('quorum w1', otherLog));
    assert.equal(refused.error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(refused.error?.message ?? '', /not signed by a log the witness policy names/);
    const anyLog = await verify(cosigned, tlogPolicy('quorum w1', '# no log lines'));
    assert.equal(anyLog.ok, true, anyLog.error?.message);
  });

  it('a bad line by a policy witness refuses the note; a bundle without a checkpoint is a denial', async () => {
    const replayed = await verify(withLines([await cosign(w2), await cosign(w1, laterText)]), tlogPolicy('quorum w2'));
    assert.equal(replayed.error?.code, 'E_TLOG_CHECKPOINT');
    const keyOnly = await verifyBlob(
      { bytes: artifact },
      { json: keyOnlyBundle },
      { ...options, tlogThreshold: 0, witnesses: tlogPolicy('quorum w1') },
    );
    assert.equal(keyOnly.error?.code, 'E_TLOG_CHECKPOINT');
    assert.match(
      keyOnly.error?.message ?? '',
      /cosignatures of the quorum 'w1' of test\.policy are required, but the bundle has no log entry/,
    );
  });
});
