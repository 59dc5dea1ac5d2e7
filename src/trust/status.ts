// `airlock trust status`: how long each installed trust root stays usable, as levels a monitoring
// system can act on (monitoring-plugin levels: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3).
//   timestamp/snapshot: the deadline is expiry + grace; WARNING within 7 days of it, CRITICAL after.
//   root/targets: WARNING under 30 days, CRITICAL under 7 days (or expired).
//   break-glass installs: always CRITICAL.
import { acceptableUntil } from './freshness.ts';
import type { InstallRecord } from './install.ts';
import type { TopLevelRole } from './tuf-verify.ts';

export const LEVELS = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type Level = 0 | 1 | 2 | 3;
const DAY = 86_400_000;

export interface RoleStatus {
  readonly role: TopLevelRole;
  readonly version: number;
  readonly expires: string;
  /** When the policy stops accepting the role (expiry, plus grace for timestamp/snapshot). */
  readonly deadline: string;
  readonly daysLeft: number;
  readonly level: Level;
}

export interface AuthorityWindow {
  readonly kind: 'ca' | 'tlog' | 'ctlog' | 'tsa';
  readonly name: string;
  readonly start?: string;
  readonly end?: string;
  readonly activeAt: boolean;
}

export interface TrustRootStatus {
  readonly name: string;
  readonly level: Level;
  /** Absent when the install cannot be read (see problem). */
  readonly importedAt?: string;
  /** Why the installed root cannot be used: a broken install is CRITICAL, one that cannot be read UNKNOWN. */
  readonly problem?: { readonly code: string; readonly message: string };
  readonly roles: readonly RoleStatus[];
  readonly breakGlass?: InstallRecord['breakGlass'];
  readonly authorities: readonly AuthorityWindow[];
  /** The most urgent fact, for one-line output. */
  readonly summary: string;
}

function roleLevel(role: TopLevelRole, daysLeft: number): Level {
  if (role === 'timestamp' || role === 'snapshot') return daysLeft <= 0 ? 2 : daysLeft < 7 ? 1 : 0;
  return daysLeft < 7 ? 2 : daysLeft < 30 ? 1 : 0;
}

interface Window {
  validFor?: { start?: string; end?: string };
}

export function authorityWindows(trustedRoot: unknown, at: Date): AuthorityWindow[] {
  const root = trustedRoot as Record<
    string,
    Array<Window & { uri?: string; baseUrl?: string; publicKey?: Window; subject?: { commonName?: string } }>
  >;
  const out: AuthorityWindow[] = [];
  const push = (kind: AuthorityWindow['kind'], name: string, w: Window['validFor']) => {
    const start = w?.start;
    const end = w?.end;
    const activeAt = (!start || new Date(start) <= at) && (!end || at <= new Date(end));
    out.push({ kind, name, ...(start ? { start } : {}), ...(end ? { end } : {}), activeAt });
  };
  for (const ca of root.certificateAuthorities ?? []) push('ca', ca.uri || ca.subject?.commonName || 'CA', ca.validFor);
  for (const tsa of root.timestampAuthorities ?? [])
    push('tsa', tsa.uri || tsa.subject?.commonName || 'TSA', tsa.validFor);
  for (const log of root.tlogs ?? []) push('tlog', log.baseUrl || 'tlog', log.publicKey?.validFor);
  for (const log of root.ctlogs ?? []) push('ctlog', log.baseUrl || 'ctlog', log.publicKey?.validFor);
  return out;
}

export function evaluateTrustStatus(install: InstallRecord, trustedRoot: unknown, at: Date): TrustRootStatus {
  const roles: RoleStatus[] = install.roles.map((r) => {
    const deadline = acceptableUntil(r, install.graceDays);
    const daysLeft = (deadline.getTime() - at.getTime()) / DAY;
    return {
      role: r.role,
      version: r.version,
      expires: r.expires,
      deadline: deadline.toISOString(),
      daysLeft: Math.floor(daysLeft * 10) / 10,
      level: roleLevel(r.role, daysLeft),
    };
  });
  let level = Math.max(0, ...roles.map((r) => r.level)) as Level;
  let summary: string;
  const worst = [...roles].sort((a, b) => b.level - a.level || a.daysLeft - b.daysLeft)[0];
  if (install.breakGlass) {
    level = 2;
    const past = at.getTime() > new Date(install.breakGlass.until).getTime();
    summary = past
      ? `break-glass deadline ${install.breakGlass.until} has passed: verification refuses this root`
      : `break-glass install until ${install.breakGlass.until} (${install.breakGlass.reason})`;
  } else if (worst && worst.daysLeft <= 0) {
    summary = `${worst.role} v${worst.version} no longer acceptable since ${worst.deadline}`;
  } else if (worst) {
    summary = `${worst.role} v${worst.version} acceptable for ${worst.daysLeft} more days (until ${worst.deadline})`;
  } else summary = 'no roles recorded';
  return {
    name: install.name,
    level,
    importedAt: install.importedAt,
    roles,
    ...(install.breakGlass ? { breakGlass: install.breakGlass } : {}),
    authorities: authorityWindows(trustedRoot, at),
    summary,
  };
}

/**
 * The status of a root whose install cannot be used. A root found broken (E_TRUST_ROOT: files gone,
 * changed, not JSON) is CRITICAL: verification with it is refused. One that could not be read at all
 * (I/O) is UNKNOWN: nothing can be said about it.
 */
export function brokenTrustStatus(
  name: string,
  problem: { readonly code: string; readonly message: string },
): TrustRootStatus {
  return {
    name,
    level: problem.code === 'E_TRUST_ROOT' ? 2 : 3,
    roles: [],
    authorities: [],
    problem,
    summary: `unusable: ${problem.message} [${problem.code}]`,
  };
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export type GaugeSample = [labels: Record<string, string>, value: number];

/** Writes gauges into `lines` in the text exposition format 0.0.4: `metric(name, help, samples)`. */
export function gaugeWriter(lines: string[]): (name: string, help: string, samples: GaugeSample[]) => void {
  return (name, help, samples) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escape(v)}"`)
        .join(',');
      lines.push(`${name}{${l}} ${value}`);
    }
  };
}

/** An ISO 8601 time as a Prometheus timestamp gauge value (whole seconds). */
export const epochSeconds = (iso: string): number => Math.floor(new Date(iso).getTime() / 1000);

/** A node-exporter textfile (Prometheus text exposition format 0.0.4). */
export function toPrometheus(statuses: readonly TrustRootStatus[]): string {
  const lines: string[] = [];
  const metric = gaugeWriter(lines);
  const seconds = epochSeconds;
  metric(
    'airlock_trust_role_expiry_timestamp_seconds',
    'Expiry of each TUF role of an installed trust root.',
    statuses.flatMap((s) =>
      s.roles.map((r): [Record<string, string>, number] => [{ name: s.name, role: r.role }, seconds(r.expires)]),
    ),
  );
  metric(
    'airlock_trust_role_deadline_timestamp_seconds',
    'Last instant the freshness policy accepts each role (expiry, plus grace for timestamp/snapshot).',
    statuses.flatMap((s) =>
      s.roles.map((r): [Record<string, string>, number] => [{ name: s.name, role: r.role }, seconds(r.deadline)]),
    ),
  );
  metric(
    'airlock_trust_role_version',
    'Version of each TUF role of an installed trust root.',
    statuses.flatMap((s) =>
      s.roles.map((r): [Record<string, string>, number] => [{ name: s.name, role: r.role }, r.version]),
    ),
  );
  metric(
    'airlock_trust_imported_timestamp_seconds',
    'When the trust root was imported.',
    statuses.flatMap((s): Array<[Record<string, string>, number]> =>
      s.importedAt ? [[{ name: s.name }, seconds(s.importedAt)]] : [],
    ),
  );
  metric(
    'airlock_trust_break_glass_deadline_timestamp_seconds',
    'Deadline of a break-glass install (absent when none).',
    statuses.flatMap((s): Array<[Record<string, string>, number]> =>
      s.breakGlass ? [[{ name: s.name }, seconds(s.breakGlass.until)]] : [],
    ),
  );
  metric(
    'airlock_trust_status',
    'Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.',
    statuses.map((s) => [{ name: s.name }, s.level]),
  );
  return `${lines.join('\n')}\n`;
}
