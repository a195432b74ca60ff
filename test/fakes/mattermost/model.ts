// The fake's data and the side effects Mattermost attaches to each write, shared by the routes and the seed helpers.
import { createHash } from 'node:crypto';
import type { UserProfile } from '@mattermost/types/users';
import type { Team, TeamMembership } from '@mattermost/types/teams';
import type { Channel, ChannelMembership } from '@mattermost/types/channels';
import { AppError, MISSING_ACCOUNT } from './errors.ts';
import { newId } from './ids.ts';
import { checkChannel, checkTeam } from './rules.ts';

// What the server stores for a team member (model/team_member.go TeamMember). TeamMembership in @mattermost/types
// adds the unread counters of TeamUnread, which GET /teams/{id}/members does not send.
export type FakeTeamMember = Pick<TeamMembership, 'team_id' | 'user_id' | 'roles' | 'delete_at' | 'scheme_admin' | 'scheme_guest' | 'scheme_user'> & {
  explicit_roles: string;
  create_at: number;
};
// model/channel_member.go ChannelMember; the types omit scheme_guest and explicit_roles, which the server sends.
export type FakeChannelMember = ChannelMembership & { scheme_guest: boolean; explicit_roles: string };

export interface FakeSession {
  id: string;
  token: string;
  user_id: string;
  create_at: number;
  /** A personal access token (the two built-in tokens): survives "revoke all sessions", as a PAT re-creates its session. */
  is_access_token: boolean;
}

export interface FakeState {
  users: Map<string, UserProfile>;
  teams: Map<string, Team>;
  channels: Map<string, Channel>;
  /** key "teamId:userId"; a removed member stays with delete_at set, as TeamMembers rows are soft-deleted */
  teamMembers: Map<string, FakeTeamMember>;
  /** key "channelId:userId"; leaving deletes the row */
  channelMembers: Map<string, FakeChannelMember>;
  /** key: the bearer token */
  sessions: Map<string, FakeSession>;
}

/**
 * What the fake's server is configured and licensed for, changeable while it runs (a test turns guest accounts on):
 * `license` is null for an unlicensed server, else its features (model/license.go Features: GuestAccounts,
 * CustomPermissionsSchemes, SAML, ...); `guestAccounts` is GuestAccountsSettings.Enable (false by default, as in
 * model/config.go GuestAccountsSettings.SetDefaults).
 */
export interface FakeSettings {
  license: Record<string, boolean> | null;
  guestAccounts: boolean;
}

export function emptyState(): FakeState {
  return { users: new Map(), teams: new Map(), channels: new Map(), teamMembers: new Map(), channelMembers: new Map(), sessions: new Map() };
}

export const hashPassword = (p: string) => (p === '' ? '' : `fake-sha256:${createHash('sha256').update(p).digest('hex')}`);

// model/user.go SetDefaultNotifications.
export function defaultNotifyProps(): UserProfile['notify_props'] {
  return {
    email: 'true', push: 'mention', desktop: 'mention', desktop_sound: 'true', mention_keys: '', channel: 'true',
    push_status: 'away', comments: 'never', first_name: 'false', desktop_threads: 'all', email_threads: 'all', push_threads: 'all',
  } as UserProfile['notify_props'];
}

// model/channel_member.go GetDefaultChannelNotifyProps.
function defaultChannelNotifyProps(): FakeChannelMember['notify_props'] {
  return { desktop: 'default', email: 'default', mark_unread: 'all', push: 'default', ignore_channel_mentions: 'default',
    channel_auto_follow_threads: 'off', desktop_threads: 'all', push_threads: 'all' } as FakeChannelMember['notify_props'];
}

export function isSystemAdmin(u: UserProfile): boolean {
  return u.roles.split(' ').includes('system_admin');
}

// model/user.go User fields tagged `omitempty` are left out of the JSON when zero; Sanitize blanks password,
// mfa_secret and sets auth_data to "" (a non-nil pointer, so it is sent as "").
const USER_OMITEMPTY = ['create_at', 'update_at', 'password', 'email_verified', 'allow_marketing', 'props', 'notify_props',
  'last_password_update', 'last_picture_update', 'failed_attempts', 'mfa_active', 'mfa_secret', 'remote_id', 'last_activity_at',
  'is_bot', 'bot_description', 'bot_last_icon_update', 'terms_of_service_id', 'terms_of_service_create_at', 'last_login'];
export function sanitizeUser(u: UserProfile): Record<string, unknown> {
  const out: Record<string, unknown> = { ...u, password: '', auth_data: '', mfa_secret: '' };
  for (const key of USER_OMITEMPTY) {
    const v = out[key];
    if (v === undefined || v === null || v === '' || v === 0 || v === false || (typeof v === 'object' && Object.keys(v as object).length === 0)) delete out[key];
  }
  return out;
}

// model/team.go Sanitize: email and invite_id are hidden from sessions without manage_team (admins see them).
export function sanitizeTeam(t: Team, admin: boolean): Team {
  return admin ? { ...t } : { ...t, email: '', invite_id: '' };
}

// The roles string the store builds from the scheme flags (sqlstore team_store/channel_store getRoles).
function schemeRoles(prefix: 'team' | 'channel', m: { explicit_roles: string; scheme_guest: boolean; scheme_user: boolean; scheme_admin: boolean }): string {
  const roles = m.explicit_roles.split(' ').filter(Boolean);
  if (m.scheme_guest) roles.push(`${prefix}_guest`);
  if (m.scheme_user) roles.push(`${prefix}_user`);
  if (m.scheme_admin) roles.push(`${prefix}_admin`);
  return roles.join(' ');
}
export const refreshTeamRoles = (m: FakeTeamMember) => { m.roles = m.delete_at ? '' : schemeRoles('team', m); };
export const refreshChannelRoles = (m: FakeChannelMember) => { m.roles = schemeRoles('channel', m); };

export class Model {
  constructor(readonly state: FakeState, readonly defaultChannelNames: string[]) {}

  user(id: string): UserProfile {
    const u = this.state.users.get(id);
    if (!u) throw new AppError(MISSING_ACCOUNT, 404); // app/user.go GetUser
    return u;
  }
  team(id: string): Team {
    const t = this.state.teams.get(id);
    if (!t) throw new AppError('app.team.get.find.app_error', 404); // app/team.go GetTeam
    return t;
  }
  channel(id: string): Channel {
    const c = this.state.channels.get(id);
    if (!c) throw new AppError('app.channel.get.existing.app_error', 404); // app/channel.go getChannel
    return c;
  }
  channelByName(teamId: string, name: string, includeDeleted: boolean): Channel | undefined {
    for (const c of this.state.channels.values()) {
      if (c.team_id === teamId && c.name === name && (includeDeleted || c.delete_at === 0)) return c;
    }
    return undefined;
  }

  /** Revoke every login session of the user (app/session.go RevokeAllSessions); access tokens stay usable. */
  revokeSessions(userId: string): number {
    let n = 0;
    for (const [token, s] of this.state.sessions) {
      if (s.user_id === userId && !s.is_access_token) {
        this.state.sessions.delete(token);
        n++;
      }
    }
    return n;
  }

  /** app/user.go UpdateActive: DeleteAt/UpdateAt = now and sessions revoked on deactivation; memberships untouched. */
  setActive(u: UserProfile, active: boolean): void {
    const now = Date.now();
    u.update_at = now;
    if (active) {
      u.delete_at = 0;
    } else {
      u.delete_at = now;
      this.revokeSessions(u.id);
    }
  }

  /** model/team.go syncTypeAndAllowOpenInvite: "I" forces allow_open_invite=false; allow_open_invite=false forces "I". */
  syncTeamType(t: Team): void {
    if (t.type === 'I') t.allow_open_invite = false;
    if (t.allow_open_invite) {
      if (t.type !== 'I') t.type = 'O';
    } else {
      t.type = 'I';
    }
  }

  /** app/teams/teams.go CreateTeam + createDefaultChannels (DefaultChannelNames: town-square plus off-topic, or the configured list). */
  createTeam(input: { name: string; display_name: string; type?: string; description?: string; company_name?: string;
    allowed_domains?: string; allow_open_invite?: boolean; email?: string; group_constrained?: boolean }): Team {
    const now = Date.now();
    const team: Team = {
      id: newId(), create_at: now, update_at: now, delete_at: 0, display_name: input.display_name, name: input.name,
      description: input.description ?? '', email: (input.email ?? '').toLowerCase(), type: (input.type ?? '') as Team['type'],
      company_name: input.company_name ?? '', allowed_domains: input.allowed_domains ?? '', invite_id: newId(),
      allow_open_invite: input.allow_open_invite === true, scheme_id: null as unknown as string,
      group_constrained: input.group_constrained === true, policy_id: null,
    };
    this.syncTeamType(team);
    checkTeam(team);
    for (const t of this.state.teams.values()) {
      // sqlstore team_store Save maps the unique violation on Name to ErrInvalidInput; app/team.go CreateTeam
      // turns that into app.team.save.existing.app_error (400).
      if (t.name === team.name) throw new AppError('app.team.save.existing.app_error', 400);
    }
    this.state.teams.set(team.id, team);
    const displayNames: Record<string, string> = { 'town-square': 'Town Square', 'off-topic': 'Off-Topic' };
    for (const name of this.defaultChannelNames) {
      this.createChannel({ team_id: team.id, name, display_name: displayNames[name] ?? name, type: 'O' }, '');
    }
    return team;
  }

  /** app/channel.go CreateChannel: validate, unique (team, name), save; with a creator, the creator joins as channel admin. */
  createChannel(input: { team_id: string; name: string; display_name: string; type?: string; header?: string; purpose?: string;
    group_constrained?: boolean }, creatorId: string): Channel {
    const now = Date.now();
    const channel: Channel = {
      id: newId(), create_at: now, update_at: now, delete_at: 0, team_id: input.team_id, type: (input.type ?? 'O') as Channel['type'],
      display_name: input.display_name, name: input.name, header: input.header ?? '', purpose: input.purpose ?? '',
      last_post_at: 0, last_root_post_at: 0, creator_id: creatorId, scheme_id: null as unknown as string,
      group_constrained: input.group_constrained === true, shared: false, props: null as unknown as Record<string, unknown>,
      policy_id: null, banner_info: null as unknown as undefined, policy_enforced: false, policy_is_active: false,
      default_category_name: '', managed_category_name: '', autotranslation: false, discoverable: false,
    };
    Object.assign(channel, { total_msg_count: 0, total_msg_count_root: 0, extra_update_at: 0 });
    checkChannel(channel);
    if (this.channelByName(channel.team_id, channel.name, true)) {
      // store.ChannelExistsError, returned as 400 by app/channel.go CreateChannel.
      throw new AppError('store.sql_channel.save_channel.exists.app_error', 400);
    }
    this.state.channels.set(channel.id, channel);
    if (creatorId) this.saveChannelMember(channel, this.user(creatorId), true);
    return channel;
  }

  saveChannelMember(channel: Channel, user: UserProfile, admin: boolean): FakeChannelMember {
    const guest = user.roles.split(' ').includes('system_guest');
    const now = Date.now();
    const m: FakeChannelMember = {
      channel_id: channel.id, user_id: user.id, roles: '', last_viewed_at: 0, msg_count: 0, msg_count_root: 0, mention_count: 0,
      mention_count_root: 0, urgent_mention_count: 0, notify_props: defaultChannelNotifyProps(), last_update_at: now,
      scheme_guest: guest, scheme_user: !guest, scheme_admin: admin, explicit_roles: '',
    };
    refreshChannelRoles(m);
    this.state.channelMembers.set(`${channel.id}:${user.id}`, m);
    return m;
  }

  /**
   * app/teams/teams.go JoinUserToTeam + app/team.go JoinUserToTeam: an active row is returned as is; a soft-deleted
   * row is revived; otherwise a row is inserted. A new or revived member joins the default channels (open ones that
   * exist, app/channel.go JoinDefaultChannels), unless a guest. Nothing there looks at user.DeleteAt, so a
   * deactivated user is let in, as on a real server. group_constrained teams are not enforced by the fake.
   */
  joinTeam(team: Team, user: UserProfile): FakeTeamMember {
    const key = `${team.id}:${user.id}`;
    const existing = this.state.teamMembers.get(key);
    if (existing && existing.delete_at === 0) return existing;
    const guest = user.roles.split(' ').includes('system_guest');
    const shouldBeAdmin = team.email !== '' && team.email === user.email; // "team.Email == user.Email"
    const m: FakeTeamMember = {
      team_id: team.id, user_id: user.id, roles: '', delete_at: 0, scheme_guest: guest, scheme_user: !guest,
      scheme_admin: shouldBeAdmin, explicit_roles: '', create_at: Date.now(),
    };
    refreshTeamRoles(m);
    this.state.teamMembers.set(key, m);
    user.update_at = Date.now();
    if (!guest) this.joinDefaultChannels(team.id, user, false, shouldBeAdmin);
    return m;
  }

  /**
   * app/channel.go JoinDefaultChannels: the open default channels of the team that exist and are not archived, each
   * saved as a new member (one already there is a conflict the loop skips). The flags come from `asGuest`, the user
   * object the caller holds.
   */
  joinDefaultChannels(teamId: string, user: UserProfile, asGuest: boolean, admin: boolean): void {
    for (const name of this.defaultChannelNames) {
      const c = this.channelByName(teamId, name, false);
      if (!c || c.type !== 'O' || this.state.channelMembers.has(`${c.id}:${user.id}`)) continue;
      const m = this.saveChannelMember(c, user, admin);
      m.scheme_guest = asGuest;
      m.scheme_user = !asGuest;
      refreshChannelRoles(m);
    }
  }

  /**
   * app/user.go PromoteGuestToUser over sqlstore/user_store.go PromoteGuestToUser: `system_guest` becomes
   * `system_user` in place (every other role kept); every team membership (removed ones too) and channel membership
   * gets SchemeUser=true, SchemeGuest=false (SchemeAdmin untouched); then, for each team the user is an active member
   * of (team_store GetTeamsByUserId: member and team not deleted), JoinDefaultChannels. That call is handed the user
   * object read before the promotion, which still says guest, so a default channel joined here is joined with the
   * guest flags (SchemeGuest=true, SchemeUser=false), as on a real server.
   */
  promoteGuest(u: UserProfile): void {
    u.roles = u.roles.split(' ').filter(Boolean).map((r) => (r === 'system_guest' ? 'system_user' : r)).join(' ');
    u.update_at = Date.now();
    this.setMemberFlags(u.id, { scheme_user: true, scheme_guest: false });
    for (const m of this.state.teamMembers.values()) {
      if (m.user_id !== u.id || m.delete_at) continue;
      const t = this.state.teams.get(m.team_id);
      if (t && !t.delete_at) this.joinDefaultChannels(t.id, u, true, false);
    }
  }

  /**
   * app/user.go DemoteUserToGuest over sqlstore/user_store.go DemoteUserToGuest: `system_user` becomes
   * `system_guest`, `system_admin` is dropped, every other role kept; every team membership (removed ones too) and
   * channel membership gets SchemeUser=false, SchemeAdmin=false, SchemeGuest=true. Memberships are kept.
   */
  demoteToGuest(u: UserProfile): void {
    const roles: string[] = [];
    for (const r of u.roles.split(' ').filter(Boolean)) {
      if (r === 'system_user') roles.push('system_guest');
      else if (r !== 'system_admin') roles.push(r);
    }
    u.roles = roles.join(' ');
    u.update_at = Date.now();
    this.setMemberFlags(u.id, { scheme_user: false, scheme_admin: false, scheme_guest: true });
  }

  private setMemberFlags(userId: string, flags: Partial<Record<'scheme_user' | 'scheme_admin' | 'scheme_guest', boolean>>): void {
    for (const m of this.state.teamMembers.values()) {
      if (m.user_id !== userId) continue;
      Object.assign(m, flags);
      refreshTeamRoles(m);
    }
    for (const m of this.state.channelMembers.values()) {
      if (m.user_id !== userId) continue;
      Object.assign(m, flags);
      refreshChannelRoles(m);
    }
  }

  /** app/team.go LeaveTeam: leave every channel of the team (archived ones too), then soft-delete the member (Roles="", DeleteAt=now). */
  leaveTeam(team: Team, user: UserProfile): void {
    const m = this.state.teamMembers.get(`${team.id}:${user.id}`);
    if (!m) throw new AppError('api.team.remove_user_from_team.missing.app_error', 400);
    for (const c of this.state.channels.values()) {
      if (c.team_id === team.id) this.state.channelMembers.delete(`${c.id}:${user.id}`);
    }
    m.delete_at = Date.now();
    m.roles = '';
  }
}
