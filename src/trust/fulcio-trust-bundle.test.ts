// parseTrustBundle and selectChain: Fulcio's trustBundle JSON read strictly, a chain that stops short of
// its root refused, and a choice required when a CA serves several chains.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPrivateCa, type Leaf, type PrivateCa } from '../../test/helpers/private-ca.ts';
import { isAirlockError } from '../errors.ts';
import { chainPem, parseTrustBundle, selectChain } from './fulcio-trust-bundle.ts';

const WHERE = 'https://ca.internal/api/v2/trustBundle';
const bundleOf = (...chains: string[][]) =>
  JSON.stringify({ chains: chains.map((certificates) => ({ certificates })) });
const refused = (code: string, message: RegExp) => (err: unknown) =>
  isAirlockError(err, code as never) && message.test(err.message);

describe('parseTrustBundle', () => {
  let ca: PrivateCa;
  let other: PrivateCa;
  let leaf: Leaf;
  before(async () => {
    [ca, other] = await Promise.all([createPrivateCa('corp fulcio'), createPrivateCa('next fulcio')]);
    leaf = await ca.issueLeaf({ san: 'https://ci.internal/app', issuer: 'https://token.internal' });
  });
  after(async () => {
    await ca.cleanup();
    await other.cleanup();
  });

  it("reads Fulcio's shape: each chain in order, its PEM as a chain file would hold it", () => {
    const bundle = parseTrustBundle(bundleOf([leaf.certPem, ca.rootPem], [other.rootPem.trim()]), WHERE);
    assert.equal(bundle.chains.length, 2);
    assert.deepEqual(
      bundle.chains[0]?.map((c) => c.raw.toString('base64')),
      [leaf.certDer, ca.rootDer].map((d) => d.toString('base64')),
    );
    // Fulcio trims signingCert PEMs; the chain is written with trailing newlines either way.
    assert.equal(chainPem(bundle.chains[1] ?? []), other.rootPem);
  });

  it('refuses what is not a trust bundle with E_INPUT_MALFORMED naming the URL', () => {
    const cases: [string, RegExp][] = [
      ['<html>', /not JSON/],
      ['{"issuers":[]}', /no "chains" list/],
      ['{"chains":[]}', /no "chains" list/],
      ['{"chains":[{"certificates":[]}]}', /chain 1 has no "certificates"/],
      ['{"chains":[{"certificates":[42]}]}', /chain 1 certificate 1 is not a PEM string/],
      [bundleOf(['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n']), /not CERTIFICATE/],
      [bundleOf(['not pem']), /chain 1 certificate 1 is not a certificate/],
    ];
    for (const [body, why] of cases)
      assert.throws(
        () => parseTrustBundle(body, WHERE),
        (err: unknown) => refused('E_INPUT_MALFORMED', why)(err) && (err as Error).message.startsWith(WHERE),
        body,
      );
  });

  it('refuses a chain that does not end at a self-signed root, saying how to give the root', () => {
    assert.throws(
      () => parseTrustBundle(bundleOf([ca.rootPem], [leaf.certPem]), WHERE),
      (err: unknown) =>
        refused('E_INPUT_MALFORMED', /chain 2 ends at .*O=airlock test.*not a self-signed root/)(err) &&
        /certificate-chain=FILE/.test((err as { hint?: string }).hint ?? ''),
    );
  });

  it('selectChain: the only chain, the one picked, and a refusal naming the chains when there are several', () => {
    const one = parseTrustBundle(bundleOf([ca.rootPem]), WHERE);
    assert.equal(selectChain(one, WHERE).length, 1);
    const two = parseTrustBundle(bundleOf([ca.rootPem], [other.rootPem]), WHERE);
    assert.equal(selectChain(two, WHERE, 2)[0]?.raw.toString('base64'), other.rootDer.toString('base64'));
    assert.throws(
      () => selectChain(two, WHERE),
      (err: unknown) =>
        refused('E_USAGE', /serves 2 certificate chains .*pick one with chain=N/)(err) &&
        /1: .*corp fulcio.*2: .*next fulcio/.test((err as { hint?: string }).hint ?? ''),
    );
    for (const n of [0, 3]) assert.throws(() => selectChain(two, WHERE, n), refused('E_USAGE', /no chain/));
  });
});
