/**
 * Teams, channels, memberships and group links as the admin API answers them and the audit log records them:
 * camelCase, ISO 8601 times, booleans as booleans (store rows hold milliseconds and, on SQLite, 0/1).
 */
import { bool } from '../store/db.js';
import { iso as isoOf } from '../scim/shared/time.js';
import type {
  ChannelMembershipRow, ChannelRow, GroupLinksRow, LinkRow, MemberListingRow, MemberRow, SyncableKind, TeamMembershipRow, TeamRow,
} from '../store/workspace.js';
import type { PersonGroupRow, PersonRow } from '../store/people.js';
import type { SystemRole } from '../config/roles.js';

type Millis = number | string;

const iso = (v: Millis | null | undefined): string | null => (v === null || v === undefined ? null : isoOf(v));

export const teamOut = (r: TeamRow) => ({
  id: r.id, name: r.name, displayName: r.display_name, type: r.type, groupConstrained: bool(r.group_constrained),
  createdAt: iso(r.created_at), updatedAt: iso(r.updated_at), archivedAt: iso(r.archived_at),
});
export type Team = ReturnType<typeof teamOut>;

export const channelOut = (r: ChannelRow) => ({
  id: r.id, teamId: r.team_id, name: r.name, displayName: r.display_name, type: r.type, groupConstrained: bool(r.group_constrained),
  isDefault: bool(r.is_default), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at), archivedAt: iso(r.archived_at),
});
export type Channel = ReturnType<typeof channelOut>;

/**
 * Why a membership exists, from who added it (`added_by`, migrations/20261122_002_workspace.ts): `group` (group sync,
 * `group:<id>`), `default_channel` (joined with the team), `entitlement` (an IdP entitlement, src/sync/entitlements.ts),
 * `import` (a Mattermost bulk-import file), else `manual`: an admin through the admin API or the CLI.
 */
export type MemberCause = 'group' | 'default_channel' | 'entitlement' | 'import' | 'manual';
export function causeOf(addedBy: string): MemberCause {
  if (addedBy.startsWith('group:')) return 'group';
  if (addedBy === 'default_channel' || addedBy === 'entitlement' || addedBy === 'import') return addedBy;
  return 'manual';
}

/**
 * The membership's role as Mattermost names its scheme roles (TeamMember SchemeGuest / SchemeUser / SchemeAdmin): a
 * guest is a guest everywhere (src/workspace/roles.ts), otherwise admin or member by `scheme_admin`. Without the
 * person's system role (a row not joined to users) it is admin or member.
 */
export const memberRoleOf = (schemeAdmin: boolean | number, systemRole?: SystemRole | null): 'guest' | 'admin' | 'member' =>
  (systemRole === 'guest' ? 'guest' : bool(schemeAdmin) ? 'admin' : 'member');

export const memberOut = (r: MemberRow & { username?: string | null; system_role?: SystemRole | null }) => ({
  userId: r.user_id, ...(r.username !== undefined ? { username: r.username } : {}),
  active: r.removed_at == null, schemeAdmin: bool(r.scheme_admin), role: memberRoleOf(r.scheme_admin, r.system_role), cause: causeOf(r.added_by),
  addedBy: r.added_by, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  removedAt: iso(r.removed_at), removedBy: r.removed_by,
});
export type Member = ReturnType<typeof memberOut>;

/** A row of a team's or channel's member list: the membership and who the person is (store/workspace.ts listMembers). */
export const memberListingOut = (r: MemberListingRow) => ({
  ...memberOut(r), userName: r.user_name, userActive: r.user_active == null ? null : bool(r.user_active), userDeleted: r.user_deleted_at != null,
});

/**
 * Every team and channel membership of a person (store/workspace.ts userMemberships); with their system role, each
 * membership's role says guest for a guest.
 */
export const membershipsOut = (m: { teams: TeamMembershipRow[]; channels: ChannelMembershipRow[] }, systemRole?: SystemRole) => ({
  teams: m.teams.map((r) => ({ teamId: r.team_id, teamName: r.team_name, teamArchived: r.team_archived_at != null, ...memberOut({ ...r, system_role: systemRole ?? null }) })),
  channels: m.channels.map((r) => ({
    channelId: r.channel_id, channelName: r.channel_name, teamId: r.team_id, teamName: r.team_name, channelArchived: r.channel_archived_at != null,
    ...memberOut({ ...r, system_role: systemRole ?? null }),
  })),
});

/** A person as the people search answers them (store/people.ts): who they are and their state, SCIM's meta times. */
export const personOut = (r: PersonRow) => ({
  id: r.id, userName: r.user_name, username: r.username, externalId: r.external_id, displayName: r.display_name, email: r.email,
  active: bool(r.active), deleted: r.deleted_at != null, deletedAt: iso(r.deleted_at), systemRole: r.system_role ?? 'member',
  created: iso(r.created_at)!, lastModified: iso(r.updated_at)!,
});
export type Person = ReturnType<typeof personOut>;

/** A group a person is in (store/people.ts groupMembershipsOf): group sync's source of their team and channel memberships. */
export const personGroupOut = (r: PersonGroupRow) => ({ groupId: r.id, externalId: r.external_id, displayName: r.display_name, since: iso(r.created_at)! });

export const linkOut = (kind: SyncableKind, r: LinkRow) => ({
  groupId: r.group_id, [`${kind}Id`]: kind === 'team' ? r.team_id : r.channel_id, autoAdd: bool(r.auto_add), schemeAdmin: bool(r.scheme_admin),
  allowGuests: bool(r.allow_guests), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
});

/** A group with its team and channel links (store/workspace.ts listGroupsWithLinks). */
export const groupLinksOut = (g: GroupLinksRow) => ({
  id: g.id, externalId: g.external_id, displayName: g.display_name,
  teams: g.teams.map((l) => ({ ...linkOut('team', l), teamName: l.team_name })),
  channels: g.channels.map((l) => ({ ...linkOut('channel', l), channelName: l.channel_name, teamId: l.team_id, teamName: l.team_name })),
});
