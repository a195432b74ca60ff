/** Live (not soft-deleted) users and groups, as kept by triggers (migrations/20261123_006_live_counts.ts). */
import type { Knex } from 'knex';

export async function liveCount(db: Knex, resourceType: 'User' | 'Group'): Promise<number> {
  const [{ n }] = await db('live_counts').where({ resource_type: resourceType }).sum({ n: 'n' });
  return Number(n ?? 0);
}
