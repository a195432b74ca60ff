/**
 * The request log (issue 16 §5): one row per request (src/store/request-log.ts), written in batches, kept for
 * REQUEST_LOG_DAYS and at most REQUEST_LOG_MAX_ROWS rows. Read newest first by (at, id), the keyset of its pages:
 * every index ends in (at, id), so "the newest 100 failures / requests of this client since an hour" reads 100 index
 * entries backwards. The time index also carries status_class, so the summary counts (GROUP BY minute and class) read
 * that index alone. Actor, method and path prefix are filters over the newest-first scan, which the row cap bounds: each
 * index is paid for on every insert, and the writer's statement runs on SQLite's one connection, so only the searches
 * an admin starts from (recent, failures, one request id) have their own.
 * `id` (AUTOINCREMENT on SQLite, so ids are never reused) is what pruning by count cuts at.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('request_log', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('at').notNullable();
    t.string('method', 16).notNullable();
    t.string('path', 300).notNullable();
    /** Names of the query parameters (never their values), comma-separated. */
    t.string('params', 200).nullable();
    t.smallint('status').notNullable();
    /** status / 100 (2, 4, 5...): what "status=4xx" filters and the summary groups by. */
    t.smallint('status_class').notNullable();
    t.double('ms').notNullable();
    t.string('client', 64).nullable();
    t.string('actor', 140).nullable();
    t.string('request_id', 100).notNullable();
    t.string('detail', 300).nullable();
    /** scimType of a SCIM error, `code` of an admin or OAuth error. */
    t.string('error_type', 64).nullable();
    t.index(['at', 'id', 'status_class'], 'request_log_at_idx');
    t.index(['status_class', 'at', 'id'], 'request_log_class_idx');
    t.index(['request_id'], 'request_log_request_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('request_log');
}
