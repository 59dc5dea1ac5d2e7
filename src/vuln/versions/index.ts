// Which version order an OSV ecosystem string uses (ossf/osv-schema ecosystems.json): the part before
// the first `:` names the ecosystem, the rest scopes it (`Debian:12`, `Ubuntu:Pro:18.04:LTS`,
// `Red Hat:rhel_aus:8.4::appstream`, `Maven:https://maven.google.com`). Names are case-sensitive, as
// OSV spells them. An ecosystem without an order here gets undefined: the matcher must then not guess
// (its SEMVER-typed ranges can still be read with semverOrder).
import type { VersionCompare } from '../types.ts';
import { apkOrder } from './apk.ts';
import { debOrder } from './deb.ts';
import { goOrder } from './go.ts';
import { mavenOrder } from './maven.ts';
import { pep440Order } from './pep440.ts';
import { rpmOrder } from './rpm.ts';
import { npmOrder, semverOrder } from './semver.ts';

export { semverOrder };

const ORDERS: ReadonlyMap<string, VersionCompare> = new Map([
  ['Debian', debOrder],
  ['Ubuntu', debOrder],
  ['Alpine', apkOrder],
  ['Wolfi', apkOrder],
  ['Chainguard', apkOrder],
  ['MinimOS', apkOrder],
  ['Red Hat', rpmOrder],
  ['AlmaLinux', rpmOrder],
  ['Rocky Linux', rpmOrder],
  ['openSUSE', rpmOrder],
  ['SUSE', rpmOrder],
  ['Azure Linux', rpmOrder],
  ['Mageia', rpmOrder],
  ['openEuler', rpmOrder],
  ['Photon OS', rpmOrder],
  ['npm', npmOrder],
  ['Go', goOrder],
  ['PyPI', pep440Order],
  ['Maven', mavenOrder],
]);

/** The version order of an OSV ecosystem string, or undefined for an ecosystem without one here. */
export function versionOrderFor(ecosystem: string): VersionCompare | undefined {
  const colon = ecosystem.indexOf(':');
  return ORDERS.get(colon === -1 ? ecosystem : ecosystem.slice(0, colon));
}
