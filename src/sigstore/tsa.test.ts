import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AsnConvert } from '@peculiar/asn1-schema';
import { TimeStampResp } from '@peculiar/asn1-tsp';
import { bundleFromJSON, bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { RFC3161Timestamp } from '@sigstore/core';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../errors.ts';
import { freePort } from '../../test/helpers/process.ts';
import { startTestTsa, TEST_TSA_SUBJECT, type TestTsa } from '../../test/helpers/tsa.ts';
import { requestTimestamp, type TimestampHashAlgorithm } from './tsa.ts';

const run = promisify(execFile);

/** Rejects with E_TSA whose message names `url` and matches `pattern`. */
async function rejectsTsa(promise: Promise<unknown>, url: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isAirlockError(err, 'E_TSA'), `expected E_TSA, got ${String(err)}`);
    assert.ok(err.message.includes(url), `message should name ${url}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

interface FakeServer {
  readonly url: string;
  readonly hits: number;
  stop(): Promise<void>;
}

/** A hand-rolled HTTP server for replies no honest TSA would send. */
async function startFake(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeServer> {
  const port = await freePort();
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/api/v1/timestamp`,
    get hits() {
      return hits;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function replying(body: Uint8Array, contentType = 'application/timestamp-reply') {
  return (_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { 'content-type': contentType }).end(body);
}

describe('requestTimestamp against openssl ts', () => {
  let tsa: TestTsa;
  // Registered before the folder below (after hooks run in order): the TSA stops first.
  after(() => tsa.stop());
  const dir = useTempDir('airlock-tsa-test-');
  before(async () => {
    tsa = await startTestTsa();
    await writeFile(join(dir, 'root.pem'), tsa.rootPem);
  });

  /** `openssl ts -verify` over the reply, against the test CA only; returns its stdout. */
  async function opensslVerify(reply: Uint8Array, input: ['-data', Uint8Array] | ['-digest', string]): Promise<string> {
    const name = `r${randomBytes(4).toString('hex')}`;
    await writeFile(join(dir, `${name}.tsr`), reply);
    const args = ['ts', '-verify', '-in', `${name}.tsr`, '-CAfile', 'root.pem'];
    if (input[0] === '-data') {
      await writeFile(join(dir, `${name}.dat`), input[1]);
      args.push('-data', `${name}.dat`);
    } else {
      args.push('-digest', input[1]);
    }
    const { stdout } = await run('openssl', args, { cwd: dir });
    return stdout;
  }

  describe('round trip', () => {
    it('gets a timestamp over the signature that openssl ts -verify accepts', async () => {
      const signature = randomBytes(71);
      const before = tsa.requests;
      const reply = await requestTimestamp(signature, { url: tsa.url });
      assert.equal(tsa.requests, before + 1);

      assert.match(await opensslVerify(reply, ['-data', signature]), /Verification: OK/);
      const hex = createHash('sha256').update(signature).digest('hex');
      assert.match(await opensslVerify(reply, ['-digest', hex]), /Verification: OK/);
      await assert.rejects(opensslVerify(reply, ['-data', randomBytes(71)]), /message imprint mismatch/);

      // The same bytes as @sigstore/core reads them from a bundle.
      const parsed = RFC3161Timestamp.parse(Buffer.from(reply));
      assert.equal(parsed.status, 0n);
      assert.ok(Math.abs(parsed.signingTime.getTime() - Date.now()) < 60_000);
      parsed.tstInfo.verify(Buffer.from(signature));
    });

    for (const hashAlgorithm of ['sha384', 'sha512'] as const satisfies TimestampHashAlgorithm[]) {
      it(`uses ${hashAlgorithm} for the message imprint when asked`, async () => {
        const signature = randomBytes(64);
        const reply = await requestTimestamp(signature, { url: tsa.url, hashAlgorithm });
        const hex = createHash(hashAlgorithm).update(signature).digest('hex');
        assert.match(await opensslVerify(reply, ['-digest', hex]), /Verification: OK/);
        assert.equal(RFC3161Timestamp.parse(Buffer.from(reply)).tstInfo.messageImprintHashAlgorithm, hashAlgorithm);
      });
    }

    // The nonce's DER INTEGER must stay positive and minimal whatever the random bytes are.
    for (const [bytes, shown] of [
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], '0xFFFFFFFFFFFFFFFF'],
      [[0, 0, 0, 0, 0, 0, 0x80, 5], '0x8005'],
    ] as const) {
      it(`sends the nonce it draws (${shown}) and accepts its echo`, async () => {
        const reply = await requestTimestamp(randomBytes(64), { url: tsa.url, random: () => Uint8Array.from(bytes) });
        const name = join(dir, 'nonce.tsr');
        await writeFile(name, reply);
        const { stdout } = await run('openssl', ['ts', '-reply', '-in', name, '-text']);
        assert.match(stdout, new RegExp(`Nonce: ${shown}\\n`));
      });
    }
  });

  describe('inside a Sigstore bundle, verified by @sigstore/verify', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const hint = createHash('sha256').update(spki).digest('base64');
    const artifact = Buffer.from('airlock artifact to be timestamped\n');
    const signature = sign('sha256', artifact, privateKey);
    const notBefore = new Date(Date.now() - 86_400_000).toISOString();

    function bundleWith(signedTimestamp: Uint8Array) {
      const bundle = toMessageSignatureBundle({
        digest: createHash('sha256').update(artifact).digest(),
        signature,
        keyHint: hint,
      });
      bundle.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [{ signedTimestamp: Buffer.from(signedTimestamp) }],
      };
      // Through JSON and back, as a bundle read from disk would be.
      return bundleFromJSON(JSON.parse(JSON.stringify(bundleToJSON(bundle))));
    }

    function trustedRoot(withTsa: boolean): TrustedRoot {
      const b64 = (der: Uint8Array) => Buffer.from(der).toString('base64');
      return TrustedRoot.fromJSON({
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: withTsa
          ? [
              {
                subject: TEST_TSA_SUBJECT,
                uri: tsa.url,
                certChain: { certificates: tsa.certChainDer.map((der) => ({ rawBytes: b64(der) })) },
                validFor: { start: notBefore },
              },
            ]
          : [],
      });
    }

    function verify(signedTimestamp: Uint8Array, withTsa = true) {
      const trust = toTrustMaterial(trustedRoot(withTsa), {
        [hint]: {
          rawBytes: spki,
          keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
          validFor: { start: new Date(notBefore) },
        },
      });
      const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
      return verifier.verify(toSignedEntity(bundleWith(signedTimestamp), artifact));
    }

    const timestampError = (err: unknown) => err instanceof VerificationError && err.code === 'TIMESTAMP_ERROR';

    it('verifies with the TSA in the trusted root', async () => {
      const reply = await requestTimestamp(signature, { url: tsa.url });
      const signer = verify(reply);
      assert.equal(signer.key.export({ type: 'spki', format: 'der' }).toString('base64'), spki.toString('base64'));
    });

    it('fails when the TSA is not in the trusted root', async () => {
      const reply = await requestTimestamp(signature, { url: tsa.url });
      assert.throws(() => verify(reply, false), timestampError);
    });

    it('fails when the timestamp is over other signature bytes', async () => {
      const reply = await requestTimestamp(sign('sha256', artifact, privateKey), { url: tsa.url });
      assert.throws(() => verify(reply), timestampError);
    });

    it('needs the whole TimeStampResp: the bare TimeStampToken does not verify', async () => {
      const reply = await requestTimestamp(signature, { url: tsa.url });
      const token = AsnConvert.parse(reply, TimeStampResp).timeStampToken;
      assert.ok(token);
      assert.throws(() => verify(new Uint8Array(AsnConvert.serialize(token))), TypeError);
    });
  });

  describe('errors', () => {
    it('E_TSA when nothing listens on the port', async () => {
      const url = `http://127.0.0.1:${await freePort()}/`;
      await rejectsTsa(requestTimestamp(randomBytes(64), { url }), url, /could not be reached: .*ECONNREFUSED/);
    });

    it('E_TSA on HTTP 500', async () => {
      const fake = await startFake((_req, res) => res.writeHead(500).end('boom'));
      try {
        await rejectsTsa(requestTimestamp(randomBytes(64), { url: fake.url }), fake.url, /HTTP 500/);
      } finally {
        await fake.stop();
      }
    });

    it('E_TSA when a replayed reply timestamps other bytes', async () => {
      const replayed = await requestTimestamp(randomBytes(64), { url: tsa.url });
      const fake = await startFake(replying(replayed));
      try {
        await rejectsTsa(
          requestTimestamp(randomBytes(64), { url: fake.url }),
          fake.url,
          /timestamps other data than requested/,
        );
      } finally {
        await fake.stop();
      }
    });

    it('E_TSA when a replayed reply for the same bytes carries another nonce', async () => {
      const signature = randomBytes(64);
      const replayed = await requestTimestamp(signature, { url: tsa.url, random: (n) => new Uint8Array(n).fill(1) });
      const fake = await startFake(replying(replayed));
      try {
        const again = requestTimestamp(signature, { url: fake.url, random: (n) => new Uint8Array(n).fill(2) });
        await rejectsTsa(again, fake.url, /nonce 101010101010101 does not match the request's 202020202020202/);
      } finally {
        await fake.stop();
      }
    });

    it('E_TSA with the status text and failInfo when the TSA refuses', async () => {
      // A real refusal by openssl: a query for a policy the TSA does not offer (RFC 3161 §2.4.2 unacceptedPolicy).
      await writeFile(join(dir, 'policy.dat'), 'x');
      await run(
        'openssl',
        ['ts', '-query', '-data', 'policy.dat', '-sha256', '-cert', '-tspolicy', '1.2.3.9', '-out', 'policy.tsq'],
        { cwd: dir },
      );
      const res = await fetch(tsa.url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query' },
        body: await readFile(join(dir, 'policy.tsq')),
      });
      const refusal = new Uint8Array(await res.arrayBuffer());
      const fake = await startFake(replying(refusal));
      try {
        await rejectsTsa(
          requestTimestamp(randomBytes(64), { url: fake.url }),
          fake.url,
          /refused the request: status rejection, "Requested policy is not supported\.", failInfo unacceptedPolicy$/,
        );
      } finally {
        await fake.stop();
      }
    });

    it('E_TSA when the reply is not a TimeStampResp or not labelled as one', async () => {
      const garbage = await startFake(replying(Buffer.from('<html>nope</html>')));
      const html = await startFake(replying(Buffer.from('<html>nope</html>'), 'text/html'));
      const trailing = await startFake(
        replying(Buffer.concat([await requestTimestamp(randomBytes(8), { url: tsa.url }), Buffer.from([0])])),
      );
      try {
        await rejectsTsa(
          requestTimestamp(randomBytes(64), { url: garbage.url }),
          garbage.url,
          /not an RFC 3161 TimeStampResp/,
        );
        await rejectsTsa(requestTimestamp(randomBytes(64), { url: html.url }), html.url, /content-type "text\/html"/);
        await rejectsTsa(requestTimestamp(randomBytes(64), { url: trailing.url }), trailing.url, /1 trailing bytes/);
      } finally {
        await Promise.all([garbage.stop(), html.stop(), trailing.stop()]);
      }
    });

    it('E_TSA instead of following a redirect to another host', async () => {
      const elsewhere = await startFake(replying(new Uint8Array()));
      const redirector = await startFake((_req, res) => res.writeHead(307, { location: elsewhere.url }).end());
      try {
        await rejectsTsa(
          requestTimestamp(randomBytes(64), { url: redirector.url }),
          redirector.url,
          /answered with a redirect, which is not followed/,
        );
        assert.equal(elsewhere.hits, 0);
      } finally {
        await Promise.all([elsewhere.stop(), redirector.stop()]);
      }
    });

    it('E_TSA when the TSA does not answer in time', async () => {
      const silent = await startFake(() => undefined);
      try {
        await rejectsTsa(
          requestTimestamp(randomBytes(64), { url: silent.url, timeoutMs: 200 }),
          silent.url,
          /could not be reached: no answer within 0.2 s/,
        );
      } finally {
        await silent.stop();
      }
    });

    it('E_TSA for a URL that is not http(s)', async () => {
      await rejectsTsa(
        requestTimestamp(randomBytes(64), { url: 'ftp://tsa.example/' }),
        'ftp://tsa.example/',
        /must be http: or https:/,
      );
      await rejectsTsa(requestTimestamp(randomBytes(64), { url: 'not a url' }), 'not a url', /not a valid URL/);
      const withPassword = requestTimestamp(randomBytes(64), { url: 'https://user:hunter2@tsa.example/' });
      await rejectsTsa(withPassword, 'https://tsa.example/', /must not contain credentials$/);
      await withPassword.catch((err: Error) => assert.doesNotMatch(err.message, /hunter2/));
    });
  });
});
