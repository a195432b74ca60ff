/**
 * Registering and retiring OAuth clients, the same for the CLI (`client ...`) and the admin API (/admin/v1/clients):
 * input checked once here, failures as AppErrors (400 with a code naming the field, 404 for an unknown client).
 * - A secret client gets a first secret now and more with `addSecret` (Entra asks for several live at once, so a
 *   rotation never has a moment with none); each expires (Entra's gallery: one to three years).
 * - A federated client has no secret: it proves itself with assertions from the issuer registered here (Entra WIF).
 * - A client with redirect URIs uses the authorization code grant (Okta's "OAuth 2" mode).
 */
import type { Knex } from 'knex';
import { AppError } from '../errors/app-error.js';
import { parseDuration } from '../config/index.js';
import {
  addSecret as addSecretRow, createClient, getClient, listClients as listClientRows, revokeClient as revokeClientRow,
  revokeSecret as revokeSecretRow, secretsOf, type ClientRow, type Federation, type SecretRow,
} from '../store/oauth-clients.js';
import { isScope, type Scope } from '../store/scopes.js';
import { checkJwksUrl } from './assertion.js';

const bad = (code: string, message: string) => AppError.workspace(400, code, message);
const DAY = 86_400_000;
export const DEFAULT_SECRET_TTL = '365d';

export interface ClientSpec {
  name: string;
  /** One scope or several (space-separated or a list); default scim. */
  scope?: string | string[] | undefined;
  /** `365d`, `90d`...: 1 day to 3 years (Entra's gallery asks for 1 to 3). */
  secretTtl?: string | undefined;
  federation?: Partial<Federation> | undefined;
  redirectUris?: string[] | undefined;
}

export function secretTtlMs(text: string | undefined): number {
  const raw = (text ?? DEFAULT_SECRET_TTL).trim();
  const ms = parseDuration(raw);
  if (ms === undefined || ms < DAY || ms > 3 * 366 * DAY) throw bad('invalid_secret_ttl', `secret TTL must be a duration from 1d to 1095d (3 years), e.g. 365d; got "${raw.slice(0, 40)}"`);
  return ms;
}

function scopesOf(scope: ClientSpec['scope']): Scope[] {
  const values = (Array.isArray(scope) ? scope : (scope ?? 'scim').split(/[\s,]+/)).filter(Boolean);
  if (values.length === 0) throw bad('invalid_scope', 'at least one scope is required');
  const unknown = values.find((v) => typeof v !== 'string' || !isScope(v));
  if (unknown !== undefined) throw bad('invalid_scope', `unknown scope "${String(unknown).slice(0, 40)}" (scopes: scim, scim:read, admin, metrics)`);
  return [...new Set(values as Scope[])];
}

/** RFC 6749 §3.1.2: absolute URIs without a fragment; https, or http on a loopback host for local tools. */
function redirectUriError(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return 'is not an absolute URI';
  }
  if (u.hash || uri.includes('#')) return 'must not have a fragment';
  if (u.username || u.password) return 'must not carry credentials';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
  return 'must be https (or http on 127.0.0.1/localhost)';
}

function federationOf(f: Partial<Federation>): Federation {
  for (const k of ['issuer', 'subject', 'audience', 'jwksUrl'] as const) {
    const v = f[k];
    if (typeof v !== 'string' || !v.trim()) throw bad('invalid_federation', `a federated client needs ${k === 'jwksUrl' ? 'a JWKS URL (--jwks-url)' : `its ${k} (--${k})`}`);
    if (v.length > 1000) throw bad('invalid_federation', `${k} is longer than 1000 characters`);
  }
  const jwksProblem = checkJwksUrl(f.jwksUrl!.trim());
  if (jwksProblem) throw bad('invalid_federation', `jwks URL ${jwksProblem}`);
  return { issuer: f.issuer!.trim(), subject: f.subject!.trim(), audience: f.audience!.trim(), jwksUrl: f.jwksUrl!.trim() };
}

export async function registerClient(db: Knex, spec: ClientSpec, actor: string) {
  const name = typeof spec.name === 'string' ? spec.name.trim() : '';
  if (!name || name.length > 100) throw bad('invalid_name', 'name must be 1 to 100 characters');
  const scopes = scopesOf(spec.scope);
  const redirectUris = spec.redirectUris ?? [];
  if (!Array.isArray(redirectUris) || redirectUris.length > 10) throw bad('invalid_redirect_uri', 'redirect URIs must be a list of at most 10');
  for (const uri of redirectUris) {
    const problem = typeof uri === 'string' && uri.length <= 2000 ? redirectUriError(uri) : 'must be a string of at most 2000 characters';
    if (problem) throw bad('invalid_redirect_uri', `redirect URI "${String(uri).slice(0, 100)}" ${problem}`);
  }
  const federation = spec.federation ? federationOf(spec.federation) : undefined;
  if (federation && redirectUris.length) throw bad('invalid_redirect_uri', 'a federated client uses client credentials: it has no redirect URIs');
  if (federation && spec.secretTtl !== undefined) throw bad('invalid_secret_ttl', 'a federated client has no secret');
  const ttl = federation ? undefined : secretTtlMs(spec.secretTtl);
  return createClient(db, { name, scopes, federation, redirectUris, secretTtlMs: ttl }, actor);
}

async function liveClient(db: Knex, id: string): Promise<ClientRow> {
  const c = typeof id === 'string' && id.length <= 36 ? await getClient(db, id) : undefined;
  if (!c || c.revokedAt !== null) throw AppError.workspace(404, 'not_found', `no live client with id ${String(id).slice(0, 60)}`);
  return c;
}

export async function addSecret(db: Knex, clientId: string, ttl: string | undefined, actor: string) {
  const c = await liveClient(db, clientId);
  if (c.kind !== 'secret') throw AppError.workspace(409, 'federated_client', 'a federated client has no secrets: it authenticates with assertions');
  const secret = await addSecretRow(db, clientId, secretTtlMs(ttl), actor);
  if (!secret) throw AppError.workspace(404, 'not_found', `no live client with id ${clientId}`);
  return secret;
}

export async function revokeSecret(db: Knex, clientId: string, secretId: string, endTokens: boolean, actor: string): Promise<void> {
  await liveClient(db, clientId);
  if (!(await revokeSecretRow(db, clientId, String(secretId).slice(0, 36), endTokens, actor))) {
    throw AppError.workspace(404, 'not_found', `client ${clientId} has no live secret ${String(secretId).slice(0, 60)}`);
  }
}

export async function revokeClient(db: Knex, clientId: string, actor: string): Promise<void> {
  await liveClient(db, clientId);
  if (!(await revokeClientRow(db, clientId, actor))) throw AppError.workspace(404, 'not_found', `no live client with id ${clientId}`);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A client as the admin API and `client list --json` show it: never a secret or a digest. */
export function clientView(c: ClientRow, secrets: SecretRow[], now = Date.now()) {
  const codeClient = c.kind === 'secret' && c.redirectUris.length > 0;
  return {
    id: c.id,
    name: c.name,
    scope: c.scopes.join(' '),
    kind: c.kind,
    grantTypes: codeClient ? ['authorization_code', 'refresh_token'] : ['client_credentials'],
    ...(c.federation ? { federation: c.federation } : {}),
    redirectUris: c.redirectUris,
    created: iso(c.createdAt),
    revoked: iso(c.revokedAt),
    secrets: secrets.map((s) => ({
      id: s.id, created: iso(s.createdAt), expires: iso(s.expiresAt), revoked: iso(s.revokedAt),
      state: s.revokedAt !== null ? 'revoked' : s.expiresAt <= now ? 'expired' : 'live',
    })),
  };
}

export async function listClients(db: Knex) {
  return (await listClientRows(db)).map((c) => clientView(c, c.secrets));
}

export async function showClient(db: Knex, clientId: string) {
  const c = typeof clientId === 'string' && clientId.length <= 36 ? await getClient(db, clientId) : undefined;
  if (!c) throw AppError.workspace(404, 'not_found', `no client with id ${String(clientId).slice(0, 60)}`);
  return clientView(c, await secretsOf(db, clientId));
}
