import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { formatPkcs11UriRedacted, parsePkcs11Uri } from './pkcs11-uri.ts';

const malformed = (e: unknown) => isAirlockError(e, 'E_INPUT_MALFORMED');

describe('parsePkcs11Uri', () => {
  it('reads path and query attributes', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=airlock-test;object=signer;type=private;' +
        'manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=3f33b8b8' +
        '?pin-source=file:/run/pin&module-path=/usr/lib/softhsm/libsofthsm2.so',
    );
    assert.deepEqual(uri, {
      token: 'airlock-test',
      object: 'signer',
      type: 'private',
      manufacturer: 'SoftHSM project',
      model: 'SoftHSM v2',
      serial: '3f33b8b8',
      pinSource: 'file:/run/pin',
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
    });
  });

  it('decodes id as raw bytes and labels as UTF-8', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:slot-id=1465243096;id=%01%02%FF;object=cl%C3%A9?pin-value=12%2634&module-name=softhsm2',
    );
    assert.deepEqual(uri.id, Uint8Array.from([1, 2, 255]));
    assert.equal(uri.object, 'clé');
    assert.equal(uri.slotId, 1465243096n);
    assert.equal(uri.pinValue, '12&34');
    assert.equal(uri.moduleName, 'softhsm2');
  });

  it('accepts an upper-case scheme and ignores vendor query attributes', () => {
    assert.equal(parsePkcs11Uri('PKCS11:serial=abc;id=%01?x-vendor=1').serial, 'abc');
  });

  const bad: Array<[string, RegExp]> = [
    ['file:/x', /not a pkcs11: URI/],
    ['pkcs11:object=k', /does not name a token/],
    ['pkcs11:token=t', /does not name a key/],
    ['pkcs11:token=t;token=u;object=k', /'token' appears more than once/],
    ['pkcs11:token=t;object=k?pin-value=1&pin-value=2', /'pin-value' appears more than once/],
    ['pkcs11:token=t;object=k?pin-value=1&pin-source=/f', /both pin-value and pin-source/],
    ['pkcs11:token=t;object=k;colour=red', /unknown pkcs11 URI path attribute 'colour'/],
    ['pkcs11:token=t;object=k;x-vendor=1', /unknown pkcs11 URI path attribute 'x-vendor'/],
    ['pkcs11:token=t;object=k;library-version=1', /'library-version' is not supported/],
    ['pkcs11:token=t;object=k?colour=red', /unknown pkcs11 URI query attribute 'colour'/],
    ['pkcs11:token=t;id=%0G', /bad %-escape/],
    ['pkcs11:token=t;id=%0', /bad %-escape/],
    ['pkcs11:token=%FF;id=%01', /not valid UTF-8/],
    ['pkcs11:slot-id=x;id=%01', /slot-id 'x' is not a decimal number/],
    ['pkcs11:token=t;object=k;type=secret', /type 'secret' is not one of/],
    ['pkcs11:token;object=k', /'token' is not name=value/],
    ['pkcs11:token=a\nb;object=k', /control character/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parsePkcs11Uri(text),
        (e) => malformed(e) && message.test((e as Error).message),
      );
    });
  }

  it('never echoes a pin-value in its errors', () => {
    assert.throws(
      () => parsePkcs11Uri('pkcs11:token=t?pin-value=s3cret-pin'),
      (e) => malformed(e) && !(e as Error).message.includes('s3cret-pin'),
    );
  });
});

describe('formatPkcs11UriRedacted', () => {
  it('replaces the PIN and re-encodes what needs escaping', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=my%20token;object=a/b;id=%01%AB?pin-value=s3cret&module-path=/usr/lib/x.so',
    );
    const text = formatPkcs11UriRedacted(uri);
    assert.equal(text, 'pkcs11:token=my%20token;object=a%2Fb;id=%01%AB?pin-value=***&module-path=/usr/lib/x.so');
    assert.ok(!text.includes('s3cret'));
  });

  it('round-trips through parsePkcs11Uri', () => {
    const original =
      'pkcs11:token=t%3Bx;serial=42;slot-id=7;id=%00%FF;type=private?pin-source=file:/p%26q&module-name=softhsm2';
    const uri = parsePkcs11Uri(original);
    assert.deepEqual(parsePkcs11Uri(formatPkcs11UriRedacted(uri)), uri);
    assert.equal(formatPkcs11UriRedacted(uri), original);
  });
});
