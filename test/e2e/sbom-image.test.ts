// catalogueImage with the OS cataloguers over a real Debian bookworm image built with mmdebstrap
// (test/helpers/sbom-image.ts), against dpkg-query run over the same tree: the same packages, both
// directions, by name, version, architecture, source name and source version; and the files later
// layers deleted (whiteouts, an opaque directory) are never offered to a cataloguer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { catalogueImage } from '../../src/sbom/catalogue-image.ts';
import { apkCataloguer } from '../../src/sbom/cataloguers/apk.ts';
import type { CandidateFile, FileCataloguer } from '../../src/sbom/cataloguers/cataloguer.ts';
import { dpkgCataloguer } from '../../src/sbom/cataloguers/dpkg.ts';
import { rpmCataloguer } from '../../src/sbom/cataloguers/rpm.ts';
import { sbomImageMissing, sbomTestImage } from '../helpers/sbom-image.ts';

const PERL = ['/usr/bin/perl', '/usr/bin/perl5.36.0'];
const dpkgQueryMissing = spawnSync('sh', ['-c', 'command -v dpkg-query']).status !== 0;
const missing = sbomImageMissing() ?? (dpkgQueryMissing ? 'dpkg-query not installed' : undefined);

/** Wants every path under the given ones, records what it was offered, reads nothing. */
function spy(paths: readonly string[], offered: string[]): FileCataloguer {
  const under = (p: string) => paths.some((w) => p === w || p.startsWith(`${w}/`));
  return {
    name: 'spy',
    wants: (f: CandidateFile) => under(f.path),
    async read(f: CandidateFile, content: Readable) {
      offered.push(f.path);
      let size = 0;
      for await (const chunk of content) size += (chunk as Buffer).length;
      return { packages: [{ type: 'golang', name: f.path, version: String(size), licenses: [], foundIn: f.path }] };
    },
  };
}

function dpkgQuery(rootfs: string): string[] {
  const format = '${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n';
  const r = spawnSync('dpkg-query', [`--admindir=${rootfs}/var/lib/dpkg`, '-W', '-f', format], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').sort();
}

describe('sbom over a real Debian image', () => {
  it('lists exactly what dpkg-query lists, and never offers what later layers deleted', async (t) => {
    if (missing) return t.skip(missing);
    const image = await sbomTestImage();
    const { buildSeconds, mmdebstrapSeconds } = image.timings;
    t.diagnostic(`image built in ${buildSeconds.toFixed(1)} s (mmdebstrap ${mmdebstrapSeconds.toFixed(1)} s)`);
    const store = await openLayoutStore(image.layoutPath);
    const manifest = await store.resolveTag('test');
    const offered: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    const started = process.hrtime.bigint();
    const result = await catalogueImage(store, manifest, [
      dpkgCataloguer,
      apkCataloguer,
      rpmCataloguer,
      spy([...image.whitedOut, ...image.opaqueNew, ...PERL], offered),
    ]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const peak = process.resourceUsage().maxRSS * 1024;
    t.diagnostic(
      `catalogued in ${ms.toFixed(0)} ms: ${(result.stats.bytesRead / 1e6).toFixed(1)} MB of layers read, ` +
        `${result.stats.pathsKept} paths kept, ${result.stats.filesOffered} files offered; ` +
        `peak RSS ${(peak / 1e6).toFixed(0)} MB (process, before: ${(rssBefore / 1e6).toFixed(0)} MB)`,
    );

    const ours = result.found
      .filter((p) => p.type === 'deb')
      .map((p) =>
        [p.name, p.version, p.arch ?? '', p.source?.name ?? p.name, p.source?.version ?? p.version].join('\t'),
      )
      .sort();
    const theirs = dpkgQuery(image.rootfs);
    assert.ok(theirs.length > 100, `dpkg-query listed only ${theirs.length}`);
    assert.deepEqual(
      ours.filter((l) => !theirs.includes(l)),
      [],
      'listed by airlock, not by dpkg-query',
    );
    assert.deepEqual(
      theirs.filter((l) => !ours.includes(l)),
      [],
      'listed by dpkg-query, not by airlock',
    );
    assert.ok(theirs.some((l) => l.startsWith('skopeo\t')) && theirs.some((l) => l.startsWith('python3-yaml\t')));
    assert.ok(result.found.every((p) => p.type !== 'deb' || p.foundIn === '/var/lib/dpkg/status'));

    assert.equal(result.distro?.id, 'debian');
    assert.equal(result.distro?.versionId, '12');
    assert.equal(result.distro?.versionCodename, 'bookworm');
    assert.deepEqual(result.notes, []);
    assert.deepEqual(result.unread, []);

    // perl and perl5.36.0 are one file under two names (a hard link in the layer): read once, found twice.
    assert.deepEqual(offered.sort(), [...image.opaqueNew, '/usr/bin/perl'].sort(), 'whited-out files were offered');
    const perl = result.found.filter((p) => PERL.includes(p.foundIn));
    assert.deepEqual(perl.map((p) => p.foundIn).sort(), PERL);
    assert.ok(
      perl.every((p) => Number(p.version) > 1_000_000),
      'the whole binary was read',
    );
    assert.ok(image.whitedOut.length >= 3);
  });
});
