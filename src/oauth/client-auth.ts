/**
 * Client authentication at the token endpoint, in the three ways IdPs use it:
 * - HTTP Basic `client_id:client_secret` (RFC 6749 §2.3.1: MUST be supported);
 * - `client_id` and `client_secret` in the form body (§2.3.1: MAY; some IdPs send only this);
 * - a JWT client assertion (RFC 7523 §2.2), verified against the issuer, subject, audience and keys the client was
 *   registered with: Entra's workload identity federation (its `sub` and `aud` are its own, not our client_id and
 *   token URL as §3 would have them, so they are compared with what the admin registered).
 * A failure is `invalid_client`; failures are throttled per client_id (throttle.ts), after the check.
 */
import { checkSecret, federatedClientsFor, getClient, type ClientRow } from '../store/oauth-clients.js';
import { rememberAssertionId } from '../store/oauth-grants.js';
import { AssertionVerifier, JWT_BEARER } from './assertion.js';
import { invalidClient, oauthError } from './errors.js';
import type { OAuthDeps, OAuthRequest } from './context.js';

export interface AuthenticatedClient { client: ClientRow; secretId: string | undefined; method: 'client_secret_basic' | 'client_secret_post' | 'assertion' }

/** Who the client is, or an AppError (invalid_request for a malformed attempt, invalid_client for a failed one). */
export async function authenticateClient(deps: OAuthDeps, req: OAuthRequest): Promise<AuthenticatedClient> {
  const p = req.params;
  const used = [req.basic !== undefined, p.client_secret !== undefined, p.client_assertion !== undefined].filter(Boolean).length;
  // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
  if (used > 1) throw oauthError('invalid_request', 'use one client authentication method: HTTP Basic, client_secret in the body, or client_assertion');
  if (req.basic && p.client_id !== undefined && p.client_id !== req.basic.id) throw oauthError('invalid_request', 'client_id in the body differs from the HTTP Basic client');

  if (p.client_assertion !== undefined) return byAssertion(deps, req);
  const clientId = req.basic?.id ?? p.client_id;
  const secret = req.basic?.secret ?? p.client_secret;
  if (!clientId) throw invalidClient('client authentication is required (HTTP Basic, or client_id and client_secret)');
  if (secret === undefined || secret === '') return failed(deps, req, clientId, 'a client_secret is required for this client');
  const check = await checkSecret(deps.db, clientId, secret);
  if (!check.ok) return failed(deps, req, clientId, check.why === 'expired' ? 'the client secret has expired; add a new one (client secret add)' : 'client authentication failed');
  const client = (await getClient(deps.db, clientId))!;
  return { client, secretId: check.secretId, method: req.basic ? 'client_secret_basic' : 'client_secret_post' };
}

async function byAssertion(deps: OAuthDeps, req: OAuthRequest): Promise<AuthenticatedClient> {
  const p = req.params;
  if (p.client_assertion_type !== JWT_BEARER) throw oauthError('invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
  const assertion = p.client_assertion!;
  // RFC 7521 §4.2: client_id is optional with an assertion; without it the client is the one registered for the
  // assertion's issuer and subject (read unverified to find it, then verified against it).
  let client: ClientRow | undefined;
  if (p.client_id) {
    client = await getClient(deps.db, p.client_id);
  } else {
    const peek = AssertionVerifier.peek(assertion);
    // Unverified text: a NUL in it would make PostgreSQL refuse the lookup (a 500); no client is registered with one.
    const usable = (v: string | undefined): v is string => v !== undefined && v !== '' && !v.includes('\u0000');
    const found = peek && usable(peek.iss) && usable(peek.sub) ? await federatedClientsFor(deps.db, peek.iss, peek.sub) : [];
    if (found.length > 1) throw invalidClient('several clients are registered for this issuer and subject: send client_id');
    client = found[0];
  }
  const key = client?.id ?? p.client_id ?? 'assertion:unknown';
  if (!client || client.revokedAt !== null || client.kind !== 'federated' || !client.federation) return failed(deps, req, key, 'client authentication failed');
  const verdict = await deps.verifier.verify({ id: client.id, ...client.federation }, assertion);
  if (!verdict.ok) {
    deps.log.warn('client assertion refused', { requestId: req.requestId, clientId: client.id, reason: verdict.log });
    return failed(deps, req, key, verdict.reason);
  }
  // RFC 7523 §3: a jti is single use until the assertion expires; the primary key settles races between instances.
  // Kept past exp for the clock tolerance the verifier grants, or a sweep could forget it while it is still accepted.
  const keepUntil = verdict.expiresAt + deps.verifier.clockToleranceS * 1000;
  if (verdict.jti !== undefined && !(await rememberAssertionId(deps.db, client.id, verdict.jti, keepUntil))) {
    return failed(deps, req, key, 'the assertion was already used (its jti was seen before)');
  }
  return { client, secretId: undefined, method: 'assertion' };
}

/** Client ids are UUIDs (store/oauth-clients.ts); the assertion path's key for an assertion of no known client. */
const LOGGABLE_KEY = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|assertion:unknown)$/i;

/** Count the failure against the client_id; refuse with 429 once it has had too many, else invalid_client. */
function failed(deps: OAuthDeps, req: OAuthRequest, clientId: string, description: string): never {
  const key = clientId.slice(0, 100);
  const wait = deps.throttle.blockedFor(key);
  if (wait > 0) {
    throw oauthError('temporarily_unavailable', 'too many failed authentication attempts for this client; retry later', 429, { 'Retry-After': String(Math.ceil(wait / 1000)) });
  }
  // A client_id that is no client id is not logged: an IdP configured with id and secret swapped sends the secret there.
  const shown = LOGGABLE_KEY.test(key) ? key : `(${clientId.length} characters, not a client id)`;
  if (deps.throttle.fail(key)) deps.log.warn('token endpoint throttle engaged', { clientId: shown, failures: deps.throttle.limit, windowSeconds: deps.throttle.windowMs / 1000, client: req.client });
  throw invalidClient(description);
}
