/**
 * The workspace as a Mattermost bulk-import file (`mmctl import process`), written as a stream of lines: the version
 * line, the live teams, their channels, then every person SCIM can see with their live team and channel memberships.
 * Read in keyset pages (store/bulk-file.ts), so memory stays flat whatever the size; the caller writes the lines
 * with backpressure. Every line is checked by the importer's own rules (format.ts) before it is written: a line
 * that would fail them (a person without an email) is left out and reported, never written.
 *
 * What cannot be carried (the import format has no field for it): archived teams (an import cannot archive a team,
 * so they and their channels and memberships are left out), group-constrained flags and group links, and people the
 * IdP deleted (an import cannot delete; the connector already deactivated their Mattermost account). Archived
 * channels of live teams are written with `deleted_at` (newer import_types.go), their memberships left out.
 */
import type { Knex } from 'knex';
import { bool } from '../../store/db.js';
import { listTeams } from '../../store/workspace.js';
import { countLiveUsers, exportChannelPage, exportMemberships, exportUserPage, type ExportUserRow } from '../../store/bulk-file.js';
import { authDataOf, type SignInSettings } from '../../connector/auth-data.js';
import { LineOrder, LIMITS, parseLine, type ChannelLine, type TeamLine, type UserLine, type UserTeam } from './format.js';

const PAGE = 500;
/** Problems listed in the stats (all are counted). */
const LISTED = 100;
/** model.UserLocaleMaxLength (server/public/model/user.go): longer SCIM locales ("en-US-x-...") are left out. */
const LOCALE_MAX = 5;

export interface ExportStats {
  teams: number; channels: number; archivedChannels: number; users: number; deactivated: number;
  /** People written without auth_service/auth_data because they lack the attribute MATTERMOST_AUTH_DATA names. */
  withoutAuthData: number;
  /** Lines not written because they would fail the importer's checks. */
  left: number;
  problems: string[];
}

export interface ExportOptions {
  /** auth_service/auth_data as the connector sets them (MATTERMOST_AUTH_SERVICE/MATTERMOST_AUTH_DATA). */
  signIn: SignInSettings;
  /** Called after each page of people with how many were written and how many there are. */
  onUsers?: (done: number, total: number) => void;
  now?: number;
}

export const newExportStats = (): ExportStats => ({ teams: 0, channels: 0, archivedChannels: 0, users: 0, deactivated: 0, withoutAuthData: 0, left: 0, problems: [] });

const clip = (s: string | null, max: number): string | undefined => (s ? [...s].slice(0, max).join('') : undefined);
const millis = (v: number | string | null | undefined): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/** Mattermost's `users.roles` for a system role (model/role.go; "system_admin" alone is refused by IsValidUserRoles). */
const SYSTEM_ROLES = { member: 'system_user', admin: 'system_user system_admin', guest: 'system_guest' } as const;

/** The user line of one person and their memberships (roles as app/import_functions.go reads them). */
export function userLineOf(u: ExportUserRow, teams: UserTeam[], signIn: SignInSettings): UserLine {
  const auth = authDataOf(signIn, u);
  const active = bool(u.active);
  const user: UserLine['user'] = {
    username: u.username,
    email: (u.email ?? '').toLowerCase(),
    ...(auth ? { auth_service: signIn.authService, auth_data: auth } : {}),
    ...(u.first_name ? { first_name: clip(u.first_name, LIMITS.firstName)! } : {}),
    ...(u.last_name ? { last_name: clip(u.last_name, LIMITS.lastName)! } : {}),
    ...(u.nickname ? { nickname: clip(u.nickname, LIMITS.nickname)! } : {}),
    ...(u.position ? { position: clip(u.position, LIMITS.position)! } : {}),
    roles: SYSTEM_ROLES[u.system_role ?? 'member'],
    ...(u.locale && u.locale.length <= LOCALE_MAX ? { locale: u.locale } : {}),
    // Mattermost marks a deactivated account by its DeleteAt (model/user.go); the import saves it on a new account.
    ...(!active ? { delete_at: millis(u.deactivated_at) ?? millis(u.updated_at)! } : {}),
    teams,
  };
  return { type: 'user', user };
}

/** The file's lines, each ending in "\n". `stats` is filled in as they are produced. */
export async function* exportLines(db: Knex, opts: ExportOptions, stats: ExportStats): AsyncGenerator<string> {
  const order = new LineOrder();
  const emit = (line: object, what: string): string | null => {
    const text = JSON.stringify(line);
    const checked = parseLine(text);
    const problem = checked.ok ? order.next((line as { type: string }).type) : checked.error;
    if (problem) {
      stats.left++;
      if (stats.problems.length < LISTED) stats.problems.push(`${what} left out: ${problem}`);
      return null;
    }
    return `${text}\n`;
  };

  const now = opts.now ?? Date.now();
  const version = emit({ type: 'version', version: 1, info: { generator: 'scim-workspace-provisioning', created: new Date(now).toISOString() } }, 'version');
  if (version) yield version;

  // What was written, by id: memberships are placed under these names, and memberships of anything else (archived
  // teams and channels, lines left out) are not written. Teams and channels are few next to people.
  const teamNames = new Map<string, string>();
  const channelNames = new Map<string, { team: string; name: string }>();
  for (let after: string | undefined; ;) {
    const page = await listTeams(db, { limit: PAGE, after });
    for (const t of page) {
      const line: TeamLine = { type: 'team', team: { name: t.name, display_name: t.display_name, type: t.type, allow_open_invite: t.type === 'O' } };
      const text = emit(line, `team ${t.name}`);
      if (text) { stats.teams++; teamNames.set(t.id, t.name); yield text; }
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.name;
  }

  for (let after: { team: string; name: string } | null = null; ;) {
    const page = await exportChannelPage(db, after, PAGE);
    for (const c of page) {
      const deleted = millis(c.archived_at);
      const line: ChannelLine = { type: 'channel', channel: { team: c.team_name, name: c.name, display_name: c.display_name, type: c.type, ...(deleted ? { deleted_at: deleted } : {}) } };
      const text = emit(line, `channel ${c.team_name}/${c.name}`);
      if (text) {
        stats.channels++;
        if (deleted) stats.archivedChannels++;
        else channelNames.set(c.id, { team: c.team_name, name: c.name });
        yield text;
      }
    }
    if (page.length < PAGE) break;
    after = { team: page[page.length - 1]!.team_name, name: page[page.length - 1]!.name };
  }

  const total = await countLiveUsers(db);
  let done = 0;
  for (let after: string | null = null; ;) {
    const page = await exportUserPage(db, after, PAGE);
    if (!page.length) break;
    const m = await exportMemberships(db, page.map((u) => u.id));
    // A guest's memberships are guest memberships (the importer refuses anything else for system_guest: format.ts).
    const guests = new Set(page.filter((u) => u.system_role === 'guest').map((u) => u.id));
    const teamsOf = new Map<string, UserTeam[]>();
    for (const t of m.teams) {
      const name = teamNames.get(t.syncable_id);
      if (!name) continue;
      const list = teamsOf.get(t.user_id) ?? [];
      list.push({ name, roles: guests.has(t.user_id) ? 'team_guest' : bool(t.scheme_admin) ? 'team_user team_admin' : 'team_user', channels: [] });
      teamsOf.set(t.user_id, list);
    }
    for (const c of m.channels) {
      const ch = channelNames.get(c.syncable_id);
      if (!ch) continue;
      // A channel membership sits under its team's; Mattermost has none without the team's.
      const team = teamsOf.get(c.user_id)?.find((t) => t.name === ch.team);
      team?.channels!.push({ name: ch.name, roles: guests.has(c.user_id) ? 'channel_guest' : bool(c.scheme_admin) ? 'channel_user channel_admin' : 'channel_user' });
    }
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const list of teamsOf.values()) {
      list.sort(byName);
      for (const t of list) t.channels!.sort(byName);
    }
    for (const u of page) {
      const line = userLineOf(u, teamsOf.get(u.id) ?? [], opts.signIn);
      const text = emit(line, `user ${u.username}`);
      if (!text) continue;
      stats.users++;
      if (line.user.delete_at !== undefined) stats.deactivated++;
      if (opts.signIn.authService && !line.user.auth_data) stats.withoutAuthData++;
      yield text;
    }
    done += page.length;
    opts.onUsers?.(done, Math.max(total, done));
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
}
