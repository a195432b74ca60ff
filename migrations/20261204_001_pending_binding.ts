/**
 * People adopted from a Mattermost bulk-import file (`cli import mattermost`) exist before any IdP has sent them:
 * `pending_binding_since` is when the import created them, and stays set until an IdP sends their externalId (a SCIM
 * POST whose primary email is theirs binds them instead of answering 409; a PUT or PATCH that sets externalId clears
 * it). NULL for everyone the IdP provisioned. The partial index finds the pending person with an email at POST time.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => { t.bigInteger('pending_binding_since').nullable(); });
  await knex.raw('CREATE INDEX users_pending_binding ON users (email) WHERE pending_binding_since IS NOT NULL AND deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_pending_binding');
  await knex.raw('ALTER TABLE users DROP COLUMN pending_binding_since');
}
