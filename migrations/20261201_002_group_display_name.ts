/**
 * SCIM group displayName is not unique: RFC 7643 §4.2 gives it uniqueness "none", and Entra ID lets two groups be
 * named "Sales" (a second POST got 409 here, so the IdP could never provision it). The unique index on live display
 * names goes; a plain index on the folded name (migration 001) serves `displayName eq` lookups and the mapping file's
 * displayName rules. externalId stays unique for life.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS groups_display_name_active');
  await knex.raw('CREATE INDEX IF NOT EXISTS groups_display_name_live ON groups (display_name_fold) WHERE deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS groups_display_name_live');
  // Fails while two live groups share a name, which is the state this migration allows.
  await knex.raw('CREATE UNIQUE INDEX groups_display_name_active ON groups (display_name_fold) WHERE deleted_at IS NULL');
}
