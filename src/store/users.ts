/**
 * Users repository: the `users` row, its multi-valued attributes (`user_values`) and workspace sessions.
 * It knows SQL, not SCIM; the SCIM layer maps its rows (see src/scim/shared/user-representation.ts).
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import { fold, foldUser, foldValue } from './fold.js';
import { chunk, marks, rawRows } from './sql.js';
import type { SystemRole } from '../config/roles.js';

export interface UserRow {
  id: string;
  external_id: string | null;
  user_name: string;
  username: string;
  email: string | null;
  display_name: string | null;
  first_name: string | null;
  last_name: string | null;
  formatted_name: string | null;
  nickname: string | null;
  position: string | null;
  user_type: string | null;
  preferred_language: string | null;
  locale: string | null;
  timezone: string | null;
  profile_url: string | null;
  employee_number: string | null;
  department: string | null;
  cost_center: string | null;
  organization: string | null;
  division: string | null;
  manager_id: string | null;
  extra: string | null;
  active: boolean | number;
  deactivated_at: number | string | null;
  deleted_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
  version: number;
  /** Set while a person adopted from a Mattermost import file waits for an IdP to send their externalId. */
  pending_binding_since?: number | string | null;
  /** The person's system role (migrations/20261205_001_roles.ts), decided from `roles` by src/workspace/roles.ts. */
  system_role?: 'member' | 'admin' | 'guest';
}

export interface ValueRow { attr: string; position: number; value: string | null; type: string | null; display: string | null; primary: boolean | number }

/** The attributes of a user a write may set (everything but identity and bookkeeping). */
export type UserFields = Omit<UserRow, 'id' | 'created_at' | 'updated_at' | 'version' | 'deleted_at' | 'deactivated_at' | 'username' | 'pending_binding_since' | 'system_role'>;

export const MULTI_VALUED = ['emails', 'phoneNumbers', 'ims', 'photos', 'roles', 'entitlements'] as const;

/**
 * The columns of a UserRow, for reads: not `users.*`, which would also fetch the fifteen `_fold` columns that only
 * SQL compares (on PostgreSQL every result, an empty one too, describes and parses each column it names).
 */
const ROW_COLUMNS = [
  'id', 'external_id', 'user_name', 'username', 'email', 'display_name', 'first_name', 'last_name', 'formatted_name',
  'nickname', 'position', 'user_type', 'preferred_language', 'locale', 'timezone', 'profile_url', 'employee_number',
  'department', 'cost_center', 'organization', 'division', 'manager_id', 'extra', 'active', 'deactivated_at',
  'deleted_at', 'created_at', 'updated_at', 'version', 'pending_binding_since', 'system_role',
] as const satisfies readonly (keyof UserRow)[];
export const USER_COLUMNS: readonly string[] = ROW_COLUMNS.map((c) => `users.${c}`);
/** Compile-time: a UserRow field missing from ROW_COLUMNS makes this `never`, and the line fails to type-check. */
const everyColumn: Exclude<keyof UserRow, (typeof ROW_COLUMNS)[number]> extends never ? true : never = true;
void everyColumn;

/**
 * Set a person's system role (the column alone: the SCIM user lifecycle decides the role from `roles`,
 * src/workspace/roles.ts, and bumps the version; the sync engine's userRoleChanged follows the change).
 */
export async function setSystemRole(db: Knex | Knex.Transaction, userId: string, role: SystemRole): Promise<void> {
  await db('users').where({ id: userId }).update({ system_role: role });
}

export async function getUser(db: Knex, id: string, opts: { includeDeleted?: boolean } = {}): Promise<UserRow | undefined> {
  const q = db<UserRow>('users').where({ id });
  if (!opts.includeDeleted) q.whereNull('deleted_at');
  return q.first(...USER_COLUMNS);
}

/** The live person adopted from an import file, not yet bound to an IdP identity, whose primary email is `email`. */
/**
 * What a create with an externalId must know first, in one statement (a create is the hot path, and on PostgreSQL a
 * statement's cost is its round trip): the user bound to that externalId (deleted or not), and the live person an
 * import left waiting for an IdP identity under that email (`pending_binding_since`), if any.
 */
export async function findByExternalIdOrPendingEmail(
  db: Knex, externalId: string, email: string | null, opts: { lockUsernameBase?: string } = {},
): Promise<{ bound?: UserRow; pending?: UserRow }> {
  const q = db<UserRow>('users').where({ external_id: externalId });
  if (email) q.orWhere((w) => w.where({ email: email.toLowerCase() }).whereNull('deleted_at').whereNotNull('pending_binding_since'));
  q.limit(2).select(...USER_COLUMNS);
  let rows: UserRow[];
  if (opts.lockUsernameBase !== undefined && dialectOf(db) === 'pg') {
    // The username lock (lockUsernameBase) in the same round trip. The LEFT JOIN keeps the lock's row when no user
    // matches, so the lock is always taken. This read's snapshot may predate the lock, which is harmless: the
    // externalId is guarded by its unique index, not by the lock. The usernames the lock guards are read by the next
    // statement, whose snapshot follows it.
    const cols = ROW_COLUMNS.map((c) => `u.${c}`).join(', ');
    rows = (await rawRows<UserRow>(db, `SELECT ${cols} FROM (SELECT pg_advisory_xact_lock(hashtext(?))) AS l LEFT JOIN LATERAL (?) AS u ON true`,
      [`username:${opts.lockUsernameBase}`, q])).filter((r) => r.id != null);
  } else {
    if (opts.lockUsernameBase !== undefined) await lockUsernameBase(db, opts.lockUsernameBase);
    rows = await q;
  }
  return {
    bound: rows.find((r) => r.external_id === externalId),
    pending: rows.find((r) => r.external_id !== externalId),
  };
}

/**
 * A select column with the user's multi-valued attributes as a JSON array, in their original order, so a list page
 * and its values are one statement (one round trip on PostgreSQL) instead of two. Read it back with `valuesOf`.
 */
export function valuesColumn(db: Knex): Knex.Raw {
  const obj = ['attr', 'position', 'value', 'type', 'display', 'primary'].map((f) => `'${f}', v."${f}"`).join(', ');
  if (dialectOf(db) === 'pg') {
    return db.raw(`(SELECT json_agg(json_build_object(${obj}) ORDER BY v.attr, v.position) FROM user_values v WHERE v.user_id = users.id) AS "values_json"`);
  }
  return db.raw(`(SELECT json_group_array(json_object(${obj})) FROM (SELECT * FROM user_values WHERE user_id = users.id ORDER BY attr, position) AS v) AS "values_json"`);
}

/** The values of a row read with `valuesColumn` (PostgreSQL hands JSON back parsed, SQLite as text). */
export function valuesOf(row: { values_json?: unknown }): ValueRow[] {
  const v = row.values_json;
  return ((typeof v === 'string' ? JSON.parse(v) : v) ?? []) as ValueRow[];
}

/**
 * A select column with the live groups a user is a member of (`value`, `display`), by display name, at most `limit`,
 * as a JSON array: the `groups` of a user's SCIM form (RFC 7643 §4.1.2) in the statement that reads the user.
 */
function groupsColumn(db: Knex, limit: number): Knex.Raw {
  const inner = `SELECT g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id
    WHERE gm.user_id = users.id AND g.deleted_at IS NULL ORDER BY g.display_name LIMIT ${Math.trunc(limit)}`;
  if (dialectOf(db) === 'pg') {
    return db.raw(`(SELECT json_agg(json_build_object('value', m.id, 'display', m.display_name) ORDER BY m.display_name) FROM (${inner}) AS m) AS "groups_json"`);
  }
  return db.raw(`(SELECT json_group_array(json_object('value', m.id, 'display', m.display_name)) FROM (${inner}) AS m) AS "groups_json"`);
}

/** A live user, their multi-valued attributes and (up to `groupLimit`) their groups, in one statement. */
export async function getUserWithValuesAndGroups(db: Knex, id: string, groupLimit = 1000): Promise<{ row: UserRow; values: ValueRow[]; groups: { value: string; display: string }[] } | undefined> {
  const found = await db('users').where({ id }).whereNull('deleted_at').first(...USER_COLUMNS, valuesColumn(db), groupsColumn(db, groupLimit));
  if (!found) return undefined;
  const { values_json, groups_json, ...row } = found;
  const groups = ((typeof groups_json === 'string' ? JSON.parse(groups_json) : groups_json) ?? []) as { value: string; display: string }[];
  return { row: row as UserRow, values: valuesOf({ values_json }), groups };
}

/** A live user and their multi-valued attributes, in one statement. */
export async function getUserWithValues(db: Knex, id: string): Promise<{ row: UserRow; values: ValueRow[] } | undefined> {
  const found = await db('users').where({ id }).whereNull('deleted_at').first(...USER_COLUMNS, valuesColumn(db));
  if (!found) return undefined;
  const { values_json, ...row } = found;
  return { row: row as UserRow, values: valuesOf({ values_json }) };
}

/** Multi-valued attributes for a set of users, grouped by user id, in their original order. */
export async function loadValues(db: Knex, ids: string[]): Promise<Map<string, ValueRow[]>> {
  const out = new Map<string, ValueRow[]>();
  if (ids.length === 0) return out;
  const rows = await db('user_values').whereIn('user_id', ids).orderBy(['user_id', 'attr', 'position']);
  for (const r of rows) {
    const list = out.get(r.user_id) ?? [];
    list.push(r);
    out.set(r.user_id, list);
  }
  return out;
}

export async function replaceValues(tx: Knex.Transaction, userId: string, values: ValueRow[]): Promise<void> {
  await tx('user_values').where({ user_id: userId }).delete();
  await insertValues(tx, userId, values);
}

/** The multi-valued attributes of a user just inserted (nothing to replace), with their folds (store/fold.ts). */
export async function insertValues(tx: Knex.Transaction, userId: string, values: ValueRow[]): Promise<void> {
  if (values.length) await tx('user_values').insert(values.map((v) => foldValue({ ...v, user_id: userId })));
}

/**
 * The inserts of a new user and its multi-valued attributes, not yet run (every write of a user row goes through here
 * or updateUser, which store the folds filters compare, store/fold.ts): for writeWithAudit (store/audit.ts), which
 * sends them with their audit row in one statement on PostgreSQL.
 */
export function newUserInserts(tx: Knex.Transaction, row: UserRow, values: readonly ValueRow[]): Knex.QueryBuilder[] {
  const out = [tx('users').insert(foldUser(row))];
  if (values.length) out.push(tx('user_values').insert(values.map((v) => foldValue({ ...v, user_id: row.id }))));
  return out;
}

/**
 * Update a user only if it is still at `expectedVersion`: optimistic concurrency, so that two writers racing on one
 * user never silently overwrite each other. Returns false when the version moved.
 */
export async function updateUser(tx: Knex.Transaction, id: string, expectedVersion: number, patch: Partial<UserRow>): Promise<boolean> {
  return (await userUpdate(tx, id, expectedVersion, patch)) === 1;
}

/** updateUser's statement, not yet run: for updateWithAudit (store/audit.ts), which counts the rows it changed. */
export function userUpdate(tx: Knex.Transaction, id: string, expectedVersion: number, patch: Partial<UserRow>): Knex.QueryBuilder {
  return tx('users').where({ id, version: expectedVersion }).update(foldUser({ ...patch, version: expectedVersion + 1 }));
}

/**
 * Until commit, make every other transaction that calls this with the same `base` wait (PostgreSQL: a
 * transaction-scoped advisory lock). SQLite has a single connection, so its transactions already take turns.
 */
export async function lockUsernameBase(tx: Knex, base: string): Promise<void> {
  if (dialectOf(tx) === 'pg') await tx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`username:${base}`]);
}

/** Usernames already taken that start with `base`, to choose a free suffix in one query. */
export async function usernamesLike(db: Knex, base: string): Promise<Set<string>> {
  const esc = base.replace(/[\\%_]/g, (c) => `\\${c}`);
  const rows = await db('users').select('username').whereRaw("username LIKE ? ESCAPE '\\'", [`${esc}%`]).limit(10000);
  return new Set(rows.map((r: any) => r.username));
}

/** Revoke every live session of a user; returns how many were revoked. */
export async function revokeSessions(tx: Knex.Transaction, userId: string, at: number): Promise<number> {
  return tx('sessions').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: at });
}

/**
 * Lock these users' rows until commit and say which of them are live, re-read after any wait: membership changes,
 * user delete and (re)activation all serialise on the person they share (PostgreSQL, READ COMMITTED). Without it two
 * removals from two granting groups each still see the other's group_members row in their grant check, and a delete
 * misses a concurrent, uncommitted add. FOR NO KEY UPDATE conflicts with itself and with the UPDATE a delete or an
 * activation makes, not with the FOR KEY SHARE of foreign-key checks. Rows are locked in one global order (sorted
 * here, `COLLATE "C"` in the statement) so that transactions locking overlapping sets cannot deadlock each other.
 * SQLite has a single connection, so its transactions already run one after another: there it only reads liveness.
 */
export async function lockUsers(tx: Knex.Transaction, ids: Iterable<string>): Promise<Set<string>> {
  const live = new Set<string>();
  const sorted = [...new Set(ids)].sort();
  const pg = dialectOf(tx) === 'pg';
  for (const part of chunk(sorted)) {
    if (pg) {
      // After waiting for a concurrent writer, PostgreSQL returns the row's newest version: `live` is the committed truth.
      const rows = await rawRows<{ id: string; live: boolean }>(tx,
        `SELECT id, deleted_at IS NULL AS live FROM users WHERE id IN (${marks(part.length)}) ORDER BY id COLLATE "C" FOR NO KEY UPDATE`, part);
      for (const row of rows) if (row.live) live.add(row.id);
    } else {
      for (const row of await tx('users').select('id').whereIn('id', part).whereNull('deleted_at')) live.add(row.id);
    }
  }
  return live;
}

/** The id of a user named by id or else by userName (compared through its fold), deleted users included. */
export async function findUserId(db: Knex, ref: string): Promise<string | undefined> {
  const row = (await db('users').where({ id: ref }).first('id')) ?? (await db('users').where({ user_name_fold: fold(ref) }).orderBy('deleted_at', 'desc').first('id'));
  return row?.id;
}

export async function userExists(db: Knex, id: string): Promise<boolean> {
  return !!(await db('users').select('id').where({ id }).whereNull('deleted_at').first());
}

/** Hard purge: the only way a user row leaves the database (CLI only). Audit rows stay. */
export async function purgeUser(tx: Knex.Transaction, id: string): Promise<boolean> {
  await tx('users').where({ manager_id: id }).update({ manager_id: null });
  for (const t of ['team_members', 'channel_members', 'group_members', 'sessions', 'user_values']) await tx(t).where({ user_id: id }).delete();
  return (await tx('users').where({ id }).delete()) === 1;
}

/** Up to `limit` ids of people SCIM deleted before `before` (ms), after `after` in id order: what a bulk purge walks. */
export async function deletedUserIdPage(db: Knex, before: number, after: string | null, limit: number): Promise<string[]> {
  const q = db('users').whereNotNull('deleted_at').where('deleted_at', '<', before).orderBy('id').limit(limit).pluck('id');
  if (after !== null) q.where('id', '>', after);
  return (await q) as string[];
}

/** Up to `limit` user ids (deleted ones too) after `after` in id order: the pages a reconcile walks. */
export async function userIdPage(db: Knex, after: string | null, limit: number): Promise<string[]> {
  const q = db('users').orderBy('id').limit(limit).pluck('id');
  if (after !== null) q.where('id', '>', after);
  return (await q) as string[];
}

/** A person's system role and the IdP values behind their access (`roles`, `entitlements`), in stored order. */
export async function getUserAccess(db: Knex, id: string): Promise<{ systemRole: 'member' | 'admin' | 'guest'; roles: string[]; entitlements: string[] } | undefined> {
  const row = await db('users').where({ id }).first('system_role');
  if (!row) return undefined;
  const vals = await db('user_values').where({ user_id: id }).whereIn('attr', ['roles', 'entitlements']).orderBy(['attr', 'position']).select('attr', 'value');
  const of = (attr: string) => vals.filter((v) => v.attr === attr && v.value != null).map((v) => v.value as string);
  return { systemRole: row.system_role, roles: of('roles'), entitlements: of('entitlements') };
}
