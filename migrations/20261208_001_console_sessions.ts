/**
 * Sessions of the admin console (/console, src/console/sessions.ts): a browser that signed in with an admin-scope
 * credential holds a random cookie, and this table holds only its SHA-256 digest (the primary key), so a copy of the
 * database cannot be replayed as a cookie. Kept in the database, not in memory: several instances share one
 * PostgreSQL, and any of them may serve the next request.
 *
 * A session does not copy the credential's authority for good: each request re-checks the credential it came from
 * (the managed token's row by `token_id`, the OAuth access token's row by its digest in `credential_ref`, the static
 * ADMIN_TOKEN by a keyed digest in `credential_ref`), so revoking it ends the session. `name` and `scopes` are what
 * the credential was at sign-in, for the answer and the audit actor. Idle expiry is `last_seen_at + idle_ms`,
 * absolute expiry `expires_at`; expired rows are pruned on sign-in (the `expires_at` index serves it).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_sessions', (t) => {
    /** SHA-256 (hex) of the cookie value; the value itself is never stored. */
    t.string('id', 64).primary();
    /** 'env' (ADMIN_TOKEN) | 'token' (api_tokens) | 'client' (an OAuth access token). */
    t.string('credential_kind', 8).notNullable();
    /** The principal's token id: `env:ADMIN_TOKEN`, an api_tokens id, or `client:<client_id>`. */
    t.string('token_id', 140).notNullable();
    /** 'client': the access token's digest (oauth_tokens.token_hash); 'env': HMAC of ADMIN_TOKEN keyed by the cookie. */
    t.string('credential_ref', 64).nullable();
    t.string('name', 100).notNullable();
    t.string('scopes', 100).notNullable();
    /** Sent back in X-CSRF-Token on every change (double submit against the session, not against a cookie). */
    t.string('csrf_token', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.bigInteger('idle_ms').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at'], 'console_sessions_expires_idx');
    t.index(['token_id'], 'console_sessions_token_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('console_sessions');
}
