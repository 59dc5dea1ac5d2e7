// A CA's refusal is passed on to the user (stderr, --json, and the signer's audit trail, which is kept for
// good and exported to a SIEM), with the token cut out. Cutting the exact token is not enough: a CA, a
// proxy in front of it or a library may echo a piece of it (the signature segment, the token across two
// lines, the dots escaped). Whatever of the token's segments appears in the message must not survive.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fulcioFailure } from './keyless.ts';

const b64u = (text: string) => Buffer.from(text).toString('base64url');
const TOKEN = [
  b64u(JSON.stringify({ alg: 'RS256', kid: 'key-1' })),
  b64u(JSON.stringify({ iss: 'https://idp.example', sub: 'ci', aud: 'sigstore', exp: 2000000000 })),
  // a stand-in for a 2048-bit RSA signature: 342 base64url characters
  b64u('s'.repeat(256)),
].join('.');
const [HEADER, PAYLOAD, SIGNATURE] = TOKEN.split('.') as [string, string, string];

function said(message: string): string {
  const err = fulcioFailure(
    Object.assign(new Error(`(400) ${message}`), { statusCode: 400 }),
    'https://ca.example',
    TOKEN,
  );
  return JSON.stringify({ message: err.message, hint: err.hint, details: err.details, cause: err.cause });
}

function assertNoSegment(text: string, what: string): void {
  // The signature is what makes the token a credential; 32 of its characters are far more than chance.
  for (let at = 0; at + 32 <= SIGNATURE.length; at += 16)
    assert.ok(
      !text.includes(SIGNATURE.slice(at, at + 32)),
      `${what}: part of the signature reached the error: ${text}`,
    );
}

describe("a CA's message that echoes a piece of the token", () => {
  it('a control: the exact token is cut out', () => {
    assertNoSegment(said(`There was an error processing the identity token ${TOKEN}`), 'the whole token');
  });

  it('the signature segment alone', () => {
    assertNoSegment(said(`invalid signature ${SIGNATURE}`), 'the signature');
  });

  it('the token split in two', () => {
    const cut = TOKEN.length - 100;
    assertNoSegment(said(`token ${TOKEN.slice(0, cut)} ${TOKEN.slice(cut)}`), 'a split token');
  });

  it('the token with its dots escaped, as a JSON encoder may write them', () => {
    assertNoSegment(said(`token ${HEADER}\\u002e${PAYLOAD}\\u002e${SIGNATURE}`), 'an escaped token');
  });
});
