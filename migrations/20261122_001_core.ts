/**
 * Identity core: API tokens, users (with their multi-valued attributes), workspace sessions and the audit log.
 * Runs unchanged on SQLite and PostgreSQL; uniqueness lives in indexes so races are settled by the database.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';

  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('name', 100).notNullable();
    t.string('scope', 16).notNullable(); // 'scim' | 'admin'
    t.string('token_hash', 64).notNullable().unique('api_tokens_hash_unique');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
  });

  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.text('external_id').nullable();
    t.text('user_name').notNullable(); // SCIM userName exactly as sent
    t.string('username', 64).notNullable().unique('users_username_unique'); // workspace handle, sanitised
    t.text('email').nullable(); // primary email, lower-cased
    t.text('display_name').nullable();
    t.text('first_name').nullable();
    t.text('last_name').nullable();
    t.text('formatted_name').nullable();
    t.text('nickname').nullable();
    t.text('position').nullable(); // SCIM title
    t.text('user_type').nullable();
    t.text('preferred_language').nullable();
    t.string('locale', 16).nullable();
    t.text('timezone').nullable();
    t.text('profile_url').nullable();
    t.text('employee_number').nullable();
    t.text('department').nullable();
    t.text('cost_center').nullable();
    t.text('organization').nullable();
    t.text('division').nullable();
    t.string('manager_id', 36).nullable();
    t.text('extra').nullable(); // JSON: attributes kept for round-trip only (addresses, name.middleName, ...)
    t.boolean('active').notNullable().defaultTo(true);
    t.bigInteger('deactivated_at').nullable();
    t.bigInteger('deleted_at').nullable(); // SCIM DELETE: 404 to SCIM, record and history kept
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.index(['manager_id'], 'users_manager_idx');
    t.index(['updated_at'], 'users_updated_idx');
    t.index(['created_at'], 'users_created_idx');
  });
  // externalId binds an identity for life, deleted or not, so a re-POST finds the same person.
  await knex.raw('CREATE UNIQUE INDEX users_external_id_unique ON users (external_id) WHERE external_id IS NOT NULL');
  // userName (caseExact=false) and email are unique among accounts SCIM can see.
  await knex.raw('CREATE UNIQUE INDEX users_user_name_active ON users (lower(user_name)) WHERE deleted_at IS NULL');
  await knex.raw('CREATE UNIQUE INDEX users_email_active ON users (email) WHERE deleted_at IS NULL AND email IS NOT NULL');
  await knex.raw('CREATE INDEX users_user_name_sort ON users (user_name)');

  await knex.schema.createTable('user_values', (t) => {
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('attr', 32).notNullable(); // emails | phoneNumbers | ims | photos | roles | entitlements
    t.integer('position').notNullable();
    t.text('value').nullable();
    t.text('type').nullable();
    t.text('display').nullable();
    t.boolean('primary').notNullable().defaultTo(false);
    t.primary(['user_id', 'attr', 'position']);
  });
  await knex.raw('CREATE INDEX user_values_lookup ON user_values (attr, lower(value))');

  await knex.schema.createTable('sessions', (t) => {
    t.string('id', 36).primary();
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique('sessions_hash_unique');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.index(['user_id'], 'sessions_user_idx');
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('at').notNullable();
    t.string('actor', 140).notNullable();
    t.string('request_id', 100).nullable();
    t.string('operation', 64).notNullable();
    t.string('resource_type', 32).notNullable();
    t.string('resource_id', 36).nullable();
    t.text('cause').nullable();
    t.text('before').nullable();
    t.text('after').nullable();
    t.index(['resource_type', 'resource_id'], 'audit_resource_idx');
    t.index(['request_id'], 'audit_request_idx');
  });
  // Append-only, enforced by the database itself, not by convention.
  if (pg) {
    await knex.raw(`CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql`);
    await knex.raw(`CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
  } else {
    await knex.raw(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    await knex.raw(`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
  }
}

export async function down(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  for (const t of ['audit_log', 'sessions', 'user_values', 'users', 'api_tokens']) await knex.schema.dropTableIfExists(t);
  if (pg) await knex.raw('DROP FUNCTION IF EXISTS audit_log_append_only()');
}
