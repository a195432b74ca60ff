/**
 * The four set-based statements every sync rule reduces to: insert the missing memberships of a candidate set,
 * revive tombstoned ones (those the sync caused, or all of them), tombstone memberships, and set scheme_admin.
 * Each returns exactly the rows it changed (RETURNING) so the engine can audit them, and each is one SQL statement
 * whatever the number of rows.
 */
import type { Knex } from 'knex';
import { bool } from '../db.js';
import { rawRows } from '../sql.js';
import type { Cond } from './sql.js';
import { exists, notExists, removedBySync, type AddSource, type MemberTable } from './rules.js';

export interface Changed { syncableId: string; userId: string; cause: string | null; schemeAdmin: boolean }

interface RawChanged { syncable_id: string; user_id: string; cause: string | null; scheme_admin: unknown }

const keyOf = (table: MemberTable) => (table === 'team_members' ? 'team_id' : 'channel_id');

const toChanged = (r: RawChanged): Changed => ({ syncableId: r.syncable_id, userId: r.user_id, cause: r.cause, schemeAdmin: bool(r.scheme_admin) });

/**
 * Insert the candidate pairs that have no membership row at all. Pairs with a tombstone are reviveTombstoned's:
 * Mattermost's LEFT JOIN ... IS NULL on TeamMembers / ChannelMemberHistory. ON CONFLICT covers a concurrent
 * transaction that inserted the same pair first (PostgreSQL, several instances).
 */
export async function insertMissing(tx: Knex.Transaction, s: AddSource, now: number): Promise<Changed[]> {
  const rows = await rawRows<RawChanged>(tx, `
    INSERT INTO ${s.table} (${s.key}, user_id, scheme_admin, created_at, updated_at, added_by)
    SELECT ${s.syncable}, ${s.user}, ${s.admin(s.syncable, s.user)}, ?, ?, ${s.cause}
    FROM ${s.from.sql}
    WHERE ${s.where.sql}
      AND ${notExists(`SELECT 1 FROM ${s.table} xm WHERE xm.${s.key} = ${s.syncable} AND xm.user_id = ${s.user}`)}
    GROUP BY ${s.syncable}, ${s.user}
    ON CONFLICT (${s.key}, user_id) DO NOTHING
    RETURNING ${s.key} AS syncable_id, user_id, added_by AS cause, scheme_admin`,
  [now, now, ...s.from.bindings, ...s.where.bindings]);
  return rows.map(toChanged);
}

/**
 * Which tombstones a revival lifts: `sync`, the ones the sync caused (rules.ts removedBySync: access the IdP gives
 * back comes back), or `all`, also people who left or whom an admin removed (the admin's explicit `readdRemoved`
 * or manual re-add, Mattermost `ReAddRemovedMembers`).
 */
export type Revive = 'sync' | 'all';

/**
 * Bring back the tombstoned memberships among the candidates. The UPDATE reads only `s.rows` (the step's people,
 * through the user_id index) and checks each row against the candidates for that one person (`s.at`), so it costs
 * the people named, never the group or the table's other tombstones.
 */
export async function reviveTombstoned(tx: Knex.Transaction, s: AddSource, which: Revive, now: number): Promise<Changed[]> {
  const m = s.table;
  const c = s.at(`${m}.user_id`);
  const match = `${s.syncable} = ${m}.${s.key}`;
  const rows = await rawRows<RawChanged>(tx, `
    UPDATE ${m} SET removed_at = NULL, removed_by = NULL, updated_at = ?,
      added_by = (SELECT ${s.cause} FROM ${c.from.sql} WHERE ${c.where.sql} AND ${match}),
      scheme_admin = ${s.admin(`${m}.${s.key}`, `${m}.user_id`)}
    WHERE ${m}.removed_at IS NOT NULL${which === 'sync' ? ` AND ${removedBySync(`${m}.removed_by`)}` : ''}
      AND ${s.rows.sql}
      AND ${exists(`SELECT 1 FROM ${c.from.sql} WHERE ${c.where.sql} AND ${match}`)}
    RETURNING ${s.key} AS syncable_id, user_id, added_by AS cause, scheme_admin`,
  [now, ...c.from.bindings, ...c.where.bindings, ...s.rows.bindings, ...c.from.bindings, ...c.where.bindings]);
  return rows.map(toChanged);
}

/** Tombstone the live memberships matching `where`, recording who or what removed them. */
export async function tombstone(tx: Knex.Transaction, table: MemberTable, where: Cond, removedBy: string, now: number): Promise<Changed[]> {
  const rows = await rawRows<RawChanged>(tx, `
    UPDATE ${table} SET removed_at = ?, removed_by = ?, updated_at = ?
    WHERE ${table}.removed_at IS NULL AND ${where.sql}
    RETURNING ${keyOf(table)} AS syncable_id, user_id, removed_by AS cause, scheme_admin`,
  [now, removedBy, now, ...where.bindings]);
  return rows.map(toChanged);
}

/** Set scheme_admin on the live memberships matching `where` that do not have it yet. */
export async function setSchemeAdmin(tx: Knex.Transaction, table: MemberTable, where: Cond, admin: boolean, now: number): Promise<Changed[]> {
  const rows = await rawRows<RawChanged>(tx, `
    UPDATE ${table} SET scheme_admin = ${admin ? 'TRUE' : 'FALSE'}, updated_at = ?
    WHERE ${table}.removed_at IS NULL AND ${table}.scheme_admin = ${admin ? 'FALSE' : 'TRUE'} AND ${where.sql}
    RETURNING ${keyOf(table)} AS syncable_id, user_id, NULL AS cause, scheme_admin`,
  [now, ...where.bindings]);
  return rows.map(toChanged);
}
