/**
 * Mattermost's bulk-import file (JSONL, one `{"type": T, T: {...}}` object per line): the lines this server writes
 * and reads, checked by the rules the Mattermost importer applies before it imports anything
 * (server/channels/app/imports/import_validators.go: ValidateTeamImportData, ValidateChannelImportData,
 * ValidateUserImportData, ValidateUserTeamsImportData, ValidateUserChannelsImportData; field names from
 * import_types.go; limits from server/public/model user.go, team.go, channel.go). The parser returns a result and never
 * throws. Lines of other types (posts, emoji, schemes, ...) are recognised, ordered and otherwise left alone: adopting
 * a workspace carries its people and structure, not its messages.
 */
import { channelNameProblem, teamNameProblem } from '../names.js';

export interface VersionLine { type: 'version'; version: 1; info?: { generator?: string; version?: string; created?: string; additional?: unknown } }
export interface TeamLine { type: 'team'; team: { name: string; display_name: string; type: 'O' | 'I'; description?: string; allow_open_invite?: boolean; scheme?: string } }
export interface ChannelLine { type: 'channel'; channel: { team: string; name: string; display_name: string; type: 'O' | 'P'; header?: string; purpose?: string; scheme?: string; deleted_at?: number } }
export interface UserChannel { name: string; roles?: string; favorite?: boolean }
export interface UserTeam { name: string; roles?: string; channels?: UserChannel[] }
export interface UserLine {
  type: 'user';
  user: {
    username: string; email: string; auth_service?: string; auth_data?: string; password?: string;
    nickname?: string; first_name?: string; last_name?: string; position?: string; roles?: string; locale?: string;
    delete_at?: number; teams?: UserTeam[];
  };
}
/** A line of a type this server does not import (posts and the rest): kept only as its type, for the count. */
export interface OtherLine { type: 'other'; lineType: string }
export type Line = VersionLine | TeamLine | ChannelLine | UserLine | OtherLine;

export type LineResult = { ok: true; value: Line } | { ok: false; error: string };

/** Where each line type may come (BL "Data format": version, then schemes and emoji, teams, channels, users, posts, direct channels, direct posts). */
const RANK: Record<string, number> = { version: 0, scheme: 1, role: 1, emoji: 2, team: 3, channel: 4, user: 5, bot: 5, post: 6, direct_channel: 7, direct_post: 8 };

// Limits of server/public/model: TeamNameMaxLength, TeamDisplayNameMaxRunes, TeamDescriptionMaxLength; ChannelNameMaxLength,
// ChannelDisplayNameMaxRunes, ChannelHeaderMaxRunes, ChannelPurposeMaxRunes; UserEmailMaxLength, UserAuthDataMaxLength,
// UserPasswordMaxLength, UserNicknameMaxRunes, UserFirstNameMaxRunes, UserLastNameMaxRunes, UserPositionMaxRunes.
export const LIMITS = {
  teamDisplayName: 64, teamDescription: 255, channelDisplayName: 64, channelHeader: 1024, channelPurpose: 250,
  email: 128, authData: 128, password: 72, nickname: 64, firstName: 64, lastName: 64, position: 128, username: 64,
} as const;

/** validAuthServices of import_validators.go. */
export const IMPORT_AUTH_SERVICES = ['', 'email', 'gitlab', 'saml', 'ldap', 'google', 'office365', 'openid'];

const USERNAME = /^[a-z0-9.\-_]+$/;
const RESTRICTED_USERNAMES = new Set(['all', 'channel', 'matterbot', 'system']);
const ROLE_NAME = /^[a-z0-9_]{1,64}$/;

const runes = (s: string): number => [...s].length;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** model.IsValidUsername(NormalizeUsername(u)): lower-cased, 1-64 of [a-z0-9.-_], not a restricted name. */
export function usernameProblem(u: string): string | null {
  const n = u.toLowerCase();
  if (n.length < 1 || n.length > LIMITS.username || !USERNAME.test(n)) return `username "${u.slice(0, 80)}" must be 1 to 64 of a-z, 0-9, ".", "-", "_"`;
  if (RESTRICTED_USERNAMES.has(n)) return `username "${n}" is reserved`;
  return null;
}

/** model.IsValidUserRoles: space-separated role names, and not "system_admin" alone (the importer's guard against a slip). */
function rolesProblem(roles: string): string | null {
  const list = roles.trim().split(/\s+/).filter(Boolean);
  if (!list.every((r) => ROLE_NAME.test(r))) return `roles "${roles.slice(0, 80)}" must be space-separated role names`;
  if (list.length === 1 && list[0] === 'system_admin') return 'roles "system_admin" must also name system_user';
  return null;
}

type Check = (v: Record<string, unknown>) => string | null;
const str = (o: Record<string, unknown>, k: string, opts: { required?: boolean; max?: number; bytes?: boolean } = {}): string | null => {
  const v = o[k];
  if (v === undefined || v === null) return opts.required ? `${k} is required` : null;
  if (typeof v !== 'string') return `${k} must be a string`;
  if (opts.max !== undefined && (opts.bytes ? Buffer.byteLength(v) : runes(v)) > opts.max) return `${k} is longer than ${opts.max} ${opts.bytes ? 'bytes' : 'characters'}`;
  return null;
};
const first = (...problems: (string | null)[]): string | null => problems.find((p) => p !== null) ?? null;

const checkTeam: Check = (t) => first(
  str(t, 'name', { required: true }),
  typeof t.name === 'string' ? teamNameProblem(t.name.toLowerCase()) : null,
  str(t, 'display_name', { required: true, max: LIMITS.teamDisplayName }),
  t.display_name === '' ? 'display_name must not be empty' : null,
  t.type !== 'O' && t.type !== 'I' ? 'type must be "O" (open) or "I" (invite only)' : null,
  str(t, 'description', { max: LIMITS.teamDescription, bytes: true }),
  t.allow_open_invite !== undefined && typeof t.allow_open_invite !== 'boolean' ? 'allow_open_invite must be a boolean' : null,
);

const checkChannel: Check = (c) => first(
  str(c, 'team', { required: true }),
  str(c, 'name', { required: true }),
  typeof c.name === 'string' ? channelNameProblem(c.name.toLowerCase()) : null,
  str(c, 'display_name', { max: LIMITS.channelDisplayName }),
  c.type !== 'O' && c.type !== 'P' ? 'type must be "O" (public) or "P" (private)' : null,
  str(c, 'header', { max: LIMITS.channelHeader }),
  str(c, 'purpose', { max: LIMITS.channelPurpose }),
  c.deleted_at !== undefined && !(Number.isInteger(c.deleted_at) && (c.deleted_at as number) >= 0) ? 'deleted_at must be a timestamp in milliseconds' : null,
);

function checkUserTeams(teams: unknown, guest: boolean): string | null {
  if (teams === undefined || teams === null) return null;
  if (!Array.isArray(teams)) return 'teams must be a list';
  for (const [i, t] of teams.entries()) {
    if (!isObj(t)) return `teams[${i}] must be an object`;
    const p = first(str(t, 'name', { required: true }), str(t, 'roles'), typeof t.roles === 'string' ? rolesProblem(t.roles) : null);
    if (p) return `teams[${i}]: ${p}`;
    if (typeof t.roles === 'string' && t.roles.split(/\s+/).includes('team_guest') !== guest) return `teams[${i}]: ${guest ? 'a guest needs the team_guest role' : 'team_guest is for guests (roles system_guest)'}`;
    if (t.channels === undefined || t.channels === null) continue;
    if (!Array.isArray(t.channels)) return `teams[${i}].channels must be a list`;
    for (const [j, c] of t.channels.entries()) {
      if (!isObj(c)) return `teams[${i}].channels[${j}] must be an object`;
      const q = first(str(c, 'name', { required: true }), str(c, 'roles'), typeof c.roles === 'string' ? rolesProblem(c.roles) : null);
      if (q) return `teams[${i}].channels[${j}]: ${q}`;
      if (typeof c.roles === 'string' && c.roles.split(/\s+/).includes('channel_guest') !== guest) return `teams[${i}].channels[${j}]: ${guest ? 'a guest needs the channel_guest role' : 'channel_guest is for guests (roles system_guest)'}`;
    }
  }
  return null;
}

const blank = (v: unknown) => v === undefined || v === null || v === '';

const checkUser: Check = (u) => {
  const guest = typeof u.roles === 'string' && u.roles.split(/\s+/).includes('system_guest');
  return first(
    str(u, 'username', { required: true }),
    typeof u.username === 'string' ? usernameProblem(u.username) : null,
    str(u, 'email', { required: true, max: LIMITS.email, bytes: true }),
    u.email === '' ? 'email must not be empty' : null,
    u.auth_data != null && u.password != null ? 'auth_data and password cannot both be set' : null,
    str(u, 'auth_data', { max: LIMITS.authData, bytes: true }),
    blank(u.auth_service) !== blank(u.auth_data) ? 'auth_service and auth_data must be set together' : null,
    str(u, 'auth_service'),
    typeof u.auth_service === 'string' && !IMPORT_AUTH_SERVICES.includes(u.auth_service) ? `auth_service "${u.auth_service.slice(0, 40)}" is not one of ${IMPORT_AUTH_SERVICES.filter(Boolean).join(', ')}` : null,
    str(u, 'password', { max: LIMITS.password, bytes: true }),
    u.password === '' ? 'password must not be empty' : null,
    str(u, 'nickname', { max: LIMITS.nickname }),
    str(u, 'first_name', { max: LIMITS.firstName }),
    str(u, 'last_name', { max: LIMITS.lastName }),
    str(u, 'position', { max: LIMITS.position }),
    str(u, 'roles'),
    typeof u.roles === 'string' ? rolesProblem(u.roles) : null,
    str(u, 'locale'),
    u.delete_at !== undefined && !(Number.isInteger(u.delete_at) && (u.delete_at as number) >= 0) ? 'delete_at must be a timestamp in milliseconds' : null,
    checkUserTeams(u.teams, guest),
  );
};

const CHECKS: Record<string, Check> = { team: checkTeam, channel: checkChannel, user: checkUser };

/** One line's JSON text, parsed and checked. */
export function parseLine(text: string): LineResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not valid JSON' };
  }
  if (!isObj(v) || typeof v.type !== 'string') return { ok: false, error: 'a line must be an object with a string "type"' };
  const type = v.type;
  if (!(type in RANK)) return { ok: false, error: `unknown line type "${type.slice(0, 40)}"` };
  if (type === 'version') return v.version === 1 ? { ok: true, value: v as unknown as VersionLine } : { ok: false, error: 'version must be 1' };
  const check = CHECKS[type];
  if (!check) return { ok: true, value: { type: 'other', lineType: type } };
  const body = v[type];
  if (!isObj(body)) return { ok: false, error: `a ${type} line must have a "${type}" object` };
  const problem = check(body);
  return problem ? { ok: false, error: `${type}: ${problem}` } : { ok: true, value: v as unknown as Line };
}

/**
 * The order rule of the file: `version` first and once, then each type no earlier than the one before it (the
 * importer reads teams before the channels in them and channels before the people who join them).
 */
export class LineOrder {
  private last = -1;
  private lastType = '';
  /** The problem with a line of `type` coming next, or null. */
  next(type: string): string | null {
    const rank = RANK[type] ?? Infinity;
    if (this.last === -1 && type !== 'version') return 'the first line must be the version line';
    if (this.last !== -1 && type === 'version') return 'the version line must come once, first';
    if (rank < this.last) return `a ${type} line cannot come after a ${this.lastType} line`;
    this.last = rank;
    this.lastType = type;
    return null;
  }
}
