import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { AsnParser } from '@peculiar/asn1-schema';
import { TimeStampReq } from '@peculiar/asn1-tsp';
import { queryFromJsonRequest } from './tsa-json-request.ts';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const digest = createHash('sha256').update('signature').digest();

describe("Sigstore's JSON timestamp request, turned into an RFC 3161 query", () => {
  it('carries the artifact hash, its algorithm, a nonce of ours and certReq', () => {
    const der = queryFromJsonRequest(json({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256' }), () =>
      Buffer.alloc(8, 0x81),
    );
    const request = AsnParser.parse(der, TimeStampReq);
    assert.equal(request.messageImprint.hashAlgorithm.algorithm, '2.16.840.1.101.3.4.2.1');
    assert.deepEqual(Buffer.from(request.messageImprint.hashedMessage.buffer), digest);
    assert.equal(request.certReq, true);
    assert.equal(Buffer.from(request.nonce as ArrayBuffer).toString('hex'), '008181818181818181', 'positive');
  });

  it("refuses what is not one, as the client's 400", () => {
    const bad: Array<[unknown, RegExp]> = [
      ['x', /not a JSON object/],
      [{ artifactHash: digest.toString('base64'), hashAlgorithm: 'md5' }, /sha256, sha384 or sha512/],
      [{ artifactHash: '%%' }, /base64/],
      [{ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha384' }, /32 bytes, a sha384 digest is 48/],
    ];
    for (const [body, message] of bad)
      assert.throws(
        () => queryFromJsonRequest(json(body)),
        (err: Error & { status?: number }) => {
          assert.equal(err.status, 400);
          return message.test(err.message);
        },
      );
    assert.throws(() => queryFromJsonRequest(Buffer.from('{')), /not JSON/);
  });
});
