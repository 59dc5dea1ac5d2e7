import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { SAMPLE_DIGEST, sampleCatalogue } from '../../../test/helpers/sbom-sample.ts';
import { readCycloneDx, writeCycloneDx } from './cyclonedx.ts';

const context = {
  now: new Date('2026-12-07T10:11:12.345Z'),
  uuid: '0d9f1e4c-7a8b-4c2d-9e3f-1a2b3c4d5e6f',
  toolVersion: '0.1.0',
};

async function validate(json: string): Promise<unknown> {
  return new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
}

describe('writeCycloneDx', () => {
  it("writes a BOM the library's strict CycloneDX 1.6 validator accepts", async () => {
    const json = writeCycloneDx(sampleCatalogue(), context);
    assert.equal(await validate(json), null);
    const broken = JSON.parse(json);
    broken.components[0].type = 'not-a-type';
    assert.notEqual(await validate(JSON.stringify(broken)), null, 'the validator is applied');
  });

  it('writes a valid BOM without a subject, a distro or packages, and reads it back', async () => {
    const empty = { packages: [], notes: [] };
    const json = writeCycloneDx(empty, context);
    assert.equal(await validate(json), null);
    assert.deepEqual(readCycloneDx(JSON.parse(json), 'empty.json'), empty);
  });

  it('writes the image, the packages with purls, bom-refs, locations and licences, and the distro', () => {
    const bom = JSON.parse(writeCycloneDx(sampleCatalogue(), context));
    assert.equal(bom.specVersion, '1.6');
    assert.equal(bom.serialNumber, 'urn:uuid:0d9f1e4c-7a8b-4c2d-9e3f-1a2b3c4d5e6f');
    assert.equal(bom.metadata.timestamp, '2026-12-07T10:11:12.345Z');
    assert.deepEqual(
      bom.metadata.tools.components.map((t: { name: string; version: string }) => [t.name, t.version]),
      [['airlock', '0.1.0']],
    );
    assert.equal(bom.metadata.component.type, 'container');
    assert.equal(bom.metadata.component.version, SAMPLE_DIGEST);
    assert.equal(bom.metadata.component.purl, `pkg:oci/app@${SAMPLE_DIGEST}?tag=1.2`);
    const [ssl, zlib, , babel, , , log4j, os] = bom.components;
    assert.equal(ssl.purl, 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl');
    assert.match(ssl['bom-ref'], /^pkg:deb\/debian\/libssl3@.*&package-id=[0-9a-f]{16}$/);
    assert.deepEqual(ssl.properties, [{ name: 'syft:location:0:path', value: '/var/lib/dpkg/status' }]);
    assert.deepEqual(ssl.licenses, [{ license: { id: 'Apache-2.0' } }]);
    assert.deepEqual(zlib.licenses, [{ license: { id: 'Zlib' } }, { license: { name: 'GPL-2+' } }]);
    assert.deepEqual(babel.licenses, [{ expression: '(MIT AND Apache-2.0)' }]);
    assert.deepEqual([log4j.group, log4j.name], ['org.apache.logging.log4j', 'log4j-core']);
    assert.equal(os.type, 'operating-system');
    assert.deepEqual(os.properties, [
      { name: 'syft:distro:id', value: 'debian' },
      { name: 'syft:distro:versionCodename', value: 'bookworm' },
      { name: 'syft:distro:versionID', value: '12' },
    ]);
  });
});

describe('readCycloneDx', () => {
  it('reads back what it wrote: the same packages, subject and distro', () => {
    const catalogue = sampleCatalogue();
    const back = readCycloneDx(JSON.parse(writeCycloneDx(catalogue, context)), 'sbom.cdx.json');
    assert.deepEqual(back, catalogue);
  });

  it('reads a BOM as syft writes it: the distro component, purls, locations, nested components', () => {
    const back = readCycloneDx(syftBom(), 'syft.cdx.json');
    assert.deepEqual(back.subject, { name: 'alpine:3.19', digest: `sha256:${'ef'.repeat(32)}` });
    assert.deepEqual(back.distro, {
      id: 'alpine',
      versionId: '3.19.1',
      prettyName: 'Alpine Linux v3.19',
      idLike: [],
    });
    assert.deepEqual(
      back.packages.map((p) => [p.type, p.name, p.version, p.source, p.ecosystem, p.foundIn, p.licenses]),
      [
        ['apk', 'ssl_client', '3.1.4-r5', { name: 'openssl' }, 'Alpine:v3.19', '/lib/apk/db/installed', ['Apache-2.0']],
        [
          'pypi',
          'PyYAML',
          '6.0.1',
          undefined,
          'PyPI',
          '/usr/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA',
          ['MIT'],
        ],
        [
          'maven',
          'org.yaml:snakeyaml',
          '2.2',
          undefined,
          'Maven',
          '/app/app.jar:BOOT-INF/lib/snakeyaml-2.2.jar',
          ['Apache-2.0', 'GPL-2.0-only'],
        ],
      ],
    );
    assert.deepEqual(back.notes, [
      '1 package(s) airlock cannot identify (pkg:generic: 1) are not evaluable: app (pkg:generic/app@1.0)',
    ]);
    assert.deepEqual(back.unidentified, ['app (pkg:generic/app@1.0)']);
  });

  it('catalogues a metadata.component with a package purl; only an image is the subject', () => {
    const bom = (component: Record<string, unknown>) => ({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      metadata: { component },
      components: [],
    });
    const app = readCycloneDx(bom({ type: 'application', name: 'app', purl: 'pkg:npm/lodash@4.17.4' }), 'i');
    assert.deepEqual(
      app.packages.map((p) => p.purl),
      ['pkg:npm/lodash@4.17.4'],
    );
    const image = readCycloneDx(
      bom({ type: 'container', name: 'img', purl: `pkg:oci/img@sha256%3A${'ab'.repeat(32)}` }),
      'i',
    );
    assert.deepEqual(image.packages, []);
    assert.equal(image.unidentified, undefined);
  });

  it('a component without a usable purl is listed as unidentified, never dropped; files are not packages', () => {
    const doc = syftBom();
    const components = [
      ...(doc.components as object[]),
      { type: 'library', name: 'mystery', version: '1.0' },
      { type: 'file', name: '/etc/passwd' },
    ];
    const back = readCycloneDx({ ...doc, components }, 'x');
    assert.deepEqual(back.unidentified, ['app (pkg:generic/app@1.0)', 'mystery (no purl)']);
    assert.ok(back.notes.some((n) => /2 package\(s\) airlock cannot identify.*not evaluable/.test(n)));
  });

  it('refuses what is not CycloneDX 1.x JSON or does not have its shape, with E_INPUT_MALFORMED', () => {
    const nested = (depth: number): object =>
      depth === 0 ? { type: 'library', name: 'x' } : { type: 'library', name: 'x', components: [nested(depth - 1)] };
    const bad: Array<Record<string, unknown>> = [
      { bomFormat: 'CycloneDX', specVersion: '2.0' },
      { bomFormat: 'SPDX', specVersion: '1.6' },
      { ...syftBom(), components: 'none' },
      { ...syftBom(), components: [null] },
      { ...syftBom(), components: [nested(40)] },
      { ...syftBom(), components: [{ type: 'library', name: 'x', purl: `pkg:npm/${'a'.repeat(70_000)}@1` }] },
    ];
    for (const doc of bad)
      assert.throws(
        () => readCycloneDx(doc, 'bad.json'),
        (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
      );
  });
});

/** A CycloneDX 1.6 BOM as syft 1.x writes it for an Alpine image (shape from syft's TestCycloneDxImageEncoder). */
function syftBom(): Record<string, unknown> {
  const sslClient = 'pkg:apk/alpine/ssl_client@3.1.4-r5?arch=x86_64&upstream=openssl&distro=alpine-3.19.1';
  const props = (type: string, path: string) => [
    { name: 'syft:package:foundBy', value: `${type}-cataloger` },
    { name: 'syft:package:type', value: type },
    { name: 'syft:location:0:layerID', value: `sha256:${'12'.repeat(32)}` },
    { name: 'syft:location:0:path', value: path },
  ];
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: 'urn:uuid:6b0f4a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
    version: 1,
    metadata: {
      timestamp: '2026-12-01T08:00:00Z',
      tools: { components: [{ type: 'application', author: 'anchore', name: 'syft', version: '1.18.1' }] },
      component: {
        'bom-ref': 'a1b2c3d4e5f60718',
        type: 'container',
        name: 'alpine:3.19',
        version: `sha256:${'ef'.repeat(32)}`,
      },
    },
    components: [
      {
        'bom-ref': `${sslClient}&package-id=0a1b2c3d4e5f6071`,
        type: 'library',
        name: 'ssl_client',
        version: '3.1.4-r5',
        licenses: [{ license: { id: 'Apache-2.0' } }],
        cpe: 'cpe:2.3:a:ssl-client:ssl-client:3.1.4-r5:*:*:*:*:*:*:*',
        purl: sslClient,
        properties: [
          ...props('apk', '/lib/apk/db/installed'),
          { name: 'syft:metadata:originPackage', value: 'openssl' },
        ],
      },
      {
        'bom-ref': 'pkg:pypi/pyyaml@6.0.1?package-id=1b2c3d4e5f607182',
        type: 'library',
        name: 'PyYAML',
        version: '6.0.1',
        licenses: [{ license: { name: 'MIT' } }],
        purl: 'pkg:pypi/pyyaml@6.0.1',
        properties: [
          ...props('python', '/usr/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/RECORD'),
          { name: 'syft:location:1:path', value: '/usr/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA' },
        ],
      },
      {
        'bom-ref': 'app-jar',
        type: 'library',
        name: 'app',
        version: '1.0',
        purl: 'pkg:generic/app@1.0',
        components: [
          {
            'bom-ref': 'pkg:maven/org.yaml/snakeyaml@2.2?package-id=2c3d4e5f60718293',
            type: 'library',
            group: 'org.yaml',
            name: 'snakeyaml',
            version: '2.2',
            licenses: [{ expression: 'Apache-2.0 AND GPL-2.0-only' }],
            purl: 'pkg:maven/org.yaml/snakeyaml@2.2',
            properties: props('java-archive', '/app/app.jar:BOOT-INF/lib/snakeyaml-2.2.jar'),
          },
        ],
      },
      {
        'bom-ref': 'os:alpine@3.19.1',
        type: 'operating-system',
        name: 'alpine',
        version: '3.19.1',
        description: 'Alpine Linux v3.19',
        swid: { tagId: 'alpine', name: 'alpine', version: '3.19.1' },
        properties: [
          { name: 'syft:distro:extendedSupport', value: 'false' },
          { name: 'syft:distro:id', value: 'alpine' },
          { name: 'syft:distro:prettyName', value: 'Alpine Linux v3.19' },
          { name: 'syft:distro:versionID', value: '3.19.1' },
        ],
      },
    ],
  };
}
