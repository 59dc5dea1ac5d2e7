// Which OSV records describe the same vulnerability, so one vulnerability is one finding per package.
// Two records are the same vulnerability when one names the other in `aliases` or `upstream`, or both
// name a common id there (a DSA, a DEBIAN-CVE and a GHSA for one CVE), transitively: the connected
// components of the graph whose nodes are ids and whose edges join a record's id to each of its aliases
// and upstream ids.
// The rule over all of it: a group never holds two different CVE ids — one CVE, one finding, so an
// exception for one CVE cannot hide another. Hence:
// - a record naming two or more CVE ids (a DSA fixing forty kernel CVEs, a GHSA with two CVEs) adds no
//   edges; it joins the group of EACH CVE it names instead, contributing its own id and that CVE to each;
// - each record naming one CVE is first tied to that CVE; then an edge that would join two groups of
//   different CVEs (two DEBIAN-CVE records naming one DSA upstream, a CVE-less record linking two GHSAs
//   of different CVEs) is not made. A shared non-CVE id then stays with the first CVE group it reached;
//   the other records keep it among their own ids, so each CVE still has its own finding.

import type { OsvRecord } from '../types.ts';

/** A record's own id, its aliases and its upstream ids. */
export function idsOf(record: OsvRecord): string[] {
  return [record.id, ...record.aliases, ...record.upstream];
}

const CVE = /^CVE-\d{4}-\d+$/;

/** Union-find over ids that never joins two groups holding different CVE ids. */
class IdGroups {
  readonly #parent = new Map<string, string>();
  /** The CVE id of each root whose group holds one. */
  readonly #cve = new Map<string, string>();

  find(id: string): string {
    let root = id;
    for (let p = this.#parent.get(root); p !== undefined && p !== root; p = this.#parent.get(root)) root = p;
    // Path compression: point every id on the way at the root.
    for (let cur = id; cur !== root;) {
      const next = this.#parent.get(cur) ?? root;
      this.#parent.set(cur, root);
      cur = next;
    }
    return root;
  }

  #cveOf(root: string): string | undefined {
    return this.#cve.get(root) ?? (CVE.test(root) ? root : undefined);
  }

  /** Joins the groups of `a` and `b` unless that would put two different CVEs in one group. */
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const ca = this.#cveOf(ra);
    const cb = this.#cveOf(rb);
    if (ca !== undefined && cb !== undefined && ca !== cb) return;
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    this.#parent.set(child, root);
    const cve = ca ?? cb;
    if (cve !== undefined) this.#cve.set(root, cve);
  }
}

function cvesOf(record: OsvRecord): string[] {
  return [...new Set(idsOf(record).filter((id) => CVE.test(id)))];
}

/** A group of records for one vulnerability: each member with the ids it brings to the group. */
export type VulnerabilityGroup<T> = Array<{ readonly member: T; readonly ids: readonly string[] }>;

/**
 * `members` grouped by vulnerability, each group in the order its first member came. `linking` are all
 * the records known for the package (matched or not): they connect ids too, so two matched records that
 * only a third one names together still merge.
 */
export function groupByVulnerability<T extends { readonly record: OsvRecord }>(
  members: readonly T[],
  linking: readonly OsvRecord[],
): VulnerabilityGroup<T>[] {
  const groups = new IdGroups();
  const records = [...linking, ...members.map((m) => m.record)].filter((r) => cvesOf(r).length < 2);
  // Each record is tied to its own CVE first, so no shared id can pull it into another CVE's group.
  for (const r of records) for (const cve of cvesOf(r)) groups.union(r.id, cve);
  for (const r of records) for (const id of idsOf(r)) groups.union(r.id, id);
  const byRoot = new Map<string, VulnerabilityGroup<T>>();
  const join = (root: string, entry: VulnerabilityGroup<T>[number]) => {
    const group = byRoot.get(root);
    if (group) group.push(entry);
    else byRoot.set(root, [entry]);
  };
  for (const member of members) {
    const cves = cvesOf(member.record);
    if (cves.length < 2) {
      join(groups.find(member.record.id), { member, ids: idsOf(member.record) });
      continue;
    }
    const byCveRoot = Map.groupBy(cves, (cve) => groups.find(cve));
    for (const [root, mine] of byCveRoot) join(root, { member, ids: [member.record.id, ...mine] });
  }
  return [...byRoot.values()];
}

/** The primary id of a set of ids: the lowest CVE id when there is one, else the lowest id (code-point order). */
export function primaryId(ids: readonly string[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const cve = sorted.find((id) => CVE.test(id));
  const first = cve ?? sorted[0];
  if (first === undefined) throw new Error('primaryId of no ids');
  return first;
}
