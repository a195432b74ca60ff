/**
 * What OAuth clients are given (RFC 6749): opaque access and refresh tokens, authorization codes, pending consents,
 * and the assertion ids already used. Every value is random, shown once and stored as its SHA-256 digest, so every
 * instance on the database accepts it and a revocation is seen by all of them at the next lookup. Single use is the
 * database's job: a code or refresh token is spent by the UPDATE that finds it unspent (one winner however many
 * instances race), an assertion id by the INSERT its primary key lets through. The spend functions run in the
 * caller's transaction when given one, so the successor tokens are issued before the spent row is let go.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import { dialectOf } from './db.js';
import { digest, newSecretValue } from './tokens.js';
import { formatScopes, parseScopes, type Scope } from './scopes.js';

export interface IssuedTokens { accessToken: string; expiresIn: number; refreshToken?: string | undefined; scopes: Scope[] }

export interface IssueRequest {
  clientId: string;
  scopes: Scope[];
  accessTtlMs: number;
  /** Give a refresh token too (authorization code and refresh grants; never client credentials, RFC 6749 §4.4.3). */
  refreshTtlMs?: number | undefined;
  /**
   * The refresh token's scopes when they differ from the access token's: a refresh that narrows the scope narrows the
   * access token only; the new refresh token keeps the scope of the one presented (RFC 6749 §6: "MUST be identical").
   */
  refreshScopes?: Scope[] | undefined;
  grantId?: string | undefined;
  secretId?: string | undefined;
  /** For the audit row: the grant type and who asks. */
  grantType: string;
  actor: string;
  requestId?: string | undefined;
}

/** Run `fn` in `db` if it is a transaction already (the caller's), else in a transaction of its own. */
function inTransaction<T>(db: Knex | Knex.Transaction, fn: (tx: Knex.Transaction) => Promise<T>): Promise<T> {
  return (db as Knex.Transaction).isTransaction ? fn(db as Knex.Transaction) : (db as Knex).transaction(fn);
}

/** Issue an access token (and a refresh token), audited, in `db`'s transaction or its own. */
export async function issueTokens(db: Knex | Knex.Transaction, r: IssueRequest): Promise<IssuedTokens> {
  const now = Date.now();
  const grantId = r.grantId ?? randomUUID();
  const accessToken = newSecretValue('oat');
  const refreshToken = r.refreshTtlMs ? newSecretValue('ort') : undefined;
  const scopes = formatScopes(r.scopes);
  const row = (kind: string, value: string, ttl: number, scopeText: string) => ({
    token_hash: digest(value), kind, client_id: r.clientId, scopes: scopeText, grant_id: grantId, secret_id: r.secretId ?? null,
    created_at: now, expires_at: now + ttl, used_at: null, revoked_at: null,
  });
  const rows = [
    row('access', accessToken, r.accessTtlMs, scopes),
    ...(refreshToken ? [row('refresh', refreshToken, r.refreshTtlMs!, formatScopes(r.refreshScopes ?? r.scopes))] : []),
  ];
  const write = async (tx: Knex | Knex.Transaction) => {
    await tx('oauth_tokens').insert(rows);
    await writeAudit(tx, {
      actor: r.actor, requestId: r.requestId, operation: 'issue_token', resourceType: 'Client', resourceId: r.clientId,
      after: { grantType: r.grantType, grantId, scopes, expiresAt: new Date(now + r.accessTtlMs).toISOString(), refresh: Boolean(refreshToken) },
    });
  };
  await inTransaction(db, write);
  return { accessToken, expiresIn: Math.round(r.accessTtlMs / 1000), refreshToken, scopes: r.scopes };
}

export interface AccessGrant { clientId: string; clientName: string; scopes: Scope[]; expiresAt: number }

/** The live access token with this value: not expired, not revoked, of a live client. */
export async function findAccessToken(db: Knex, token: string, now = Date.now()): Promise<AccessGrant | undefined> {
  const row = await db('oauth_tokens as t')
    .join('oauth_clients as c', 'c.id', 't.client_id')
    .where({ 't.token_hash': digest(token), 't.kind': 'access' })
    .whereNull('t.revoked_at').whereNull('c.revoked_at').andWhere('t.expires_at', '>', now)
    .first('t.client_id', 'c.name', 't.scopes', 't.expires_at');
  return row ? { clientId: row.client_id, clientName: row.name, scopes: parseScopes(row.scopes), expiresAt: Number(row.expires_at) } : undefined;
}

export type Spent<T> = { ok: true; value: T } | { ok: false; why: 'unknown' | 'reused' | 'expired' };

export interface RefreshGrant { clientId: string; scopes: Scope[]; grantId: string }

/**
 * Spend a refresh token of `clientId` (RFC 6749 §6; rotated on every use, RFC 9700 §4.14.2). A token already spent is
 * a replay: its whole grant is revoked, so neither the thief nor the client can go on with it (`reused`).
 */
export async function spendRefreshToken(db: Knex | Knex.Transaction, clientId: string, token: string, actor: string, now = Date.now()): Promise<Spent<RefreshGrant>> {
  const hash = digest(token);
  return inTransaction(db, async (tx) => {
    const n = await tx('oauth_tokens')
      .where({ token_hash: hash, kind: 'refresh', client_id: clientId }).whereNull('used_at').whereNull('revoked_at').andWhere('expires_at', '>', now)
      .whereExists((q) => q.select(tx.raw('1')).from('oauth_clients as c').whereRaw('c.id = oauth_tokens.client_id').whereNull('c.revoked_at'))
      .update({ used_at: now });
    const row = await lockedOnFailure(tx, n, tx('oauth_tokens').where({ token_hash: hash, kind: 'refresh', client_id: clientId })).first();
    if (n === 1) return { ok: true, value: { clientId, scopes: parseScopes(row.scopes), grantId: row.grant_id } };
    if (!row || row.revoked_at !== null) return { ok: false, why: 'unknown' };
    if (row.used_at !== null) {
      await revokeGrant(tx, row.grant_id, actor, 'refresh token reused');
      return { ok: false, why: 'reused' };
    }
    return { ok: false, why: 'expired' };
  });
}

/**
 * A spend that failed reads its row FOR UPDATE (PostgreSQL) before it may revoke the grant, so replays of one code or
 * refresh token revoke one after the other. A failed UPDATE that had waited for the winner keeps that row locked
 * anyway (PostgreSQL locks the row it rechecks); one that had not would otherwise go on to lock the grant's other
 * tokens first, and the two would wait on each other ("deadlock detected", a 500 to one of the replays).
 */
function lockedOnFailure(tx: Knex.Transaction, updated: number, q: Knex.QueryBuilder): Knex.QueryBuilder {
  return updated === 0 && dialectOf(tx) === 'pg' ? q.forUpdate() : q;
}

/** Revoke every token of a grant (a replayed code or refresh token), audited. */
export async function revokeGrant(tx: Knex.Transaction, grantId: string, actor: string, reason: string): Promise<number> {
  const rows = await tx('oauth_tokens').where({ grant_id: grantId }).whereNull('revoked_at').select('client_id').limit(1);
  const n = await tx('oauth_tokens').where({ grant_id: grantId }).whereNull('revoked_at').update({ revoked_at: Date.now() });
  const clientId = rows[0]?.client_id ?? (await tx('oauth_codes').where({ grant_id: grantId }).first('client_id'))?.client_id;
  await writeAudit(tx, { actor, operation: 'revoke_grant', resourceType: 'Client', resourceId: clientId ?? null, after: { grantId, reason, tokensRevoked: n } });
  return n;
}

/**
 * Revoke one token of `clientId` by value (RFC 7009); true if a live one was found. A refresh token takes its grant's
 * access tokens with it (§2.1: they SHOULD be invalidated too): a client revoking it to end its access otherwise left
 * the access token working for up to OAUTH_TOKEN_TTL.
 */
export async function revokeTokenValue(db: Knex, clientId: string, token: string): Promise<boolean> {
  const hash = digest(token);
  const row = await db('oauth_tokens').where({ token_hash: hash, client_id: clientId }).whereNull('revoked_at').first('kind', 'grant_id');
  if (!row) return false;
  await db('oauth_tokens').where(row.kind === 'refresh' ? { grant_id: row.grant_id } : { token_hash: hash }).whereNull('revoked_at').update({ revoked_at: Date.now() });
  return true;
}

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  redirectUriSent: boolean;
  scopes: Scope[];
  state: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
}

/**
 * Keep an authorization request until the admin answers the consent form; returns its id. Anyone who knows a code
 * client's id can make one (the consent page is not authenticated), so each first deletes a few expired ones: the
 * table then holds at most what its TTL lets in, where the sweep after token requests (500 a minute) fell behind a
 * flood and let it grow without end.
 */
export async function saveConsent(db: Knex, r: AuthorizationRequest, csrf: string, ttlMs: number): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await db('oauth_consents').whereIn('id', db('oauth_consents').where('expires_at', '<', now).select('id').limit(10)).delete();
  await db('oauth_consents').insert({
    id, csrf_hash: digest(csrf), client_id: r.clientId, redirect_uri: r.redirectUri, redirect_uri_sent: r.redirectUriSent,
    scopes: formatScopes(r.scopes), state: r.state, code_challenge: r.codeChallenge, code_challenge_method: r.codeChallengeMethod,
    created_at: now, expires_at: now + ttlMs,
  });
  return id;
}

/** The pending request `id` if `csrf` is its value and it has not expired. */
export async function findConsent(db: Knex, id: string, csrf: string, now = Date.now()): Promise<AuthorizationRequest | undefined> {
  const r = await db('oauth_consents').where({ id, csrf_hash: digest(csrf) }).andWhere('expires_at', '>', now).first();
  return r ? toRequest(r) : undefined;
}

/** Take the pending request out (it is answered once); false if another answer took it first. */
export async function takeConsent(db: Knex | Knex.Transaction, id: string): Promise<boolean> {
  return (await db('oauth_consents').where({ id }).delete()) === 1;
}

const toRequest = (r: any): AuthorizationRequest => ({
  clientId: r.client_id, redirectUri: r.redirect_uri, redirectUriSent: Boolean(r.redirect_uri_sent), scopes: parseScopes(r.scopes),
  state: r.state, codeChallenge: r.code_challenge, codeChallengeMethod: r.code_challenge_method,
});

/** Approve a pending request: it becomes an authorization code (RFC 6749 §4.1.2), audited. Undefined if already answered. */
export async function approveConsent(db: Knex, id: string, approvedBy: string, ttlMs: number, requestId?: string): Promise<{ code: string; request: AuthorizationRequest } | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx('oauth_consents').where({ id }).first();
    if (!r || !(await takeConsent(tx, id))) return undefined;
    const code = newSecretValue('oac');
    const now = Date.now();
    const grantId = randomUUID();
    await tx('oauth_codes').insert({
      code_hash: digest(code), client_id: r.client_id, redirect_uri: r.redirect_uri, redirect_uri_sent: r.redirect_uri_sent, scopes: r.scopes,
      code_challenge: r.code_challenge, code_challenge_method: r.code_challenge_method, grant_id: grantId, approved_by: approvedBy,
      created_at: now, expires_at: now + ttlMs, used_at: null,
    });
    await writeAudit(tx, { actor: approvedBy, requestId, operation: 'approve_authorization', resourceType: 'Client', resourceId: r.client_id, after: { grantId, scopes: r.scopes, redirectUri: r.redirect_uri } });
    return { code, request: toRequest(r) };
  });
}

export interface CodeGrant extends AuthorizationRequest { grantId: string }

/**
 * Spend an authorization code of `clientId`. A code used twice is refused, and the tokens issued with it the first
 * time are revoked (RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on that
 * authorization code").
 */
export async function spendCode(db: Knex | Knex.Transaction, clientId: string, code: string, actor: string, now = Date.now()): Promise<Spent<CodeGrant>> {
  const hash = digest(code);
  return inTransaction(db, async (tx) => {
    const n = await tx('oauth_codes').where({ code_hash: hash, client_id: clientId }).whereNull('used_at').andWhere('expires_at', '>', now).update({ used_at: now });
    const row = await lockedOnFailure(tx, n, tx('oauth_codes').where({ code_hash: hash, client_id: clientId })).first();
    if (n === 1) return { ok: true, value: { ...toRequest(row), grantId: row.grant_id } };
    if (!row) return { ok: false, why: 'unknown' };
    if (row.used_at !== null) {
      await revokeGrant(tx, row.grant_id, actor, 'authorization code reused');
      return { ok: false, why: 'reused' };
    }
    return { ok: false, why: 'expired' };
  });
}

/** Record a used assertion id (RFC 7523 §3 `jti`) until the assertion expires; false if it was used before. */
export async function rememberAssertionId(db: Knex, clientId: string, jti: string, expiresAt: number): Promise<boolean> {
  const inserted = await db('oauth_assertion_ids')
    .insert({ client_id: clientId, jti_hash: digest(jti), expires_at: expiresAt })
    .onConflict(['client_id', 'jti_hash']).ignore()
    .returning('jti_hash');
  return inserted.length === 1;
}

/**
 * Delete what has expired, a bounded batch per table (a call costs the same however much has piled up). Tokens are
 * kept a day past expiry, so a replayed refresh token is still recognised as spent rather than unknown for a while.
 */
export async function sweepExpired(db: Knex, now = Date.now(), batch = 500): Promise<number> {
  let n = 0;
  const sweep = async (table: string, key: string, before: number) => {
    const keys = db(table).where('expires_at', '<', before).select(key).limit(batch);
    n += await db(table).whereIn(key, keys).delete();
  };
  await sweep('oauth_tokens', 'token_hash', now - 86_400_000);
  await sweep('oauth_codes', 'code_hash', now - 86_400_000);
  await sweep('oauth_consents', 'id', now);
  const jtis = db('oauth_assertion_ids').where('expires_at', '<', now).select('jti_hash').limit(batch);
  n += await db('oauth_assertion_ids').whereIn('jti_hash', jtis).andWhere('expires_at', '<', now).delete();
  return n;
}
