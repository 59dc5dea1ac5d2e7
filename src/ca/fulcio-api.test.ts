import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bearerToken,
  errorBody,
  parseSigningCertRequest,
  protoBytes,
  signingCertResponse,
  trustBundleResponse,
} from './fulcio-api.ts';

const PROOF = Buffer.from([0xfb, 0xff, 0x01, 0x02]);

describe('Fulcio API v2 requests, read as protojson reads them', () => {
  it('reads what sigstore-js sends: the token in the body, a PEM key and a base64 proof', () => {
    const body = JSON.stringify({
      credentials: { oidcIdentityToken: 'a.b.c' },
      publicKeyRequest: {
        publicKey: { algorithm: 'ECDSA', content: 'PEM' },
        proofOfPossession: PROOF.toString('base64'),
      },
    });
    const r = parseSigningCertRequest(body, 'x.y.z');
    assert.equal(r.token, 'a.b.c', 'the body wins over the header');
    assert.equal(r.kind, 'public-key');
    assert.deepEqual(r.kind === 'public-key' && Buffer.from(r.proofOfPossession), PROOF);
  });

  it('takes the token from the Authorization header when the body has none (sigstore-go, cosign)', () => {
    const body = JSON.stringify({
      public_key_request: { public_key: { content: 'PEM' }, proof_of_possession: PROOF.toString('base64url') },
    });
    const r = parseSigningCertRequest(body, bearerToken('Bearer x.y.z'));
    assert.equal(r.token, 'x.y.z');
    assert.deepEqual(r.kind === 'public-key' && Buffer.from(r.proofOfPossession), PROOF, 'URL-safe, unpadded');
  });

  it('reads a CSR request, ignoring unknown fields', () => {
    const r = parseSigningCertRequest(
      JSON.stringify({ credentials: { oidcIdentityToken: 't.t.t' }, certificateSigningRequest: 'Q1NS', extra: 1 }),
      undefined,
    );
    assert.deepEqual(r, { token: 't.t.t', kind: 'csr', csr: 'Q1NS' });
  });

  it('refuses what is not a request, each with its code', () => {
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['not json', 'a.b.c', /E_INPUT_MALFORMED|not JSON/],
      [
        JSON.stringify({ publicKeyRequest: { publicKey: { content: 'k' }, proofOfPossession: 'AA==' } }),
        undefined,
        /no identity token/,
      ],
      [JSON.stringify({ credentials: { oidcIdentityToken: 'a.b.c' } }), undefined, /neither publicKeyRequest/],
      [
        JSON.stringify({
          credentials: { oidcIdentityToken: 'a.b.c' },
          publicKeyRequest: { proofOfPossession: 'AA==' },
        }),
        undefined,
        /no public key/,
      ],
      [
        JSON.stringify({
          credentials: { oidcIdentityToken: 'a.b.c' },
          publicKeyRequest: { publicKey: { content: 'k' } },
        }),
        undefined,
        /no proof of possession/,
      ],
      [
        JSON.stringify({
          credentials: { oidcIdentityToken: 'a.b.c' },
          publicKeyRequest: { publicKey: { content: 'k' }, proofOfPossession: '%%' },
        }),
        undefined,
        /not base64/,
      ],
      [JSON.stringify({ credentials: { oidcIdentityToken: 7 } }), undefined, /must be a string/],
      [JSON.stringify([1]), undefined, /must be an object/],
      [
        JSON.stringify({
          credentials: { oidcIdentityToken: 'a.b.c' },
          certificateSigningRequest: 'x',
          publicKeyRequest: {},
        }),
        undefined,
        /not both/,
      ],
    ];
    const codes = new Set<string>();
    for (const [body, header, message] of cases) {
      assert.throws(
        () => parseSigningCertRequest(body, header),
        (err: Error & { code?: string }) => {
          codes.add(err.code ?? '');
          return message.test(err.message);
        },
      );
    }
    assert.deepEqual([...codes].sort(), ['E_CA_KEY', 'E_CA_PROOF', 'E_INPUT_MALFORMED', 'E_OIDC_TOKEN']);
  });

  it('reads Bearer headers strictly', () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('bearer  a.b.c '), 'a.b.c');
    assert.deepEqual(Buffer.from(protoBytes('', 'x')), Buffer.alloc(0));
  });
});

describe('Fulcio API v2 answers', () => {
  it('a signing certificate: the detached form, empty SCT, chain leaf first with trimmed PEMs', () => {
    const json = JSON.parse(signingCertResponse(['LEAF\n', 'ROOT\n']));
    assert.deepEqual(json, {
      signedCertificateDetachedSct: { chain: { certificates: ['LEAF', 'ROOT'] }, signedCertificateTimestamp: '' },
    });
  });
  it('the trust bundle: one chain, PEMs ending in a newline; errors as google.rpc.Status', () => {
    assert.deepEqual(JSON.parse(trustBundleResponse(['INT', 'ROOT\n'])), {
      chains: [{ certificates: ['INT\n', 'ROOT\n'] }],
    });
    assert.deepEqual(JSON.parse(errorBody(3, 'bad')), { code: 3, message: 'bad', details: [] });
  });
});
