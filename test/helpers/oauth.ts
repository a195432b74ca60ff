/**
 * OAuth helpers for component tests: register clients through the admin API, speak RFC 6749 to /oauth/token as
 * Entra and Okta do (form bodies, HTTP Basic or body credentials), and use the tokens on SCIM.
 */
import type { TestServer } from './server.ts';

export interface Answer { status: number; body: any; text: string; headers: Headers }

async function answer(r: Response): Promise<Answer> {
  const text = await r.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: r.status, body, text, headers: r.headers };
}

export async function admin(s: TestServer, method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${s.url}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${s.adminToken}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return answer(r);
}

/** A client registered through the admin API; `secret` is its first secret (secret clients). */
export async function registerClient(s: TestServer, spec: Record<string, unknown>): Promise<{ id: string; secret: string; secretId: string; body: any }> {
  const r = await admin(s, 'POST', '/clients', spec);
  if (r.status !== 201) throw new Error(`client registration failed: ${r.status} ${r.text}`);
  return { id: r.body.id, secret: r.body.secret?.value, secretId: r.body.secret?.id, body: r.body };
}

/** HTTP Basic as RFC 6749 §2.3.1 builds it: each part form-urlencoded, then base64. */
export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export async function tokenRequest(s: TestServer, params: Record<string, string>, headers: Record<string, string> = {}, path = '/oauth/token'): Promise<Answer> {
  const r = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return answer(r);
}

/** Client credentials with HTTP Basic; the access token, or a thrown error with the answer. */
export async function clientCredentials(s: TestServer, id: string, secret: string, scope?: string): Promise<string> {
  const r = await tokenRequest(s, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { Authorization: basic(id, secret) });
  if (r.status !== 200) throw new Error(`token request failed: ${r.status} ${r.text}`);
  return r.body.access_token;
}

/** A SCIM request with this Authorization header value. */
export async function scim(s: TestServer, authorization: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await fetch(`${s.base}${path}`, {
    method,
    headers: { Authorization: authorization, ...(body !== undefined ? { 'Content-Type': 'application/scim+json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return answer(r);
}
