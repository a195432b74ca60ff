/**
 * Workspace side: teams, channels, memberships with tombstones, SCIM groups, their members and their links to
 * teams and channels (Mattermost GroupTeams/GroupChannels with auto_add and scheme_admin).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('teams', (t) => {
    t.string('id', 36).primary();
    t.string('name', 64).notNullable().unique('teams_name_unique');
    t.string('display_name', 64).notNullable();
    t.string('type', 1).notNullable().defaultTo('O'); // O open, I invite-only
    t.boolean('group_constrained').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('archived_at').nullable();
  });

  await knex.schema.createTable('channels', (t) => {
    t.string('id', 36).primary();
    t.string('team_id', 36).notNullable().references('id').inTable('teams');
    t.string('name', 64).notNullable();
    t.string('display_name', 64).notNullable();
    t.string('type', 1).notNullable().defaultTo('O'); // O open, P private
    t.boolean('group_constrained').notNullable().defaultTo(false);
    t.boolean('is_default').notNullable().defaultTo(false); // joined with the team
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('archived_at').nullable();
    t.unique(['team_id', 'name'], { indexName: 'channels_team_name_unique' });
  });

  // A membership row is never deleted: removed_at is the tombstone that stops automatic re-adding.
  for (const [table, key, parent] of [['team_members', 'team_id', 'teams'], ['channel_members', 'channel_id', 'channels']] as const) {
    await knex.schema.createTable(table, (t) => {
      t.string(key, 36).notNullable().references('id').inTable(parent);
      t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
      t.boolean('scheme_admin').notNullable().defaultTo(false);
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.string('added_by', 140).notNullable(); // cause: group:<id> | default_channel | admin:<actor> | team:<id>
      t.bigInteger('removed_at').nullable();
      t.string('removed_by', 140).nullable(); // group:<id> | constraint | team:<id> (sync: revivable) | admin:<actor> | self (stay)
      t.primary([key, 'user_id']);
      t.index(['user_id'], `${table}_user_idx`);
    });
  }

  await knex.schema.createTable('groups', (t) => {
    t.string('id', 36).primary();
    t.text('external_id').nullable();
    t.text('display_name').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('deleted_at').nullable();
    t.integer('version').notNullable().defaultTo(1);
  });
  await knex.raw('CREATE UNIQUE INDEX groups_external_id_unique ON groups (external_id) WHERE external_id IS NOT NULL');
  // Entra and Okta match groups by displayName, so it must name one group.
  await knex.raw('CREATE UNIQUE INDEX groups_display_name_active ON groups (lower(display_name)) WHERE deleted_at IS NULL');

  await knex.schema.createTable('group_members', (t) => {
    t.string('group_id', 36).notNullable().references('id').inTable('groups').onDelete('CASCADE');
    t.string('user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('created_at').notNullable();
    t.primary(['group_id', 'user_id']);
    t.index(['user_id'], 'group_members_user_idx');
  });

  for (const [table, key, parent] of [['group_teams', 'team_id', 'teams'], ['group_channels', 'channel_id', 'channels']] as const) {
    await knex.schema.createTable(table, (t) => {
      t.string('group_id', 36).notNullable().references('id').inTable('groups').onDelete('CASCADE');
      t.string(key, 36).notNullable().references('id').inTable(parent);
      t.boolean('auto_add').notNullable().defaultTo(true);
      t.boolean('scheme_admin').notNullable().defaultTo(false);
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.primary(['group_id', key]);
      t.index([key], `${table}_${key}_idx`);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['group_channels', 'group_teams', 'group_members', 'groups', 'channel_members', 'team_members', 'channels', 'teams']) {
    await knex.schema.dropTableIfExists(t);
  }
}
