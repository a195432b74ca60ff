/**
 * Okta's "OAuth 2" mode as a browser and Okta drive it (RFC 6749 §4.1, RFC 7636): the admin's browser opens
 * /oauth/authorize, the consent page sets a cookie and carries hidden `consent` and `csrf` fields, the approval
 * redirects back to Okta with a code, and Okta exchanges the code at /oauth/token. Cookies are carried by hand and
 * redirects are never followed (`redirect: 'manual'`), so every hop is visible to the test.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from './server.ts';
import { basic, registerClient, tokenRequest, type Answer } from './oauth.ts';

export const REDIRECT = 'https://acme.okta.example/oauth/callback';
export const HTML = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';

/** RFC 7636 §4.1-§4.2: a verifier of 43 characters and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface Page {
  status: number;
  headers: Headers;
  html: string;
  /** `oauth_consent=<value>`, to send back as `Cookie:`; '' if none was set. */
  cookie: string;
  /** The whole Set-Cookie line, for its attributes. */
  setCookie: string;
  consent: string | undefined;
  csrf: string | undefined;
  location: string | null;
}

async function page(r: Response): Promise<Page> {
  const html = await r.text();
  const setCookie = r.headers.getSetCookie().find((c) => c.startsWith('oauth_consent=')) ?? '';
  return {
    status: r.status, headers: r.headers, html, setCookie, cookie: setCookie.split(';')[0] ?? '',
    consent: /name="consent" value="([^"]*)"/.exec(html)?.[1], csrf: /name="csrf" value="([^"]*)"/.exec(html)?.[1],
    location: r.headers.get('location'),
  };
}

/** GET /oauth/authorize with these query parameters, as a browser asks (Accept: text/html) unless told otherwise. */
export async function openAuthorize(s: TestServer, query: Record<string, string>, accept = HTML): Promise<Page> {
  return page(await fetch(`${s.url}/oauth/authorize?${new URLSearchParams(query)}`, { redirect: 'manual', headers: { Accept: accept } }));
}

/** POST the consent form: `fields` as the form sends them, `cookie` as the browser would (or not). */
export async function submitConsent(s: TestServer, fields: Record<string, string | undefined>, cookie?: string, accept = HTML): Promise<Page> {
  const body = new URLSearchParams(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
  return page(await fetch(`${s.url}/oauth/authorize`, {
    method: 'POST', redirect: 'manual', body: body.toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: accept, ...(cookie ? { Cookie: cookie } : {}) },
  }));
}

export interface OktaClient { id: string; secret: string; name: string }

export async function registerOkta(s: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<OktaClient> {
  const c = await registerClient(s, { name, redirectUris: [REDIRECT], ...extra });
  return { id: c.id, secret: c.secret, name };
}

export interface Approved { code: string; state: string; verifier: string; location: URL }

/** The whole browser half: open the page, approve it with the admin token; the code Okta's callback receives. */
export async function approve(s: TestServer, c: OktaClient, extra: Record<string, string> = {}): Promise<Approved> {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const p = await openAuthorize(s, {
    response_type: 'code', client_id: c.id, redirect_uri: REDIRECT, state, code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  });
  if (p.status !== 200) throw new Error(`authorize page: ${p.status} ${p.html}`);
  const a = await submitConsent(s, { consent: p.consent, csrf: p.csrf, credential: s.adminToken, decision: 'approve' }, p.cookie);
  if (a.status !== 303 || !a.location) throw new Error(`consent approval: ${a.status} ${a.html}`);
  const location = new URL(a.location);
  return { code: location.searchParams.get('code') ?? '', state: location.searchParams.get('state') ?? '', verifier, location };
}

/** Okta at the token endpoint: the code, its redirect URI and verifier, the secret by HTTP Basic. */
export function exchangeCode(s: TestServer, c: OktaClient, code: string, verifier: string | undefined, extra: Record<string, string> = {}): Promise<Answer> {
  return tokenRequest(s, {
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...(verifier !== undefined ? { code_verifier: verifier } : {}), ...extra,
  }, { Authorization: basic(c.id, c.secret) });
}

export function refresh(s: TestServer, c: OktaClient, refreshToken: string, extra: Record<string, string> = {}): Promise<Answer> {
  return tokenRequest(s, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, { Authorization: basic(c.id, c.secret) });
}

/** Approve and exchange: the tokens a freshly connected Okta app holds. */
export async function connectOkta(s: TestServer, c: OktaClient, extra: Record<string, string> = {}): Promise<{ access: string; refresh: string; scope: string }> {
  const a = await approve(s, c, extra);
  const t = await exchangeCode(s, c, a.code, a.verifier);
  if (t.status !== 200) throw new Error(`code exchange: ${t.status} ${t.text}`);
  return { access: t.body.access_token, refresh: t.body.refresh_token, scope: t.body.scope };
}

/**
 * The authenticator trusts a credential it found live for up to a second (src/http/auth.ts), so a revocation reaches
 * a server that has just used the token within that second: tests that check a revocation wait it out.
 */
export const pastAuthCache = () => new Promise((r) => setTimeout(r, 1100));
