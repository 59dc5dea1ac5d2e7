import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { osvEcosystem } from './ecosystem.ts';
import type { Distro, FoundPackage } from './package.ts';

const debian12: Distro = { id: 'debian', versionId: '12', versionCodename: 'bookworm', idLike: [] };
const alpine: Distro = { id: 'alpine', versionId: '3.19.1', idLike: [] };
const rhel: Distro = { id: 'rhel', versionId: '9.3', idLike: ['fedora'] };

describe('osvEcosystem', () => {
  const cases: Array<[Distro | undefined, FoundPackage['type'], string | undefined]> = [
    [debian12, 'deb', 'Debian:12'],
    [{ id: 'debian', versionCodename: 'trixie', idLike: [] }, 'deb', 'Debian:13'],
    [{ id: 'debian', versionCodename: 'sid', idLike: [] }, 'deb', 'Debian:sid'],
    [{ id: 'debian', versionCodename: 'nonesuch', idLike: [] }, 'deb', undefined],
    [
      { id: 'ubuntu', versionId: '22.04', prettyName: 'Ubuntu 22.04.4 LTS', idLike: ['debian'] },
      'deb',
      'Ubuntu:22.04:LTS',
    ],
    [{ id: 'ubuntu', versionId: '23.10', prettyName: 'Ubuntu 23.10', idLike: ['debian'] }, 'deb', 'Ubuntu:23.10'],
    [{ id: 'ubuntu', versionId: '24.04', idLike: [] }, 'deb', 'Ubuntu:24.04:LTS'],
    [{ id: 'ubuntu', versionId: '23.04', idLike: [] }, 'deb', 'Ubuntu:23.04'],
    [{ id: 'raspbian', versionId: '12', idLike: ['debian'] }, 'deb', undefined],
    [alpine, 'apk', 'Alpine:v3.19'],
    [{ id: 'alpine', versionId: '3.21.0_alpha20240807', idLike: [] }, 'apk', 'Alpine:v3.21'],
    [{ id: 'wolfi', idLike: [] }, 'apk', 'Wolfi'],
    [{ id: 'almalinux', versionId: '9.3', idLike: [] }, 'rpm', 'AlmaLinux:9'],
    [{ id: 'rocky', versionId: '8.9', idLike: [] }, 'rpm', 'Rocky Linux:8'],
    [{ id: 'opensuse-leap', versionId: '15.5', idLike: [] }, 'rpm', 'openSUSE:Leap 15.5'],
    [{ id: 'photon', versionId: '5.0', idLike: [] }, 'rpm', 'Photon OS:5.0'],
    [rhel, 'rpm', undefined],
    [undefined, 'deb', undefined],
    [undefined, 'npm', 'npm'],
    [debian12, 'pypi', 'PyPI'],
    [undefined, 'golang', 'Go'],
    [undefined, 'maven', 'Maven'],
  ];
  for (const [distro, type, expected] of cases) {
    const release = distro?.versionId ?? distro?.versionCodename ?? '';
    it(`${type} on ${distro?.id ?? 'no distro'} ${release} → ${expected}`, () => {
      assert.equal(osvEcosystem(type, distro), expected);
    });
  }
});
