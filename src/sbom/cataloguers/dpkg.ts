// Debian packages from dpkg's database: /var/lib/dpkg/status, and the distroless layout where each
// package has a file of its own under /var/lib/dpkg/status.d/ (the `.md5sums` beside them are not
// stanzas). The list is exactly what `dpkg-query -W` lists by default: every stanza whose Status is
// not in the `not-installed` state — so `deinstall ok config-files` (removed, configuration kept) and
// `half-installed` packages ARE listed, as dpkg-query lists them (syft skips `deinstall`; we follow
// the package manager). A stanza without Status is not listed from `status` (dpkg-query does not), but
// is from status.d, where distroless images write none. `Source: name (version)` gives the source
// package and its version. Licences are not read: they live in /usr/share/doc/PKG/copyright, another
// file, and the format has no reliable licence field.
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { field, parseStanzas, type Stanza } from './deb822.ts';
import { mib, readCapped, unreadResult } from './read-capped.ts';

const STATUS = '/var/lib/dpkg/status';
const STATUS_D = /^\/var\/lib\/dpkg\/status\.d\/[^/]+$/;
/** The status file of a big system is a few MiB. */
const MAX_STATUS = 64 * 1024 * 1024;

function sourceOf(stanza: Stanza): FoundPackage['source'] {
  const raw = field(stanza, 'Source');
  if (raw === undefined || raw === '') return undefined;
  const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(raw);
  if (!m?.[1]) return undefined;
  return { name: m[1], ...(m[2] !== undefined ? { version: m[2] } : {}) };
}

/** Whether dpkg-query would list the stanza: a Status whose state (third word) is not `not-installed`. */
function listed(stanza: Stanza, requireStatus: boolean): boolean {
  const status = field(stanza, 'Status');
  if (status === undefined) return !requireStatus;
  const state = status.split(/\s+/)[2];
  return state !== undefined && state !== 'not-installed';
}

export function dpkgPackages(text: string, foundIn: string): CatalogueResult {
  const { stanzas, malformed } = parseStanzas(text);
  const notes = malformed.map(
    (m) => `dpkg: ${bounded(foundIn)}: the stanza at line ${m.line} is malformed (line ${m.badLine}); left out`,
  );
  const packages: FoundPackage[] = [];
  const fromStatusFile = foundIn === STATUS;
  for (const stanza of stanzas) {
    const name = field(stanza, 'Package');
    if (name === undefined || name === '') {
      notes.push(`dpkg: ${bounded(foundIn)}: the stanza at line ${stanza.line} has no Package field; left out`);
      continue;
    }
    if (!listed(stanza, fromStatusFile)) continue;
    const arch = field(stanza, 'Architecture');
    const source = sourceOf(stanza);
    packages.push({
      type: 'deb',
      name,
      version: field(stanza, 'Version') ?? '',
      ...(arch ? { arch } : {}),
      ...(source ? { source } : {}),
      licenses: [],
      foundIn,
    });
  }
  return { packages, notes };
}

export const dpkgCataloguer: FileCataloguer = {
  name: 'dpkg',
  wants: (file: CandidateFile) => file.path === STATUS || (STATUS_D.test(file.path) && !file.path.endsWith('.md5sums')),
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    const bytes = await readCapped(content, MAX_STATUS);
    if (bytes === undefined) {
      return unreadResult(`dpkg: ${bounded(file.path)} is larger than ${mib(MAX_STATUS)}; not read`);
    }
    return dpkgPackages(bytes.toString('utf8'), file.path);
  },
};
