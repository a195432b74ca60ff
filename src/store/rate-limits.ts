/**
 * Token buckets shared by every instance on one PostgreSQL database (table `rate_limits`,
 * migrations/20261122_004_rate_limits.ts): one row per key, the tokens left at `updated_at` (database clock, ms).
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';

/** Whether buckets can be shared here: PostgreSQL serves several instances; SQLite one, which keeps them in memory. */
export const sharedBuckets = (db: Knex): boolean => dialectOf(db) === 'pg';

/**
 * One atomic upsert (row lock, database clock): refill the bucket by the time elapsed at `rate` per second up to
 * `burst`, and take up to `n` whole tokens. Returns how many were granted and how many the bucket has left.
 */
export async function reserveTokens(db: Knex, key: string, want: number, perSecond: number, capacity: number): Promise<{ granted: number; left: number }> {
  // Written into the statement as numbers (the key is the only binding): the same text for every request.
  const [n, rate, burst] = [Number(want), Number(perSecond), Number(capacity)];
  const now = 'CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint)';
  const refilled = `LEAST(${burst}, r.tokens + GREATEST(0, ${now} - r.updated_at) * ${rate} / 1000.0)`;
  const grant = `LEAST(${n}, FLOOR(${refilled}))`;
  const res: any = await db.raw(
    `INSERT INTO rate_limits AS r (key, tokens, updated_at, last_grant) VALUES (?, ${burst - n}, ${now}, ${n})
     ON CONFLICT (key) DO UPDATE SET tokens = ${refilled} - ${grant}, last_grant = CAST(${grant} AS integer),
       updated_at = GREATEST(r.updated_at, ${now})
     RETURNING tokens, last_grant`,
    [key],
  );
  const row = res.rows[0];
  return { granted: Number(row.last_grant), left: Number(row.tokens) };
}
