import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { sampleCatalogue } from '../../../test/helpers/sbom-sample.ts';
import { readSpdx, writeSpdx } from './spdx.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const schema = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/spdx/spdx-schema-2.3.json', import.meta.url), 'utf8'),
) as object;

function validator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

import { SAMPLE_DIGEST as digest } from '../../../test/helpers/sbom-sample.ts';
const context = {
  now: new Date('2026-12-07T10:11:12.345Z'),
  uuid: '0d9f1e4c-7a8b-4c2d-9e3f-1a2b3c4d5e6f',
  toolVersion: '0.1.0',
};

describe('writeSpdx', () => {
  it('writes a document the official SPDX 2.3 schema accepts', () => {
    const validate = validator();
    const doc = JSON.parse(writeSpdx(sampleCatalogue(), context)) as Record<string, unknown>;
    assert.equal(validate(doc), true, JSON.stringify(validate.errors));
    const broken = { ...doc, packages: [{ name: 'x' }] };
    assert.equal(validate(broken), false, 'the schema is applied: a package without SPDXID is refused');
  });

  it("writes syft's shape: the image package, a purl per package, sourceInfo, DESCRIBES and CONTAINS", () => {
    const doc = JSON.parse(writeSpdx(sampleCatalogue(), context));
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.creationInfo.created, '2026-12-07T10:11:12Z');
    assert.deepEqual(doc.creationInfo.creators, ['Tool: airlock-0.1.0']);
    assert.match(
      doc.documentNamespace,
      /^https:\/\/spdx\.org\/spdxdocs\/airlock\/image\/registry\.example-team-app-1\.2-0d9f1e4c-/,
    );
    const root = doc.packages.at(-1);
    assert.equal(root.primaryPackagePurpose, 'CONTAINER');
    assert.equal(root.versionInfo, digest);
    assert.deepEqual(root.checksums, [{ algorithm: 'SHA256', checksumValue: 'ab'.repeat(32) }]);
    assert.equal(root.externalRefs[0].referenceLocator, `pkg:oci/app@sha256:${'ab'.repeat(32)}?tag=1.2`);
    const ssl = doc.packages[0];
    assert.match(ssl.SPDXID, /^SPDXRef-Package-deb-libssl3-[0-9a-f]{16}$/);
    assert.equal(ssl.sourceInfo, 'acquired package info from DPKG DB: /var/lib/dpkg/status');
    assert.equal(
      ssl.externalRefs[0].referenceLocator,
      'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl',
    );
    const ids = doc.packages.map((p: { SPDXID: string }) => p.SPDXID);
    assert.equal(new Set(ids).size, ids.length);
    const describes = doc.relationships.filter((r: { relationshipType: string }) => r.relationshipType === 'DESCRIBES');
    assert.deepEqual(describes, [
      { spdxElementId: 'SPDXRef-DOCUMENT', relatedSpdxElement: root.SPDXID, relationshipType: 'DESCRIBES' },
    ]);
    assert.equal(
      doc.relationships.filter((r: { relationshipType: string }) => r.relationshipType === 'CONTAINS').length,
      7,
    );
  });

  it('writes licences as valid expressions, and LicenseRefs with their text for the rest', () => {
    const doc = JSON.parse(writeSpdx(sampleCatalogue(), context));
    const declared = Object.fromEntries(
      doc.packages.map((p: { name: string; licenseDeclared: string }) => [p.name, p.licenseDeclared]),
    );
    assert.equal(declared['zlib1g'], 'Zlib AND LicenseRef-GPL-2-');
    assert.equal(declared['@babel/core'], '(MIT AND Apache-2.0)');
    assert.equal(declared['github.com/cli/cli/v2'], 'NOASSERTION');
    assert.equal(declared['org.apache.logging.log4j:log4j-core'], 'LicenseRef-Apache-License--Version-2.0');
    assert.deepEqual(doc.hasExtractedLicensingInfos, [
      { licenseId: 'LicenseRef-GPL-2-', extractedText: 'GPL-2+', name: 'GPL-2+' },
      {
        licenseId: 'LicenseRef-Apache-License--Version-2.0',
        extractedText: 'Apache License, Version 2.0',
        name: 'Apache License, Version 2.0',
      },
    ]);
  });

  it('writes a schema-valid document without a subject, a distro or packages, and reads it back', () => {
    const empty = { packages: [], notes: [] };
    const doc = JSON.parse(writeSpdx(empty, context));
    assert.equal(validator()(doc), true, JSON.stringify(validator().errors));
    assert.deepEqual(readSpdx(doc, 'empty.json'), { subject: { name: 'unknown' }, packages: [], notes: [] });
  });

  it('gives two packages listed twice distinct SPDXIDs', () => {
    const catalogue = sampleCatalogue();
    const twice = { ...catalogue, packages: [catalogue.packages[0]!, catalogue.packages[0]!] };
    const doc = JSON.parse(writeSpdx(twice, context));
    assert.notEqual(doc.packages[0].SPDXID, doc.packages[1].SPDXID);
    assert.equal(validator()(doc), true);
  });
});

describe('readSpdx', () => {
  it('reads back what it wrote: the same packages, subject and distro', () => {
    const catalogue = sampleCatalogue();
    const back = readSpdx(JSON.parse(writeSpdx(catalogue, context)), 'sbom.spdx.json');
    assert.deepEqual(back.packages, catalogue.packages);
    assert.deepEqual(back.subject, catalogue.subject);
    assert.deepEqual(back.distro, { id: 'debian', versionId: '12', idLike: [] });
    assert.deepEqual(back.notes, []);
  });

  it('reads a document as syft writes it: distro and upstream from purls, the image and files skipped', () => {
    const back = readSpdx(syftDocument(), 'syft.spdx.json');
    assert.deepEqual(back.subject, { name: 'debian', digest: `sha256:${'cd'.repeat(32)}` });
    assert.deepEqual(back.distro, { id: 'debian', versionId: '12', idLike: [] });
    assert.deepEqual(
      back.packages.map((p) => [p.type, p.name, p.version, p.source, p.ecosystem, p.foundIn, p.licenses]),
      [
        [
          'deb',
          'libssl3',
          '3.0.11-1~deb12u2',
          { name: 'openssl' },
          'Debian:12',
          '/var/lib/dpkg/status',
          ['Apache-2.0'],
        ],
        [
          'deb',
          'zlib1g',
          '1:1.2.13.dfsg-1',
          { name: 'zlib', version: '1:1.2.13.dfsg-1' },
          'Debian:12',
          '/var/lib/dpkg/status',
          ['Zlib', 'GPL-2'],
        ],
        ['golang', 'stdlib', 'go1.22.7', undefined, 'Go', '/usr/bin/skopeo', ['BSD-3-Clause']],
      ],
    );
    assert.deepEqual(back.notes, [
      '1 package(s) airlock cannot identify (pkg:generic: 1) are not evaluable: python (pkg:generic/python@3.11.2)',
    ]);
    assert.deepEqual(back.unidentified, ['python (pkg:generic/python@3.11.2)']);
  });

  it('catalogues every package with a package purl, described or of any purpose; only the image is skipped', () => {
    const pkg = (id: string, purl: string, more: Record<string, unknown> = {}) => ({
      SPDXID: id,
      name: id,
      downloadLocation: 'NOASSERTION',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }],
      ...more,
    });
    const doc = {
      spdxVersion: 'SPDX-2.3',
      documentDescribes: ['SPDXRef-A', 'SPDXRef-B'],
      packages: [
        pkg('SPDXRef-A', 'pkg:npm/lodash@4.17.4'),
        pkg('SPDXRef-B', 'pkg:pypi/requests@2.0.0'),
        pkg('SPDXRef-C', 'pkg:npm/minimist@0.0.8', { primaryPackagePurpose: 'CONTAINER' }),
        pkg('SPDXRef-D', 'pkg:deb/debian/openssl@3.0.11-1?distro=debian-12', {
          primaryPackagePurpose: 'OPERATING-SYSTEM',
        }),
        pkg('SPDXRef-I', `pkg:oci/app@sha256%3A${'ab'.repeat(32)}`, { primaryPackagePurpose: 'CONTAINER' }),
      ],
    };
    const back = readSpdx(doc, 'k.spdx.json');
    assert.deepEqual(
      back.packages.map((p) => p.purl),
      [
        'pkg:npm/lodash@4.17.4',
        'pkg:pypi/requests@2.0.0',
        'pkg:npm/minimist@0.0.8',
        'pkg:deb/debian/openssl@3.0.11-1?distro=debian-12',
      ],
    );
    assert.equal(back.subject?.digest, `sha256:${'ab'.repeat(32)}`);
    assert.equal(back.unidentified, undefined);
  });

  it('a package that is not the image and has no usable purl is listed as unidentified, never dropped', () => {
    const doc = syftDocument();
    const bare = { SPDXID: 'SPDXRef-Bare', name: 'mystery', versionInfo: '1.0', downloadLocation: 'NOASSERTION' };
    const back = readSpdx({ ...doc, packages: [...(doc.packages as object[]), bare] }, 'x');
    assert.deepEqual(back.unidentified, ['python (pkg:generic/python@3.11.2)', 'mystery (no purl)']);
    assert.ok(back.notes.some((n) => /2 package\(s\) airlock cannot identify.*not evaluable/.test(n)));
  });

  it('reads the distro of an operating-system package when no purl names one', () => {
    const doc = syftDocument();
    const os = {
      SPDXID: 'SPDXRef-OS',
      name: 'alpine',
      versionInfo: '3.19.1',
      downloadLocation: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    };
    const packages = [...(doc.packages as object[]).filter((_, i) => i >= 2), os];
    assert.deepEqual(readSpdx({ ...doc, packages }, 'x').distro, { id: 'alpine', versionId: '3.19.1', idLike: [] });
  });

  it('takes no digest from a described root that is not a container (a file checksum is no image digest)', () => {
    const doc = syftDocument();
    const packages = (doc.packages as Array<Record<string, unknown>>).map((p) =>
      p.primaryPackagePurpose === 'CONTAINER' ? { ...p, primaryPackagePurpose: 'FILE', externalRefs: [] } : p,
    );
    assert.deepEqual(readSpdx({ ...doc, packages }, 'x').subject, { name: 'debian' });
  });

  it('refuses what is not SPDX 2.x or does not have its shape, with E_INPUT_MALFORMED', () => {
    const bad: Array<Record<string, unknown>> = [
      { spdxVersion: 'SPDX-3.0' },
      { ...syftDocument(), packages: {} },
      { ...syftDocument(), packages: [42] },
      { ...syftDocument(), relationships: [null] },
      { ...syftDocument(), packages: [{ SPDXID: 'SPDXRef-x', name: 'n'.repeat(70_000) }] },
    ];
    for (const doc of bad)
      assert.throws(
        () => readSpdx(doc, 'bad.json'),
        (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
      );
  });
});

/** An SPDX 2.3 document as syft 1.x writes it for a Debian image (shape from syft's TestSPDXJSONImageEncoder). */
function syftDocument(): Record<string, unknown> {
  const cpe = (x: string) => ({
    referenceCategory: 'SECURITY',
    referenceType: 'cpe23Type',
    referenceLocator: `cpe:2.3:a:${x}:${x}:*:*:*:*:*:*:*:*`,
  });
  const purl = (locator: string) => ({
    referenceCategory: 'PACKAGE-MANAGER',
    referenceType: 'purl',
    referenceLocator: locator,
  });
  const common = {
    supplier: 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
  };
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'debian',
    documentNamespace: 'https://anchore.com/syft/image/debian-3e6b1f6a-5b3c-4b7e-9d1d-2f3c4d5e6f70',
    creationInfo: {
      licenseListVersion: '3.25',
      creators: ['Organization: Anchore, Inc', 'Tool: syft-1.18.1'],
      created: '2026-12-01T08:00:00Z',
    },
    packages: [
      {
        name: 'libssl3',
        SPDXID: 'SPDXRef-Package-deb-libssl3-1f0c2a3b4d5e6f70',
        versionInfo: '3.0.11-1~deb12u2',
        ...common,
        sourceInfo:
          'acquired package info from DPKG DB: /usr/share/doc/libssl3/copyright, ' +
          '/var/lib/dpkg/info/libssl3:amd64.md5sums, /var/lib/dpkg/status',
        licenseDeclared: 'Apache-2.0',
        externalRefs: [
          cpe('libssl3'),
          purl('pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12'),
        ],
      },
      {
        name: 'zlib1g',
        SPDXID: 'SPDXRef-Package-deb-zlib1g-2a1b3c4d5e6f7081',
        versionInfo: '1:1.2.13.dfsg-1',
        ...common,
        sourceInfo: 'acquired package info from DPKG DB: /var/lib/dpkg/status',
        licenseDeclared: 'Zlib AND LicenseRef-GPL-2',
        externalRefs: [
          cpe('zlib1g'),
          purl('pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&upstream=zlib%401%3A1.2.13.dfsg-1&distro=debian-12'),
        ],
      },
      {
        name: 'stdlib',
        SPDXID: 'SPDXRef-Package-go-module-stdlib-3b2c4d5e6f708192',
        versionInfo: 'go1.22.7',
        ...common,
        sourceInfo: 'acquired package info from go module information: /usr/bin/skopeo',
        licenseDeclared: 'BSD-3-Clause',
        externalRefs: [cpe('golang'), purl('pkg:golang/stdlib@1.22.7')],
      },
      {
        name: 'python',
        SPDXID: 'SPDXRef-Package-binary-python-4c3d5e6f708192a3',
        versionInfo: '3.11.2',
        ...common,
        sourceInfo: 'acquired package info from the following paths: /usr/bin/python3.11',
        licenseDeclared: 'NOASSERTION',
        externalRefs: [purl('pkg:generic/python@3.11.2')],
      },
      {
        name: 'debian',
        SPDXID: 'SPDXRef-DocumentRoot-Image-debian',
        versionInfo: `sha256:${'cd'.repeat(32)}`,
        ...common,
        licenseDeclared: 'NOASSERTION',
        checksums: [{ algorithm: 'SHA256', checksumValue: 'cd'.repeat(32) }],
        externalRefs: [purl(`pkg:oci/debian@sha256%3A${'cd'.repeat(32)}?arch=amd64&tag=12`)],
        primaryPackagePurpose: 'CONTAINER',
      },
    ],
    files: [
      {
        fileName: '/var/lib/dpkg/status',
        SPDXID: 'SPDXRef-File-var-lib-dpkg-status-5d4e6f708192a3b4',
        checksums: [{ algorithm: 'SHA1', checksumValue: '0'.repeat(40) }],
        licenseConcluded: 'NOASSERTION',
        copyrightText: '',
      },
    ],
    hasExtractedLicensingInfos: [{ licenseId: 'LicenseRef-GPL-2', extractedText: 'NOASSERTION', name: 'GPL-2' }],
    relationships: [
      {
        spdxElementId: 'SPDXRef-Package-deb-libssl3-1f0c2a3b4d5e6f70',
        relatedSpdxElement: 'SPDXRef-File-var-lib-dpkg-status-5d4e6f708192a3b4',
        relationshipType: 'OTHER',
        comment: "evident-by: indicates the package's existence is evident by the given file",
      },
      {
        spdxElementId: 'SPDXRef-DocumentRoot-Image-debian',
        relatedSpdxElement: 'SPDXRef-Package-deb-libssl3-1f0c2a3b4d5e6f70',
        relationshipType: 'CONTAINS',
      },
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relatedSpdxElement: 'SPDXRef-DocumentRoot-Image-debian',
        relationshipType: 'DESCRIBES',
      },
    ],
  };
}
