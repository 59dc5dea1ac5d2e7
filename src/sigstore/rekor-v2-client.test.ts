// The Rekor v2 client against an in-test log that runs the server-side parser on every request and
// answers with a real signed checkpoint, so each bundle is then checked by @sigstore/verify end to end
// (checkpoint, Merkle inclusion, entry body) and against the leaf cosign/sigstore-go rebuild (§2.4).
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import type { SerializedBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { SignatureBundle } from '@sigstore/sign';
import { freePort } from '../../test/helpers/process.ts';
import { verifyWithSigstoreJs } from '../../test/helpers/sigstore.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import type { SigningAlgorithm } from '../crypto/signer.ts';
import { AirlockError, isAirlockError } from '../errors.ts';
import { MAX_REQUEST_BYTES, parseCreateEntryRequest, toCreateEntryRequest } from '../log/rekor-request.ts';
import { toTransparencyLogEntry } from '../log/rekor-response.ts';
import { createEntryRequestFor, uploadToRekorV2 } from './rekor-v2-client.ts';
import { attestBlob, signBlob } from './sign-blob.ts';

const ORIGIN = 'log.airlock.test';
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** How the test log answers; `ok` is an honest log that also returns the entry on 409. */
type Mode = 'ok' | 'bare-409' | 'http-503' | 'other-body' | 'silent';

interface TestLog {
  readonly url: string;
  readonly trustedRoot: unknown;
  /** Every request body the log received, parsed as JSON. */
  readonly received: unknown[];
  mode: Mode;
  stop(): Promise<void>;
}

/**
 * A log of two leaves per answer (a fixed leaf 0, the entry at index 1), so the proof has one hash and
 * inclusionProof.logIndex matters; its checkpoint is a C2SP signed note by an Ed25519 key (§2.2).
 */
async function startTestLog(): Promise<TestLog> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const logId = sha256(Buffer.from(`${ORIGIN}\n`), Buffer.of(1), raw);
  const leaf0 = sha256(Buffer.of(0), Buffer.from('leaf 0'));
  const seen = new Map<string, unknown>();
  const received: unknown[] = [];

  function answer(json: unknown): { status: number; body: unknown } {
    const entry = parseCreateEntryRequest(json);
    const known = seen.get(b64(sha256(entry.body)));
    if (known) return { status: 409, body: known };
    const rootHash = sha256(Buffer.of(1), leaf0, sha256(Buffer.of(0), entry.body));
    const note = `${ORIGIN}\n2\n${b64(rootHash)}\n`;
    const signature = Buffer.concat([logId.subarray(0, 4), sign(null, Buffer.from(note), privateKey)]);
    const checkpoint = `${note}\n\u2014 ${ORIGIN} ${b64(signature)}\n`;
    const tle = toTransparencyLogEntry({
      logIndex: 1,
      logId,
      body: entry.body,
      inclusionHashes: [leaf0],
      checkpoint,
      treeSize: 2,
      rootHash,
    });
    seen.set(b64(sha256(entry.body)), tle);
    return { status: 201, body: tle };
  }

  const log: TestLog = {
    url: '',
    received,
    mode: 'ok',
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: `https://${ORIGIN}`,
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: b64(publicKey.export({ type: 'spki', format: 'der' })),
            keyDetails: 'PKIX_ED25519',
            validFor: { start: '2020-01-01T00:00:00Z' },
          },
          logId: { keyId: b64(logId) },
        },
      ],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    },
    stop: async () => {},
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (log.mode === 'silent') return;
    if (log.mode === 'http-503') return void res.writeHead(503).end('pushback');
    if (req.method !== 'POST' || req.url !== '/api/v2/log/entries' || text.length > MAX_REQUEST_BYTES)
      return void res.writeHead(404).end();
    try {
      const json: unknown = JSON.parse(text);
      received.push(json);
      const { status, body } = answer(json);
      if (status === 409) {
        res.writeHead(409, { 'x-log-index': '1', 'content-type': 'application/json' });
        return void res.end(log.mode === 'bare-409' ? '' : JSON.stringify(body));
      }
      const sent =
        log.mode === 'other-body' ? { ...(body as object), canonicalizedBody: b64(Buffer.from('{}')) } : body;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(sent));
    } catch (err) {
      res.writeHead(err instanceof AirlockError ? 400 : 500).end(`${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  Object.assign(log, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return log;
}

const ARTIFACT = Buffer.from('airlock-1.2.3.tar.gz contents\n');
const PREDICATE = { predicateType: 'https://airlock.dev/test/v1', predicate: { ok: true } };

function signer(algorithm: SigningAlgorithm, privateKey: KeyObject) {
  return createKeyObjectSigner(privateKey, algorithm, `test ${algorithm}`);
}

const P256 = signer('ecdsa-sha2-256-nistp256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const P384 = signer('ecdsa-sha2-384-nistp384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
const RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const RSA = signer('rsa-sign-pkcs1-2048-sha256', RSA_KEY);
const RSA_PSS = signer('rsa-sign-pss-2048-sha256', RSA_KEY);
const ED25519 = signer('ed25519', generateKeyPairSync('ed25519').privateKey);

/** The leaf cosign / sigstore-go rebuild from a key bundle (§2.4), written out by hand. */
function rebuiltLeaf(bundle: SerializedBundle, key: KeyObject, keyDetails: string): string {
  const message = bundle.messageSignature;
  const envelope = bundle.dsseEnvelope;
  const digest = message
    ? message.messageDigest?.digest
    : b64(sha256(dsse.preAuthEncoding(envelope?.payloadType ?? '', Buffer.from(envelope?.payload ?? '', 'base64'))));
  const algorithm = message?.messageDigest?.algorithm ?? 'SHA2_256';
  const signature = message ? message.signature : envelope?.signatures[0]?.sig;
  const spki = b64(key.export({ type: 'spki', format: 'der' }));
  return (
    `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"${algorithm}` +
    `","digest":"${digest}"},` +
    (`"signature":{"content":"${signature}","verifier":{"keyDetails":"${keyDetails}` +
      `","publicKey":{"rawBytes":"${spki}"}}}}}}`)
  );
}

function assertCode(code: string, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AirlockError && err.code === code, `expected ${code}, got ${String(err)}`);
    if (pattern) assert.match(`${err.message} | ${err.hint ?? ''}`, pattern);
    return true;
  };
}

describe('signing with --rekor-api-version 2', () => {
  let log: TestLog;
  before(async () => {
    log = await startTestLog();
  });
  after(() => log.stop());
  const witnesses = () => ({ tlog: { url: log.url, apiVersion: 2 as const } });

  const logged: Array<[string, typeof P256, string, 'blob' | 'attestation']> = [
    ['P-256 message signature', P256, 'PKIX_ECDSA_P256_SHA_256', 'blob'],
    ['P-256 DSSE (hashedrekord over SHA-256 of the PAE)', P256, 'PKIX_ECDSA_P256_SHA_256', 'attestation'],
    ['P-384 message signature (SHA-384 digest)', P384, 'PKIX_ECDSA_P384_SHA_384', 'blob'],
    ['RSA-2048 message signature', RSA, 'PKIX_RSA_PKCS1V15_2048_SHA256', 'blob'],
    ['RSA-2048 DSSE', RSA, 'PKIX_RSA_PKCS1V15_2048_SHA256', 'attestation'],
  ];
  for (const [name, s, keyDetails, kind] of logged) {
    it(`${name}: the log accepts it and @sigstore/verify proves the entry in the bundle`, async () => {
      const before = log.received.length;
      const data = Buffer.concat([ARTIFACT, Buffer.from(name)]);
      const { bundle } =
        kind === 'blob'
          ? await signBlob({ data }, { signer: s, witnesses: witnesses() })
          : await attestBlob({ data, name: 'airlock.tar.gz' }, { signer: s, witnesses: witnesses(), ...PREDICATE });
      assert.equal(log.received.length, before + 1);
      const sent = log.received.at(-1) as {
        hashedRekordRequestV002: { signature: { verifier: Record<string, unknown> } };
      };
      assert.equal(sent.hashedRekordRequestV002.signature.verifier.keyDetails, keyDetails);
      assert.ok(
        'publicKey' in sent.hashedRekordRequestV002.signature.verifier,
        'key bundles log the key, not a certificate',
      );

      const entries = bundle.verificationMaterial.tlogEntries;
      assert.equal(entries.length, 1);
      assert.deepEqual(entries[0]?.kindVersion, { kind: 'hashedrekord', version: '0.0.2' });
      assert.equal(
        Buffer.from(entries[0]?.canonicalizedBody ?? '', 'base64').toString('utf8'),
        rebuiltLeaf(bundle, s.publicKey, keyDetails),
      );
      verifyWithSigstoreJs(bundle, kind === 'blob' ? data : undefined, s.publicKey, {
        tlogThreshold: 1,
        trustedRoot: log.trustedRoot,
      });
      // The proof is real: another log key must not verify it.
      const other = structuredClone(log.trustedRoot) as { tlogs: Array<{ publicKey: { rawBytes: string } }> };
      (other.tlogs[0] as { publicKey: { rawBytes: string } }).publicKey.rawBytes = b64(
        generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }),
      );
      assert.throws(
        () =>
          verifyWithSigstoreJs(bundle, kind === 'blob' ? data : undefined, s.publicKey, {
            tlogThreshold: 1,
            trustedRoot: other,
          }),
        /checkpoint/,
      );
    });
  }

  it(
    'a tampered digest or signature in what the client sent is refused by the parser (and the log ' + 'answers 400)',
    async () => {
      await signBlob({ data: ARTIFACT }, { signer: P256, witnesses: witnesses() });
      const sent = log.received.at(-1) as {
        hashedRekordRequestV002: { digest: string; signature: { content: string } };
      };
      const flip = (text: string) => {
        const bytes = Buffer.from(text, 'base64');
        bytes[5] = (bytes[5] ?? 0) ^ 0x80;
        return b64(bytes);
      };
      const badDigest = structuredClone(sent);
      badDigest.hashedRekordRequestV002.digest = flip(badDigest.hashedRekordRequestV002.digest);
      const badSignature = structuredClone(sent);
      badSignature.hashedRekordRequestV002.signature.content = flip(
        badSignature.hashedRekordRequestV002.signature.content,
      );
      for (const bad of [badDigest, badSignature]) {
        assert.throws(
          () => parseCreateEntryRequest(bad),
          (err: unknown) => isAirlockError(err, 'E_SIGNATURE_INVALID'),
        );
        const res = await fetch(`${log.url}/api/v2/log/entries`, { method: 'POST', body: JSON.stringify(bad) });
        assert.equal(res.status, 400);
        assert.match(await res.text(), /does not verify over the digest/);
      }
    },
  );

  it('an Ed25519ph signature over a SHA-512 digest is logged (the low-level request builder)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    const digest = createHash('sha512').update(ARTIFACT).digest();
    const request = toCreateEntryRequest({ digest, signature: ed25519ph.sign(ARTIFACT, seed), verifier: publicKey });
    assert.equal(request.hashedRekordRequestV002.signature.verifier.keyDetails, 'PKIX_ED25519_PH');
    const entry = await uploadToRekorV2(log.url, request);
    assert.equal(entry.logIndex, '1');
    assert.deepEqual(entry.canonicalizedBody, Buffer.from(parseCreateEntryRequest(request).body));
  });

  it('pure Ed25519 and P-384 DSSE are refused before anything is sent (E_KEY_UNSUPPORTED)', async () => {
    const before = log.received.length;
    await assert.rejects(
      signBlob({ data: ARTIFACT }, { signer: ED25519, witnesses: witnesses() }),
      assertCode('E_KEY_UNSUPPORTED', /pure Ed25519.*P-256/s),
    );
    await assert.rejects(
      attestBlob({ data: ARTIFACT }, { signer: P384, witnesses: witnesses(), ...PREDICATE }),
      assertCode('E_KEY_UNSUPPORTED', /PKIX_ECDSA_P384_SHA_384.*SHA-256 of the PAE.*P-256 or RSA/s),
    );
    await assert.rejects(
      signBlob({ data: ARTIFACT }, { signer: RSA_PSS, witnesses: witnesses() }),
      assertCode('E_KEY_UNSUPPORTED', /RSA-PSS/),
    );
    assert.equal(log.received.length, before);
  });

  it('a bundle digest of another hash than the key logs with is refused (E_INPUT_MALFORMED)', () => {
    const content: SignatureBundle = {
      $case: 'messageSignature',
      messageSignature: {
        messageDigest: { algorithm: HashAlgorithm.SHA2_256, digest: sha256(ARTIFACT) },
        signature: Buffer.alloc(72),
      },
    };
    assert.throws(() => createEntryRequestFor(content, P384.publicKey), assertCode('E_INPUT_MALFORMED', /not sha384/));
  });

  it('a 409 that carries the existing entry is used as the answer', async () => {
    // RSA PKCS#1 v1.5 is deterministic: the same blob signed twice is the same entry.
    const first = await signBlob({ data: ARTIFACT }, { signer: RSA, witnesses: witnesses() });
    const again = await signBlob({ data: ARTIFACT }, { signer: RSA, witnesses: witnesses() });
    assert.deepEqual(again.bundle.verificationMaterial.tlogEntries, first.bundle.verificationMaterial.tlogEntries);
    verifyWithSigstoreJs(again.bundle, ARTIFACT, RSA.publicKey, { tlogThreshold: 1, trustedRoot: log.trustedRoot });
  });

  describe('failures are E_TLOG_UPLOAD naming the log', () => {
    const modes: Array<[Mode, RegExp]> = [
      ['bare-409', /already holds this entry at index 1/],
      ['http-503', /HTTP 503: pushback/],
      ['other-body', /another entry body/],
    ];
    for (const [mode, pattern] of modes) {
      it(mode, async () => {
        await signBlob({ data: Buffer.from(`first ${mode}`) }, { signer: RSA, witnesses: witnesses() });
        log.mode = mode;
        try {
          const data = Buffer.from(mode === 'bare-409' ? `first ${mode}` : mode);
          await assert.rejects(signBlob({ data }, { signer: RSA, witnesses: witnesses() }), (err: unknown) => {
            assertCode('E_TLOG_UPLOAD', pattern)(err);
            assert.ok((err as AirlockError).message.includes(log.url));
            return true;
          });
        } finally {
          log.mode = 'ok';
        }
      });
    }

    it('a log that does not answer in time', async () => {
      log.mode = 'silent';
      try {
        const request = toCreateEntryRequest({
          digest: sha256(ARTIFACT),
          signature: sign('sha256', ARTIFACT, RSA_KEY),
          verifier: RSA.publicKey,
        });
        await assert.rejects(
          uploadToRekorV2(log.url, request, { timeoutMs: 200 }),
          assertCode('E_TLOG_UPLOAD', /no answer within 0.2 s/),
        );
      } finally {
        log.mode = 'ok';
      }
    });

    it('a log out of reach, with the offline hint of the v1 path', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      await assert.rejects(
        signBlob({ data: ARTIFACT }, { signer: P256, witnesses: { tlog: { url, apiVersion: 2 } } }),
        assertCode('E_TLOG_UPLOAD', new RegExp(`transparency log ${url}: .*ECONNREFUSED.*--tlog-upload=false`, 's')),
      );
    });
  });
});
