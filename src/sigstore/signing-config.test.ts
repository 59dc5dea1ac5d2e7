import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSigningConfig, selectSigningServices } from './signing-config.ts';

// Verbatim from sigstore-go (test/fixtures/sigstore-go/README.md).
const SIGSTORE_GO_EXAMPLE = JSON.parse(
  readFileSync(new URL('../../test/fixtures/sigstore-go/signing_config.v0.2.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const NOW = new Date('2026-12-07T12:00:00Z');

type Json = Record<string, unknown>;
const service = (url: string, majorApiVersion: number, start: string, extra: Json = {}) => ({
  url,
  majorApiVersion,
  validFor: { start },
  operator: 'corp.internal',
  ...extra,
});
const select = (doc: Json, now = NOW) => selectSigningServices(parseSigningConfig(doc), now);
const withServices = (fields: Json) => ({ ...SIGSTORE_GO_EXAMPLE, ...fields });

describe('signing config v0.2', () => {
  it("picks sigstore-go's example services: CA base URL, a Rekor v1 log, the TSA's full URL", () => {
    assert.deepEqual(select(SIGSTORE_GO_EXAMPLE), {
      caUrl: 'https://fulcio.sigstage.dev',
      tlog: { url: 'https://rekor.sigstage.dev', apiVersion: 1 },
      tsaUrl: 'https://timestamp.sigstage.dev/api/v1/timestamp',
    });
  });

  it('prefers a Rekor v2 log over v1, and the newest valid instance of each', () => {
    const doc = withServices({
      rekorTlogUrls: [
        service('https://rekor-v1.corp', 1, '2026-01-01T00:00:00Z'),
        service('https://log-old.corp', 2, '2025-01-01T00:00:00Z', { operator: 'corp.internal' }),
        service('https://log-new.corp/', 2, '2026-06-01T00:00:00Z', { operator: 'corp.internal' }),
        service('https://log-future.corp', 2, '2027-01-01T00:00:00Z', { operator: 'other' }),
      ],
    });
    assert.deepEqual(select(doc).tlog, { url: 'https://log-new.corp', apiVersion: 2 });
  });

  it('skips expired services and CA entries with an API version other than 1 (pitfall 13)', () => {
    const doc = withServices({
      caUrls: [
        service('https://fulcio-v2.corp', 2, '2026-06-01T00:00:00Z'),
        {
          ...service('https://fulcio-gone.corp', 1, '2024-01-01T00:00:00Z'),
          validFor: { start: '2024-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z' },
        },
        service('https://fulcio.corp', 1, '2025-06-01T00:00:00Z'),
      ],
      tsaUrls: [],
    });
    const picked = select(doc);
    assert.equal(picked.caUrl, 'https://fulcio.corp');
    assert.equal(picked.tsaUrl, undefined);
  });

  it('a validFor end is inclusive', () => {
    const doc = withServices({
      caUrls: [
        {
          ...service('https://ca.corp', 1, '2026-01-01T00:00:00Z'),
          validFor: { start: '2026-01-01T00:00:00Z', end: NOW.toISOString() },
        },
      ],
    });
    assert.equal(select(doc).caUrl, 'https://ca.corp');
    assert.equal(select(doc, new Date(NOW.getTime() + 1)).caUrl, undefined);
  });

  it('refuses selectors that ask for more than one log or TSA, and unknown selectors', () => {
    const two = [
      service('https://a.corp', 2, '2026-01-01T00:00:00Z', { operator: 'a' }),
      service('https://b.corp', 2, '2026-01-01T00:00:00Z', { operator: 'b' }),
    ];
    assert.throws(() => select(withServices({ rekorTlogUrls: two, rekorTlogConfig: { selector: 'ALL' } })), {
      code: 'E_UNSUPPORTED',
    });
    assert.throws(
      () => select(withServices({ rekorTlogUrls: two, rekorTlogConfig: { selector: 'EXACT', count: 2 } })),
      { code: 'E_UNSUPPORTED' },
    );
    // ALL over one operator's services is one log: fine.
    const one = select(withServices({ rekorTlogUrls: [two[0]], rekorTlogConfig: { selector: 'ALL' } }));
    assert.equal(one.tlog?.url, 'https://a.corp');
    assert.throws(() => select(withServices({ tsaConfig: { selector: 'SOME' } })), { code: 'E_INPUT_MALFORMED' });
  });

  it('refuses other media types and non-objects', () => {
    assert.throws(() => parseSigningConfig({ ...SIGSTORE_GO_EXAMPLE, mediaType: 'application/json' }), {
      code: 'E_INPUT_MALFORMED',
    });
    assert.throws(() => parseSigningConfig([]), { code: 'E_INPUT_MALFORMED' });
  });
});
