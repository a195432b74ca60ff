/**
 * The authorization code grant's first half (RFC 6749 §4.1.1-§4.1.2), for Okta's "OAuth 2" mode: Okta sends the
 * admin's browser to /oauth/authorize; a workspace admin signs in on the consent page with an admin-scope credential
 * and approves the client; the browser goes back to the client's redirect URI with a single-use code (10 minutes).
 * - A request whose client or redirect URI cannot be trusted is answered to the browser, never redirected (§4.1.2.1:
 *   an open redirector otherwise); any other fault goes back to the client as `error=...` with its `state`.
 * - The redirect URI must be one the client registered, compared exactly (RFC 9700 §4.1.3).
 * - PKCE (RFC 7636) is supported: the challenge is kept with the code and checked at the token endpoint.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { AppError } from '../errors/app-error.js';
import { getClient, type ClientRow } from '../store/oauth-clients.js';
import { approveConsent, findConsent, saveConsent, takeConsent, type AuthorizationRequest } from '../store/oauth-grants.js';
import { oauthError, type OAuthErrorCode } from './errors.js';
import { resolveScopes } from './scope-request.js';

const CONSENT_TTL_MS = 10 * 60_000;
/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED." */
const CODE_TTL_MS = 10 * 60_000;
const CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;

export type AuthorizeCheck =
  | { ok: true; client: ClientRow; request: AuthorizationRequest }
  /** Shown to the browser: the client or redirect URI is not one to send anything to. */
  | { ok: false; show: AppError }
  /** Sent back to the client (§4.1.2.1). */
  | { ok: false; redirect: string };

/** Where the browser goes back to: the redirect URI with the answer's parameters added to its own query (§3.1.2). */
export function redirectTo(redirectUri: string, params: Record<string, string | null | undefined>): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
  return u.toString();
}

export async function checkAuthorizationRequest(db: Knex, params: Readonly<Record<string, string>>): Promise<AuthorizeCheck> {
  const clientId = params.client_id;
  if (!clientId) return { ok: false, show: oauthError('invalid_request', 'client_id is required') };
  const client = clientId.length <= 36 ? await getClient(db, clientId) : undefined;
  if (!client || client.revokedAt !== null) return { ok: false, show: oauthError('invalid_client', 'no such client', 400) };
  if (client.kind !== 'secret' || client.redirectUris.length === 0) {
    return { ok: false, show: oauthError('unauthorized_client', 'this client is not registered for the authorization code grant (it has no redirect URIs)') };
  }
  const sent = params.redirect_uri;
  if (sent !== undefined && !client.redirectUris.includes(sent)) {
    return { ok: false, show: oauthError('invalid_request', 'redirect_uri is not one registered for this client') };
  }
  if (sent === undefined && client.redirectUris.length > 1) {
    return { ok: false, show: oauthError('invalid_request', 'redirect_uri is required: this client has several') };
  }
  const redirectUri = sent ?? client.redirectUris[0]!;
  const state = params.state ?? null;
  const back = (error: OAuthErrorCode, description: string): AuthorizeCheck => ({
    ok: false, redirect: redirectTo(redirectUri, { error, error_description: description, state }),
  });
  if (params.response_type !== 'code') return back(params.response_type ? 'unsupported_response_type' : 'invalid_request', 'response_type must be code');
  if (state !== null && state.length > 1000) return back('invalid_request', 'state is longer than 1000 characters');
  let scopes;
  try {
    scopes = resolveScopes(params.scope, client.scopes);
  } catch (err) {
    return back('invalid_scope', (err as Error).message);
  }
  const challenge = params.code_challenge ?? null;
  const method = params.code_challenge_method ?? (challenge ? 'plain' : null); // RFC 7636 §4.3: plain by default
  if (method !== null && method !== 'S256' && method !== 'plain') return back('invalid_request', 'code_challenge_method must be S256 or plain');
  if (method !== null && !challenge) return back('invalid_request', 'code_challenge_method was sent without code_challenge');
  if (challenge !== null && !CHALLENGE.test(challenge)) return back('invalid_request', 'code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]');
  return {
    ok: true,
    client,
    request: { clientId: client.id, redirectUri, redirectUriSent: sent !== undefined, scopes, state, codeChallenge: challenge, codeChallengeMethod: method as 'S256' | 'plain' | null },
  };
}

/** Keep the request for the consent form: its id and a CSRF value for the form and the browser's cookie. */
export async function beginConsent(db: Knex, request: AuthorizationRequest): Promise<{ consentId: string; csrf: string }> {
  const csrf = randomBytes(32).toString('base64url');
  return { consentId: await saveConsent(db, request, csrf, CONSENT_TTL_MS), csrf };
}

export type ConsentAnswer =
  | { ok: true; redirect: string }
  | { ok: false; why: 'unknown' };

/** The pending request of a consent form and its client, if `csrf` is its value; undefined once expired or answered. */
export async function pendingConsent(db: Knex, consentId: string, csrf: string): Promise<{ request: AuthorizationRequest; client: ClientRow } | undefined> {
  if (consentId.length > 36 || csrf.length > 100) return undefined;
  const request = await findConsent(db, consentId, csrf);
  const client = request ? await getClient(db, request.clientId) : undefined;
  return request && client && client.revokedAt === null ? { request, client } : undefined;
}

/**
 * The admin's answer. Approval (by an admin the adapter authenticated) issues the code; a refusal sends the client
 * `access_denied` (§4.1.2.1). Each pending request is answered once.
 */
export async function answerConsent(db: Knex, a: { consentId: string; csrf: string; approve: boolean; approvedBy: string; requestId?: string }): Promise<ConsentAnswer> {
  const request = await findConsent(db, a.consentId, a.csrf);
  if (!request) return { ok: false, why: 'unknown' };
  if (!a.approve) {
    if (!(await takeConsent(db, a.consentId))) return { ok: false, why: 'unknown' };
    return { ok: true, redirect: redirectTo(request.redirectUri, { error: 'access_denied', error_description: 'the workspace admin refused the request', state: request.state }) };
  }
  const approved = await approveConsent(db, a.consentId, a.approvedBy, CODE_TTL_MS, a.requestId);
  if (!approved) return { ok: false, why: 'unknown' };
  return { ok: true, redirect: redirectTo(approved.request.redirectUri, { code: approved.code, state: approved.request.state }) };
}
