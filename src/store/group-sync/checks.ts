/**
 * Point checks of the sync rules for one person and one team or channel, used by manual membership changes: the
 * same predicates the engine's set-based statements use (src/store/group-sync/rules.ts), so the two can never disagree.
 */
import type { Knex } from 'knex';
import { bool } from '../db.js';
import { adminOfChannel, adminOfTeam, grantsChannel, grantsTeam } from './rules.js';
import { rawRows } from '../sql.js';

type Kind = 'team' | 'channel';

async function ask(db: Knex | Knex.Transaction, predicate: string, syncableId: string, userId: string): Promise<boolean> {
  const rows = await rawRows<{ ok: unknown }>(db, `SELECT ${predicate} AS ok`, [userId, syncableId]);
  return bool(rows[0]?.ok);
}

/** Some live group linked to the team/channel holds the person (what a constrained syncable admits). */
export function permittedByLinks(db: Knex | Knex.Transaction, kind: Kind, syncableId: string, userId: string): Promise<boolean> {
  // The predicates bind the user before the syncable (join condition, then WHERE).
  return ask(db, kind === 'team' ? grantsTeam('?', '?') : grantsChannel('?', '?'), syncableId, userId);
}

/** The person is in a live group linked with scheme_admin. */
export function adminByLinks(db: Knex | Knex.Transaction, kind: Kind, syncableId: string, userId: string): Promise<boolean> {
  return ask(db, kind === 'team' ? adminOfTeam('?', '?') : adminOfChannel('?', '?'), syncableId, userId);
}

/**
 * Whether the group is linked to a team or a channel. Every rule of a membership change is scoped to the group's own
 * links (rules.ts: `group_teams`/`group_channels` of `t.groupId`), so for a group without links there is nothing to
 * do, and this one query replaces the four or five set-based statements that would each change nothing.
 */
export async function isGroupLinked(db: Knex | Knex.Transaction, groupId: string): Promise<boolean> {
  const row = await db.first(db.raw(
    '(EXISTS (SELECT 1 FROM group_teams WHERE group_id = ?) OR EXISTS (SELECT 1 FROM group_channels WHERE group_id = ?)) AS linked',
    [groupId, groupId],
  ));
  return bool(row?.linked);
}
