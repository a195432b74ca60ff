/**
 * The transactional outbox (changes a consumer such as the Mattermost connector must see, written in the transaction
 * of the change) and the bindings between this server's ids and Mattermost's.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.string('consumer', 32).notNullable(); // 'mattermost'
    // The entity the change is about: deliveries of one key happen one at a time, in id order.
    t.string('entity_key', 120).notNullable(); // user:<id> | team:<id> | channel:<id> | team_member:<team>:<user> | channel_member:<channel>:<user>
    t.string('operation', 64).notNullable(); // the audit operation that queued it
    t.string('request_id', 100).nullable();
    t.bigInteger('created_at').notNullable();
    t.string('state', 8).notNullable().defaultTo('pending'); // pending | parked; a delivered row is deleted
    t.bigInteger('available_at').notNullable(); // not before (backoff)
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('lease_owner', 64).nullable();
    t.bigInteger('lease_until').nullable();
    t.text('last_error').nullable();
    // The claim walks due rows in this order and stops at its limit: no sort of the whole backlog.
    t.index(['consumer', 'state', 'available_at', 'id'], 'outbox_due_idx');
    t.index(['consumer', 'entity_key', 'id'], 'outbox_entity_idx');
  });

  await knex.schema.createTable('mattermost_bindings', (t) => {
    t.string('kind', 8).notNullable(); // user | team | channel
    t.string('local_id', 36).notNullable();
    t.string('mm_id', 26).notNullable();
    t.string('how', 8).notNullable(); // created | adopted
    t.string('mm_name', 64).nullable(); // the username or name Mattermost holds (may differ from ours after a clash)
    t.bigInteger('bound_at').notNullable();
    t.primary(['kind', 'local_id']);
    // One Mattermost account, team or channel is never bound to two of ours.
    t.unique(['kind', 'mm_id'], { indexName: 'mattermost_bindings_mm_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mattermost_bindings');
  await knex.schema.dropTableIfExists('outbox');
}
