// A catalogue of one package of each kind, for the tests of the SBOM formats: licences as SPDX ids, a
// compound expression, and licences that are not expressions; an epoch, a scoped npm name, a Go major-version
// module path, the Go standard library, a Maven group.
import { identifyPackages } from '../../src/sbom/identify.ts';
import type { Catalogue, Distro, FoundPackage } from '../../src/sbom/package.ts';

export const SAMPLE_DIGEST = `sha256:${'ab'.repeat(32)}`;

export const SAMPLE_DISTRO: Distro = { id: 'debian', versionId: '12', versionCodename: 'bookworm', idLike: [] };

export function sampleFound(): FoundPackage[] {
  const dpkg = '/var/lib/dpkg/status';
  return [
    {
      type: 'deb',
      name: 'libssl3',
      version: '3.0.11-1~deb12u2',
      arch: 'amd64',
      source: { name: 'openssl' },
      licenses: ['Apache-2.0'],
      foundIn: dpkg,
    },
    {
      type: 'deb',
      name: 'zlib1g',
      version: '1:1.2.13.dfsg-1',
      arch: 'amd64',
      source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
      licenses: ['Zlib', 'GPL-2+'],
      foundIn: dpkg,
    },
    {
      type: 'pypi',
      name: 'PyYAML',
      version: '6.0.1',
      licenses: ['MIT'],
      foundIn: '/usr/lib/python3/dist-packages/PyYAML-6.0.1.dist-info/METADATA',
    },
    {
      type: 'npm',
      name: '@babel/core',
      version: '7.24.0',
      licenses: ['MIT AND Apache-2.0'],
      foundIn: '/app/node_modules/@babel/core/package.json',
    },
    { type: 'golang', name: 'github.com/cli/cli/v2', version: 'v2.63.0', licenses: [], foundIn: '/usr/bin/gh' },
    { type: 'golang', name: 'stdlib', version: 'go1.22.1', licenses: ['BSD-3-Clause'], foundIn: '/usr/bin/gh' },
    {
      type: 'maven',
      name: 'org.apache.logging.log4j:log4j-core',
      version: '2.17.1',
      licenses: ['Apache License, Version 2.0'],
      foundIn: '/app/lib/log4j-core-2.17.1.jar',
    },
  ];
}

export function sampleCatalogue(): Catalogue {
  return {
    subject: { name: 'registry.example/team/app:1.2', digest: SAMPLE_DIGEST },
    distro: SAMPLE_DISTRO,
    packages: identifyPackages(sampleFound(), SAMPLE_DISTRO),
    notes: [],
  };
}
