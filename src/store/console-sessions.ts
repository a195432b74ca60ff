/**
 * The admin console's sessions (migration 20261208_001_console_sessions): rows keyed by the SHA-256 digest of the
 * cookie value, read back with the credential they came from in one statement, so that a request re-checks the
 * credential (revoked token, revoked OAuth client, expired access token) at the cost of the session lookup alone.
 */
import type { Knex } from 'knex';
import { formatScopes, parseScopes, type Scope } from './scopes.js';

export type CredentialKind = 'env' | 'token' | 'client';

export interface ConsoleSessionRow {
  /** SHA-256 (hex) of the cookie value. */
  id: string;
  credentialKind: CredentialKind;
  tokenId: string;
  credentialRef: string | null;
  name: string;
  scopes: Scope[];
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  idleMs: number;
  expiresAt: number;
}

/** The credential behind a session as the store has it now; null when its row is gone (or never matched). */
export interface CredentialState { name: string; scopes: Scope[]; revoked: boolean; expiresAt: number | null }

export interface StoredSession extends ConsoleSessionRow { credential: CredentialState | null }

export async function insertConsoleSession(db: Knex, s: ConsoleSessionRow): Promise<void> {
  await db('console_sessions').insert({
    id: s.id, credential_kind: s.credentialKind, token_id: s.tokenId, credential_ref: s.credentialRef, name: s.name,
    scopes: formatScopes(s.scopes), csrf_token: s.csrfToken, created_at: s.createdAt, last_seen_at: s.lastSeenAt,
    idle_ms: s.idleMs, expires_at: s.expiresAt,
  });
}

/**
 * The session with this digest and the present state of its credential: the managed token's row (by id) or the OAuth
 * access token's row and its client's (by the token's digest). A static ADMIN_TOKEN is checked by the caller, which
 * knows the configuration.
 */
export async function findConsoleSession(db: Knex, id: string): Promise<StoredSession | undefined> {
  const r = await db('console_sessions as s')
    .leftJoin('api_tokens as t', (j) => j.on('t.id', 's.token_id').andOnVal('s.credential_kind', '=', 'token'))
    .leftJoin('oauth_tokens as o', (j) => j.on('o.token_hash', 's.credential_ref').andOnVal('s.credential_kind', '=', 'client').andOnVal('o.kind', '=', 'access'))
    .leftJoin('oauth_clients as c', 'c.id', 'o.client_id')
    .where('s.id', id)
    .first(
      's.*', 't.id as t_id', 't.name as t_name', 't.scope as t_scope', 't.revoked_at as t_revoked',
      'o.token_hash as o_hash', 'o.scopes as o_scopes', 'o.expires_at as o_expires', 'o.revoked_at as o_revoked', 'c.name as c_name', 'c.revoked_at as c_revoked',
    );
  if (!r) return undefined;
  let credential: CredentialState | null = null;
  if (r.credential_kind === 'token' && r.t_id) {
    credential = { name: r.t_name, scopes: parseScopes(r.t_scope), revoked: r.t_revoked != null, expiresAt: null };
  } else if (r.credential_kind === 'client' && r.o_hash) {
    credential = { name: r.c_name, scopes: parseScopes(r.o_scopes), revoked: r.o_revoked != null || r.c_revoked != null, expiresAt: Number(r.o_expires) };
  }
  return {
    id: r.id, credentialKind: r.credential_kind, tokenId: r.token_id, credentialRef: r.credential_ref, name: r.name,
    scopes: parseScopes(r.scopes), csrfToken: r.csrf_token, createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at),
    idleMs: Number(r.idle_ms), expiresAt: Number(r.expires_at), credential,
  };
}

/** Activity: the idle clock starts again. */
export async function touchConsoleSession(db: Knex, id: string, now: number): Promise<void> {
  await db('console_sessions').where({ id }).update({ last_seen_at: now });
}

export async function deleteConsoleSession(db: Knex, id: string): Promise<boolean> {
  return Number(await db('console_sessions').where({ id }).del()) > 0;
}

/**
 * Delete sessions past their absolute or idle expiry, at most `batch` (one short statement, run on sign-in: the
 * table holds a few rows per admin, and a row found expired on a request is refused whether or not it was pruned).
 */
export async function pruneConsoleSessions(db: Knex, now: number, batch = 500): Promise<number> {
  const expired = db('console_sessions').select('id')
    .where('expires_at', '<=', now)
    .orWhereRaw('last_seen_at + idle_ms <= ?', [now])
    .limit(batch);
  return Number(await db('console_sessions').whereIn('id', expired).del());
}

/** Sessions in the table (tests). */
export async function countConsoleSessions(db: Knex): Promise<number> {
  const r = (await db('console_sessions').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(r?.n ?? 0);
}
