/**
 * What the entitlements of one person touch: the teams and channels they name, that person's memberships of them,
 * what the person's groups already grant there, and the memberships their entitlements made. Every query is about
 * one person and at most the 100 entitlement values a user may hold (src/scim/shared/user-representation.ts), read
 * through primary keys, so the cost is the person's, never a team's size. The rules are in src/sync/entitlements.ts.
 */
import type { Knex } from 'knex';
import { bool } from './db.js';
import { marks, rawRows } from './sql.js';
import { adminOfChannel, adminOfTeam, grantsChannel, grantsTeam } from './group-sync/rules.js';

type Db = Knex | Knex.Transaction;
export type Kind = 'team' | 'channel';

const MEMBERS = { team: 'team_members', channel: 'channel_members' } as const;
const KEY = { team: 'team_id', channel: 'channel_id' } as const;

/** A live team or channel an entitlement names. */
export interface Syncable { id: string; teamId: string; constrained: boolean }

/** Live teams by name, and live channels (of live teams) by `team/channel`, among those named. */
export async function liveSyncablesNamed(db: Db, teamNames: readonly string[], channels: readonly { team: string; channel: string }[]): Promise<{ teams: Map<string, Syncable>; channels: Map<string, Syncable> }> {
  const teams = new Map<string, Syncable>();
  const chans = new Map<string, Syncable>();
  const names = [...new Set([...teamNames, ...channels.map((c) => c.team)])];
  if (names.length) {
    const rows = await rawRows<{ id: string; name: string; group_constrained: unknown }>(db,
      `SELECT id, name, group_constrained FROM teams WHERE archived_at IS NULL AND name IN (${marks(names.length)})`, names);
    for (const r of rows) teams.set(r.name, { id: r.id, teamId: r.id, constrained: bool(r.group_constrained) });
  }
  if (channels.length) {
    const pairs = channels.map(() => '(t.name = ? AND c.name = ?)').join(' OR ');
    const rows = await rawRows<{ id: string; team_id: string; team_name: string; name: string; group_constrained: unknown }>(db,
      `SELECT c.id, c.team_id, t.name AS team_name, c.name, c.group_constrained FROM channels c JOIN teams t ON t.id = c.team_id
       WHERE c.archived_at IS NULL AND t.archived_at IS NULL AND (${pairs})`, channels.flatMap((c) => [c.team, c.channel]));
    for (const r of rows) chans.set(`${r.team_name}/${r.name}`, { id: r.id, teamId: r.team_id, constrained: bool(r.group_constrained) });
  }
  return { teams, channels: chans };
}

/** The person's membership rows of these teams or channels, live or tombstoned. */
export interface Membership { live: boolean; schemeAdmin: boolean; addedBy: string; removedBy: string | null }

/**
 * Memberships of `ids`, with what the person's live linked groups say about each: `permitted` (some linked group
 * holds them: what a constrained syncable admits) and `linkAdmin` (a scheme_admin link does). The same predicates
 * as the group sync (src/store/group-sync/rules.ts), so an entitlement and a group never disagree on a rule.
 */
export async function membershipsOf(db: Db, kind: Kind, userId: string, ids: readonly string[]): Promise<Map<string, { row: Membership | null; permitted: boolean; linkAdmin: boolean }>> {
  const out = new Map<string, { row: Membership | null; permitted: boolean; linkAdmin: boolean }>();
  if (!ids.length) return out;
  const grants = kind === 'team' ? grantsTeam('s.id', '?') : grantsChannel('s.id', '?');
  const admin = kind === 'team' ? adminOfTeam('s.id', '?') : adminOfChannel('s.id', '?');
  const rows = await rawRows<{ id: string; user_id: string | null; scheme_admin: unknown; added_by: string | null; removed_at: unknown; removed_by: string | null; permitted: unknown; link_admin: unknown }>(db,
    `SELECT s.id, m.user_id, m.scheme_admin, m.added_by, m.removed_at, m.removed_by, ${grants} AS permitted, ${admin} AS link_admin
     FROM ${kind === 'team' ? 'teams' : 'channels'} s
     LEFT JOIN ${MEMBERS[kind]} m ON m.${KEY[kind]} = s.id AND m.user_id = ?
     WHERE s.id IN (${marks(ids.length)})`,
    [userId, userId, userId, ...ids]);
  for (const r of rows) {
    out.set(r.id, {
      row: r.user_id ? { live: r.removed_at == null, schemeAdmin: bool(r.scheme_admin), addedBy: r.added_by ?? '', removedBy: r.removed_by } : null,
      permitted: bool(r.permitted),
      linkAdmin: bool(r.link_admin),
    });
  }
  return out;
}

/** The person's live memberships an entitlement made (`added_by = 'entitlement'`) in live teams and channels. */
export async function entitlementMemberships(db: Db, userId: string): Promise<{ teams: { id: string; permitted: boolean }[]; channels: { id: string; teamId: string; permitted: boolean }[] }> {
  const teams = await rawRows<{ id: string; permitted: unknown }>(db,
    `SELECT m.team_id AS id, ${grantsTeam('m.team_id', 'm.user_id')} AS permitted FROM team_members m JOIN teams t ON t.id = m.team_id
     WHERE m.user_id = ? AND m.removed_at IS NULL AND m.added_by = 'entitlement' AND t.archived_at IS NULL`, [userId]);
  const channels = await rawRows<{ id: string; team_id: string; permitted: unknown }>(db,
    `SELECT m.channel_id AS id, c.team_id, ${grantsChannel('m.channel_id', 'm.user_id')} AS permitted FROM channel_members m JOIN channels c ON c.id = m.channel_id
     JOIN teams t ON t.id = c.team_id
     WHERE m.user_id = ? AND m.removed_at IS NULL AND m.added_by = 'entitlement' AND c.archived_at IS NULL AND t.archived_at IS NULL`, [userId]);
  return {
    teams: teams.map((r) => ({ id: r.id, permitted: bool(r.permitted) })),
    channels: channels.map((r) => ({ id: r.id, teamId: r.team_id, permitted: bool(r.permitted) })),
  };
}

/**
 * Insert a membership the entitlement gives; false when a concurrent writer (the group sync on another instance)
 * inserted the pair first: the membership exists either way.
 */
export async function insertGranted(tx: Db, kind: Kind, syncableId: string, userId: string, schemeAdmin: boolean, now: number): Promise<boolean> {
  const rows = await tx(MEMBERS[kind])
    .insert({ [KEY[kind]]: syncableId, user_id: userId, scheme_admin: schemeAdmin, created_at: now, updated_at: now, added_by: 'entitlement', removed_at: null, removed_by: null })
    .onConflict([KEY[kind], 'user_id']).ignore().returning('user_id');
  return rows.length === 1;
}

/** Bring a tombstoned membership back as the entitlement's. */
export async function reviveGranted(tx: Db, kind: Kind, syncableId: string, userId: string, schemeAdmin: boolean, now: number): Promise<boolean> {
  const n = await tx(MEMBERS[kind]).where({ [KEY[kind]]: syncableId, user_id: userId }).whereNotNull('removed_at')
    .update({ scheme_admin: schemeAdmin, added_by: 'entitlement', updated_at: now, removed_at: null, removed_by: null });
  return n === 1;
}

/** Set scheme_admin on a live membership; false when it already was so (or the membership is not live). */
export async function setMemberAdmin(tx: Db, kind: Kind, syncableId: string, userId: string, admin: boolean, now: number): Promise<boolean> {
  const n = await tx(MEMBERS[kind]).where({ [KEY[kind]]: syncableId, user_id: userId, scheme_admin: !admin }).whereNull('removed_at')
    .update({ scheme_admin: admin, updated_at: now });
  return n === 1;
}

/** Whether the person can be granted anything now, and as what. */
export async function granteeOf(db: Db, userId: string): Promise<{ active: boolean; deleted: boolean; guest: boolean } | undefined> {
  const r = await db('users').where({ id: userId }).first('active', 'deleted_at', 'system_role');
  return r ? { active: bool(r.active), deleted: r.deleted_at != null, guest: r.system_role === 'guest' } : undefined;
}
