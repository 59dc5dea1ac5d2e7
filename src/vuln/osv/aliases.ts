// Which OSV records describe the same vulnerability, so one vulnerability is one finding per package.
// Two records are the same vulnerability when one names the other in `aliases` or `upstream`, or both
// name a common id there (a DSA, a DEBIAN-CVE and a GHSA for one CVE), transitively: the connected
// components of the graph whose nodes are ids and whose edges join a record's id to each of its aliases
// and upstream ids. A record that names several CVEs (a DSA fixing five) joins them all into one group.

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

/**
 * `members` grouped by vulnerability, each group in the order its first member came. `linking` are all
 * the records known for the package (matched or not): they connect ids too, so two matched records that
 * only a third one names together still merge.
 */
export function groupByVulnerability<T extends { readonly record: OsvRecord }>(
  members: readonly T[],
  linking: readonly OsvRecord[],
): T[][] {
  const groups = new IdGroups();
  for (const r of [...linking, ...members.map((m) => m.record)]) for (const id of idsOf(r)) groups.union(r.id, id);
  const byRoot = new Map<string, T[]>();
  for (const m of members) {
    const root = groups.find(m.record.id);
    const group = byRoot.get(root);
    if (group) group.push(m);
    else byRoot.set(root, [m]);
  }
  return [...byRoot.values()];
}

const CVE = /^CVE-\d{4}-\d+$/;

/** The primary id of a set of ids: the lowest CVE id when there is one, else the lowest id (code-point order). */
export function primaryId(ids: readonly string[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const cve = sorted.find((id) => CVE.test(id));
  const first = cve ?? sorted[0];
  if (first === undefined) throw new Error('primaryId of no ids');
  return first;
}
