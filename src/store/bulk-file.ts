/**
 * The reads and batched writes of Mattermost bulk-import files (src/workspace/bulk-file/): keyset pages of everything
 * an export writes, so memory stays flat however large the workspace, and the multi-row lookups and inserts an import
 * makes per batch of people, so 100,000 people are a few hundred statements, not a few hundred thousand round trips.
 */
import type { Knex } from 'knex';
import { foldUser, foldValue } from './fold.js';
import { chunk } from './sql.js';
import type { UserRow, ValueRow } from './users.js';
import type { SyncableKind } from './workspace.js';

type Db = Knex | Knex.Transaction;

// ---- export -----------------------------------------------------------------------------------------------------

export interface ExportChannelRow { id: string; team_name: string; name: string; display_name: string; type: 'O' | 'P'; archived_at: number | string | null }

/** Channels of live teams (archived channels too), by team name then name, after `after`. */
export async function exportChannelPage(db: Db, after: { team: string; name: string } | null, limit: number): Promise<ExportChannelRow[]> {
  const q = db('channels as c').join('teams as t', 't.id', 'c.team_id').whereNull('t.archived_at')
    .orderBy([{ column: 't.name' }, { column: 'c.name' }]).limit(limit)
    .select('c.id', 't.name as team_name', 'c.name', 'c.display_name', 'c.type', 'c.archived_at');
  if (after) q.whereRaw('(t.name, c.name) > (?, ?)', [after.team, after.name]);
  return q;
}

export type ExportUserRow = Pick<UserRow, 'id' | 'external_id' | 'user_name' | 'username' | 'email' | 'first_name' | 'last_name' | 'nickname' | 'position' | 'locale' | 'active' | 'deactivated_at' | 'updated_at' | 'system_role'>;

/** People SCIM can see (not deleted), by id, after `after`. */
export async function exportUserPage(db: Db, after: string | null, limit: number): Promise<ExportUserRow[]> {
  const q = db('users').whereNull('deleted_at').orderBy('id').limit(limit)
    .select('id', 'external_id', 'user_name', 'username', 'email', 'first_name', 'last_name', 'nickname', 'position', 'locale', 'active', 'deactivated_at', 'updated_at', 'system_role');
  if (after !== null) q.where('id', '>', after);
  return q;
}

export async function countLiveUsers(db: Db): Promise<number> {
  const [r] = await db('users').whereNull('deleted_at').count({ n: '*' });
  return Number(r?.n ?? 0);
}

export interface ExportMembership { user_id: string; syncable_id: string; scheme_admin: boolean | number }

/**
 * The live team and channel memberships of these people, by the user index alone: the caller knows the teams and
 * channels it wrote and drops memberships of others (archived). Joined with teams and channels instead, PostgreSQL
 * may walk each channel's members for every page (a fresh import not yet analyzed: 140 ms a page of 500).
 */
export async function exportMemberships(db: Db, userIds: string[]): Promise<{ teams: ExportMembership[]; channels: ExportMembership[] }> {
  const teams: ExportMembership[] = [];
  const channels: ExportMembership[] = [];
  for (const part of chunk(userIds)) {
    teams.push(...await db('team_members').whereIn('user_id', part).whereNull('removed_at').select('user_id', 'team_id as syncable_id', 'scheme_admin'));
    channels.push(...await db('channel_members').whereIn('user_id', part).whereNull('removed_at').select('user_id', 'channel_id as syncable_id', 'scheme_admin'));
  }
  return { teams, channels };
}

// ---- import -----------------------------------------------------------------------------------------------------

export interface KnownUser {
  id: string; email: string | null; username: string; user_name: string; external_id: string | null;
  deleted_at: number | string | null; pending_binding_since: number | string | null;
}
const KNOWN = ['id', 'email', 'username', 'user_name', 'external_id', 'deleted_at', 'pending_binding_since'];

/** Everyone (deleted people too) whose email is one of `emails` (stored lower-cased). */
export async function usersByEmails(db: Db, emails: string[]): Promise<KnownUser[]> {
  const out: KnownUser[] = [];
  for (const part of chunk(emails)) out.push(...await db('users').whereIn('email', part).select(KNOWN));
  return out;
}

/** Everyone holding one of these workspace usernames (unique over every row, deleted ones included). */
export async function usersByUsernames(db: Db, usernames: string[]): Promise<KnownUser[]> {
  const out: KnownUser[] = [];
  for (const part of chunk(usernames)) out.push(...await db('users').whereIn('username', part).select(KNOWN));
  return out;
}

/** Live people whose SCIM userName folds to one of `folds` (unique among live people: users_user_name_active). */
export async function usersByUserNameFolds(db: Db, folds: string[]): Promise<(KnownUser & { user_name_fold: string })[]> {
  const out: (KnownUser & { user_name_fold: string })[] = [];
  for (const part of chunk(folds)) out.push(...await db('users').whereIn('user_name_fold', part).whereNull('deleted_at').select([...KNOWN, 'user_name_fold']));
  return out;
}

/** Rows per multi-row INSERT of users: ~46 columns each, well under SQLite's 32,766 and PostgreSQL's 65,535 binds. */
const USER_ROWS = 200;

/** New people and their multi-valued attributes, with the folds every user write stores (store/fold.ts). */
export async function insertUsers(tx: Knex.Transaction, rows: UserRow[], values: (ValueRow & { user_id: string })[]): Promise<void> {
  for (const part of chunk(rows, USER_ROWS)) await tx('users').insert(part.map((r) => foldUser(r)));
  for (const part of chunk(values, USER_ROWS)) await tx('user_values').insert(part.map((v) => foldValue(v)));
}

const MEMBERS = { team: 'team_members', channel: 'channel_members' } as const;
const KEY = { team: 'team_id', channel: 'channel_id' } as const;

/** The membership rows (live or tombstoned) among these people in these teams or channels, keyed `syncable:user`. */
export async function memberRows(db: Db, kind: SyncableKind, syncableIds: string[], userIds: string[]): Promise<Map<string, { removed: boolean }>> {
  const out = new Map<string, { removed: boolean }>();
  if (!syncableIds.length || !userIds.length) return out;
  const ids = [...new Set(syncableIds)];
  for (const part of chunk([...new Set(userIds)])) {
    for (const sPart of chunk(ids)) {
      const rows = await db(MEMBERS[kind]).whereIn('user_id', part).whereIn(KEY[kind], sPart).select(KEY[kind], 'user_id', 'removed_at');
      for (const r of rows) out.set(`${r[KEY[kind]]}:${r.user_id}`, { removed: r.removed_at != null });
    }
  }
  return out;
}

export interface NewMember { syncableId: string; userId: string; schemeAdmin: boolean }

/** New memberships in one multi-row INSERT per 500. */
export async function insertMembers(tx: Knex.Transaction, kind: SyncableKind, rows: NewMember[], addedBy: string, now: number): Promise<void> {
  for (const part of chunk(rows)) {
    await tx(MEMBERS[kind]).insert(part.map((m) => ({
      [KEY[kind]]: m.syncableId, user_id: m.userId, scheme_admin: m.schemeAdmin, created_at: now, updated_at: now, added_by: addedBy, removed_at: null, removed_by: null,
    })));
  }
}

/**
 * After a large import, PostgreSQL's statistics still describe the tables before it until autovacuum gets to them:
 * until then the planner may take a table of 600,000 memberships for an empty one and scan it for every page of an
 * export or a sync (pg_restore's advice for a bulk load is the same). SQLite's planner needs no statistics for these.
 */
export async function analyzeAfterImport(db: Knex): Promise<void> {
  if (db.client.config.client !== 'pg') return;
  await db.raw('ANALYZE users, user_values, teams, channels, team_members, channel_members');
}
