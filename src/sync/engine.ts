/**
 * Group-to-team/channel sync (Mattermost group sync, server/channels/app/syncables.go), run inside the caller's
 * transaction so a membership change, its consequences and their audit rows commit or roll back together.
 *
 * Order of a sync step (Mattermost `CreateDefaultMemberships` then `DeleteGroupConstrainedMemberships`, then roles):
 *   1. teams linked with auto_add, then the default channels of each team joined;
 *   2. channels linked with auto_add: their team first (then its default channels), then the channel;
 *   3. removals from constrained channels, then constrained teams (leaving a team leaves its channels);
 *   4. scheme_admin from scheme_admin links.
 * Guests (users.system_role = 'guest') are added only through links with allow_guests, never join default channels
 * and are never made admins (rules.ts addable, defaultChannel, adminOfTeam); userRoleChanged follows a role change.
 * The rules themselves are SQL in src/store/group-sync/rules.ts; the statements in src/store/group-sync/statements.ts.
 *
 * Cost: event methods (membersAdded, membersRemoved, groupDeleted, user*) pass the group and a chunk of at most
 * CHUNK user ids to every statement, so each statement is a set of primary-key lookups whose cost depends on the
 * ids passed and the group's links, never on how many members the group has.
 */
import type { Knex } from 'knex';
import { MEMBER_OPERATIONS, writeAuditMany, type AuditEntry } from '../store/audit.js';
import { bumpGroup, groupIdsOfMember, removeMembers } from '../store/groups.js';
import { getUser, userIdPage } from '../store/users.js';
import type { SystemRole } from '../config/roles.js';
import { bySyncable } from '../store/group-sync/sql.js';
import { chunk } from '../store/sql.js';
import {
  channelAdminsToDemote, channelAdminsToPromote, channelLinkCandidates, channelMembersToRemove, channelsOfLeftTeam,
  channelTeamCandidates, defaultChannelCandidates, memberTeamsDefaultChannelCandidates, everyMembershipOf, teamAdminsToDemote,
  teamAdminsToPromote, teamLinkCandidates, teamMembersToRemove, type AddSource, type Target,
} from '../store/group-sync/rules.js';
import { isGroupLinked } from '../store/group-sync/checks.js';
import { insertMissing, reviveTombstoned, setSchemeAdmin, tombstone, type Changed, type Revive } from '../store/group-sync/statements.js';

export interface AuditCtx { actor: string; requestId?: string | undefined }

export interface SyncScope { teamId?: string; channelId?: string; groupId?: string }

export interface ReconcileStats {
  teamMembersAdded: number;
  teamMembersRemoved: number;
  channelMembersAdded: number;
  channelMembersRemoved: number;
  /**
   * Of the added ones, how many were tombstoned memberships brought back: ones the sync had removed, whenever a live
   * linked group grants them again; with readdRemoved also people who left or whom an admin removed.
   */
  readded: number;
  adminsPromoted: number;
  adminsDemoted: number;
}

export const emptyStats = (): ReconcileStats => ({
  teamMembersAdded: 0, teamMembersRemoved: 0, channelMembersAdded: 0, channelMembersRemoved: 0, readded: 0, adminsPromoted: 0, adminsDemoted: 0,
});

export const statsChanged = (s: ReconcileStats): number =>
  s.teamMembersAdded + s.teamMembersRemoved + s.channelMembersAdded + s.channelMembersRemoved + s.adminsPromoted + s.adminsDemoted;

export interface SyncEngineOptions { defaultChannels: string[] }

/** People per reconcile page: every statement of a reconcile covers at most this many user ids. */
const RECONCILE_PAGE = 2000;

type Kind = 'team' | 'channel';

/** Collects audit rows and counts for one sync step; rows are written in insertion order (teams before channels). */
class Journal {
  readonly stats = emptyStats();
  private rows: AuditEntry[] = [];
  constructor(private readonly a: AuditCtx) {}

  added(kind: Kind, list: Changed[], readded = false): void {
    if (kind === 'team') this.stats.teamMembersAdded += list.length;
    else this.stats.channelMembersAdded += list.length;
    if (readded) this.stats.readded += list.length;
    for (const c of list) {
      this.rows.push({
        ...this.a, operation: MEMBER_OPERATIONS[kind].add, resourceType: kind === 'team' ? 'TeamMember' : 'ChannelMember', resourceId: c.userId, cause: c.cause,
        after: { [`${kind}Id`]: c.syncableId, userId: c.userId, schemeAdmin: c.schemeAdmin, ...(readded ? { readded: true } : {}) },
      });
    }
  }

  removed(kind: Kind, list: Changed[]): void {
    if (kind === 'team') this.stats.teamMembersRemoved += list.length;
    else this.stats.channelMembersRemoved += list.length;
    for (const c of list) {
      this.rows.push({
        ...this.a, operation: MEMBER_OPERATIONS[kind].remove, resourceType: kind === 'team' ? 'TeamMember' : 'ChannelMember', resourceId: c.userId, cause: c.cause,
        before: { [`${kind}Id`]: c.syncableId, userId: c.userId, schemeAdmin: c.schemeAdmin },
      });
    }
  }

  role(kind: Kind, list: Changed[], cause: string): void {
    for (const c of list) {
      if (c.schemeAdmin) this.stats.adminsPromoted++;
      else this.stats.adminsDemoted++;
      this.rows.push({
        ...this.a, operation: MEMBER_OPERATIONS[kind][c.schemeAdmin ? 'promote' : 'demote'], resourceType: kind === 'team' ? 'TeamMember' : 'ChannelMember',
        resourceId: c.userId, cause, before: { schemeAdmin: !c.schemeAdmin }, after: { [`${kind}Id`]: c.syncableId, userId: c.userId, schemeAdmin: c.schemeAdmin },
      });
    }
  }

  async flush(tx: Knex.Transaction): Promise<void> {
    const rows = this.rows;
    this.rows = [];
    if (rows.length) await writeAuditMany(tx, rows);
  }
}

export class SyncEngine {
  readonly defaultChannels: string[];

  constructor(opts: SyncEngineOptions) {
    this.defaultChannels = opts.defaultChannels;
  }

  // ---- events from SCIM ----------------------------------------------------------------------------------------

  /** People joined a group (their group_members rows are already inserted). */
  async membersAdded(tx: Knex.Transaction, groupId: string, userIds: string[], a: AuditCtx): Promise<void> {
    if (!userIds.length || !(await isGroupLinked(tx, groupId))) return;
    for (const part of chunk(unique(userIds))) {
      const j = new Journal(a);
      await this.addStep(tx, { groupId, userIds: part }, false, j, `group:${groupId}`);
      await j.flush(tx);
    }
  }

  /** People left a group (their group_members rows are already deleted). */
  async membersRemoved(tx: Knex.Transaction, groupId: string, userIds: string[], a: AuditCtx): Promise<void> {
    if (!userIds.length || !(await isGroupLinked(tx, groupId))) return;
    for (const part of chunk(unique(userIds))) {
      const j = new Journal(a);
      await this.removeStep(tx, { groupId, userIds: part }, `group:${groupId}`, j);
      await this.demoteStep(tx, { groupId, userIds: part }, j, `group:${groupId}`);
      await j.flush(tx);
    }
  }

  /**
   * The group was soft-deleted and its members removed: its former members lose what it alone granted. Its links
   * stay for a restore (Mattermost keeps GroupTeams/GroupChannels of a deleted group).
   */
  async groupDeleted(tx: Knex.Transaction, groupId: string, formerMemberIds: string[], a: AuditCtx): Promise<void> {
    await this.membersRemoved(tx, groupId, formerMemberIds, a);
  }

  /**
   * SCIM DELETE of a user: they leave each of their groups as a group PATCH remove would, each leave audited as
   * `remove_group_member` (cause `delete_user`) and bumping the group's version, then the leave-group rules run
   * group by group. The cost depends on the person's groups, never on their sizes. The caller locked those groups
   * (store/groups.ts lockGroupsOfMember) before it locked the person.
   */
  async userDeleted(tx: Knex.Transaction, userId: string, a: AuditCtx): Promise<void> {
    const left: string[] = [];
    for (const groupId of await groupIdsOfMember(tx, userId)) if ((await removeMembers(tx, groupId, [userId])).length) left.push(groupId);
    if (!left.length) return;
    await writeAuditMany(tx, left.map((groupId) => ({
      ...a, operation: 'remove_group_member', resourceType: 'Group' as const, resourceId: groupId, cause: 'delete_user', before: { userId },
    })));
    for (const groupId of left) await this.membersRemoved(tx, groupId, [userId], a);
    // Last, in id order, as a group PATCH does: each group row is locked only until commit.
    const now = Date.now();
    for (const groupId of left) await bumpGroup(tx, groupId, { updated_at: now });
  }

  /**
   * Reactivation keeps every membership as it was (Mattermost `UpdateActive` touches none). It also gives the person
   * the auto-add memberships of groups they joined while deactivated, when they were skipped as inactive (and, like
   * any sync step, those the sync removed meanwhile); a tombstone of their own or an admin's still wins. Cost: the
   * person's groups and their links.
   */
  async userReactivated(tx: Knex.Transaction, userId: string, a: AuditCtx): Promise<void> {
    const j = new Journal(a);
    await this.addStep(tx, { userIds: [userId] }, false, j, 'reactivated');
    await j.flush(tx);
  }

  /**
   * The person's system role changed. The user lifecycle calls this in the user's transaction once the users row
   * holds `after` (every rule reads users.system_role; called earlier it would apply the old role, so it refuses).
   * - To guest: every membership is kept (Mattermost `DemoteUserToGuest` keeps them) and loses scheme_admin, as
   *   `DemoteUserToGuest` sets SchemeAdmin=false on all of the user's TeamMembers and ChannelMembers rows
   *   (sqlstore/user_store.go); each audited `team_demote`/`channel_demote`, cause `guest`. Links without
   *   allow_guests add them nothing more.
   * - From guest to member or admin: they join the default channels of the teams they are in (`PromoteGuestToUser`
   *   runs `JoinDefaultChannels` for each of the user's teams, app/user.go), and the add step runs for them as on
   *   reactivation, so the links that passed them over as a guest apply now (scheme_admin promotions audited with
   *   cause `promoted`). Tombstones still win, as in every sync step.
   * - Between member and admin: nothing; team and channel roles do not follow the system role.
   * Cost: the person's memberships, groups and their links.
   */
  async userRoleChanged(tx: Knex.Transaction, userId: string, before: SystemRole, after: SystemRole, a: AuditCtx): Promise<void> {
    if (before === after || (before !== 'guest' && after !== 'guest')) return;
    const row = await getUser(tx, userId, { includeDeleted: true });
    if (row && row.system_role !== after) throw new Error(`userRoleChanged(${after}) called while users.system_role is ${row.system_role}: update the row first`);
    const j = new Journal(a);
    const now = Date.now();
    if (after === 'guest') {
      j.role('team', await setSchemeAdmin(tx, 'team_members', everyMembershipOf('team_members', [userId]), false, now), 'guest');
      j.role('channel', await setSchemeAdmin(tx, 'channel_members', everyMembershipOf('channel_members', [userId]), false, now), 'guest');
    } else {
      const defaults = memberTeamsDefaultChannelCandidates([userId]);
      j.added('channel', await insertMissing(tx, defaults, now));
      j.added('channel', await reviveTombstoned(tx, defaults, 'sync', now), true);
      await this.addStep(tx, { userIds: [userId] }, false, j, 'promoted');
    }
    await j.flush(tx);
  }

  /**
   * A manual team join (admin API, CLI) joins the team's default channels like any Mattermost team join
   * (`JoinUserToTeam` → `JoinDefaultChannels`), a guest's excepted (rules.ts defaultChannel); `revived` when a
   * tombstoned membership was brought back.
   */
  async teamJoined(tx: Knex.Transaction, teamId: string, userId: string, opts: { revived: boolean }, a: AuditCtx): Promise<ReconcileStats> {
    const j = new Journal(a);
    const joined: Changed[] = [{ syncableId: teamId, userId, cause: a.actor, schemeAdmin: false }];
    // The admin re-added them: their default channels come back whatever the cause, as Mattermost's rejoin does.
    await this.joinDefaultChannels(tx, opts.revived ? [] : joined, opts.revived ? joined : [], 'all', Date.now(), j);
    await j.flush(tx);
    return j.stats;
  }

  // ---- reconcile -----------------------------------------------------------------------------------------------

  /**
   * Bring memberships in line with the links (Mattermost `SyncRolesAndMembership` for one syncable, the LDAP sync job
   * for everything). Idempotent: a second run changes nothing. Like every sync step it brings back the memberships
   * the sync removed that a live linked group now grants (the IdP is the source of truth); `readdRemoved` also
   * brings back people who left or whom an admin removed, where the links would add them (Mattermost
   * `include_removed_members`).
   */
  async reconcile(tx: Knex.Transaction, scope: SyncScope, opts: { readdRemoved?: boolean }, a: AuditCtx): Promise<ReconcileStats> {
    if (scope.teamId && scope.channelId) throw new Error('reconcile takes a team or a channel, not both');
    const base: Target = { ...(scope.teamId ? { teamId: scope.teamId } : {}), ...(scope.channelId ? { channelId: scope.channelId } : {}), ...(scope.groupId ? { groupId: scope.groupId } : {}) };
    const total = emptyStats();
    // Page through people by id so each statement covers at most RECONCILE_PAGE of them (a 100k-member team is
    // never one 100k-row statement, which would meet PostgreSQL's statement_timeout); the order of the steps holds
    // within each page, and pages are disjoint, so the result is the same as one pass.
    for (let after: string | null = null; ;) {
      const ids = await userIdPage(tx, after, RECONCILE_PAGE);
      if (!ids.length) break;
      const t: Target = { ...base, userRange: { after, upTo: ids[ids.length - 1]! } };
      const j = new Journal(a);
      await this.addStep(tx, t, !!opts.readdRemoved, j, 'scheme_admin');
      await this.removeStep(tx, t, 'constraint', j);
      await this.demoteStep(tx, t, j, 'constraint');
      await j.flush(tx);
      for (const k of Object.keys(total) as (keyof ReconcileStats)[]) total[k] += j.stats[k];
      if (ids.length < RECONCILE_PAGE) break;
      after = ids[ids.length - 1]!;
    }
    return total;
  }

  // ---- steps ---------------------------------------------------------------------------------------------------

  /**
   * Steps 1, 2 and the promotions of step 4 for the target. Every add first inserts the pairs with no row, then
   * revives the tombstones the sync caused (`readd`: every tombstone), audited as `readded`.
   */
  private async addStep(tx: Knex.Transaction, t: Target, readd: boolean, j: Journal, roleCause: string): Promise<void> {
    const now = Date.now();
    const which: Revive = readd ? 'all' : 'sync';
    // 1. teams linked with auto_add, then their default channels.
    const teamSource = teamLinkCandidates(t);
    if (teamSource) {
      const joined = await insertMissing(tx, teamSource, now);
      j.added('team', joined);
      const revived = await reviveTombstoned(tx, teamSource, which, now);
      j.added('team', revived, true);
      await this.joinDefaultChannels(tx, joined, revived, which, now, j);
    }
    // 2. channels linked with auto_add: the team first (and its default channels), then the channel. A team the
    // person left or was removed from by an admin is not rejoined through a channel, even with readd (rules.ts).
    const teamFirst = channelTeamCandidates(t);
    const viaChannel = await insertMissing(tx, teamFirst, now);
    j.added('team', viaChannel);
    const viaChannelRevived = await reviveTombstoned(tx, teamFirst, 'sync', now);
    j.added('team', viaChannelRevived, true);
    await this.joinDefaultChannels(tx, viaChannel, viaChannelRevived, 'sync', now, j);
    const channelSource = channelLinkCandidates(t);
    j.added('channel', await insertMissing(tx, channelSource, now));
    j.added('channel', await reviveTombstoned(tx, channelSource, which, now), true);
    // 4. (promotions) scheme_admin links make existing members admins too.
    const teamPromote = teamAdminsToPromote(t);
    if (teamPromote) j.role('team', await setSchemeAdmin(tx, 'team_members', teamPromote, true, now), roleCause);
    j.role('channel', await setSchemeAdmin(tx, 'channel_members', channelAdminsToPromote(t), true, now), roleCause);
  }

  /**
   * Joining a team joins its default channels (`JoinDefaultChannels`). A fresh team membership cannot have channel
   * tombstones; a revived one rejoins its default channels: those left with the team (`team:<id>`) or otherwise
   * removed by the sync, and with `all` (an admin re-adding) even those the person left, as Mattermost's rejoin does.
   */
  private async joinDefaultChannels(tx: Knex.Transaction, joined: Changed[], revived: Changed[], which: Revive, now: number, j: Journal): Promise<void> {
    for (const [teamId, users] of bySyncable(joined, (c) => c.syncableId, (c) => c.userId)) {
      j.added('channel', await insertMissing(tx, defaultChannelCandidates(teamId, users), now));
    }
    for (const [teamId, users] of bySyncable(revived, (c) => c.syncableId, (c) => c.userId)) {
      const source: AddSource = defaultChannelCandidates(teamId, users);
      j.added('channel', await insertMissing(tx, source, now));
      j.added('channel', await reviveTombstoned(tx, source, which, now), true);
    }
  }

  /** Step 3: constrained channels first, then constrained teams, each team removal cascading to its channels. */
  private async removeStep(tx: Knex.Transaction, t: Target, cause: string, j: Journal): Promise<void> {
    const now = Date.now();
    j.removed('channel', await tombstone(tx, 'channel_members', channelMembersToRemove(t), cause, now));
    const teamWhere = teamMembersToRemove(t);
    if (!teamWhere) return;
    const leftTeams = await tombstone(tx, 'team_members', teamWhere, cause, now);
    j.removed('team', leftTeams);
    for (const [teamId, users] of bySyncable(leftTeams, (c) => c.syncableId, (c) => c.userId)) {
      j.removed('channel', await tombstone(tx, 'channel_members', channelsOfLeftTeam(teamId, users), `team:${teamId}`, now));
    }
  }

  /**
   * Step 4 (demotions): on constrained syncables scheme_admin is only for members of scheme_admin-linked groups
   * (`SyncSyncableRoles` sets it both ways; the promotion half is in addStep, so removals never create admins).
   */
  private async demoteStep(tx: Knex.Transaction, t: Target, j: Journal, cause: string): Promise<void> {
    const now = Date.now();
    const teamDemote = teamAdminsToDemote(t);
    if (teamDemote) j.role('team', await setSchemeAdmin(tx, 'team_members', teamDemote, false, now), cause);
    j.role('channel', await setSchemeAdmin(tx, 'channel_members', channelAdminsToDemote(t), false, now), cause);
  }
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
