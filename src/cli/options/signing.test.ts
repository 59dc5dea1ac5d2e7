import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { KEY_FLAGS } from './key.ts';
import { planSigning, SIGNING_FLAGS, signingPlan } from './signing.ts';

const SPECS = { ...KEY_FLAGS, ...SIGNING_FLAGS };
const plan = (...argv: string[]) => planSigning(testContext(argv, SPECS).ctx.flags);

describe('planSigning', () => {
  it('by default uploads to the public-good Rekor (API v1), with no timestamp', () => {
    assert.deepEqual(plan('--key', 'k.key'), {
      keyRef: 'k.key',
      signingAlgorithm: undefined,
      witnesses: { tlog: { url: 'https://rekor.sigstore.dev', apiVersion: 1 } },
    });
  });

  it('--rekor-url, --rekor-api-version 2, --tsa-url and --signing-algorithm are carried over', () => {
    const p = plan(
      '--key',
      'k.key',
      '--rekor-url',
      'https://rekor.internal/',
      '--rekor-api-version',
      '2',
      '--tsa-url',
      'https://tsa.internal/tsr',
      '--signing-algorithm',
      'ecdsa-sha2-256-nistp256',
    );
    assert.deepEqual(p, {
      keyRef: 'k.key',
      signingAlgorithm: 'ecdsa-sha2-256-nistp256',
      witnesses: { tlog: { url: 'https://rekor.internal', apiVersion: 2 }, tsaUrl: 'https://tsa.internal/tsr' },
    });
  });

  it('--tlog-upload=false signs offline: no log at all', () => {
    assert.deepEqual(plan('--key', 'k.key', '--tlog-upload=false').witnesses, {});
  });

  it('refuses what cannot work, before any key is read', () => {
    assert.throws(() => plan('--tlog-upload=false'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--tlog-upload=false', '--rekor-url', 'https://r'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--rekor-api-version', '3'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--signing-algorithm', 'md5'), { code: 'E_USAGE' });
    assert.throws(() => plan('--key', 'k', '--rekor-url', 'ftp://rekor'), { code: 'E_USAGE' });
  });
});

describe('planSigning keyless (no --key)', () => {
  it('defaults to the public-good Fulcio and Rekor v1, as cosign does', () => {
    assert.deepEqual(plan(), {
      keyRef: undefined,
      keyless: { fulcioUrl: 'https://fulcio.sigstore.dev' },
      signingAlgorithm: undefined,
      witnesses: { tlog: { url: 'https://rekor.sigstore.dev', apiVersion: 1 } },
    });
  });

  it('an on-prem CA, a Rekor v2 log and a TSA', () => {
    const p = plan(
      '--fulcio-url',
      'http://127.0.0.1:5555/',
      '--rekor-url',
      'http://127.0.0.1:3000',
      '--rekor-api-version',
      '2',
      '--tsa-url',
      'http://127.0.0.1:3001/tsr',
    );
    assert.deepEqual(p.keyless, { fulcioUrl: 'http://127.0.0.1:5555' });
    assert.deepEqual(p.witnesses, {
      tlog: { url: 'http://127.0.0.1:3000', apiVersion: 2 },
      tsaUrl: 'http://127.0.0.1:3001/tsr',
    });
  });

  it('--tlog-upload=false keeps its message, whatever else is given', () => {
    for (const extra of [[], ['--rekor-url', 'https://r'], ['--signing-config', 'x.json']]) {
      assert.throws(() => plan('--tlog-upload=false', ...extra), {
        code: 'E_USAGE',
        message: '--tlog-upload=false needs --key: keyless signing cannot work without a transparency log',
      });
    }
  });

  it('a Rekor v2 log needs a TSA: v2 entries carry no time', () => {
    assert.throws(() => plan('--rekor-url', 'http://log', '--rekor-api-version', '2'), {
      code: 'E_USAGE',
      message: /Rekor v2 log needs a timestamp authority \(--tsa-url\)/,
    });
  });

  it('refuses keyless-only flags with --key, other algorithms keyless, and a bad CA URL', () => {
    assert.throws(() => plan('--key', 'k', '--identity-token', '@t'), {
      code: 'E_USAGE',
      message: /conflicts with --key/,
    });
    assert.throws(() => plan('--key', 'k', '--fulcio-url', 'https://ca'), { code: 'E_USAGE' });
    assert.throws(() => plan('--signing-algorithm', 'ed25519'), { code: 'E_USAGE', message: /ephemeral P-256/ });
    assert.throws(() => plan('--fulcio-url', 'ftp://ca'), { code: 'E_USAGE' });
    assert.throws(() => plan('--fulcio-url', 'https://ca/?x=1'), { code: 'E_USAGE' });
  });

  it('takes the CA, log and TSA from a signing config, which conflicts with the URL flags', async () => {
    const services = {
      caUrl: 'https://ca.corp',
      tlog: { url: 'https://log.corp', apiVersion: 2 as const },
      tsaUrl: 'https://tsa.corp/tsr',
    };
    const flags = testContext(['--signing-config', 'sc.json'], SPECS).ctx.flags;
    assert.deepEqual(planSigning(flags, services), {
      keyRef: undefined,
      keyless: { fulcioUrl: 'https://ca.corp' },
      signingAlgorithm: undefined,
      witnesses: { tlog: services.tlog, tsaUrl: services.tsaUrl },
    });
    assert.throws(() => planSigning(flags, { ...services, tsaUrl: undefined }), { message: /needs a timestamp/ });
    assert.throws(() => planSigning(flags, { tlog: services.tlog, tsaUrl: 'https://t' }), { message: /names no CA/ });
    assert.throws(() => planSigning(flags, { caUrl: 'https://ca' }), { message: /names no transparency log/ });
    for (const flag of ['--fulcio-url', '--rekor-url', '--tsa-url', '--rekor-api-version']) {
      const ctx = testContext(['--signing-config', 'missing.json', flag, '2'], SPECS).ctx;
      // Refused before the file is read: it does not exist.
      await assert.rejects(signingPlan(ctx), { code: 'E_USAGE', message: new RegExp(`conflicts with ${flag}`) });
    }
  });
});
