// Go executables: the modules their build information records (go-buildinfo.ts finds it in the stream).
//
// What is reported, and how it lines up with `go version -m` and syft:
// - the main module as its `mod` line records it. A local build records `(devel)`; it is kept as
//   recorded, not turned into a pseudo-version from `vcs.*` settings as syft does, since no module
//   index or advisory knows such a version and `go version -m` shows `(devel)`. A binary with a `path`
//   line and no `mod` line (Debian builds without module mode, e.g. /usr/bin/skopeo) gets its path with
//   `(devel)`, as syft does: nothing else is recorded.
// - each `dep`; one replaced by a `=>` line is reported as its replacement (path and version), as
//   syft does and as `go version -m` shows on the `=>` line — for a local folder that is `../a (devel)`.
// - `stdlib` at the Go version (`go1.19.8`), as syft does, so that advisories against the standard
//   library match.
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { scanBuildInfo } from './go-buildinfo.ts';
import { unreadResult } from './read-capped.ts';

/** Smaller executables are scripts or stubs; the smallest Go program is over 1 MiB. */
export const MIN_GO_EXECUTABLE = 64 * 1024;

export interface GoModule {
  readonly path: string;
  readonly version: string;
  readonly sum?: string;
  readonly replace?: GoModule;
}

export interface GoBuildInfo {
  readonly goVersion: string;
  readonly path?: string;
  readonly main?: GoModule;
  readonly deps: readonly GoModule[];
  readonly settings: readonly (readonly [string, string])[];
}

function moduleOf(columns: string[], line: string): GoModule {
  if (columns.length !== 2 && columns.length !== 3) throw new Error(`expected 2 or 3 columns: ${bounded(line)}`);
  const [path = '', version = '', sum] = columns;
  return sum ? { path, version, sum } : { path, version };
}

/** Module information as Go's runtime/debug.ParseBuildInfo reads it; malformed lines throw. */
export function parseModinfo(goVersion: string, modinfo: string): GoBuildInfo {
  let path: string | undefined;
  let main: GoModule | undefined;
  const deps: GoModule[] = [];
  const settings: [string, string][] = [];
  let last: { module: GoModule; set: (m: GoModule) => void } | undefined;
  for (const line of modinfo.split('\n')) {
    const [kind, ...columns] = line.split('\t');
    if (kind === 'path') path = columns.join('\t');
    else if (kind === 'mod') {
      main = moduleOf(columns, line);
      last = { module: main, set: (m) => (main = m) };
    } else if (kind === 'dep') {
      const index = deps.push(moduleOf(columns, line)) - 1;
      last = { module: deps[index] as GoModule, set: (m) => (deps[index] = m) };
    } else if (kind === '=>') {
      if (columns.length !== 3 || !last) throw new Error(`unexpected replacement: ${bounded(line)}`);
      last.set({ ...last.module, replace: moduleOf(columns, line) });
      last = undefined;
    } else if (kind === 'build') {
      const setting = columns.join('\t');
      const eq = setting.indexOf('=');
      settings.push(eq < 0 ? [setting, ''] : [setting.slice(0, eq), setting.slice(eq + 1)]);
    } else if (line !== '') throw new Error(`unexpected line: ${bounded(line)}`);
  }
  return { goVersion, ...(path === undefined ? {} : { path }), ...(main ? { main } : {}), deps, settings };
}

/** The packages a Go executable's build information names (see the module comment). */
export function goPackages(info: GoBuildInfo, foundIn: string): FoundPackage[] {
  const arch = info.settings.find(([key]) => key === 'GOARCH')?.[1];
  const found = (name: string, version: string): FoundPackage => ({
    type: 'golang',
    name: bounded(name),
    version: bounded(version),
    ...(arch ? { arch: bounded(arch) } : {}),
    licenses: [],
    foundIn,
  });
  const main = info.main ?? (info.path ? { path: info.path, version: '(devel)' } : undefined);
  const modules = [...(main ? [main] : []), ...info.deps].map((m) => m.replace ?? m);
  const stdlib = info.goVersion.split(' ')[0] ?? info.goVersion;
  return [...modules.map((m) => found(m.path, m.version)), found('stdlib', stdlib)];
}

export const goCataloguer: FileCataloguer = {
  name: 'go',
  wants(file: CandidateFile): boolean {
    return file.executable && file.size >= MIN_GO_EXECUTABLE;
  },
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    const raw = await scanBuildInfo(content);
    const where = bounded(file.path);
    if (raw.kind === 'none') return { packages: [] };
    // A Go executable whose modules cannot be read is not evaluated; a UPX-packed executable may not be
    // Go at all, so it stays a note.
    if (raw.kind === 'pointer') return unreadResult(`go: ${where}: Go build info in the pre-1.18 format is not read`);
    if (raw.kind === 'unreadable') {
      const why = `go: ${where}: Go build info not read: ${raw.reason}`;
      return raw.reason.includes('UPX') ? { packages: [], notes: [why] } : unreadResult(why);
    }
    try {
      return { packages: goPackages(parseModinfo(raw.goVersion, raw.modinfo), file.path) };
    } catch (err) {
      return unreadResult(`go: ${where}: Go build info is malformed: ${(err as Error).message}`);
    }
  },
};
