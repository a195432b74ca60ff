/**
 * Teams, channels, memberships and group links as the admin API answers them and the audit log records them:
 * camelCase, ISO 8601 times, booleans as booleans (store rows hold milliseconds and, on SQLite, 0/1).
 */
import { bool } from '../store/db.js';
import { iso as isoOf } from '../scim/shared/time.js';
import type {
  ChannelMembershipRow, ChannelRow, GroupLinksRow, LinkRow, MemberRow, SyncableKind, TeamMembershipRow, TeamRow,
} from '../store/workspace.js';

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

export const memberOut = (r: MemberRow & { username?: string | null }) => ({
  userId: r.user_id, ...(r.username !== undefined ? { username: r.username } : {}),
  active: r.removed_at == null, schemeAdmin: bool(r.scheme_admin), addedBy: r.added_by, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  removedAt: iso(r.removed_at), removedBy: r.removed_by,
});
export type Member = ReturnType<typeof memberOut>;

/** Every team and channel membership of a person (store/workspace.ts userMemberships). */
export const membershipsOut = (m: { teams: TeamMembershipRow[]; channels: ChannelMembershipRow[] }) => ({
  teams: m.teams.map((r) => ({ teamId: r.team_id, teamName: r.team_name, teamArchived: r.team_archived_at != null, ...memberOut(r) })),
  channels: m.channels.map((r) => ({
    channelId: r.channel_id, channelName: r.channel_name, teamId: r.team_id, teamName: r.team_name, channelArchived: r.channel_archived_at != null, ...memberOut(r),
  })),
});

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
