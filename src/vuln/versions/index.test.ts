import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apkOrder } from './apk.ts';
import { debOrder } from './deb.ts';
import { goOrder } from './go.ts';
import { semverOrder, versionOrderFor } from './index.ts';
import { mavenOrder } from './maven.ts';
import { pep440Order } from './pep440.ts';
import { rpmOrder } from './rpm.ts';
import { npmOrder } from './semver.ts';

describe('versionOrderFor (OSV ecosystem strings)', () => {
  it('maps each ecosystem, with or without its scope, to its order', () => {
    const cases: [string, unknown][] = [
      ['Debian:12', debOrder],
      ['Debian:sid', debOrder],
      ['Debian', debOrder],
      ['Ubuntu:22.04:LTS', debOrder],
      ['Ubuntu:Pro:18.04:LTS', debOrder],
      ['Alpine:v3.19', apkOrder],
      ['Wolfi', apkOrder],
      ['Chainguard', apkOrder],
      ['MinimOS', apkOrder],
      ['Red Hat:rhel_aus:8.4::appstream', rpmOrder],
      ['AlmaLinux:9', rpmOrder],
      ['Rocky Linux:9', rpmOrder],
      ['openSUSE:Tumbleweed', rpmOrder],
      ['SUSE:SUSE Linux Enterprise Server 15 SP5', rpmOrder],
      ['Azure Linux:3', rpmOrder],
      ['Mageia:9', rpmOrder],
      ['openEuler:24.03-LTS', rpmOrder],
      ['Photon OS:5.0', rpmOrder],
      ['npm', npmOrder],
      ['Go', goOrder],
      ['PyPI', pep440Order],
      ['Maven', mavenOrder],
      ['Maven:https://maven.google.com', mavenOrder],
    ];
    for (const [ecosystem, order] of cases) assert.equal(versionOrderFor(ecosystem), order, ecosystem);
  });

  it('gives undefined for an ecosystem it has no order for, and does not fold case', () => {
    for (const ecosystem of ['crates.io', 'RubyGems', 'debian:12', 'PYPI', '', ':12', 'Alpaquita:23', 'GIT'])
      assert.equal(versionOrderFor(ecosystem), undefined, ecosystem);
  });

  it('the orders it gives behave as their ecosystems', () => {
    assert.ok(versionOrderFor('Debian:12')!('1.0~rc1-1', '1.0-1') < 0);
    assert.ok(versionOrderFor('Alpine:v3.19')!('1.2.3_rc1-r0', '1.2.3-r0') < 0);
    assert.ok(versionOrderFor('AlmaLinux:9')!('1:1.0-1.el9', '2.0-1.el9') > 0);
    assert.ok(versionOrderFor('PyPI')!('1.0rc1', '1.0') < 0);
    assert.ok(versionOrderFor('Go')!('v1.2.4-0.20230101000000-abcdef123456', 'v1.2.4') < 0);
    assert.ok(versionOrderFor('Maven')!('1.0-SNAPSHOT', '1.0') < 0);
    assert.ok(semverOrder('v1.0.0-rc.1', '1.0.0') < 0);
    assert.throws(() => versionOrderFor('npm')!('not a version', '1.0.0'), { code: 'E_VERSION_INVALID' });
  });
});
