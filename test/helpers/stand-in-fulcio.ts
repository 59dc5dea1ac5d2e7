// A STAND-IN for a Fulcio-compatible CA, for tests of the keyless client only, until `airlock ca serve`
// lands (the integrator replaces it in end-to-end tests). It answers POST /api/v2/signingCert as
// Fulcio's REST API v2 does (note §1): 200 and a detached-SCT chain, leaf first. It verifies NO token:
// the identity it certifies is read from the unverified token (email, else sub; issuer = iss). It
// does check the proof of possession over that claim, so a client signing the wrong claim fails here
// as it would at a real CA (pitfall 1). The leaf comes from test/helpers/private-ca.ts (openssl).
import { createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { createPrivateCa, type PrivateCa } from './private-ca.ts';

export interface CertificateRequest {
  readonly token: string;
  readonly publicKeyPem: string;
  readonly proofOfPossession: Buffer;
}

export interface StandInFulcio {
  readonly url: string;
  readonly ca: PrivateCa;
  /** Requests received, in order. */
  readonly requests: CertificateRequest[];
  /** Set to answer the next requests with this status and Fulcio-shaped error body instead of a certificate. */
  refuseWith: ((request: CertificateRequest) => { status: number; message: string }) | undefined;
  /** Set to certify this public key (PEM) instead of the one sent, as a broken or hostile CA might. */
  certifyInstead: string | undefined;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseRequest(text: string): CertificateRequest {
  const body = JSON.parse(text) as {
    credentials?: { oidcIdentityToken?: string };
    publicKeyRequest?: { publicKey?: { content?: string }; proofOfPossession?: string };
  };
  return {
    token: body.credentials?.oidcIdentityToken ?? '',
    publicKeyPem: body.publicKeyRequest?.publicKey?.content ?? '',
    proofOfPossession: Buffer.from(body.publicKeyRequest?.proofOfPossession ?? '', 'base64'),
  };
}

async function issue(
  ca: PrivateCa,
  request: CertificateRequest,
  certifyInstead: string | undefined,
): Promise<{ status: number; body: unknown }> {
  const claims = decodeJwt(request.token) as { email?: string; sub?: string; iss?: string };
  const subject = claims.email ?? claims.sub ?? '';
  const key = createPublicKey(request.publicKeyPem);
  if (!verify('sha256', Buffer.from(subject), key, request.proofOfPossession)) {
    return { status: 400, body: { code: 3, message: 'The signature supplied in the request could not be verified' } };
  }
  const publicKeyPem = certifyInstead ?? request.publicKeyPem;
  const leaf = await ca.issueLeafForKey({ publicKeyPem, san: subject, issuer: claims.iss ?? '' });
  return {
    status: 200,
    body: {
      signedCertificateDetachedSct: {
        chain: { certificates: [leaf.trim(), ca.rootPem.trim()] },
        signedCertificateTimestamp: '',
      },
    },
  };
}

export async function startStandInFulcio(): Promise<StandInFulcio> {
  const ca = await createPrivateCa('stand-in fulcio');
  const requests: CertificateRequest[] = [];
  const state: StandInFulcio = {
    url: '',
    ca,
    requests,
    refuseWith: undefined,
    certifyInstead: undefined,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ca.cleanup();
    },
  };
  const server: Server = createServer((req, res) => {
    const answer = async () => {
      if (req.method !== 'POST' || req.url !== '/api/v2/signingCert')
        return { status: 404, body: { code: 5, message: 'Not Found' } };
      const request = parseRequest(await readBody(req));
      requests.push(request);
      const refusal = state.refuseWith?.(request);
      if (refusal) return { status: refusal.status, body: { code: 3, message: refusal.message, details: [] } };
      return issue(ca, request, state.certifyInstead);
    };
    answer().then(
      ({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 13, message: String(err) }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}` });
}
