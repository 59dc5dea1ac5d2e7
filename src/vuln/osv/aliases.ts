// Which OSV records describe the same vulnerability, so one vulnerability is one finding per package.
// Two records are the same vulnerability when one names the other in `aliases` or `upstream`, or both
// name a common id there (a DSA, a DEBIAN-CVE and a GHSA for one CVE), transitively: the connected
// components of the graph whose nodes are ids and whose edges join a record's id to each of its aliases
// and upstream ids.
// One exception keeps "one CVE, one finding": a record that names two or more CVE ids (a DSA fixing
// forty kernel CVEs, a GHSA with two CVEs) adds no edges — it would otherwise fold forty vulnerabilities
// into one finding, and an exception for one of them would hide the rest. It joins the group of EACH CVE
// it names instead, contributing its own id and that CVE to each.

import type { OsvRecord } from '../types.ts';

/** A record's own id, its aliases and its upstream ids. */
export function idsOf(record: OsvRecord): string[] {
  return [record.id, ...record.aliases, ...record.upstream];
}

/** Union-find over ids. */
class IdGroups {
  readonly #parent = new Map<string, string>();

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

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

const CVE = /^CVE-\d{4}-\d+$/;

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
  for (const r of [...linking, ...members.map((m) => m.record)])
    if (cvesOf(r).length < 2) for (const id of idsOf(r)) groups.union(r.id, id);
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
