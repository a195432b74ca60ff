/**
 * OAuth 2.0 (RFC 6749) for IdPs: registered clients with rotating secrets or a federated identity (RFC 7523 client
 * assertions, Entra workload identity federation), the opaque access and refresh tokens issued to them (stored as
 * SHA-256 digests, like api_tokens), authorization codes and pending consents (RFC 6749 §4.1, Okta), and the `jti`
 * values of assertions already used (RFC 7523 §3: replay). Single use is enforced by the database: a code or a refresh
 * token is spent by the one UPDATE that finds it unspent, a `jti` by the one INSERT its primary key lets through.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_clients', (t) => {
    t.string('id', 36).primary(); // the client_id
    t.string('name', 100).notNullable();
    t.string('scopes', 100).notNullable(); // space-separated (RFC 6749 §3.3)
    t.string('kind', 16).notNullable(); // 'secret' | 'federated'
    t.text('issuer').nullable(); // federated: the assertion's expected iss, sub and aud, and where its keys are
    t.text('subject').nullable();
    t.text('audience').nullable();
    t.text('jwks_url').nullable();
    t.text('redirect_uris').nullable(); // JSON array: the authorization code grant's registered redirect URIs
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
  });

  await knex.schema.createTable('oauth_client_secrets', (t) => {
    t.string('id', 36).primary();
    t.string('client_id', 36).notNullable().references('id').inTable('oauth_clients');
    t.string('secret_hash', 64).notNullable().unique('oauth_client_secrets_hash_unique');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.index(['client_id'], 'oauth_client_secrets_client_idx');
  });

  await knex.schema.createTable('oauth_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('kind', 8).notNullable(); // 'access' | 'refresh'
    t.string('client_id', 36).notNullable().references('id').inTable('oauth_clients');
    t.string('scopes', 100).notNullable();
    // The grant a token descends from (one client-credentials exchange, or one authorization code and every refresh
    // after it): reusing a spent code or refresh token revokes the whole grant (RFC 6749 §4.1.2, §10.4).
    t.string('grant_id', 36).notNullable();
    t.string('secret_id', 36).nullable(); // the secret the client authenticated with, so revoking it can end its tokens
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable(); // refresh tokens: spent by a rotation
    t.bigInteger('revoked_at').nullable();
    t.index(['client_id'], 'oauth_tokens_client_idx');
    t.index(['grant_id'], 'oauth_tokens_grant_idx');
    t.index(['expires_at'], 'oauth_tokens_expires_idx');
  });

  await knex.schema.createTable('oauth_codes', (t) => {
    t.string('code_hash', 64).primary();
    t.string('client_id', 36).notNullable().references('id').inTable('oauth_clients');
    t.text('redirect_uri').notNullable();
    t.boolean('redirect_uri_sent').notNullable(); // RFC 6749 §4.1.3: then the token request must repeat it
    t.string('scopes', 100).notNullable();
    t.string('code_challenge', 128).nullable(); // RFC 7636 (PKCE)
    t.string('code_challenge_method', 8).nullable();
    t.string('grant_id', 36).notNullable();
    t.string('approved_by', 140).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable();
    t.index(['expires_at'], 'oauth_codes_expires_idx');
  });

  // An authorization request waiting for an admin's consent: what the consent form approves, bound to the CSRF value
  // of the browser that asked for it.
  await knex.schema.createTable('oauth_consents', (t) => {
    t.string('id', 36).primary();
    t.string('csrf_hash', 64).notNullable();
    t.string('client_id', 36).notNullable().references('id').inTable('oauth_clients');
    t.text('redirect_uri').notNullable();
    t.boolean('redirect_uri_sent').notNullable();
    t.string('scopes', 100).notNullable();
    t.text('state').nullable();
    t.string('code_challenge', 128).nullable();
    t.string('code_challenge_method', 8).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at'], 'oauth_consents_expires_idx');
  });

  await knex.schema.createTable('oauth_assertion_ids', (t) => {
    t.string('client_id', 36).notNullable();
    t.string('jti_hash', 64).notNullable();
    t.bigInteger('expires_at').notNullable();
    t.primary(['client_id', 'jti_hash']);
    t.index(['expires_at'], 'oauth_assertion_ids_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['oauth_assertion_ids', 'oauth_consents', 'oauth_codes', 'oauth_tokens', 'oauth_client_secrets', 'oauth_clients']) {
    await knex.schema.dropTableIfExists(t);
  }
}
