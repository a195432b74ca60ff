/**
 * Index for the admin's people search (GET /admin/v1/users, `cli user list`, src/store/people.ts): people by userName
 * (folded) and then id, the keyset its pages continue from. The unique index on user_name_fold covers live people only
 * and cannot order ties (deleted people may share a userName), so without this each page would sort the table.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX users_people_order ON users (user_name_fold, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_people_order');
}
