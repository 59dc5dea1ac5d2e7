import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { parseOidcIssuerSpec } from './issuer-spec.ts';

function usage(spec: string, reason: RegExp): void {
  assert.throws(
    () => parseOidcIssuerSpec(spec),
    (err: unknown) => {
      assert.ok(isAirlockError(err, 'E_USAGE'), String(err));
      assert.match(err.message, /^--oidc-issuer /);
      assert.match(err.message, reason);
      assert.match(err.hint ?? '', /URL=JWKS_FILE/);
      return true;
    },
  );
}

describe('parseOidcIssuerSpec', () => {
  it('reads URL=JWKS_FILE with type email and audience sigstore by default', () => {
    assert.deepEqual(parseOidcIssuerSpec('https://idp.example.com=keys/idp.jwks.json'), {
      url: 'https://idp.example.com',
      jwksPath: 'keys/idp.jwks.json',
      type: 'email',
      audience: 'sigstore',
    });
  });

  it('reads every option, and keeps the URL exactly as written', () => {
    assert.deepEqual(parseOidcIssuerSpec('https://kubernetes.default.svc/=k8s.json,type=kubernetes,audience=ca'), {
      url: 'https://kubernetes.default.svc/',
      jwksPath: 'k8s.json',
      type: 'kubernetes',
      audience: 'ca',
    });
    assert.deepEqual(
      parseOidcIssuerSpec('http://accounts.corp.example=/etc/a.json,subject-domain=http://users.corp.example,type=uri'),
      {
        url: 'http://accounts.corp.example',
        jwksPath: '/etc/a.json',
        type: 'uri',
        audience: 'sigstore',
        subjectDomain: 'http://users.corp.example',
      },
    );
    assert.equal(parseOidcIssuerSpec('https://gh.example=g.json,type=github-workflow').type, 'github-workflow');
    assert.equal(parseOidcIssuerSpec('https://IdP.example/Realm=k.json').url, 'https://IdP.example/Realm');
  });

  it('refuses a spec without its parts', () => {
    usage('https://idp.example.com', /expected URL=JWKS_FILE/);
    usage('=k.json', /issuer URL is missing/);
    usage('https://idp.example.com=', /JWKS file is missing/);
    usage('https://idp.example.com=,type=email', /JWKS file is missing/);
  });

  it('refuses issuer URLs that are not plain http(s) URLs', () => {
    usage('idp.example.com=k.json', /is not a URL/);
    usage('ftp://idp.example.com=k.json', /must start with https:\/\/ or http:\/\//);
    usage('https:/idp.example.com=k.json', /must start with https:\/\//);
    usage('https://user@idp.example.com=k.json', /must not hold a user, a query or a fragment/);
    usage('https://idp.example.com/#x=k.json', /must not hold a user, a query or a fragment/);
    usage('https://idp.example.com/\u0007=k.json', /control character/);
    usage(`https://idp.example.com/${'a'.repeat(1100)}=k.json`, /longer than 1024/);
  });

  it('refuses unknown, repeated and empty options and unknown types', () => {
    usage('https://i.example=k.json,kind=email', /unknown option "kind"/);
    usage('https://i.example=my,keys.json', /unknown option "keys\.json".*cannot hold ","/);
    usage('https://i.example=k.json,audience=a,audience=b', /audience is given twice/);
    usage('https://i.example=k.json,audience=', /audience has no value/);
    usage('https://i.example=k.json,type', /type has no value/);
    usage(
      'https://i.example=k.json,type=spiffe',
      /type "spiffe" is not one of email, uri, kubernetes, github-workflow/,
    );
  });

  it('ties subject-domain to type uri, as a scheme and host in the issuer domain', () => {
    usage('https://i.example.com=k.json,type=uri', /type=uri needs subject-domain/);
    usage('https://i.example.com=k.json,subject-domain=https://example.com', /applies only to type=uri/);
    const uri = (domain: string) => `https://accounts.example.com=k.json,type=uri,subject-domain=${domain}`;
    usage(uri('https://example.com/users'), /a scheme and a host only/);
    usage(uri('https://example.com:8443'), /a scheme and a host only/);
    usage(uri('http://example.com'), /share their scheme/);
    usage(uri('https://example.org'), /not in the issuer's domain accounts\.example\.com/);
    usage(uri('https://com'), /not in the issuer's domain/);
    assert.equal(parseOidcIssuerSpec(uri('https://example.com/')).subjectDomain, 'https://example.com/');
    assert.equal(parseOidcIssuerSpec(uri('https://users.example.com')).subjectDomain, 'https://users.example.com');
    const sameHost = 'https://localhost=k.json,type=uri,subject-domain=https://localhost';
    assert.equal(parseOidcIssuerSpec(sameHost).subjectDomain, 'https://localhost');
  });
});
