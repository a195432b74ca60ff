/**
 * Groups repository. Membership changes are targeted statements on (group_id, user_id) that return exactly the rows
 * they changed, so their cost depends on the members named, never on the size of the group.
 *
 * Every membership change first locks the rows of the users it changes (store/users.ts `lockUsers`), so it runs after
 * any concurrent change, delete or (re)activation of the same person and its sync sees their outcome.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import { lockUsers } from './users.js';
import { foldGroup } from './fold.js';
import { chunk, marks, rawRows } from './sql.js';

export interface GroupRow {
  id: string;
  external_id: string | null;
  display_name: string;
  created_at: number | string;
  updated_at: number | string;
  deleted_at: number | string | null;
  version: number;
}

/**
 * Distinct ids in one fixed order: concurrent statements on the same (group, user) rows then take their row locks in
 * the same order and cannot deadlock each other (two PATCHes naming the same members in opposite orders).
 */
export const lockOrder = (ids: string[]): string[] => [...new Set(ids)].sort();

/**
 * `forUpdate` (inside a transaction) locks the group row until commit, so concurrent writers to one group queue on
 * the row instead of failing their version check (PostgreSQL; SQLite's single connection serialises anyway).
 * `forKeyShare` takes the weakest row lock, the one a member insert's foreign-key check takes anyway: commutative
 * member changes do not block each other with it, but it waits for a writer holding the row `forUpdate`. Taken before
 * their user locks, it makes every member change lock in one order, group row then users, so none deadlock.
 */
export async function getGroup(db: Knex, id: string, opts: { includeDeleted?: boolean; forUpdate?: boolean; forKeyShare?: boolean } = {}): Promise<GroupRow | undefined> {
  const q = db<GroupRow>('groups').where({ id });
  if (!opts.includeDeleted) q.whereNull('deleted_at');
  if (opts.forUpdate) q.forUpdate();
  else if (opts.forKeyShare && dialectOf(db) === 'pg') q.forKeyShare();
  return q.first();
}

export async function getGroupByExternalId(db: Knex, externalId: string): Promise<GroupRow | undefined> {
  return db<GroupRow>('groups').where({ external_id: externalId }).first();
}

/** With the fold of displayName (store/fold.ts), as updateGroup: the only writes of groups.display_name. */
export async function insertGroup(tx: Knex.Transaction, row: GroupRow): Promise<void> {
  await tx('groups').insert(foldGroup(row));
}

/** Conditional on the version read (optimistic concurrency); false when another writer got there first. */
export async function updateGroup(tx: Knex.Transaction, id: string, expectedVersion: number, patch: Partial<GroupRow>): Promise<boolean> {
  return (await tx('groups').where({ id, version: expectedVersion }).update(foldGroup({ ...patch, version: expectedVersion + 1 }))) === 1;
}

/**
 * Bump the version of a live group (conditional on `expectedVersion` when given) and return the new row, or undefined
 * when the group is gone or moved on. Called last in a transaction, so the row lock it takes is held only to commit.
 */
export async function bumpGroup(tx: Knex.Transaction, id: string, patch: Partial<GroupRow>, expectedVersion?: number): Promise<GroupRow | undefined> {
  const q = tx<GroupRow>('groups').where({ id }).whereNull('deleted_at');
  if (expectedVersion !== undefined) q.where({ version: expectedVersion });
  const rows = await q.update({ ...patch, version: tx.raw('version + 1') } as any).returning('*');
  return (rows as GroupRow[])[0];
}

/** Which of these ids are live users; the rest are unknown. */
export async function liveUserIds(db: Knex, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunk([...new Set(ids)])) {
    const rows = await db('users').select('id').whereIn('id', part).whereNull('deleted_at');
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/**
 * Add members; returns the ids that were not members before. Ids that are not live users once locked (a delete
 * committed first) come back as `unknown`, and then nothing is added.
 */
export async function addMembers(tx: Knex.Transaction, groupId: string, userIds: string[], now: number): Promise<{ added: string[]; unknown: string[] }> {
  const live = await lockUsers(tx, userIds);
  const unknown = userIds.filter((id) => !live.has(id));
  if (unknown.length) return { added: [], unknown };
  const added: string[] = [];
  for (const part of chunk(lockOrder(userIds))) {
    const rows = await tx('group_members')
      .insert(part.map((user_id) => ({ group_id: groupId, user_id, created_at: now })))
      .onConflict(['group_id', 'user_id']).ignore()
      .returning('user_id');
    for (const r of rows as any[]) added.push(typeof r === 'string' ? r : r.user_id);
  }
  return { added, unknown: [] };
}

/** Remove these members; returns the ids that were members. */
export async function removeMembers(tx: Knex.Transaction, groupId: string, userIds: string[]): Promise<string[]> {
  if (dialectOf(tx) === 'pg') await lockUsers(tx, userIds);
  const removed: string[] = [];
  for (const part of chunk(lockOrder(userIds))) {
    const rows = await rawRows<{ user_id: string }>(tx,
      `DELETE FROM group_members WHERE group_id = ? AND user_id IN (${marks(part.length)}) RETURNING user_id`, [groupId, ...part]);
    for (const r of rows) removed.push(r.user_id);
  }
  return removed;
}

/**
 * Remove every member (RFC 7644 §3.5.2.2 remove of `members` without a filter). The caller holds the group row
 * `forUpdate`, so no member can join meanwhile (a member insert's foreign-key check waits for that lock): the members
 * read here are the ones the DELETE removes, and they are locked before it, as a user delete locks its user before
 * deleting its memberships (locking after the DELETE would deadlock with it).
 */
export async function clearMembers(tx: Knex.Transaction, groupId: string): Promise<string[]> {
  const pg = dialectOf(tx) === 'pg';
  const locked = pg ? new Set((await tx('group_members').where({ group_id: groupId }).pluck('user_id')) as string[]) : new Set<string>();
  if (pg) await lockUsers(tx, locked);
  const rows = await rawRows<{ user_id: string }>(tx, 'DELETE FROM group_members WHERE group_id = ? RETURNING user_id', [groupId]);
  const removed = rows.map((r) => r.user_id);
  if (pg) await lockUsers(tx, removed.filter((id) => !locked.has(id)));
  return removed;
}

/**
 * Make the member set exactly `userIds`, with the difference computed by the database: the new set is staged in a
 * temporary table, then one DELETE ... NOT EXISTS and one INSERT ... SELECT apply it. On PostgreSQL the people who
 * will join or leave are read first and locked (only they: a PUT that changes one member of 100,000 locks one user);
 * those about to join who are no longer live users come back as `unknown`, and then nothing is applied. The caller
 * holds the group row (`forUpdate`, or a group it is creating), so nobody else adds members meanwhile.
 */
export async function replaceMembers(tx: Knex.Transaction, groupId: string, userIds: string[], now: number): Promise<{ added: string[]; removed: string[]; unknown: string[] }> {
  const pg = dialectOf(tx) === 'pg';
  await tx.raw(pg
    ? 'CREATE TEMP TABLE IF NOT EXISTS member_set (user_id varchar(36) PRIMARY KEY) ON COMMIT DELETE ROWS'
    : 'CREATE TEMP TABLE IF NOT EXISTS member_set (user_id varchar(36) PRIMARY KEY)');
  await tx.raw('DELETE FROM member_set');
  for (const part of chunk([...new Set(userIds)])) await tx('member_set').insert(part.map((user_id) => ({ user_id })));
  const locked = new Set<string>();
  if (pg) {
    const leaving = await tx('group_members as gm').where('gm.group_id', groupId)
      .whereNotExists((q) => q.select(tx.raw('1')).from('member_set as s').whereRaw('s.user_id = gm.user_id')).pluck('gm.user_id');
    const joining = await tx('member_set as s')
      .whereNotExists((q) => q.select(tx.raw('1')).from('group_members as gm').where('gm.group_id', groupId).whereRaw('gm.user_id = s.user_id')).pluck('s.user_id');
    for (const id of [...leaving, ...joining]) locked.add(id);
    const live = await lockUsers(tx, locked);
    const unknown = (joining as string[]).filter((id) => !live.has(id));
    if (unknown.length) {
      await tx.raw('DELETE FROM member_set');
      return { added: [], removed: [], unknown };
    }
  }
  const removed = await rawRows<{ user_id: string }>(tx,
    'DELETE FROM group_members WHERE group_id = ? AND NOT EXISTS (SELECT 1 FROM member_set s WHERE s.user_id = group_members.user_id) RETURNING user_id', [groupId]);
  const added = await rawRows<{ user_id: string }>(tx,
    `INSERT INTO group_members (group_id, user_id, created_at) SELECT ?, s.user_id, ? FROM member_set s WHERE true
     ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id`, [groupId, now]);
  await tx.raw('DELETE FROM member_set');
  const result = { added: added.map((r) => r.user_id), removed: removed.map((r) => r.user_id), unknown: [] as string[] };
  if (pg) {
    // A kept member whose row a concurrent user delete removed since the read above was inserted again: lock them
    // now and refuse them if they are gone (the transaction rolls back).
    const stray = result.added.filter((id) => !locked.has(id));
    if (stray.length) {
      const live = await lockUsers(tx, stray);
      result.unknown = stray.filter((id) => !live.has(id));
    }
  }
  return result;
}

export interface MemberRef { value: string; display: string | null }

/** Members of the given groups, with a display name from the user. Only called when members are wanted. */
export async function loadMembers(db: Knex, groupIds: string[]): Promise<Map<string, MemberRef[]>> {
  const out = new Map<string, MemberRef[]>();
  if (!groupIds.length) return out;
  const rows = await db('group_members as gm')
    .join('users as u', 'u.id', 'gm.user_id')
    .whereIn('gm.group_id', groupIds)
    .select('gm.group_id', 'gm.user_id', 'u.display_name', 'u.user_name')
    .orderBy(['gm.group_id', 'gm.created_at', 'gm.user_id']);
  for (const r of rows) {
    let list = out.get(r.group_id);
    if (!list) out.set(r.group_id, (list = []));
    list.push({ value: r.user_id, display: r.display_name ?? r.user_name });
  }
  return out;
}

/**
 * Members of one group in pages ordered by user id (keyset, so each page is an index range): a 100,000-member group
 * is never held in memory as rows.
 */
export async function* memberPages(db: Knex, groupId: string, size = 5000): AsyncGenerator<MemberRef[]> {
  let after = '';
  for (;;) {
    const rows = await db('group_members as gm')
      .join('users as u', 'u.id', 'gm.user_id')
      .where('gm.group_id', groupId).andWhere('gm.user_id', '>', after)
      .select('gm.user_id', 'u.display_name', 'u.user_name')
      .orderBy('gm.user_id').limit(size);
    if (!rows.length) return;
    yield rows.map((r: any) => ({ value: r.user_id, display: r.display_name ?? r.user_name }));
    if (rows.length < size) return;
    after = rows[rows.length - 1].user_id;
  }
}

/** The groups a user is a member of, in id order. */
export async function groupIdsOfMember(db: Knex, userId: string): Promise<string[]> {
  return (await db('group_members').where({ user_id: userId }).orderBy('group_id').pluck('group_id')) as string[];
}

/**
 * Lock the groups a user is a member of, in id order, with the weak key-share lock a commutative member change takes
 * (getGroup `forKeyShare`): a user delete, which bumps the version of each of its groups after locking the user, then
 * takes its locks group rows first, then the user, in the order of every member change, and cannot deadlock with a
 * writer that holds a group `forUpdate` while it waits for that user. PostgreSQL only; SQLite serialises anyway.
 */
export async function lockGroupsOfMember(tx: Knex.Transaction, userId: string): Promise<void> {
  if (dialectOf(tx) !== 'pg') return;
  await tx('groups').whereIn('id', tx('group_members').select('group_id').where({ user_id: userId })).orderBy('id').forKeyShare().pluck('id');
}
