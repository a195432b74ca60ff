/**
 * Manual memberships (admin API, CLI): add a person to a team or channel, remove them (by an admin or as if they
 * left themselves), list members and a person's memberships. The sync rules still apply: a constrained team or
 * channel admits only people its linked groups hold (Mattermost blocks adding outsiders), and a removal leaves a
 * tombstone that automatic sync respects.
 */
import type { Knex } from 'knex';
import { MEMBER_OPERATIONS, writeAudit, writeAuditMany } from '../store/audit.js';
import { bool } from '../store/db.js';
import {
  getMember, getUserState, insertMember, listMembers as listMemberRows, liveChannelIdsInTeam, reviveMember, tombstoneMember,
  userMemberships, type SyncableKind,
} from '../store/workspace.js';
import { memberListingOut, memberOut, membershipsOut, type Member } from './representation.js';
import { findChannel, findTeam } from './refs.js';
import { getUserAccess } from '../store/users.js';
import { adminByLinks, permittedByLinks } from '../store/group-sync/checks.js';
import type { ReconcileStats } from '../sync/engine.js';
import { readChannel } from './channels.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, conflict, notFound } from './errors.js';
import { assertLive, readTeam } from './teams.js';

export interface AddMemberInput { userId: string; schemeAdmin?: boolean }

/** The syncable must exist and be live; for a channel, its team too. Returns the team id and whether constrained. */
async function target(tx: Knex.Transaction, kind: SyncableKind, id: string): Promise<{ teamId: string; constrained: boolean; name: string }> {
  if (kind === 'team') {
    const t = await readTeam(tx, id);
    assertLive(t, `team ${t.name}`);
    return { teamId: t.id, constrained: bool(t.group_constrained), name: t.name };
  }
  const c = await readChannel(tx, id);
  assertLive(c, `channel ${c.name}`);
  const t = await readTeam(tx, c.team_id);
  assertLive(t, `team ${t.name}`);
  return { teamId: t.id, constrained: bool(c.group_constrained), name: c.name };
}

export async function addMember(ctx: WorkspaceCtx, kind: SyncableKind, id: string, input: AddMemberInput): Promise<{ member: Member; created: boolean; defaultChannels: ReconcileStats | null }> {
  if (typeof input.userId !== 'string' || !input.userId) throw badRequest('invalid_value', 'userId is required');
  if (input.schemeAdmin !== undefined && typeof input.schemeAdmin !== 'boolean') throw badRequest('invalid_value', 'schemeAdmin must be a boolean');
  const a = auditOf(ctx);
  return ctx.db.transaction(async (tx) => {
    const t = await target(tx, kind, id);
    const user = await getUserState(tx, input.userId);
    if (!user || user.deleted) throw notFound('user', input.userId);
    if (!user.active) throw conflict('user_inactive', `user ${input.userId} is deactivated and cannot be added`);
    // A guest runs no team or channel (Mattermost's DemoteUserToGuest clears SchemeAdmin on every membership).
    if (input.schemeAdmin === true && user.systemRole === 'guest') throw conflict('guest_cannot_be_admin', `user ${input.userId} is a guest and cannot be a ${kind} admin`);
    if (kind === 'channel') {
      const tm = await getMember(tx, 'team', t.teamId, input.userId);
      if (!tm || tm.removed_at != null) throw conflict('not_team_member', `user ${input.userId} is not a member of the channel's team`);
    }
    if (t.constrained && !(await permittedByLinks(tx, kind, id, input.userId))) {
      throw conflict('group_constrained', `${kind} ${t.name} is group-constrained and no group linked to it holds user ${input.userId}`);
    }
    const linkAdmin = await adminByLinks(tx, kind, id, input.userId);
    // On a constrained team or channel the links decide the role (Mattermost SyncSyncableRoles); elsewhere the admin may.
    if (t.constrained && input.schemeAdmin !== undefined && input.schemeAdmin !== linkAdmin) {
      throw conflict('role_managed_by_groups', `the role on group-constrained ${kind} ${t.name} is set by its group links`);
    }
    const schemeAdmin = t.constrained ? linkAdmin : (input.schemeAdmin ?? linkAdmin);
    const existing = await getMember(tx, kind, id, input.userId);
    if (existing && existing.removed_at == null) return { member: memberOut(existing), created: false, defaultChannels: null };
    const now = Date.now();
    const values = { schemeAdmin, addedBy: ctx.actor, now };
    if (existing) await reviveMember(tx, kind, id, input.userId, values);
    else await insertMember(tx, kind, id, input.userId, values);
    await writeAudit(tx, {
      ...a, operation: MEMBER_OPERATIONS[kind].add, resourceType: kind === 'team' ? 'TeamMember' : 'ChannelMember', resourceId: input.userId, cause: ctx.actor,
      after: { [`${kind}Id`]: id, userId: input.userId, schemeAdmin, ...(existing ? { readded: true } : {}) },
    });
    const defaultChannels = kind === 'team' ? await ctx.sync.teamJoined(tx, id, input.userId, { revived: !!existing }, a) : null;
    return { member: memberOut((await getMember(tx, kind, id, input.userId))!), created: true, defaultChannels };
  });
}

/**
 * Remove a person: the membership is tombstoned with `removed_by` = the acting admin, or `self` when recorded as
 * the person leaving. Leaving a team leaves its channels too (`LeaveTeam`), each recorded with cause `team:<id>`.
 */
export async function removeMember(ctx: WorkspaceCtx, kind: SyncableKind, id: string, userId: string, by: 'admin' | 'self'): Promise<{ member: Member; channelsLeft: string[] }> {
  const a = auditOf(ctx);
  const removedBy = by === 'self' ? 'self' : ctx.actor;
  return ctx.db.transaction(async (tx) => {
    if (kind === 'team') await readTeam(tx, id);
    else await readChannel(tx, id);
    const now = Date.now();
    if (!(await tombstoneMember(tx, kind, id, userId, removedBy, now))) throw notFound(`active member of ${kind} ${id}:`, userId);
    const entries = [{
      ...a, operation: MEMBER_OPERATIONS[kind].remove, resourceType: kind === 'team' ? 'TeamMember' as const : 'ChannelMember' as const, resourceId: userId, cause: removedBy,
      before: { [`${kind}Id`]: id, userId },
    }];
    let channelsLeft: string[] = [];
    if (kind === 'team') {
      channelsLeft = await liveChannelIdsInTeam(tx, id, userId);
      for (const channelId of channelsLeft) {
        await tombstoneMember(tx, 'channel', channelId, userId, `team:${id}`, now);
        entries.push({ ...a, operation: 'channel_remove', resourceType: 'ChannelMember', resourceId: userId, cause: `team:${id}`, before: { channelId, userId } });
      }
    }
    await writeAuditMany(tx, entries);
    return { member: memberOut((await getMember(tx, kind, id, userId))!), channelsLeft };
  });
}

/**
 * Who is in a team or channel, removed members included unless `active` says otherwise, keyset-paged by user id: each
 * row says who the person is (userName, whether they are active), their role and why they are there (group sync or by
 * hand). The team is named by id or name, the channel by id or `team/channel` (src/workspace/refs.ts).
 */
export async function listMembers(ctx: WorkspaceCtx, kind: SyncableKind, ref: string, q: { limit: number; after?: string; active?: boolean }) {
  const found = kind === 'team' ? await findTeam(ctx.db, ref) : await findChannel(ctx.db, ref);
  if (!found) throw notFound(kind, ref);
  const rows = await listMemberRows(ctx.db, kind, found.id, q);
  return { items: rows.map(memberListingOut), next: rows.length === q.limit ? rows[rows.length - 1]!.user_id : null };
}

/**
 * Every team and channel membership of a person, removed ones marked (deleted users included: history stays), with
 * their system role and the IdP role and entitlement values it and the `entitlement` memberships come from.
 */
export async function membershipsOf(ctx: WorkspaceCtx, userId: string) {
  const user = await getUserState(ctx.db, userId);
  if (!user) throw notFound('user', userId);
  const access = (await getUserAccess(ctx.db, userId))!;
  return { userId, active: user.active, deleted: user.deleted, ...access, ...membershipsOut(await userMemberships(ctx.db, userId), access.systemRole) };
}
