import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { runCli } from '../../../test/helpers/cli.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { writePublicKey } from '../../../test/helpers/trust-files.ts';
import { AirlockError } from '../../errors.ts';
import { parseImagePolicy } from '../../policy/image-policy.ts';
import { type ExportInput, exportYaml, type K8sObject } from './common.ts';
import { exportKyverno } from './kyverno.ts';
import { exportPolicyController } from './policy-controller.ts';

const CRD_DIR = new URL('../../../test/fixtures/crds/', import.meta.url);

/**
 * The served version's openAPIV3Schema as JSON Schema. The API server prunes fields a structural
 * schema does not declare, silently: here an undeclared field fails instead (additionalProperties
 * false wherever the schema lists properties and keeps no unknown fields), so a typo cannot pass.
 */
function crdValidator(file: string, version: string): ValidateFunction {
  const crd = parseYaml(readFileSync(new URL(file, CRD_DIR), 'utf8')) as {
    spec: { versions: { name: string; served: boolean; schema: { openAPIV3Schema: object } }[] };
  };
  const served = crd.spec.versions.find((v) => v.name === version && v.served);
  assert.ok(served, `${file} serves ${version}`);
  const closed = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(closed);
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = closed(v);
    if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
      out.additionalProperties = false;
    return out;
  };
  const schema = closed(served.schema.openAPIV3Schema) as Record<string, unknown>;
  // apiVersion, kind and metadata are the API server's; the CRD schemas leave metadata open.
  schema.additionalProperties = true;
  return new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(schema);
}

const validators = {
  ClusterImagePolicy: crdValidator('policy.sigstore.dev_clusterimagepolicies.yaml', 'v1beta1'),
  TrustRoot: crdValidator('policy.sigstore.dev_trustroots.yaml', 'v1alpha1'),
  ClusterPolicy: crdValidator('kyverno.io_clusterpolicies.yaml', 'v1'),
};

function schemaErrors(o: K8sObject): string[] {
  const validate = validators[o.kind as keyof typeof validators];
  assert.ok(validate, `a CRD for ${o.kind}`);
  return validate(o) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

const ecDer = (): string =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'der' })
    .toString('base64');

function rootJson(host: string, options: { ed25519Log?: boolean } = {}) {
  const start = '2026-01-01T00:00:00Z';
  const log = (base: string, rawBytes: string, keyDetails: string) => ({
    baseUrl: base,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes, keyDetails, validFor: { start } },
    logId: { keyId: Buffer.from(base).toString('base64') },
  });
  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      options.ed25519Log
        ? log(`https://rekor.${host}`, ed, 'PKIX_ED25519')
        : log(`https://rekor.${host}`, ecDer(), 'PKIX_ECDSA_P256_SHA_256'),
    ],
    certificateAuthorities: [
      {
        subject: { organization: host, commonName: `fulcio.${host}` },
        uri: `https://fulcio.${host}`,
        // Not parsed by the export: carried as DER into PEM.
        certChain: { certificates: [{ rawBytes: Buffer.from(`root CA of ${host}`).toString('base64') }] },
        validFor: { start },
      },
    ],
    ctlogs: [log(`https://ctfe.${host}`, ecDer(), 'PKIX_ECDSA_P256_SHA_256')],
    timestampAuthorities: [],
  };
}

const TEAM_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

const POLICY = {
  apiVersion: 'airlock/v1',
  kind: 'ImagePolicy',
  images: [
    {
      glob: 'registry.corp/team/**',
      mode: 'warn',
      namespaces: { names: ['team-a'] },
      authorities: [
        { key: 'keys/team.pub' },
        {
          identity: { regexp: 'https://ci\\.corp/team/.*' },
          issuer: { exact: 'https://id.corp' },
          trust: 'corp',
        },
      ],
      attestations: ['spdxjson', { predicateType: 'vuln', maxSeverity: 'high' }],
      requireLogInclusion: { logKey: 'onprem.vkey' },
    },
    { glob: 'registry.corp/base/*', authorities: [{ key: 'keys/team.pub' }] },
  ],
};

function input(policy: unknown = POLICY, roots = ['default', 'corp']): ExportInput {
  return {
    policy: parseImagePolicy(policy, 'policy.yaml'),
    keys: new Map([['keys/team.pub', TEAM_KEY]]),
    trustRoots: roots.map((name) => ({ name, root: TrustedRoot.fromJSON(rootJson(`${name}.internal`)) })),
  };
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking output

describe('admission export: policy-controller', () => {
  const result = exportPolicyController(input());
  const byKind = (kind: string) => result.objects.filter((o) => o.kind === kind) as Json[];

  it('writes objects the TrustRoot and ClusterImagePolicy CRDs accept', () => {
    assert.equal(byKind('TrustRoot').length, 2);
    // Entry 0: a signature CIP and one per attestation type; entry 1: a signature CIP.
    assert.equal(byKind('ClusterImagePolicy').length, 4);
    for (const o of result.objects) assert.deepEqual(schemaErrors(o), [], `${o.kind} ${o.metadata.name}`);
  });

  it('the CRD check can fail: an unknown field, a wrong type', () => {
    const cip = structuredClone(byKind('ClusterImagePolicy')[0]) as Json;
    cip.spec.authorities[0].keyles = cip.spec.authorities[0].key;
    assert.ok(schemaErrors(cip as K8sObject).some((e) => e.includes('additional properties')));
    const root = structuredClone(byKind('TrustRoot')[0]) as Json;
    root.spec.sigstoreKeys.tLogs[0].publicKey = 42;
    assert.ok(schemaErrors(root as K8sObject).some((e) => e.includes('must be string')));
  });

  it('inlines the trusted root: PEM as base64 (the CRD fields are Go []byte), no TUF', () => {
    const [root] = byKind('TrustRoot');
    assert.equal(root?.metadata.name, 'airlock-default');
    const keys = root?.spec.sigstoreKeys;
    assert.deepEqual(Object.keys(root?.spec ?? {}), ['sigstoreKeys']);
    assert.equal(keys.tLogs[0].baseURL, 'https://rekor.default.internal');
    assert.equal(keys.tLogs[0].hashAlgorithm, 'sha-256');
    assert.match(Buffer.from(keys.tLogs[0].publicKey, 'base64').toString(), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.match(Buffer.from(keys.certificateAuthorities[0].certChain, 'base64').toString(), /BEGIN CERTIFICATE/);
    assert.deepEqual(keys.certificateAuthorities[0].subject, {
      organization: 'default.internal',
      commonName: 'fulcio.default.internal',
    });
    assert.equal(keys.ctLogs.length, 1);
  });

  it('maps an entry: globs with any tag or digest, key inline, keyless identities and trustRootRef, mode', () => {
    const [cip] = byKind('ClusterImagePolicy');
    assert.deepEqual(cip?.spec.images, [{ glob: 'registry.corp/team/**:*' }, { glob: 'registry.corp/team/**@*' }]);
    assert.equal(cip?.spec.mode, 'warn');
    const [key, keyless] = cip?.spec.authorities ?? [];
    assert.equal(key.key.data, TEAM_KEY);
    assert.deepEqual(key.ctlog, { trustRootRef: 'airlock-default' });
    assert.deepEqual(keyless.keyless.identities, [
      { issuer: 'https://id.corp', subjectRegExp: '^(?:https://ci\\.corp/team/.*)$' },
    ]);
    assert.equal(keyless.keyless.trustRootRef, 'airlock-corp');
    assert.equal(keyless.keyless.url, 'https://fulcio.corp.internal');
    assert.deepEqual(keyless.ctlog, { trustRootRef: 'airlock-corp' }, 'Rekor checked offline from the TrustRoot');
    assert.equal(key.attestations, undefined, 'the signature CIP checks signatures');
  });

  it('requires each attestation type in a CIP of its own, from any authority', () => {
    const atts = byKind('ClusterImagePolicy').slice(1, 3);
    assert.deepEqual(
      atts.map((c) => c.spec.authorities.map((a: Json) => a.attestations[0].predicateType)),
      [
        ['https://spdx.dev/Document', 'https://spdx.dev/Document'],
        ['https://cosign.sigstore.dev/attestation/vuln/v1', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
      ],
    );
  });

  it('lists what it cannot express', () => {
    const text = result.unexpressed.join('\n');
    assert.match(text, /requireLogInclusion/);
    assert.match(text, /maxSeverity high/);
    assert.match(text, /namespaces team-a only/);
    assert.match(text, /kube-system/);
    assert.match(text, /validity windows/);
  });

  it('says that an Ed25519 log key cannot verify in policy-controller', () => {
    const i = input(POLICY, ['default']);
    const ed = { name: 'corp', root: TrustedRoot.fromJSON(rootJson('corp.internal', { ed25519Log: true })) };
    const r = exportPolicyController({ ...i, trustRoots: [...i.trustRoots, ed] });
    assert.ok(r.unexpressed.some((u) => u.includes('ECDSA Rekor keys only')));
  });

  it('refuses a keyless authority without a trust root, and a trust name not given', () => {
    assert.throws(
      () => exportPolicyController(input(POLICY, [])),
      (e: unknown) => e instanceof AirlockError && e.code === 'E_USAGE',
    );
    assert.throws(
      () => exportPolicyController(input(POLICY, ['default'])),
      (e: unknown) => e instanceof AirlockError && e.code === 'E_USAGE' && e.message.includes("'corp'"),
    );
  });
});

describe('admission export: kyverno', () => {
  const result = exportKyverno(input());
  const policy = result.objects[0] as Json;
  const [warnRule, enforceRule] = policy.spec.rules as Json[];

  it('writes one ClusterPolicy the CRD accepts, and the check can fail', () => {
    assert.equal(result.objects.length, 1);
    assert.deepEqual(schemaErrors(policy as K8sObject), []);
    const broken = structuredClone(policy);
    broken.spec.rules[0].verifyImages[0].failureAction = 'Warn';
    assert.ok(schemaErrors(broken as K8sObject).some((e) => e.includes('allowed values')));
  });

  it('maps warn to Audit without mutateDigest, enforce to Enforce with it', () => {
    const w = warnRule?.verifyImages[0];
    assert.deepEqual([w.failureAction, w.mutateDigest, w.verifyDigest, w.required], ['Audit', false, true, true]);
    const e = enforceRule?.verifyImages[0];
    assert.deepEqual([e.failureAction, e.mutateDigest], ['Enforce', true]);
    assert.deepEqual(e.imageReferences, ['registry.corp/base/*:*', 'registry.corp/base/*@*']);
  });

  it('inlines keys, keyless roots and log keys; any one authority; each attestation type', () => {
    const w = warnRule?.verifyImages[0];
    const [key, keyless] = w.attestors[0].entries;
    assert.equal(w.attestors[0].count, 1);
    assert.equal(key.keys.publicKeys, TEAM_KEY);
    assert.equal(key.keys.rekor.url, 'https://rekor.default.internal');
    assert.match(key.keys.rekor.pubkey, /BEGIN PUBLIC KEY/);
    assert.equal(key.keys.rekor.ignoreTlog, undefined, 'airlock requires a log entry');
    assert.deepEqual(key.keys.ctlog, { ignoreSCT: true });
    assert.equal(keyless.keyless.issuer, 'https://id.corp');
    assert.equal(keyless.keyless.subjectRegExp, '^(?:https://ci\\.corp/team/.*)$');
    assert.match(keyless.keyless.roots, /BEGIN CERTIFICATE/);
    assert.equal(keyless.keyless.rekor.url, 'https://rekor.corp.internal');
    assert.match(keyless.keyless.ctlog.pubkey, /BEGIN PUBLIC KEY/);
    assert.deepEqual(
      w.attestations.map((a: Json) => a.type),
      ['https://spdx.dev/Document', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
    );
  });

  it('scopes rules to namespaces and leaves kube-system out', () => {
    assert.deepEqual(warnRule?.match, { any: [{ resources: { kinds: ['Pod'], namespaces: ['team-a'] } }] });
    assert.deepEqual(enforceRule?.exclude, { any: [{ resources: { namespaces: ['kube-system'] } }] });
  });

  it('lists what it cannot express', () => {
    const text = result.unexpressed.join('\n');
    for (const want of [/requireLogInclusion/, /maxSeverity/, /validity windows/, /no entry matches/, /mutateDigest/])
      assert.match(text, want);
    assert.match(text, /images\[1\] \(registry\.corp\/base\/\*\): Kyverno's \* also matches across \//);
    assert.doesNotMatch(text, /images\[0\][^\n]*also matches across/, '** is exact');
  });
});

describe('admission export: YAML and the command', () => {
  const dir = useTempDir('airlock-admission-export-');

  it('puts the unexpressed rules in a comment above objects that parse back', () => {
    const result = exportKyverno(input());
    const text = exportYaml(result, 'kyverno', 'policy.yaml');
    assert.match(text.split('---')[0] ?? '', /^# .*\n# NOT EXPRESSED: \d+ airlock rule/);
    assert.deepEqual(
      parseAllDocuments(text).map((d) => d.toJS() as unknown),
      result.objects,
    );
  });

  async function files(): Promise<{ policy: string; root: string }> {
    await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(rootJson('default.internal')));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'keys'), { recursive: true });
    await writePublicKey(join(dir, 'keys'), 'team');
    const policy = { apiVersion: 'airlock/v1', kind: 'ImagePolicy', images: [POLICY.images[1]] };
    await writeFile(join(dir, 'policy.yaml'), JSON.stringify(policy));
    return { policy: join(dir, 'policy.yaml'), root: join(dir, 'trusted_root.json') };
  }

  it('exits 0 with the rules it cannot express as warnings and in --json; --strict exits 2', async () => {
    const { policy, root } = await files();
    const args = ['admission', 'export', '--policy', policy, '--format', 'policy-controller', '--trusted-root', root];
    const run = await runCli(args);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: not expressed in policy-controller: .*kube-system/);
    const kinds = parseAllDocuments(run.stdout).map((d) => (d.toJS() as K8sObject | null)?.kind);
    assert.deepEqual(kinds, ['TrustRoot', 'ClusterImagePolicy']);
    const json = await runCli([...args, '--json']);
    const doc = JSON.parse(json.stdout) as { unexpressed: string[]; complete: boolean };
    assert.equal(doc.complete, false);
    assert.ok(doc.unexpressed.length > 0);
    const strict = await runCli([...args, '--strict', '--output', join(dir, 'out.yaml')]);
    assert.equal(strict.code, 2);
    assert.match(strict.stderr, /E_UNSUPPORTED|cannot express/);
  });
});
