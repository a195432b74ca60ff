/**
 * Workspace repository: teams, channels, their memberships (rows with tombstones) and group links. It knows SQL,
 * not HTTP and not the sync rules; the use-cases in src/workspace/ combine it with the engine and the audit log.
 * Uniqueness (team name, channel name per team) is settled by the database's unique indexes.
 */
import type { Knex } from 'knex';
import { bool } from './db.js';
import type { SystemRole } from '../config/roles.js';

type Db = Knex | Knex.Transaction;
type Millis = number | string;

export interface TeamRow {
  id: string; name: string; display_name: string; type: 'O' | 'I'; group_constrained: boolean | number;
  created_at: Millis; updated_at: Millis; archived_at: Millis | null;
}

export interface ChannelRow {
  id: string; team_id: string; name: string; display_name: string; type: 'O' | 'P'; group_constrained: boolean | number;
  is_default: boolean | number; created_at: Millis; updated_at: Millis; archived_at: Millis | null;
}

export interface MemberRow {
  user_id: string; scheme_admin: boolean | number; created_at: Millis; updated_at: Millis;
  added_by: string; removed_at: Millis | null; removed_by: string | null;
}

export type SyncableKind = 'team' | 'channel';
const MEMBERS = { team: 'team_members', channel: 'channel_members' } as const;
const KEY = { team: 'team_id', channel: 'channel_id' } as const;
const LINKS = { team: 'group_teams', channel: 'group_channels' } as const;

// ---- teams ------------------------------------------------------------------------------------------------------

export async function insertTeam(tx: Db, row: TeamRow): Promise<void> {
  await tx('teams').insert(row);
}

export async function getTeam(db: Db, id: string): Promise<TeamRow | undefined> {
  return db<TeamRow>('teams').where({ id }).first();
}

export async function getTeamByName(db: Db, name: string): Promise<TeamRow | undefined> {
  return db<TeamRow>('teams').where({ name }).first();
}

/** Teams by name, keyset-paged (`after` = the last name seen). */
export async function listTeams(db: Db, q: { limit: number; after?: string | undefined; includeArchived?: boolean }): Promise<TeamRow[]> {
  const qb = db<TeamRow>('teams').orderBy('name').limit(q.limit);
  if (q.after) qb.where('name', '>', q.after);
  if (!q.includeArchived) qb.whereNull('archived_at');
  return qb;
}

export async function updateTeam(tx: Db, id: string, patch: Partial<TeamRow>): Promise<void> {
  await tx('teams').where({ id }).update(patch);
}

// ---- channels ---------------------------------------------------------------------------------------------------

export async function insertChannels(tx: Db, rows: ChannelRow[]): Promise<void> {
  if (rows.length) await tx('channels').insert(rows);
}

export async function getChannel(db: Db, id: string): Promise<ChannelRow | undefined> {
  return db<ChannelRow>('channels').where({ id }).first();
}

export async function getChannelByName(db: Db, teamId: string, name: string): Promise<ChannelRow | undefined> {
  return db<ChannelRow>('channels').where({ team_id: teamId, name }).first();
}

export async function listChannels(db: Db, teamId: string, q: { limit: number; after?: string | undefined; includeArchived?: boolean }): Promise<ChannelRow[]> {
  const qb = db<ChannelRow>('channels').where({ team_id: teamId }).orderBy('name').limit(q.limit);
  if (q.after) qb.where('name', '>', q.after);
  if (!q.includeArchived) qb.whereNull('archived_at');
  return qb;
}

export async function updateChannel(tx: Db, id: string, patch: Partial<ChannelRow>): Promise<void> {
  await tx('channels').where({ id }).update(patch);
}

// ---- memberships ------------------------------------------------------------------------------------------------

export async function getMember(db: Db, kind: SyncableKind, syncableId: string, userId: string): Promise<MemberRow | undefined> {
  return db<MemberRow>(MEMBERS[kind]).where({ [KEY[kind]]: syncableId, user_id: userId }).first();
}

export async function insertMember(tx: Db, kind: SyncableKind, syncableId: string, userId: string, v: { schemeAdmin: boolean; addedBy: string; now: number }): Promise<void> {
  await tx(MEMBERS[kind]).insert({
    [KEY[kind]]: syncableId, user_id: userId, scheme_admin: v.schemeAdmin, created_at: v.now, updated_at: v.now, added_by: v.addedBy, removed_at: null, removed_by: null,
  });
}

/** Bring a tombstoned membership back (same row, as Mattermost clears DeleteAt on rejoin). */
export async function reviveMember(tx: Db, kind: SyncableKind, syncableId: string, userId: string, v: { schemeAdmin: boolean; addedBy: string; now: number }): Promise<boolean> {
  const n = await tx(MEMBERS[kind]).where({ [KEY[kind]]: syncableId, user_id: userId }).whereNotNull('removed_at')
    .update({ scheme_admin: v.schemeAdmin, added_by: v.addedBy, updated_at: v.now, removed_at: null, removed_by: null });
  return n === 1;
}

export async function tombstoneMember(tx: Db, kind: SyncableKind, syncableId: string, userId: string, removedBy: string, now: number): Promise<boolean> {
  const n = await tx(MEMBERS[kind]).where({ [KEY[kind]]: syncableId, user_id: userId }).whereNull('removed_at')
    .update({ removed_at: now, removed_by: removedBy, updated_at: now });
  return n === 1;
}

/** Live channel memberships of a user in one team (what leaving the team also leaves). */
export async function liveChannelIdsInTeam(db: Db, teamId: string, userId: string): Promise<string[]> {
  return db('channel_members as cm').join('channels as c', 'c.id', 'cm.channel_id')
    .where({ 'c.team_id': teamId, 'cm.user_id': userId }).whereNull('cm.removed_at').pluck('cm.channel_id');
}

/** A member-list row: the membership and who the person is (null when the user row is gone). */
export type MemberListingRow = MemberRow & {
  username: string | null; user_name: string | null; user_active: boolean | number | null; user_deleted_at: Millis | null; system_role: SystemRole | null;
};

/**
 * Members of a team or channel, active and removed, keyset-paged by user id: each page is a range of the
 * membership table's primary key (team_id, user_id), whatever the size of the team.
 */
export function memberSearch(db: Db, kind: SyncableKind, syncableId: string, q: { limit: number; after?: string | undefined; active?: boolean | undefined }): Knex.QueryBuilder {
  const qb = db(`${MEMBERS[kind]} as m`).leftJoin('users as u', 'u.id', 'm.user_id')
    .where(`m.${KEY[kind]}`, syncableId).orderBy('m.user_id').limit(q.limit)
    .select('m.user_id', 'm.scheme_admin', 'm.created_at', 'm.updated_at', 'm.added_by', 'm.removed_at', 'm.removed_by', 'u.username', 'u.system_role',
      'u.user_name', 'u.active as user_active', 'u.deleted_at as user_deleted_at');
  if (q.after) qb.where('m.user_id', '>', q.after);
  if (q.active === true) qb.whereNull('m.removed_at');
  if (q.active === false) qb.whereNotNull('m.removed_at');
  return qb;
}

export async function listMembers(db: Db, kind: SyncableKind, syncableId: string, q: { limit: number; after?: string | undefined; active?: boolean | undefined }): Promise<MemberListingRow[]> {
  return (await memberSearch(db, kind, syncableId, q)) as MemberListingRow[];
}

export type TeamMembershipRow = MemberRow & { team_id: string; team_name: string; team_archived_at: Millis | null };
export type ChannelMembershipRow = MemberRow & { channel_id: string; channel_name: string; team_id: string; team_name: string; channel_archived_at: Millis | null };

/** Every team and channel membership of a user, removed ones included. */
export async function userMemberships(db: Db, userId: string): Promise<{ teams: TeamMembershipRow[]; channels: ChannelMembershipRow[] }> {
  const [teams, channels] = await Promise.all([
    db('team_members as m').join('teams as t', 't.id', 'm.team_id').where('m.user_id', userId).orderBy('t.name')
      .select('m.*', 't.name as team_name', 't.archived_at as team_archived_at') as Promise<TeamMembershipRow[]>,
    db('channel_members as m').join('channels as c', 'c.id', 'm.channel_id').join('teams as t', 't.id', 'c.team_id').where('m.user_id', userId)
      .orderBy(['t.name', 'c.name']).select('m.*', 'c.name as channel_name', 'c.team_id', 't.name as team_name', 'c.archived_at as channel_archived_at') as Promise<ChannelMembershipRow[]>,
  ]);
  return { teams, channels };
}

// ---- groups and links -------------------------------------------------------------------------------------------

export interface GroupRef { id: string; external_id: string | null; display_name: string; deleted_at: Millis | null }

/**
 * `forUpdate` (in a transaction) holds the group row until commit. A link change takes it so that it and a member
 * change of that group run one after the other (a member change takes the row `forKeyShare`, which this waits for):
 * otherwise a link's reconcile could add someone a concurrent removal is taking out of the group, and the removal,
 * not yet seeing the link, would leave them in the constrained team.
 */
export async function getLiveGroup(db: Db, id: string, opts: { forUpdate?: boolean } = {}): Promise<GroupRef | undefined> {
  const q = db<GroupRef>('groups').where({ id }).whereNull('deleted_at');
  if (opts.forUpdate) q.forUpdate();
  return q.first();
}

/** A live group by exact externalId or exact displayName (the mapping file and the CLI name groups this way). */
export async function findLiveGroup(db: Db, by: { externalId?: string; displayName?: string }): Promise<GroupRef | undefined> {
  const q = db<GroupRef>('groups').whereNull('deleted_at');
  if (by.externalId !== undefined) q.where({ external_id: by.externalId });
  else if (by.displayName !== undefined) q.where({ display_name: by.displayName });
  else return undefined;
  return q.first();
}

/** Every live group with this exact displayName (not unique: RFC 7643 §4.2), oldest first. */
export async function findLiveGroupsByName(db: Db, displayName: string): Promise<GroupRef[]> {
  return db<GroupRef>('groups').whereNull('deleted_at').where({ display_name: displayName }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
}

export interface LinkRow {
  group_id: string; auto_add: boolean | number; scheme_admin: boolean | number;
  /** The link adds guests too (migrations/20261205_001_roles.ts); without it group sync passes guests over. */
  allow_guests: boolean | number;
  created_at: Millis; updated_at: Millis; team_id?: string; channel_id?: string;
}

export interface LinkValues { autoAdd: boolean; schemeAdmin: boolean; allowGuests: boolean; now: number }

export async function getLink(db: Db, kind: SyncableKind, groupId: string, syncableId: string): Promise<LinkRow | undefined> {
  return db<LinkRow>(LINKS[kind]).where({ group_id: groupId, [KEY[kind]]: syncableId }).first();
}

export async function insertLink(tx: Db, kind: SyncableKind, groupId: string, syncableId: string, v: LinkValues): Promise<void> {
  await tx(LINKS[kind]).insert({
    group_id: groupId, [KEY[kind]]: syncableId, auto_add: v.autoAdd, scheme_admin: v.schemeAdmin, allow_guests: v.allowGuests, created_at: v.now, updated_at: v.now,
  });
}

export async function updateLink(tx: Db, kind: SyncableKind, groupId: string, syncableId: string, v: LinkValues): Promise<void> {
  await tx(LINKS[kind]).where({ group_id: groupId, [KEY[kind]]: syncableId })
    .update({ auto_add: v.autoAdd, scheme_admin: v.schemeAdmin, allow_guests: v.allowGuests, updated_at: v.now });
}

export async function deleteLink(tx: Db, kind: SyncableKind, groupId: string, syncableId: string): Promise<boolean> {
  return (await tx(LINKS[kind]).where({ group_id: groupId, [KEY[kind]]: syncableId }).delete()) === 1;
}

export type TeamLinkRow = LinkRow & { team_id: string; team_name: string };
export type ChannelLinkRow = LinkRow & { channel_id: string; channel_name: string; team_id: string; team_name: string };
export interface GroupLinksRow { id: string; external_id: string | null; display_name: string; teams: TeamLinkRow[]; channels: ChannelLinkRow[] }

/** Live groups, keyset-paged by id, each with its team and channel links. */
export async function listGroupsWithLinks(db: Db, q: { limit: number; after?: string | undefined; id?: string }): Promise<GroupLinksRow[]> {
  const gq = db<GroupRef>('groups').whereNull('deleted_at').orderBy('id').limit(q.limit).select('id', 'external_id', 'display_name');
  if (q.after) gq.where('id', '>', q.after);
  if (q.id) gq.where('id', q.id);
  const groups = await gq;
  const ids = groups.map((g) => g.id);
  const [teams, channels]: [TeamLinkRow[], ChannelLinkRow[]] = ids.length
    ? await Promise.all([
      db('group_teams as l').join('teams as t', 't.id', 'l.team_id').whereIn('l.group_id', ids).orderBy('t.name')
        .select('l.*', 't.name as team_name') as Promise<TeamLinkRow[]>,
      db('group_channels as l').join('channels as c', 'c.id', 'l.channel_id').join('teams as t', 't.id', 'c.team_id').whereIn('l.group_id', ids)
        .orderBy(['t.name', 'c.name']).select('l.*', 'c.name as channel_name', 'c.team_id', 't.name as team_name') as Promise<ChannelLinkRow[]>,
    ])
    : [[], []];
  return groups.map((g) => ({
    id: g.id, external_id: g.external_id, display_name: g.display_name,
    teams: teams.filter((l) => l.group_id === g.id),
    channels: channels.filter((l) => l.group_id === g.id),
  }));
}

// ---- users ------------------------------------------------------------------------------------------------------

export async function getUserState(db: Db, id: string): Promise<{ id: string; active: boolean; deleted: boolean; systemRole: SystemRole } | undefined> {
  const r = await db('users').where({ id }).first('id', 'active', 'deleted_at', 'system_role');
  return r ? { id: r.id, active: bool(r.active), deleted: r.deleted_at != null, systemRole: r.system_role ?? 'member' } : undefined;
}
