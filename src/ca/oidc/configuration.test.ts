import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issuerConfiguration } from './configuration.ts';
import { parseOidcIssuerSpec } from './issuer-spec.ts';

describe('issuerConfiguration', () => {
  it("is Fulcio's /api/v2/configuration body: every field, empty ones too, in proto order", () => {
    const issuers = [
      'https://idp.example.com=a.json',
      'https://kubernetes.default.svc=b.json,type=kubernetes,audience=ca',
      'https://accounts.example.com=c.json,type=uri,subject-domain=https://example.com',
      'https://token.actions.githubusercontent.com=d.json,type=github-workflow',
    ].map(parseOidcIssuerSpec);
    const entry = (issuerUrl: string, audience: string, challengeClaim: string, issuerType: string, domain = '') =>
      `{"issuerUrl":"${issuerUrl}","audience":"${audience}","challengeClaim":"${challengeClaim}",` +
      `"spiffeTrustDomain":"","issuerType":"${issuerType}","subjectDomain":"${domain}","skipEmailVerification":false}`;
    assert.equal(
      JSON.stringify(issuerConfiguration(issuers)),
      `{"issuers":[${[
        entry('https://idp.example.com', 'sigstore', 'email', 'email'),
        entry('https://kubernetes.default.svc', 'ca', 'sub', 'kubernetes'),
        entry('https://accounts.example.com', 'sigstore', 'sub', 'uri', 'https://example.com'),
        entry('https://token.actions.githubusercontent.com', 'sigstore', 'sub', 'github-workflow'),
      ].join(',')}]}`,
    );
  });

  it('is an empty list without issuers', () => {
    assert.deepEqual(issuerConfiguration([]), { issuers: [] });
  });
});
