// Which transfer channels this (air-gapped) side accepts, where each may write, and how old a package
// may be. A channel is accepted only when named (`import --channel NAME`, or a channels file):
//   { "apiVersion": "airlock/v1", "kind": "Channels",
//     "channels": [ { "name": "prod", "repositories": ["mirror/app", "mirror/team/**"], "maxAge": "14d" } ] }
// so package #1 of a channel nobody named, an old package of a retired channel, or a package replayed
// into a freshly installed machine is refused instead of starting a channel. `repositories` binds the
// channel to the repositories (paths on the registry, globs as in image policies) it may push to.
import { AirlockError } from '../errors.ts';
import { globToRegExp } from '../policy/image-policy.ts';
import { bounded } from '../text.ts';

export interface ChannelRule {
  readonly name: string;
  /** Repository path globs (`mirror/team/**`) this channel may write; undefined: any. */
  readonly repositories?: readonly string[];
  /** This channel's maximum package age, overriding the default. */
  readonly maxAgeMs?: number;
}

export interface AcceptedChannels {
  readonly rules: ReadonlyMap<string, ChannelRule>;
  /** Where the rules came from, for messages: `--channel` or the channels file's path. */
  readonly source: string;
}

/**
 * The default maximum age of a package. Carrying media across a gap takes days, sometimes weeks (an
 * approval, a courier, a monthly window), so 30 days admits a monthly cycle; it is also how long an old
 * but validly signed package can be replayed into a machine that has never seen its channel.
 */
export const DEFAULT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/**
 * A package signed this far ahead of this side's clock is refused too: clocks drift, a date a day ahead is no drift.
 */
export const MAX_CLOCK_SKEW_MS = 3600 * 1000;

const CHANNEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

/** `90m`, `36h`, `14d`, `2w` → milliseconds; E_USAGE otherwise. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d{1,6})(m|h|d|w)$/.exec(text.trim());
  if (!m)
    throw new AirlockError(
      'E_USAGE',
      `${what} takes a duration such as 90m, 36h, 14d or 2w, got '${bounded(text, 40)}'`,
    );
  const unit = { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new AirlockError('E_USAGE', `${what} must be more than zero`);
  return ms;
}

export function channelsFromNames(names: readonly string[]): AcceptedChannels {
  const rules = new Map<string, ChannelRule>();
  for (const name of names) {
    if (!CHANNEL_NAME.test(name))
      throw new AirlockError(
        'E_USAGE',
        `--channel: '${bounded(name, 80)}' is not a channel name (letters, digits, . _ -; up to 64)`,
      );
    rules.set(name, { name });
  }
  return { rules, source: '--channel' };
}

export function parseChannelsFile(doc: unknown, source: string): AcceptedChannels {
  const bad = (why: string) =>
    new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${why}`, {
      hint:
        'a channels file is {"apiVersion": "airlock/v1", "kind": "Channels", "channels": [{"name": ' +
        '"prod", "repositories": ["mirror/**"], "maxAge": "14d"}]}',
    });
  const d = doc as { apiVersion?: unknown; kind?: unknown; channels?: unknown };
  if (
    d?.apiVersion !== 'airlock/v1' ||
    d.kind !== 'Channels' ||
    !Array.isArray(d.channels) ||
    d.channels.length === 0
  ) {
    throw bad('not an airlock/v1 Channels document with at least one channels[] entry');
  }
  const rules = new Map<string, ChannelRule>();
  for (const [i, raw] of d.channels.entries()) {
    const c = raw as { name?: unknown; repositories?: unknown; maxAge?: unknown };
    if (typeof c?.name !== 'string' || !CHANNEL_NAME.test(c.name))
      throw bad(`channels[${i}].name must be a channel name (letters, digits, . _ -; up to 64)`);
    if (rules.has(c.name)) throw bad(`channel ${c.name} is listed twice`);
    if (
      c.repositories !== undefined &&
      (!Array.isArray(c.repositories) ||
        c.repositories.length === 0 ||
        !c.repositories.every((r) => typeof r === 'string' && /^[a-z0-9*][a-z0-9._/*-]*$/.test(r)))
    ) {
      throw bad(
        `channels[${i}].repositories must be a non-empty list of repository paths or globs ` +
          `(mirror/app, mirror/team/**)`,
      );
    }
    let maxAgeMs: number | undefined;
    if (c.maxAge !== undefined) {
      try {
        maxAgeMs = parseDuration(String(c.maxAge), `channels[${i}].maxAge`);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    rules.set(c.name, {
      name: c.name,
      ...(c.repositories ? { repositories: c.repositories as string[] } : {}),
      ...(maxAgeMs ? { maxAgeMs } : {}),
    });
  }
  return { rules, source };
}

/** The rule for `channel`, or E_CHANNEL: a channel nobody named is never accepted, not even its package #1. */
export function acceptChannel(accepted: AcceptedChannels, channel: string): ChannelRule {
  const rule = accepted.rules.get(channel);
  if (!rule) {
    throw new AirlockError(
      'E_CHANNEL',
      `channel ${bounded(channel, 80)} is not accepted here (accepted: ` +
        `${[...accepted.rules.keys()].join(', ')}; from ${bounded(accepted.source)})`,
      {
        hint:
          `if this side should take packages of ${bounded(channel, 80)}, name it: --channel ` +
          `${bounded(channel, 80)}, or add it to the channels file`,
        details: { channel, accepted: [...accepted.rules.keys()] },
      },
    );
  }
  return rule;
}

/** The signed creation time must be within the maximum age, and not ahead of this side's clock. */
export function checkAge(createdAt: string, now: Date, maxAgeMs: number): void {
  const created = Date.parse(createdAt);
  if (!Number.isFinite(created))
    throw new AirlockError('E_INPUT_MALFORMED', `the package's createdAt '${bounded(createdAt, 40)}' is not a time`);
  const age = now.getTime() - created;
  const days = (ms: number) => `${(ms / 86400e3).toFixed(ms < 86400e3 ? 2 : 0)} days`;
  if (age > maxAgeMs) {
    throw new AirlockError(
      'E_PACKAGE_STALE',
      `the package was created ${createdAt}, ${days(age)} ago; packages older than ${days(maxAgeMs)} are refused`,
      {
        hint:
          'an old package may be a replay: ask for a fresh one, or raise the limit for this import ' +
          'with --max-age (recorded)',
        details: { createdAt, maxAgeMs },
      },
    );
  }
  if (-age > MAX_CLOCK_SKEW_MS) {
    throw new AirlockError(
      'E_PACKAGE_STALE',
      `the package was created ${createdAt}, ahead of this machine's clock (${now.toISOString()}) by more than an hour`,
      {
        hint: "check both sides' clocks; a package cannot come from the future",
        details: { createdAt, now: now.toISOString() },
      },
    );
  }
}

/** A destination repository path (no host) this channel may write, or E_CHANNEL. */
export function checkRepository(rule: ChannelRule, repository: string, source: string): void {
  if (!rule.repositories) return;
  if (rule.repositories.some((g) => globToRegExp(g).test(repository))) return;
  throw new AirlockError(
    'E_CHANNEL',
    `channel ${rule.name} may not write ${bounded(repository, 120)} (its repositories: ` +
      `${rule.repositories.join(', ')}; from ${bounded(source)})`,
    {
      details: { channel: rule.name, repository, allowed: rule.repositories },
    },
  );
}
