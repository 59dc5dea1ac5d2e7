import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackageURL } from 'packageurl-js';
import { distroFromPurls, identifyPackages, packageFromPurl, purlOf } from './identify.ts';
import type { Distro, FoundPackage } from './package.ts';

const debian12: Distro = { id: 'debian', versionId: '12', versionCodename: 'bookworm', idLike: [] };
const alpine: Distro = { id: 'alpine', versionId: '3.19.1', idLike: [] };
const rhel: Distro = { id: 'rhel', versionId: '9.3', idLike: ['fedora'] };

function found(p: Partial<FoundPackage> & Pick<FoundPackage, 'type' | 'name' | 'version'>): FoundPackage {
  return { licenses: [], foundIn: '/x', ...p };
}

/** Same purl, whatever the qualifier order or percent-encoding: both parse to the same components. */
function samePurl(actual: string, expected: string): void {
  assert.deepEqual(PackageURL.fromString(actual), PackageURL.fromString(expected), actual);
}

describe('purlOf', () => {
  it('writes deb purls as syft does, the epoch kept in the version and the source version in upstream', () => {
    const p = found({
      type: 'deb',
      name: 'zlib1g',
      version: '1:1.2.13.dfsg-1',
      arch: 'amd64',
      source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
    });
    const purl = purlOf(p, debian12);
    assert.equal(
      purl,
      'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib%401%3A1.2.13.dfsg-1',
    );
    samePurl(
      purl,
      'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&upstream=zlib%401%3A1.2.13.dfsg-1&distro=debian-12',
    );
    assert.equal(
      purlOf(found({ type: 'deb', name: 'bash', version: '5.2.15-2+b2' }), debian12),
      'pkg:deb/debian/bash@5.2.15-2+b2?distro=debian-12',
    );
  });

  it('writes apk purls with upstream only when the origin differs', () => {
    const base = { type: 'apk', version: '3.4.3-r2', arch: 'x86_64' } as const;
    const withOrigin = purlOf(
      found({ ...base, name: 'alpine-baselayout-data', source: { name: 'alpine-baselayout' } }),
      alpine,
    );
    samePurl(
      withOrigin,
      'pkg:apk/alpine/alpine-baselayout-data@3.4.3-r2?arch=x86_64&upstream=alpine-baselayout&distro=alpine-3.19.1',
    );
    const same = purlOf(found({ ...base, name: 'musl', source: { name: 'musl' } }), alpine);
    assert.equal(same, 'pkg:apk/alpine/musl@3.4.3-r2?arch=x86_64&distro=alpine-3.19.1');
  });

  it('writes rpm purls with the epoch as a qualifier, the SRPM as upstream and syft namespaces', () => {
    const dbus = found({
      type: 'rpm',
      name: 'dbus',
      version: '1:1.12.8-12.el8',
      arch: 'aarch64',
      source: { name: 'dbus', version: '1.12.8-12.el8' },
    });
    samePurl(
      purlOf(dbus, { id: 'centos', versionId: '8', idLike: [] }),
      'pkg:rpm/centos/dbus@1.12.8-12.el8?arch=aarch64&epoch=1&upstream=dbus-1.12.8-12.el8.src.rpm&distro=centos-8',
    );
    assert.match(purlOf(dbus, rhel), /^pkg:rpm\/redhat\/dbus@1\.12\.8-12\.el8\?/);
    assert.match(
      purlOf(dbus, { id: 'opensuse-leap', versionId: '15.5', idLike: [] }),
      /^pkg:rpm\/opensuse\/dbus@.*distro=opensuse-leap-15\.5/,
    );
    const noEpoch = purlOf(
      found({ type: 'rpm', name: 'bash', version: '5.1.8-6.el9', source: { name: 'bash-5.1.8-6.el9.src.rpm' } }),
      rhel,
    );
    assert.equal(noEpoch, 'pkg:rpm/redhat/bash@5.1.8-6.el9?distro=rhel-9.3&upstream=bash-5.1.8-6.el9.src.rpm');
  });

  it('writes npm scopes as the namespace, Go module paths split at the last slash, Maven groups, PyPI names', () => {
    assert.equal(
      purlOf(found({ type: 'npm', name: '@babel/core', version: '7.24.0' }), undefined),
      'pkg:npm/%40babel/core@7.24.0',
    );
    assert.equal(
      purlOf(found({ type: 'npm', name: 'lodash', version: '4.17.21' }), debian12),
      'pkg:npm/lodash@4.17.21',
    );
    const cli = purlOf(found({ type: 'golang', name: 'github.com/cli/cli/v2', version: 'v2.63.0' }), undefined);
    assert.equal(cli, 'pkg:golang/github.com/cli/cli/v2@v2.63.0');
    assert.deepEqual(
      [PackageURL.fromString(cli).namespace, PackageURL.fromString(cli).name],
      ['github.com/cli/cli', 'v2'],
    );
    assert.equal(
      purlOf(found({ type: 'golang', name: 'stdlib', version: 'go1.22.1' }), undefined),
      'pkg:golang/stdlib@1.22.1',
    );
    assert.equal(
      purlOf(found({ type: 'golang', name: 'example', version: '(devel)' }), undefined),
      'pkg:golang/example@(devel)',
    );
    const log4j = found({ type: 'maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.17.1' });
    assert.equal(purlOf(log4j, undefined), 'pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1');
    assert.equal(
      purlOf(found({ type: 'maven', name: 'guava', version: '33.0' }), undefined),
      'pkg:maven/guava/guava@33.0',
    );
    assert.equal(purlOf(found({ type: 'pypi', name: 'PyYAML', version: '6.0.1' }), undefined), 'pkg:pypi/pyyaml@6.0.1');
  });

  it('writes distro packages without a namespace or distro when the image has no os-release', () => {
    assert.equal(
      purlOf(found({ type: 'deb', name: 'bash', version: '5.2', arch: 'amd64' }), undefined),
      'pkg:deb/bash@5.2?arch=amd64',
    );
  });
});

describe('packageFromPurl', () => {
  const rest = { licenses: ['MIT'], foundIn: '/var/lib/dpkg/status' };

  it('reads syft-written deb and rpm purls: epochs, upstream, distro', () => {
    const zlib = packageFromPurl(
      'pkg:deb/ubuntu/zlib1g@1%3A1.3.dfsg-3.1ubuntu2.1?arch=amd64&upstream=zlib&distro=ubuntu-24.04',
      rest,
    );
    assert.equal(zlib?.version, '1:1.3.dfsg-3.1ubuntu2.1');
    assert.deepEqual(zlib?.source, { name: 'zlib' });
    assert.equal(zlib?.ecosystem, 'Ubuntu:24.04:LTS');
    const dbus = packageFromPurl(
      'pkg:rpm/centos/dbus@1.12.8-12.el8?arch=aarch64&epoch=1&upstream=dbus-1.12.8-12.el8.src.rpm&distro=centos-8',
      rest,
    );
    assert.equal(dbus?.version, '1:1.12.8-12.el8');
    assert.deepEqual(dbus?.source, { name: 'dbus', version: '1.12.8-12.el8' });
    assert.equal(dbus?.arch, 'aarch64');
    const src = packageFromPurl(
      'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl%403.0.11-1~deb12u2&distro=debian-12',
      rest,
    );
    assert.deepEqual(src?.source, { name: 'openssl', version: '3.0.11-1~deb12u2' });
    assert.equal(src?.ecosystem, 'Debian:12');
  });

  it('gives back what identifyPackages wrote', () => {
    const packages: FoundPackage[] = [
      found({
        type: 'deb',
        name: 'zlib1g',
        version: '1:1.2.13.dfsg-1',
        arch: 'amd64',
        source: { name: 'zlib', version: '1:1.2.13.dfsg-1' },
      }),
      found({ type: 'deb', name: 'bash', version: '5.2.15-2+b2', arch: 'amd64' }),
      found({ type: 'pypi', name: 'PyYAML', version: '6.0.1', licenses: ['MIT'] }),
      found({ type: 'npm', name: '@babel/core', version: '7.24.0' }),
      found({ type: 'golang', name: 'github.com/cli/cli/v2', version: 'v2.63.0' }),
      found({ type: 'golang', name: 'stdlib', version: 'go1.22.1' }),
      found({ type: 'maven', name: 'org.apache.logging.log4j:log4j-core', version: '2.17.1' }),
    ];
    const identified = identifyPackages(packages, debian12);
    const back = identified.map((p) =>
      packageFromPurl(p.purl, { licenses: p.licenses, foundIn: p.foundIn, name: p.name }),
    );
    assert.deepEqual(back, identified);
    const rpms = identifyPackages(
      [
        found({
          type: 'rpm',
          name: 'dbus',
          version: '1:1.12.8-12.el9',
          source: { name: 'dbus', version: '1.12.8-12.el9' },
        }),
      ],
      rhel,
    );
    assert.deepEqual(
      rpms.map((p) => packageFromPurl(p.purl, { licenses: [], foundIn: '/x' })),
      rpms,
    );
  });

  it('keeps the recorded PyPI or npm name only when it is the same project', () => {
    assert.equal(packageFromPurl('pkg:pypi/pyyaml@6.0.1', { ...rest, name: 'PyYAML' })?.name, 'PyYAML');
    assert.equal(packageFromPurl('pkg:pypi/pyyaml@6.0.1', { ...rest, name: 'requests' })?.name, 'pyyaml');
    assert.equal(packageFromPurl('pkg:npm/jsonstream@1.3.5', { ...rest, name: 'JSONStream' })?.name, 'JSONStream');
    assert.equal(
      packageFromPurl('pkg:npm/%40types/node@24.0.0', { ...rest, name: '@types/node' })?.name,
      '@types/node',
    );
    assert.equal(packageFromPurl('pkg:npm/jsonstream@1.3.5', { ...rest, name: 'other' })?.name, 'jsonstream');
  });

  it('gives undefined for purls it cannot read or of types airlock does not catalogue', () => {
    assert.equal(packageFromPurl('not a purl', rest), undefined);
    assert.equal(packageFromPurl('pkg:gem/rails@7.1.0', rest), undefined);
    assert.equal(packageFromPurl('pkg:oci/debian@sha256%3Aabc', rest), undefined);
  });
});

describe('distroFromPurls', () => {
  it('reads the distro qualifier of the first distro package, with a dash in the ID', () => {
    const purls = ['pkg:npm/lodash@4.17.21', 'pkg:rpm/opensuse/bash@5.2-1?distro=opensuse-leap-15.5'];
    assert.deepEqual(distroFromPurls(purls), { id: 'opensuse-leap', versionId: '15.5', idLike: [] });
    assert.deepEqual(distroFromPurls(['pkg:deb/debian/bash@5.2?distro=debian']), { id: 'debian', idLike: [] });
    assert.equal(distroFromPurls(['pkg:npm/lodash@4.17.21', 'pkg:deb/debian/bash@5.2']), undefined);
  });
});
