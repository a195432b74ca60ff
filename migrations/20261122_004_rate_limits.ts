/**
 * Shared token buckets for per-token rate limiting across instances on PostgreSQL (src/http/rate-limit.ts).
 * One row per bucket key: the tokens left at `updated_at` (ms, database clock) and how many the last reservation got.
 * Created on SQLite too (same schema everywhere), where a single instance keeps its buckets in memory instead.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 200).primary();
    t.double('tokens').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.integer('last_grant').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('rate_limits');
}
