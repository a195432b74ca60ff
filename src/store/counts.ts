/** Live (not soft-deleted) users and groups, as kept by triggers (migrations/20261123_006_live_counts.ts). */
import type { Knex } from 'knex';

export async function liveCount(db: Knex, resourceType: 'User' | 'Group'): Promise<number> {
  const [{ n }] = await db('live_counts').where({ resource_type: resourceType }).sum({ n: 'n' });
  return Number(n ?? 0);
}

export interface WorkspaceCounts {
  people: { active: number; deactivated: number; deleted: number };
  groups: number;
  teams: number;
  channels: number;
}

const n = (r: unknown): number => Number((r as { n?: number | string } | undefined)?.n ?? 0);

/**
 * What the console's overview shows: people by state (live and active, live and deactivated, SCIM-deleted), live
 * groups, teams not archived, and channels not archived in teams not archived (archiving a team leaves its channels'
 * rows as they were). Aggregates over each table (one statement each, run together).
 */
export async function workspaceCounts(db: Knex): Promise<WorkspaceCounts> {
  const [people, deleted, groups, teams, channels] = await Promise.all([
    db('users').whereNull('deleted_at').groupBy('active').select('active', db.raw('count(*) as n')),
    db('users').whereNotNull('deleted_at').count({ n: '*' }).first(),
    db('groups').whereNull('deleted_at').count({ n: '*' }).first(),
    db('teams').whereNull('archived_at').count({ n: '*' }).first(),
    db('channels as c').join('teams as t', 't.id', 'c.team_id').whereNull('c.archived_at').whereNull('t.archived_at').count({ n: '*' }).first(),
  ]);
  let active = 0;
  let deactivated = 0;
  // SQLite answers 1/0, PostgreSQL true/false.
  for (const r of people as { active: unknown; n: number | string }[]) {
    if (r.active === true || r.active === 1 || r.active === '1') active += Number(r.n);
    else deactivated += Number(r.n);
  }
  return { people: { active, deactivated, deleted: n(deleted) }, groups: n(groups), teams: n(teams), channels: n(channels) };
}
