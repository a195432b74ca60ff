/**
 * The group-sync rules as SQL predicates and candidate sets (Mattermost group sync: server/channels/app/syncables.go,
 * server/channels/store/sqlstore/group_store.go).
 * Each export is one rule, written as the SQL that decides it, with the Mattermost source it follows. They only
 * build text; src/store/group-sync/statements.ts runs them and src/sync/engine.ts orders them.
 *
 * Scopes: every candidate set can be narrowed to one group, team, channel and/or a chunk of users. A membership
 * change passes the group and the chunk of users it changed, so every statement is driven by primary-key lookups
 * on (group_id, user_id) / (team_id, user_id) / (channel_id, user_id) and never reads the rest of the group.
 */
import { and, eq, inList, type Cond } from './sql.js';

/**
 * What one sync step looks at. `userIds` is at most one chunk (src/store/sql.ts CHUNK); `userRange` is a page of
 * user ids (after, upTo], which is how a reconcile keeps every statement bounded however large the workspace.
 */
export interface Target {
  groupId?: string; teamId?: string; channelId?: string;
  userIds?: readonly string[];
  userRange?: { after: string | null; upTo: string };
}

/** `col` within the page of user ids, if the target has one. */
function inRange(col: string, t: Target): Cond | null {
  if (!t.userRange) return null;
  const { after, upTo } = t.userRange;
  return after === null ? { sql: `${col} <= ?`, bindings: [upTo] } : { sql: `${col} > ? AND ${col} <= ?`, bindings: [after, upTo] };
}

// ---------------------------------------------------------------------------------------------------------------
// Predicates over (syncable, user). Arguments are SQL column expressions.
//
// Every per-pair check is a scalar subquery, `(SELECT 1 ... LIMIT 1) IS [NOT] NULL`, never a bare EXISTS: PostgreSQL
// turns a top-level EXISTS into a semi/anti join (or a hashed subplan) that may read every member of a team or
// group when its statistics are stale, e.g. right after a bulk insert in the same transaction. A scalar subquery is
// always evaluated per row through the primary keys, so the cost stays per person and per link. SQLite runs both
// forms the same way.

export const exists = (select: string): string => `((${select} LIMIT 1) IS NOT NULL)`;
export const notExists = (select: string): string => `((${select} LIMIT 1) IS NULL)`;

/**
 * Some live group linked to the team holds the user: the set Mattermost keeps in a constrained team
 * (`TeamMembersToRemove`'s NOT IN set, sqlstore/group_store.go). auto_add is deliberately ignored: a link with
 * auto_add=false still permits membership.
 */
export const grantsTeam = (team: string, user: string): string => exists(`
  SELECT 1 FROM group_teams pgt
  JOIN groups pg ON pg.id = pgt.group_id AND pg.deleted_at IS NULL
  JOIN group_members pgm ON pgm.group_id = pgt.group_id AND pgm.user_id = ${user}
  WHERE pgt.team_id = ${team}`);

/** Same for a channel (`ChannelMembersToRemove`, sqlstore/group_store.go). */
export const grantsChannel = (channel: string, user: string): string => exists(`
  SELECT 1 FROM group_channels pgc
  JOIN groups pg ON pg.id = pgc.group_id AND pg.deleted_at IS NULL
  JOIN group_members pgm ON pgm.group_id = pgc.group_id AND pgm.user_id = ${user}
  WHERE pgc.channel_id = ${channel}`);

/**
 * The user is in a live group linked to the team with scheme_admin and is not a guest: team admin at join
 * (`userIsInAdminRoleGroup`, asked only `if !user.IsGuest()` in app/teams/teams.go joinUserToTeam) and the admin set
 * of a constrained team (`PermittedSyncableAdmins` → `SyncSyncableRoles`, app/syncables.go). Guests cannot be team or
 * channel admins in Mattermost (`DemoteUserToGuest` clears SchemeAdmin everywhere, sqlstore/user_store.go), so a
 * scheme_admin link never promotes one, and on a constrained syncable a guest admin is demoted with the other
 * non-admins. The user is named once (checks.ts binds it as one `?`); the users row is a primary-key lookup.
 */
export const adminOfTeam = (team: string, user: string): string => exists(`
  SELECT 1 FROM group_teams agt
  JOIN groups ag ON ag.id = agt.group_id AND ag.deleted_at IS NULL
  JOIN group_members agm ON agm.group_id = agt.group_id AND agm.user_id = ${user}
  JOIN users agu ON agu.id = agm.user_id AND agu.system_role <> 'guest'
  WHERE agt.team_id = ${team} AND agt.scheme_admin = TRUE`);

export const adminOfChannel = (channel: string, user: string): string => exists(`
  SELECT 1 FROM group_channels agc
  JOIN groups ag ON ag.id = agc.group_id AND ag.deleted_at IS NULL
  JOIN group_members agm ON agm.group_id = agc.group_id AND agm.user_id = ${user}
  JOIN users agu ON agu.id = agm.user_id AND agu.system_role <> 'guest'
  WHERE agc.channel_id = ${channel} AND agc.scheme_admin = TRUE`);

/**
 * Only active, undeleted people are ever added: a deactivated person joins nothing until reactivated. A guest is
 * added only where `guests` allows (a SQL boolean: the link's `allow_guests`, or FALSE for default channels), in the
 * same primary-key lookup of the users row. Departure: Mattermost's `TeamMembersToAdd`/`ChannelMembersToAdd`
 * (sqlstore/group_store.go) add guests through any link; here a link adds them only when it says so.
 */
const addable = (user: string, guests: string): string =>
  exists(`SELECT 1 FROM users au WHERE au.id = ${user} AND au.active = TRUE AND au.deleted_at IS NULL AND (au.system_role <> 'guest' OR ${guests} = TRUE)`);

/**
 * The person is a member of the link's group and addable through it, as one subquery driven by the group_members
 * primary key: the users row is read (by its primary key) only for an actual member. The guest rule names the link
 * (`guests`), so as two subqueries the users check ran for every link of a team, members or not, and picked a poor
 * index on unanalysed tables: a revival on a team with 400 links went from 5 ms to 480 ms.
 */
const memberAddable = (groupCol: string, user: string, guests: string): string =>
  exists(`SELECT 1 FROM group_members gm JOIN users au ON au.id = gm.user_id
    WHERE gm.group_id = ${groupCol} AND gm.user_id = ${user}
      AND au.active = TRUE AND au.deleted_at IS NULL AND (au.system_role <> 'guest' OR ${guests} = TRUE)`);

/** `, <people>` after a syncable's FROM items, when the people are a FROM item. */
const andPeople = (p: { from: Cond | null }): string => (p.from ? `, ${p.from.sql}` : '');

/**
 * The people a step looks at, as a FROM item and the column naming them. With a chunk of ids (membership events)
 * the ids themselves drive the statement, `(VALUES ...)` with an exact row count, and membership of the group is a
 * per-row primary-key lookup: the group's other members are never read. Without ids (reconcile) it is the
 * group's members.
 */
function people(t: Target, groupCol: string, guestsCol: string, at?: string): { from: Cond | null; user: string; where: Cond } {
  // One person given by a column (a revival checks each tombstoned row it looks at): no FROM item at all.
  if (at) {
    return {
      from: null,
      user: at,
      where: { sql: memberAddable(groupCol, at, guestsCol), bindings: [] },
    };
  }
  if (t.userIds) {
    return {
      from: { sql: `(SELECT column1 AS user_id FROM (VALUES ${t.userIds.map(() => '(?)').join(', ')}) AS v) ids`, bindings: [...t.userIds] },
      user: 'ids.user_id',
      where: { sql: memberAddable(groupCol, 'ids.user_id', guestsCol), bindings: [] },
    };
  }
  return {
    from: { sql: 'group_members gm', bindings: [] },
    user: 'gm.user_id',
    where: and({ sql: `gm.group_id = ${groupCol} AND ${addable('gm.user_id', guestsCol)}`, bindings: [] }, inRange('gm.user_id', t)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Candidate sets for adding. Each yields (syncable, user) pairs with the cause to record; statements.ts inserts
// the pairs that have no row at all, revives the ones the sync itself removed (removedBySync) and, when an admin
// asks to re-add removed members, every tombstoned one.

export type MemberTable = 'team_members' | 'channel_members';

export interface AddSource {
  table: MemberTable;
  key: 'team_id' | 'channel_id';
  /** FROM items producing the candidates; the columns below are expressions over them. */
  from: Cond;
  where: Cond;
  syncable: string;
  user: string;
  /** Aggregate over the candidates of one pair: which group to credit when several grant the same pair. */
  cause: string;
  admin: (syncable: string, user: string) => string;
  /**
   * The member rows (of `table`, named by its table name) a revival may look at: the people of the step, so an
   * UPDATE of tombstones reads the named people's rows through the user_id index, never every tombstone.
   */
  rows: Cond;
  /**
   * The same candidates for the one person named by the column `user` (FROM items and condition; `syncable` is
   * unchanged). A revival checks each row it looks at with this instead of joining the people list again per
   * row: with the list, PostgreSQL's estimate for the UPDATE reached millions and JIT compilation alone took
   * seconds for 500 people.
   */
  at: (user: string) => { from: Cond; where: Cond };
}

type Built = Omit<AddSource, 'rows' | 'at'>;

/** An AddSource from a builder of its candidates for the target's people, or for one person (`at`). */
function source(t: Target, table: MemberTable, build: (at?: string) => Built): AddSource {
  return { ...build(), rows: rowsOf(table, t), at: (user) => { const b = build(user); return { from: b.from, where: b.where }; } };
}

/** `table`'s rows of the target's people: its chunk of ids, or its page of ids (reconcile). */
function rowsOf(table: MemberTable, t: Target): Cond {
  return and(t.userIds ? inList(`${table}.user_id`, t.userIds) : null, inRange(`${table}.user_id`, t));
}

/**
 * Which tombstones the sync itself may lift when a live linked group grants the membership again: those the sync
 * or the IdP caused. `group:<id>` (left a linked group, or the group was deleted), `constraint` (a reconcile or
 * link change found no live linked group), `team:<id>` (a channel left because its team was left: it needs a live
 * team membership to come back, which channel candidates require) and `entitlement` (the IdP took back an Okta
 * entitlement `team:<name>` / `channel:<team>:<channel>` that had granted the membership: the IdP's decision, like
 * a group it removed the person from, so a linked group that still grants it brings it back). `self` and
 * `admin:<actor>` are a person's choice and stay until an admin re-adds them (readdRemoved or a manual add).
 * Mattermost's `TeamMembersToAdd` / `ChannelMembersToAdd` treat every removal alike (their docs list it as a
 * limitation of group sync); here the IdP is the source of truth, so what it grants again comes back. Causes are
 * written by src/sync/engine.ts (removeStep), src/workspace/members.ts (removeMember) and the entitlement
 * assignment of the SCIM user lifecycle (`entitlement`).
 */
export const removedBySync = (col: string): string =>
  `(${col} = 'constraint' OR ${col} = 'entitlement' OR ${col} LIKE 'group:%' OR ${col} LIKE 'team:%')`;

/** removedBySync for one row read into code (src/sync/entitlements.ts decides per membership). */
export const isRemovedBySync = (removedBy: string | null): boolean =>
  removedBy === 'constraint' || removedBy === 'entitlement' || !!removedBy?.startsWith('group:') || !!removedBy?.startsWith('team:');

/**
 * Teams linked with auto_add (Mattermost `TeamMembersToAdd`, sqlstore/group_store.go, run by
 * `createDefaultTeamMemberships`, app/syncables.go): live member × live group × auto_add link × unarchived team.
 * A channel-scoped sync does not touch team links (`SyncRolesAndMembership` scopes to the one syncable).
 */
export function teamLinkCandidates(t: Target): AddSource | null {
  if (t.channelId) return null;
  return source(t, 'team_members', (at) => teamLinkBuilt(t, at));
}

function teamLinkBuilt(t: Target, at?: string): Built {
  const p = people(t, 'gt.group_id', 'gt.allow_guests', at);
  return {
    table: 'team_members',
    key: 'team_id',
    from: {
      sql: `group_teams gt
        JOIN groups g ON g.id = gt.group_id AND g.deleted_at IS NULL
        JOIN teams t ON t.id = gt.team_id AND t.archived_at IS NULL${andPeople(p)}`,
      bindings: p.from?.bindings ?? [],
    },
    where: and(
      { sql: 'gt.auto_add = TRUE', bindings: [] },
      p.where,
      t.groupId ? eq('gt.group_id', t.groupId) : null,
      t.teamId ? eq('gt.team_id', t.teamId) : null,
    ),
    syncable: 'gt.team_id',
    user: p.user,
    cause: `'group:' || MIN(gt.group_id)`,
    admin: adminOfTeam,
  };
}

function channelLinkFrom(t: Target, at?: string): { from: Cond; where: Cond; user: string } {
  // The channel link's allow_guests governs the team it brings in too: a guest it admits gets the team first.
  const p = people(t, 'gc.group_id', 'gc.allow_guests', at);
  return {
    from: {
      sql: `group_channels gc
        JOIN groups g ON g.id = gc.group_id AND g.deleted_at IS NULL
        JOIN channels c ON c.id = gc.channel_id AND c.archived_at IS NULL
        JOIN teams t ON t.id = c.team_id AND t.archived_at IS NULL${andPeople(p)}`,
      bindings: p.from?.bindings ?? [],
    },
    user: p.user,
    where: and(
      { sql: 'gc.auto_add = TRUE', bindings: [] },
      p.where,
      t.groupId ? eq('gc.group_id', t.groupId) : null,
      t.teamId ? eq('c.team_id', t.teamId) : null,
      t.channelId ? eq('gc.channel_id', t.channelId) : null,
      // Departure: Mattermost would add an outsider to a constrained team through a channel link and prune them at
      // the next sync; we do not add who the team's own links do not permit, so a reconcile never flip-flops.
      { sql: `(t.group_constrained = FALSE OR ${grantsTeam('c.team_id', p.user)})`, bindings: [] },
    ),
  };
}

/**
 * A channel link brings its team in first (`createDefaultChannelMemberships`: "First add user to team" when
 * `GetTeamMember` finds no row, app/syncables.go). A team the person left themselves or was removed from by an admin
 * is never rejoined here, not even with readdRemoved (Mattermost's `AddChannelMember` fails on a left team); one the
 * sync removed comes back like any grant the IdP gives back (removedBySync).
 */
export function channelTeamCandidates(t: Target): AddSource {
  return source(t, 'team_members', (at) => {
    const { from, where, user } = channelLinkFrom(t, at);
    return { table: 'team_members', key: 'team_id', from, where, syncable: 'c.team_id', user, cause: `'group:' || MIN(gc.group_id)`, admin: adminOfTeam };
  });
}

/**
 * Channels linked with auto_add (`ChannelMembersToAdd`), only for people whose team membership is live: a
 * tombstoned team membership makes Mattermost's `AddChannelMember` fail with "already left the team", skipped.
 */
export function channelLinkCandidates(t: Target): AddSource {
  return source(t, 'channel_members', (at) => {
    const { from, where, user } = channelLinkFrom(t, at);
    return {
      table: 'channel_members',
      key: 'channel_id',
      from,
      where: and(where, { sql: exists(`SELECT 1 FROM team_members ltm WHERE ltm.team_id = c.team_id AND ltm.user_id = ${user} AND ltm.removed_at IS NULL`), bindings: [] }),
      syncable: 'gc.channel_id',
      user,
      cause: `'group:' || MIN(gc.group_id)`,
      admin: adminOfChannel,
    };
  });
}

/** The conditions every default-channel join shares, for the channel `c` and the person `user`. */
function defaultChannel(user: string): Cond {
  return and(
    // Guests never join default channels: `JoinUserToTeam` calls `JoinDefaultChannels` only `if !user.IsGuest()`
    // (app/team.go); a guest gets a default channel only through a channel link that allows guests.
    { sql: `c.is_default = TRUE AND c.type = 'O' AND c.archived_at IS NULL AND ${addable(user, 'FALSE')}`, bindings: [] },
    { sql: `(c.group_constrained = FALSE OR ${grantsChannel('c.id', user)})`, bindings: [] },
  );
}

const idsFrom = (userIds: readonly string[]): Cond =>
  ({ sql: `(SELECT column1 AS user_id FROM (VALUES ${userIds.map(() => '(?)').join(', ')}) AS v) ids`, bindings: [...userIds] });

/**
 * The default channels of a team someone just joined (`JoinUserToTeam` → `JoinDefaultChannels`, app/team.go):
 * the team's open `is_default` channels (town-square, off-topic or DEFAULT_CHANNELS), unarchived. A constrained
 * default channel is joined only by people its links permit (otherwise the next reconcile would remove them).
 */
export function defaultChannelCandidates(teamId: string, userIds: readonly string[]): AddSource {
  return source({ userIds }, 'channel_members', (at) => {
    const user = at ?? 'ids.user_id';
    const ids = idsFrom(userIds);
    return {
      table: 'channel_members',
      key: 'channel_id',
      from: at ? { sql: 'channels c', bindings: [] } : { sql: `channels c, ${ids.sql}`, bindings: ids.bindings },
      where: and(eq('c.team_id', teamId), defaultChannel(user)),
      syncable: 'c.id',
      user,
      cause: `'default_channel'`,
      admin: adminOfChannel,
    };
  });
}

/**
 * The default channels of every unarchived team the people are live members of: what a guest promoted to a member
 * joins (`PromoteGuestToUser` runs `JoinDefaultChannels` for each of the user's teams, app/user.go). Driven by the
 * people's team memberships (team_members' user_id index), then the team's channels (channels' team_id index).
 */
export function memberTeamsDefaultChannelCandidates(userIds: readonly string[]): AddSource {
  return source({ userIds }, 'channel_members', (at) => {
    const user = at ?? 'ids.user_id';
    const ids = idsFrom(userIds);
    const teams = `team_members dtm
      JOIN teams dt ON dt.id = dtm.team_id AND dt.archived_at IS NULL
      JOIN channels c ON c.team_id = dtm.team_id`;
    return {
      table: 'channel_members',
      key: 'channel_id',
      from: at ? { sql: teams, bindings: [] } : { sql: `${ids.sql}, ${teams}`, bindings: ids.bindings },
      where: and({ sql: `dtm.user_id = ${user} AND dtm.removed_at IS NULL`, bindings: [] }, defaultChannel(user)),
      syncable: 'c.id',
      user,
      cause: `'default_channel'`,
      admin: adminOfChannel,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Which existing memberships a step may remove or re-role: conditions on the member table itself.

/**
 * Memberships of the teams in scope: unarchived teams (archived ones are left alone), optionally only
 * group-constrained ones. Leaving a group is scoped to the teams that group is linked to; a reconcile to its team,
 * its group or everything. A channel-scoped reconcile touches no team (null).
 */
export function teamMemberScope(t: Target, opts: { constrainedOnly: boolean }): Cond | null {
  if (t.channelId) return null;
  return and(
    // Correlated on the primary key: cost per membership row, never a scan of all teams.
    { sql: exists(`SELECT 1 FROM teams st WHERE st.id = team_members.team_id AND st.archived_at IS NULL${opts.constrainedOnly ? ' AND st.group_constrained = TRUE' : ''}`), bindings: [] },
    t.groupId ? { sql: 'team_members.team_id IN (SELECT sgt.team_id FROM group_teams sgt WHERE sgt.group_id = ?)', bindings: [t.groupId] } : null,
    t.teamId ? eq('team_members.team_id', t.teamId) : null,
    t.userIds ? inList('team_members.user_id', t.userIds) : null,
    inRange('team_members.user_id', t),
  );
}

/** Same for channels: unarchived channels of unarchived teams; a team scope covers the team's channels. */
export function channelMemberScope(t: Target, opts: { constrainedOnly: boolean }): Cond {
  return and(
    {
      sql: exists(`SELECT 1 FROM channels sc JOIN teams st ON st.id = sc.team_id
        WHERE sc.id = channel_members.channel_id AND sc.archived_at IS NULL AND st.archived_at IS NULL${opts.constrainedOnly ? ' AND sc.group_constrained = TRUE' : ''}`),
      bindings: [],
    },
    t.groupId ? { sql: 'channel_members.channel_id IN (SELECT sgc.channel_id FROM group_channels sgc WHERE sgc.group_id = ?)', bindings: [t.groupId] } : null,
    t.teamId ? { sql: 'channel_members.channel_id IN (SELECT tc.id FROM channels tc WHERE tc.team_id = ?)', bindings: [t.teamId] } : null,
    t.channelId ? eq('channel_members.channel_id', t.channelId) : null,
    t.userIds ? inList('channel_members.user_id', t.userIds) : null,
    inRange('channel_members.user_id', t),
  );
}

/**
 * Members of constrained teams whom no live linked group permits any more: removed (Mattermost
 * `TeamMembersToRemove` → `RemoveUserFromTeam`). Unconstrained teams keep their members.
 */
export function teamMembersToRemove(t: Target): Cond | null {
  const scope = teamMemberScope(t, { constrainedOnly: true });
  return scope && and(scope, { sql: `NOT ${grantsTeam('team_members.team_id', 'team_members.user_id')}`, bindings: [] });
}

/** Members of constrained channels whom no live linked group permits (`ChannelMembersToRemove`). */
export function channelMembersToRemove(t: Target): Cond {
  return and(channelMemberScope(t, { constrainedOnly: true }), { sql: `NOT ${grantsChannel('channel_members.channel_id', 'channel_members.user_id')}`, bindings: [] });
}

/**
 * Roles. Constrained syncables: scheme_admin is exactly "in a group linked with scheme_admin" (`SyncSyncableRoles`
 * → `UpdateMembersRole`: set for permitted admins, cleared for every other member). Unconstrained syncables: a
 * scheme_admin link promotes (departure, see README: Mattermost only applies it when the person joins), nobody is
 * demoted, so a manual promotion in an open team stays.
 */
export function teamAdminsToPromote(t: Target): Cond | null {
  const scope = teamMemberScope(t, { constrainedOnly: false });
  return scope && and(scope, { sql: adminOfTeam('team_members.team_id', 'team_members.user_id'), bindings: [] });
}

export function teamAdminsToDemote(t: Target): Cond | null {
  const scope = teamMemberScope(t, { constrainedOnly: true });
  return scope && and(scope, { sql: `NOT ${adminOfTeam('team_members.team_id', 'team_members.user_id')}`, bindings: [] });
}

export function channelAdminsToPromote(t: Target): Cond {
  return and(channelMemberScope(t, { constrainedOnly: false }), { sql: adminOfChannel('channel_members.channel_id', 'channel_members.user_id'), bindings: [] });
}

export function channelAdminsToDemote(t: Target): Cond {
  return and(channelMemberScope(t, { constrainedOnly: true }), { sql: `NOT ${adminOfChannel('channel_members.channel_id', 'channel_members.user_id')}`, bindings: [] });
}

/**
 * Every membership of the people, whatever the team or channel (archived ones too): a person who becomes a guest
 * loses scheme_admin on all of them, as Mattermost's `DemoteUserToGuest` sets SchemeAdmin=false on every
 * TeamMembers and ChannelMembers row of the user (sqlstore/user_store.go). Read through the user_id index.
 */
export function everyMembershipOf(table: MemberTable, userIds: readonly string[]): Cond {
  return inList(`${table}.user_id`, userIds);
}

/** Leaving a team leaves all of its channels (`LeaveTeam`, app/team.go), archived ones included. */
export function channelsOfLeftTeam(teamId: string, userIds: readonly string[]): Cond {
  return and(
    { sql: 'channel_members.channel_id IN (SELECT lc.id FROM channels lc WHERE lc.team_id = ?)', bindings: [teamId] },
    inList('channel_members.user_id', userIds),
  );
}
