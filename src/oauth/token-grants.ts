/**
 * The token endpoint's grants (RFC 6749 §3.2): what a client gets for its credentials.
 * - `client_credentials` (§4.4): Entra's gallery apps, with a secret or a federated assertion. No refresh token (§4.4.3).
 * - `authorization_code` (§4.1.3): Okta's "OAuth 2" mode, after an admin approved the client on the consent page;
 *   PKCE (RFC 7636) when the authorization request had a code_challenge. Gives a refresh token.
 * - `refresh_token` (§6): rotated on every use; a spent refresh token presented again revokes its grant.
 * Which grants a client may use follows from how it was registered: a client with redirect URIs is an authorization
 * code client, a federated client or one without redirect URIs a client credentials client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError } from '../errors/app-error.js';
import { issueTokens, spendCode, spendRefreshToken, sweepExpired, type IssuedTokens } from '../store/oauth-grants.js';
import { allows, formatScopes, type Scope } from '../store/scopes.js';
import { classifyDbError } from '../store/db.js';
import { holdLiveSecret, type ClientRow } from '../store/oauth-clients.js';
import { authenticateClient } from './client-auth.js';
import { invalidClient, oauthError } from './errors.js';
import { resolveScopes } from './scope-request.js';
import type { OAuthDeps, OAuthRequest } from './context.js';

/** The successful answer (RFC 6749 §5.1). */
export interface TokenResponse { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string; refresh_token?: string }

export const GRANT_TYPES = ['client_credentials', 'authorization_code', 'refresh_token'] as const;

export async function exchangeToken(deps: OAuthDeps, req: OAuthRequest): Promise<TokenResponse> {
  const grantType = req.params.grant_type;
  if (!grantType) throw oauthError('invalid_request', 'grant_type is required');
  if (!(GRANT_TYPES as readonly string[]).includes(grantType)) throw oauthError('unsupported_grant_type', `grant_type must be one of ${GRANT_TYPES.join(', ')}`);
  const { client, secretId } = await authenticateClient(deps, req);
  const actor = `client:${client.name}`;
  const codeClient = client.kind === 'secret' && client.redirectUris.length > 0;
  if ((grantType === 'client_credentials') === codeClient) {
    throw oauthError('unauthorized_client', codeClient
      ? 'this client is registered for the authorization code grant (it has redirect URIs)'
      : 'this client is registered for the client credentials grant');
  }
  const base = { clientId: client.id, secretId, actor, requestId: req.requestId, accessTtlMs: deps.config.accessTokenTtlMs };
  const issued = await issueInOneTransaction(deps, secretId, (tx) => grantType === 'client_credentials'
    ? issueTokens(tx, { ...base, grantType, scopes: resolveScopes(req.params.scope, client.scopes) })
    : (grantType === 'authorization_code' ? byCode : byRefresh)(tx, deps, req, client, base));
  sweepNowAndThen(deps);
  return {
    access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, scope: formatScopes(issued.scopes),
    ...(issued.refreshToken ? { refresh_token: issued.refreshToken } : {}),
  };
}

type Base = { clientId: string; secretId: string | undefined; actor: string; requestId: string; accessTtlMs: number };

/**
 * Tokens are issued in one transaction with what entitles the client to them, so that on PostgreSQL a concurrent
 * revocation either is seen by the issue or waits for it and then revokes what it issued:
 * - the secret the client authenticated with is held (FOR SHARE) and must still be live: `secret revoke --tokens`
 *   running meanwhile otherwise revoked the tokens committed so far, and those committed just after lived on;
 * - a code or refresh token is spent in it: a concurrent replay waits on the spent row until the tokens exist, then
 *   revokes them with the grant (spent in a transaction of its own, the grant could be revoked before they existed).
 * The secret is held first, as a revocation locks it before the tokens: neither can hold what the other waits for.
 * A refusal is returned, not thrown, so the spend and any revocation it caused are committed.
 */
async function issueInOneTransaction(deps: OAuthDeps, secretId: string | undefined, grant: (tx: Knex.Transaction) => Promise<IssuedTokens | AppError>): Promise<IssuedTokens> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await deps.db.transaction(async (tx) => {
        if (secretId !== undefined && !(await holdLiveSecret(tx, secretId))) return invalidClient('client authentication failed');
        return grant(tx);
      });
      if (out instanceof AppError) throw out;
      return out;
    } catch (err) {
      // PostgreSQL may still abort one of two transactions that lock a grant's rows in different orders (a replay of
      // an old refresh token meeting a refresh with the current one): the whole exchange ran in it and rolled back,
      // so it is run again, after a short random pause, rather than answered with a 500.
      if (classifyDbError(err).kind !== 'concurrency' || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}

async function byCode(tx: Knex.Transaction, deps: OAuthDeps, req: OAuthRequest, client: ClientRow, base: Base): Promise<IssuedTokens | AppError> {
  const p = req.params;
  if (!p.code) return oauthError('invalid_request', 'code is required');
  // The code is spent before it is checked: a code that fails a check is gone, as a used one is (§4.1.2).
  const spent = await spendCode(tx, client.id, p.code, base.actor);
  if (!spent.ok) {
    return oauthError('invalid_grant', spent.why === 'reused'
      ? 'the authorization code was already used; the tokens issued with it are revoked'
      : spent.why === 'expired' ? 'the authorization code has expired' : 'the authorization code is not valid for this client');
  }
  const g = spent.value;
  // §4.1.3: redirect_uri must repeat the authorization request's when that had one.
  if ((g.redirectUriSent || p.redirect_uri !== undefined) && p.redirect_uri !== g.redirectUri) {
    return oauthError('invalid_grant', 'redirect_uri does not match the one of the authorization request');
  }
  if (g.codeChallenge) {
    if (!p.code_verifier) return oauthError('invalid_grant', 'code_verifier is required (the authorization request had a code_challenge)');
    if (!pkceMatches(p.code_verifier, g.codeChallenge, g.codeChallengeMethod ?? 'plain')) return oauthError('invalid_grant', 'code_verifier does not match the code_challenge');
  } else if (p.code_verifier !== undefined) {
    // RFC 9700 §2.1.1: a verifier without a challenge is refused (a downgrade attempt).
    return oauthError('invalid_grant', 'code_verifier was sent but the authorization request had no code_challenge');
  }
  return issueTokens(tx, { ...base, grantType: 'authorization_code', scopes: g.scopes, grantId: g.grantId, refreshTtlMs: deps.config.refreshTokenTtlMs });
}

async function byRefresh(tx: Knex.Transaction, deps: OAuthDeps, req: OAuthRequest, client: ClientRow, base: Base): Promise<IssuedTokens | AppError> {
  const p = req.params;
  if (!p.refresh_token) return oauthError('invalid_request', 'refresh_token is required');
  const asked = p.scope === undefined ? undefined : resolveScopes(p.scope, client.scopes); // thrown before anything is spent
  const spent = await spendRefreshToken(tx, client.id, p.refresh_token, base.actor);
  if (!spent.ok) {
    return oauthError('invalid_grant', spent.why === 'reused'
      ? 'the refresh token was already used; every token of its grant is revoked (authorize the client again)'
      : spent.why === 'expired' ? 'the refresh token has expired' : 'the refresh token is not valid for this client');
  }
  const g = spent.value;
  // §6: a refresh may narrow the access token's scope, never widen it; the new refresh token keeps the grant's.
  // Narrower is what the granted scopes allow (store/scopes.ts: a scim grant covers scim:read), as at /authorize.
  // Thrown, so rolled back: asking too much is the client's mistake, not a replay, and must not cost it the grant
  // (spent, the token it would retry with would count as reused and revoke everything).
  const scopes: Scope[] = asked ?? g.scopes;
  if (!scopes.every((s) => allows(g.scopes, s))) throw oauthError('invalid_scope', `the refresh token was granted ${formatScopes(g.scopes)}`);
  return issueTokens(tx, { ...base, grantType: 'refresh_token', scopes, refreshScopes: g.scopes, grantId: g.grantId, refreshTtlMs: deps.config.refreshTokenTtlMs });
}

/** RFC 7636 §4.6: S256 compares BASE64URL(SHA256(verifier)) with the challenge; plain compares them as they are. */
export function pkceMatches(verifier: string, challenge: string, method: 'S256' | 'plain'): boolean {
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  const computed = method === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : verifier;
  const a = Buffer.from(computed);
  const b = Buffer.from(challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}

const lastSweep = new WeakMap<object, number>();

/** Expired tokens, codes and assertion ids are deleted in small batches, at most once a minute per instance. */
function sweepNowAndThen(deps: OAuthDeps): void {
  const now = Date.now();
  if ((lastSweep.get(deps.db) ?? 0) > now - 60_000) return;
  lastSweep.set(deps.db, now);
  sweepExpired(deps.db, now).catch((err) => deps.log.warn('oauth sweep failed', { error: String(err) }));
}
