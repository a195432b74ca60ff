/**
 * What the console's overview and charts ask of the request log without reading it row by row (issue 17):
 * - `request_log_minutes`: requests per minute, actor, status class and whether they were SCIM requests, kept by the
 *   log's writer in the statement batch that writes the rows (store/request-log.ts). A day of per-actor counts is then
 *   at most 1,440 rows per actor and class instead of up to REQUEST_LOG_MAX_ROWS rows (a scan of a million rows held
 *   SQLite's one connection, and the event loop, for about a second). `actor` is '' for unauthenticated requests, so
 *   it can be part of the key. Counts are of requests, so rows pruned by the row cap still count until their day ends.
 * - `request_log.resource_id`: the resource a SCIM or admin path addresses (`/scim/v2/Users/<id>`), so "the requests
 *   about this person" is an index range instead of a scan of the log.
 * Existing rows are counted into the new table. Their resource id stays empty (the table is days old): the writes among
 * them are still found through their audit rows.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('request_log_minutes', (t) => {
    t.bigInteger('minute').notNullable();
    t.string('actor', 140).notNullable().defaultTo('');
    t.smallint('status_class').notNullable();
    t.smallint('scim').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['minute', 'actor', 'status_class', 'scim']);
  });
  await knex.raw(`INSERT INTO request_log_minutes (minute, actor, status_class, scim, n)
    SELECT (at / 60000) * 60000, COALESCE(actor, ''), status_class, CASE WHEN substr(path, 1, 9) = '/scim/v2/' THEN 1 ELSE 0 END, count(*)
    FROM request_log GROUP BY 1, 2, 3, 4`);
  await knex.schema.alterTable('request_log', (t) => {
    t.string('resource_id', 100).nullable();
  });
  await knex.schema.alterTable('request_log', (t) => {
    // Partial: most requests (searches, lists) address no resource, and an index entry costs every insert.
    t.index(['resource_id', 'at', 'id'], 'request_log_resource_idx', { predicate: knex.whereNotNull('resource_id') });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('request_log', (t) => {
    t.dropIndex(['resource_id', 'at', 'id'], 'request_log_resource_idx');
    t.dropColumn('resource_id');
  });
  await knex.schema.dropTableIfExists('request_log_minutes');
}
