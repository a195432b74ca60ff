/**
 * The admin's people search ("who is in this team?", "show me this person"): users filtered by state, by live team,
 * channel or group membership and by a search term, ordered by userName (folded, store/fold.ts) and then id, and paged
 * by that keyset (migration 20261207_001_people_order indexes it), so a page is an index range and a walk through
 * every page neither skips nor repeats a person. Deleted people are included only when asked for: they keep their
 * record and history (SCIM DELETE is a soft delete, src/scim/use-cases/user-lifecycle.ts).
 */
import type { Knex } from 'knex';
import { fold } from './fold.js';

type Millis = number | string;

export interface PersonRow {
  id: string; user_name: string; user_name_fold: string; username: string; external_id: string | null;
  display_name: string | null; email: string | null; active: boolean | number; system_role: 'member' | 'admin' | 'guest' | null;
  deleted_at: Millis | null; created_at: Millis; updated_at: Millis;
}

export interface PeopleQuery {
  active?: boolean | undefined;
  /** Only deleted people (true), only people not deleted (false, the default). */
  deleted?: boolean | undefined;
  /** Live members (removed_at IS NULL) of this team, channel, group (resolved ids). */
  teamId?: string | undefined;
  channelId?: string | undefined;
  groupId?: string | undefined;
  /** A substring (or, with `prefix`, a prefix) of the userName, displayName or primary email, compared folded. */
  search?: { text: string; prefix: boolean } | undefined;
  /** The page after this (user_name_fold, id). */
  after?: { userName: string; id: string } | undefined;
  limit: number;
}

const COLUMNS = [
  'users.id', 'users.user_name', 'users.user_name_fold', 'users.username', 'users.external_id', 'users.display_name', 'users.email',
  'users.active', 'users.system_role', 'users.deleted_at', 'users.created_at', 'users.updated_at',
];

/** `%` and `_` match themselves (LIKE's wildcards, escaped with `\`). */
const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The search's statement (exported so a test can ask the database how it plans it). A membership filter is a join on
 * the membership table's primary key, (team_id, user_id) and the like: at most one row per person, so no duplicates,
 * and the planner starts from the team's members instead of walking every user; a page of it then sorts that team's
 * members by userName, so its cost is the team's size, not the workspace's. Unfiltered (or state-filtered) pages
 * read users_people_order from the cursor on and stop at `limit`. A search term is a LIKE the planner cannot seek
 * (a substring), so it reads users in userName order until it has a page: bounded by the term's length cap and
 * `limit`, and by the workspace's size when few people match.
 */
export function peopleSearch(db: Knex, q: PeopleQuery): Knex.QueryBuilder {
  const qb = db('users').select(COLUMNS).orderBy([{ column: 'users.user_name_fold' }, { column: 'users.id' }]).limit(Math.min(q.limit, 1000));
  if (q.deleted === true) qb.whereNotNull('users.deleted_at');
  else qb.whereNull('users.deleted_at');
  if (q.active !== undefined) qb.where('users.active', q.active);
  if (q.teamId !== undefined) qb.join('team_members as tm', 'tm.user_id', 'users.id').where('tm.team_id', q.teamId).whereNull('tm.removed_at');
  if (q.channelId !== undefined) qb.join('channel_members as cm', 'cm.user_id', 'users.id').where('cm.channel_id', q.channelId).whereNull('cm.removed_at');
  if (q.groupId !== undefined) qb.join('group_members as gm', 'gm.user_id', 'users.id').where('gm.group_id', q.groupId);
  if (q.search) {
    // Folded on both sides, so LIKE's own case rules (ASCII-insensitive on SQLite, sensitive on PostgreSQL) never apply.
    const t = likeEscape(fold(q.search.text));
    const pattern = q.search.prefix ? `${t}%` : `%${t}%`;
    qb.where((w) => {
      for (const c of ['users.user_name_fold', 'users.display_name_fold', 'users.email']) w.orWhereRaw(`${c} LIKE ? ESCAPE '\\'`, [pattern]);
    });
  }
  if (q.after) qb.whereRaw('(users.user_name_fold, users.id) > (?, ?)', [q.after.userName, q.after.id]);
  return qb;
}

export async function listPeople(db: Knex, q: PeopleQuery): Promise<PersonRow[]> {
  return (await peopleSearch(db, q)) as PersonRow[];
}

/**
 * Everyone a key could name, by id, externalId or userName (folded; deleted people keep theirs, and several may share
 * one), at most `limit` rows: the use-case decides which way the key was meant and refuses when it names two people.
 */
export async function peopleByKey(db: Knex, key: string, ways: { id: boolean; externalId: boolean; userName: boolean }, limit = 20): Promise<PersonRow[]> {
  const qb = db('users').select(COLUMNS).orderBy([{ column: 'users.created_at' }, { column: 'users.id' }]).limit(limit);
  qb.where((w) => {
    if (ways.id) w.orWhere('users.id', key);
    if (ways.externalId) w.orWhere('users.external_id', key);
    if (ways.userName) w.orWhere('users.user_name_fold', fold(key));
  });
  return (await qb) as PersonRow[];
}

export interface PersonGroupRow { id: string; external_id: string | null; display_name: string; created_at: Millis }

/** The live groups a person is a member of, by displayName, with when they joined (at most `limit`). */
export async function groupMembershipsOf(db: Knex, userId: string, limit = 1000): Promise<PersonGroupRow[]> {
  return db('group_members as gm').join('groups as g', 'g.id', 'gm.group_id').whereNull('g.deleted_at').where('gm.user_id', userId)
    .select('g.id', 'g.external_id', 'g.display_name', 'gm.created_at').orderBy([{ column: 'g.display_name_fold' }, { column: 'g.id' }]).limit(limit);
}
