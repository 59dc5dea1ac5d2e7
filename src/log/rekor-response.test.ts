// The TransparencyLogEntry a Rekor v2 log answers with (tlog-anchors.md §2.1 Response): its protojson
// shape, written out in full here, and what protobuf-specs reads back from it.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { isAirlockError } from '../errors.ts';
import { parseCreateEntryRequest, toCreateEntryRequest } from './rekor-request.ts';
import { toTransparencyLogEntry } from './rekor-response.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The body of a real entry, as the log appends it. */
function loggedBody(): Uint8Array {
  const message = Buffer.from('airlock release 1.2.3\n');
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const digest = createHash('sha256').update(message).digest();
  const signature = sign('sha256', message, privateKey);
  return parseCreateEntryRequest(toCreateEntryRequest({ digest, signature, verifier: publicKey })).body;
}

describe('toTransparencyLogEntry', () => {
  const body = loggedBody();
  const logId = createHash('sha256').update('log id').digest();
  const rootHash = createHash('sha256').update('root').digest();
  const checkpoint = 'log.example\n1\nAAAA\n\n— log.example AAAAAA==\n';

  it(
    'writes §2.1 Response: int64 as strings, zeros written out, inclusionProof.logIndex = ' + 'logIndex, no promise',
    () => {
      const tle = toTransparencyLogEntry({
        logIndex: 0,
        logId,
        body,
        inclusionHashes: [],
        checkpoint,
        treeSize: 1,
        rootHash,
      });
      assert.deepEqual(tle, {
        logIndex: '0',
        logId: { keyId: b64(logId) },
        kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
        integratedTime: '0',
        inclusionProof: {
          logIndex: '0',
          rootHash: b64(rootHash),
          treeSize: '1',
          hashes: [],
          checkpoint: { envelope: checkpoint },
        },
        canonicalizedBody: b64(body),
      });
      assert.equal(JSON.stringify(tle).includes('inclusionPromise'), false);
    },
  );

  it('round-trips through protobuf-specs TransparencyLogEntry', () => {
    const hashes = [createHash('sha256').update('a').digest(), createHash('sha256').update('b').digest()];
    const tle = toTransparencyLogEntry({
      logIndex: 5,
      logId,
      body,
      inclusionHashes: hashes,
      checkpoint,
      treeSize: 7,
      rootHash,
    });
    const message = TransparencyLogEntry.fromJSON(tle);
    assert.equal(message.logIndex, '5');
    assert.equal(message.inclusionProof?.logIndex, '5');
    assert.equal(message.inclusionProof?.treeSize, '7');
    assert.deepEqual(message.inclusionProof?.hashes, hashes);
    assert.deepEqual(message.canonicalizedBody, Buffer.from(body));
    // ts-proto drops the zero integratedTime; nothing else is lost or changed.
    assert.deepEqual({ integratedTime: '0', ...(TransparencyLogEntry.toJSON(message) as object) }, tle);
  });

  it('refuses inconsistent inputs as a bug (E_INTERNAL)', () => {
    const good = { logIndex: 0, logId, body, inclusionHashes: [], checkpoint, treeSize: 1, rootHash };
    const bad = [
      { ...good, logIndex: 1 },
      { ...good, logIndex: -1 },
      { ...good, logIndex: 0.5 },
      { ...good, logId: logId.subarray(1) },
      { ...good, rootHash: rootHash.subarray(1) },
      { ...good, inclusionHashes: [Buffer.alloc(31)] },
      { ...good, checkpoint: '' },
    ];
    for (const input of bad) {
      assert.throws(
        () => toTransparencyLogEntry(input),
        (err: unknown) => isAirlockError(err, 'E_INTERNAL'),
      );
    }
  });
});
