/**
 * Team and channel names, as Mattermost validates them (server/public/model/team.go `IsValidTeamName`, channel.go
 * `IsChannelNameValid`, utils.go `reservedName`).
 * Pure functions: a message when invalid, null when valid.
 */

const TEAM_NAME = /^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$/;
const CHANNEL_NAME = /^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$/;

/** A team name may not *start with* any of these (Mattermost `reservedName`, checked with HasPrefix semantics). */
export const RESERVED_TEAM_PREFIXES = ['admin', 'api', 'channel', 'claim', 'error', 'files', 'help', 'landing', 'login', 'mfa', 'oauth', 'plug', 'plugins', 'post', 'signup', 'boards', 'playbooks'];

export function teamNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'team name must be a string';
  if (name.length < 2 || name.length > 64) return `team name must be 2 to 64 characters, got ${name.length}`;
  if (!TEAM_NAME.test(name)) return `team name "${name}" must be lower-case letters, digits and hyphens (or one "__"), starting and ending with a letter or digit`;
  const reserved = RESERVED_TEAM_PREFIXES.find((w) => name.startsWith(w));
  if (reserved) return `team name "${name}" may not start with the reserved word "${reserved}"`;
  return null;
}

export function channelNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'channel name must be a string';
  if (name.length < 1 || name.length > 64) return `channel name must be 1 to 64 characters, got ${name.length}`;
  if (!CHANNEL_NAME.test(name)) return `channel name "${name}" must be lower-case letters, digits, hyphens and underscores, starting with a letter or digit`;
  return null;
}

/** Display names: 1 to 64 characters (runes) after trimming, as Mattermost's DisplayName limits. */
export function displayNameProblem(what: string, v: unknown): string | null {
  if (typeof v !== 'string' || !v.trim()) return `${what} display name must be a non-empty string`;
  if ([...v].length > 64) return `${what} display name must be at most 64 characters`;
  return null;
}

/** "town-square" → "Town Square"; Mattermost's own display name for off-topic is "Off-Topic". */
export function defaultDisplayName(channelName: string): string {
  if (channelName === 'off-topic') return 'Off-Topic';
  return channelName.split(/[-_]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
}
