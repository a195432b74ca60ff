/**
 * Index for the default list order (created_at, id) of live rows, so paging through 100,000 users reads an index
 * range instead of sorting the table for every page (docs/benchmarks.md).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX users_live_order ON users (created_at, id) WHERE deleted_at IS NULL');
  await knex.raw('CREATE INDEX groups_live_order ON groups (created_at, id) WHERE deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_live_order');
  await knex.raw('DROP INDEX IF EXISTS groups_live_order');
}
