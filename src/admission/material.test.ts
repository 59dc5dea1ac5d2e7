import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { oneLogTrustedRoot } from '../../test/helpers/trust-files.ts';
import { encodeVerifierKey } from '../log/note-keys.ts';
import { parseImagePolicy } from '../policy/image-policy.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import {
  checkSctRequirements,
  logMaterialOf,
  MaterialMissing,
  materialDigest,
  optionsFor,
  type VerificationMaterial,
} from './material.ts';

const corp = parseTrustedRoot(Buffer.from(JSON.stringify(oneLogTrustedRoot())), 'corp root');
const logKey = generateKeyPairSync('ed25519').publicKey;
const vkey = encodeVerifierKey('log.corp', logKey);

const policy = parseImagePolicy(
  {
    apiVersion: 'airlock/v1',
    kind: 'ImagePolicy',
    images: [
      {
        glob: 'r/**',
        authorities: [{ identity: { exact: 'a' }, issuer: { exact: 'b' }, trust: 'corp' }],
        requireLogInclusion: { logKey: 'log.vkey' },
      },
      { glob: 'k/**', authorities: [{ identity: { exact: 'a' }, issuer: { exact: 'b' } }] },
    ],
  },
  'p',
);

function material(usableUntil?: Date): VerificationMaterial {
  const parts = {
    base: { tlogThreshold: 0, timestampThreshold: 0, trustedRoot: corp },
    roots: new Map([['corp', { name: 'corp', loaded: corp, ...(usableUntil ? { usableUntil } : {}) }]]),
    keys: new Map(),
    logs: new Map([['log.vkey', logMaterialOf(vkey)]]),
  };
  return { ...parts, digest: materialDigest('p', parts) };
}

describe('admission material', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const [logged, plain] = policy.entries;

  it('an entry that requires log inclusion trusts the on-prem log alone, and requires an entry in it', () => {
    const authority = logged?.authorities[0];
    assert.ok(logged && authority);
    const options = optionsFor(material(), logged, authority, now);
    const tlogs = TrustedRoot.toJSON(options.trustedRoot?.root as TrustedRoot) as { tlogs: { baseUrl: string }[] };
    assert.deepEqual(
      tlogs.tlogs.map((t) => t.baseUrl),
      ['https://log.corp'],
      "the root's own log is replaced, not joined",
    );
    assert.equal(options.tlogThreshold, 1, 'an inclusion is required even where the flags require none');
  });

  it('an authority whose root is stale, missing or unusable cannot be evaluated (not a verdict)', () => {
    const authority = logged?.authorities[0];
    assert.ok(logged && authority);
    assert.throws(
      () => optionsFor(material(new Date('2026-12-01T00:00:00Z')), logged, authority, now),
      (e) => e instanceof MaterialMissing && /trust root "corp" is stale since 2026-12-01/.test(e.message),
    );
    const none = { ...material(), roots: new Map() };
    assert.throws(() => optionsFor(none, logged, authority, now), /trust root "corp" is not installed/);
    const broken = { ...material(), roots: new Map([['corp', { name: 'corp', unusable: 'files changed' }]]) };
    assert.throws(() => optionsFor(broken, logged, authority, now), /cannot be used: files changed/);
  });

  it('without trust NAME or log inclusion, the default root and thresholds of the flags apply', () => {
    const authority = plain?.authorities[0];
    assert.ok(plain && authority);
    const options = optionsFor(material(), plain, authority, now);
    assert.equal(options.trustedRoot, corp);
    assert.equal(options.tlogThreshold, 0);
  });

  it('keyless authorities under a root with no CT log need --ctlog-threshold 0, named roots included', () => {
    const withThreshold = (ctlogThreshold: number | undefined, defaultRoot = true): VerificationMaterial => {
      const m = material();
      const { trustedRoot, ...base } = m.base;
      return { ...m, base: { ...base, ...(defaultRoot ? { trustedRoot } : {}), ctlogThreshold } };
    };
    for (const m of [withThreshold(undefined), withThreshold(1, false)])
      assert.throws(
        () => checkSctRequirements(policy, m),
        (e: Error & { code?: string }) => e.code === 'E_TRUST_ROOT' && /corp root has no Certificate/.test(e.message),
      );
    assert.doesNotThrow(() => checkSctRequirements(policy, withThreshold(0)));
    const keysOnly = parseImagePolicy(
      { apiVersion: 'airlock/v1', kind: 'ImagePolicy', images: [{ glob: '**', authorities: [{ key: 'k.pub' }] }] },
      'p',
    );
    assert.doesNotThrow(() => checkSctRequirements(keysOnly, withThreshold(1)), 'a key needs no SCT');
  });

  it('the material digest changes with any part', () => {
    const a = material();
    const b = {
      ...a,
      logs: new Map([
        ['log.vkey', logMaterialOf(encodeVerifierKey('log.corp', generateKeyPairSync('ed25519').publicKey))],
      ]),
    };
    assert.notEqual(materialDigest('p', a), materialDigest('p', b));
    assert.notEqual(materialDigest('p', a), materialDigest('q', a));
  });
});
