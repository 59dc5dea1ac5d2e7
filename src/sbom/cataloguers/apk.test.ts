import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { apkCataloguer, apkPackages } from './apk.ts';

// The shape of an Alpine 3.19 /lib/apk/db/installed: package keys, then file lines repeating F/R/Z.
const INSTALLED = `C:Q1sN0Ut1SoJIcs0WiQxpxgrJzbeN8=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407337
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1700000000
c:7de3ef2c4b1b1dd4e52b0ad5cf5fa5e3b9e8b2d0
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1iBv0VnTSZPYQ8dJ9kcOYmBDgpT0=
R:libc.musl-x86_64.so.1

P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
F:usr/lib
R:libcrypto.so.3

V:9.9
T:a record without a name
`;

describe('apk cataloguer', () => {
  it('reads name, version, arch, origin and licence of each record; a record without P is a note', () => {
    const r = apkPackages(INSTALLED, '/lib/apk/db/installed');
    assert.deepEqual(
      r.packages.map((p) => [p.name, p.version, p.arch, p.source?.name, p.licenses.join()]),
      [
        ['musl', '1.2.4_git20230717-r4', 'x86_64', 'musl', 'MIT'],
        ['libcrypto3', '3.1.4-r5', 'x86_64', 'openssl', 'Apache-2.0'],
      ],
    );
    assert.equal(r.notes?.length, 1);
    assert.match(r.notes?.[0] ?? '', /line 29/);
  });

  it('wants only the installed database and reads it from the stream', async () => {
    const file = { path: '/lib/apk/db/installed', size: INSTALLED.length, executable: false };
    assert.equal(apkCataloguer.wants(file), true);
    assert.equal(apkCataloguer.wants({ ...file, path: '/lib/apk/db/triggers' }), false);
    const r = await apkCataloguer.read(file, Readable.from([Buffer.from(INSTALLED)]));
    assert.equal(r.packages.length, 2);
    assert.equal(r.packages[0]?.foundIn, '/lib/apk/db/installed');
  });

  it('takes an empty database as no packages', () => {
    assert.deepEqual(apkPackages('', '/lib/apk/db/installed'), { packages: [], notes: [] });
  });
});
