/**
 * Registered OAuth clients (RFC 6749 §2) and their secrets. A client authenticates with one of several live secrets
 * (Entra's gallery asks for "multiple active secrets" so one can rotate without downtime), or, when federated, with a
 * JWT assertion from the issuer it was registered with (RFC 7523 §2.2). Secrets are 256-bit random values stored as
 * SHA-256 digests, shown once, looked up by digest and compared in constant time (as api_tokens, tokens.ts).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import { digest, newSecretValue } from './tokens.js';
import { formatScopes, parseScopes, type Scope } from './scopes.js';

export interface Federation { issuer: string; subject: string; audience: string; jwksUrl: string }

export interface ClientRow {
  id: string;
  name: string;
  scopes: Scope[];
  kind: 'secret' | 'federated';
  federation: Federation | null;
  redirectUris: string[];
  createdAt: number;
  revokedAt: number | null;
}

export interface SecretRow { id: string; createdAt: number; expiresAt: number; revokedAt: number | null }

export interface NewClient {
  name: string;
  scopes: Scope[];
  federation?: Federation | undefined;
  redirectUris?: string[] | undefined;
  /** Lifetime of the first secret (secret clients only). */
  secretTtlMs?: number | undefined;
}

const toClient = (r: any): ClientRow => ({
  id: r.id,
  name: r.name,
  scopes: parseScopes(r.scopes),
  kind: r.kind,
  federation: r.kind === 'federated' ? { issuer: r.issuer, subject: r.subject, audience: r.audience, jwksUrl: r.jwks_url } : null,
  redirectUris: r.redirect_uris ? JSON.parse(r.redirect_uris) : [],
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

const toSecret = (r: any): SecretRow => ({
  id: r.id, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

/** Register a client; a secret client gets its first secret, returned once in `secret`. */
export async function createClient(db: Knex, c: NewClient, actor: string): Promise<{ client: ClientRow; secret?: { id: string; value: string; expiresAt: number } }> {
  const now = Date.now();
  const id = randomUUID();
  return db.transaction(async (tx) => {
    await tx('oauth_clients').insert({
      id, name: c.name, scopes: formatScopes(c.scopes), kind: c.federation ? 'federated' : 'secret',
      issuer: c.federation?.issuer ?? null, subject: c.federation?.subject ?? null, audience: c.federation?.audience ?? null,
      jwks_url: c.federation?.jwksUrl ?? null,
      redirect_uris: c.redirectUris?.length ? JSON.stringify(c.redirectUris) : null,
      created_at: now, revoked_at: null,
    });
    const client = toClient(await tx('oauth_clients').where({ id }).first());
    await writeAudit(tx, { actor, operation: 'create_client', resourceType: 'Client', resourceId: id, after: describe(client) });
    if (c.federation) return { client };
    const secret = await insertSecret(tx, id, c.secretTtlMs ?? 365 * 86_400_000, now, actor);
    return { client, secret };
  });
}

async function insertSecret(tx: Knex.Transaction, clientId: string, ttlMs: number, now: number, actor: string) {
  const id = randomUUID();
  const value = newSecretValue('ocs');
  const expiresAt = now + ttlMs;
  await tx('oauth_client_secrets').insert({ id, client_id: clientId, secret_hash: digest(value), created_at: now, expires_at: expiresAt, revoked_at: null });
  await writeAudit(tx, { actor, operation: 'add_client_secret', resourceType: 'Client', resourceId: clientId, after: { secretId: id, expiresAt: new Date(expiresAt).toISOString() } });
  return { id, value, expiresAt };
}

/** What an audit row says of a client: never a secret. */
const describe = (c: ClientRow) => ({
  name: c.name, scopes: formatScopes(c.scopes), kind: c.kind,
  ...(c.federation ? { federation: c.federation } : {}),
  ...(c.redirectUris.length ? { redirectUris: c.redirectUris } : {}),
});

/** A second (third...) live secret for a live secret client, for rotation; undefined if there is no such client. */
export async function addSecret(db: Knex, clientId: string, ttlMs: number, actor: string) {
  return db.transaction(async (tx) => {
    const c = await tx('oauth_clients').where({ id: clientId, kind: 'secret' }).whereNull('revoked_at').first();
    if (!c) return undefined;
    return insertSecret(tx, clientId, ttlMs, Date.now(), actor);
  });
}

/**
 * Revoke one secret. With `endTokens`, the access and refresh tokens obtained with it stop working too (a leaked
 * secret); without, they run out on their own (a routine rotation: the IdP keeps the token it holds until it expires).
 * Returns false if the client has no such live secret.
 */
export async function revokeSecret(db: Knex, clientId: string, secretId: string, endTokens: boolean, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const now = Date.now();
    const n = await tx('oauth_client_secrets').where({ id: secretId, client_id: clientId }).whereNull('revoked_at').update({ revoked_at: now });
    if (!n) return false;
    const tokens = endTokens ? await tx('oauth_tokens').where({ secret_id: secretId }).whereNull('revoked_at').update({ revoked_at: now }) : 0;
    await writeAudit(tx, { actor, operation: 'revoke_client_secret', resourceType: 'Client', resourceId: clientId, before: { secretId }, after: { tokensRevoked: tokens } });
    return true;
  });
}

/**
 * Revoke a client: its secrets and every token it holds stop working (the lookups join the client). Its secrets are
 * marked revoked too, so a listing does not show a revoked client with "live" secrets.
 */
export async function revokeClient(db: Knex, clientId: string, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const now = Date.now();
    const c = await tx('oauth_clients').where({ id: clientId }).whereNull('revoked_at').first();
    if (!c) return false;
    await tx('oauth_clients').where({ id: clientId }).update({ revoked_at: now });
    await tx('oauth_client_secrets').where({ client_id: clientId }).whereNull('revoked_at').update({ revoked_at: now });
    await tx('oauth_tokens').where({ client_id: clientId }).whereNull('revoked_at').update({ revoked_at: now });
    await writeAudit(tx, { actor, operation: 'revoke_client', resourceType: 'Client', resourceId: clientId, before: describe(toClient(c)) });
    return true;
  });
}

export async function getClient(db: Knex, clientId: string): Promise<ClientRow | undefined> {
  const r = await db('oauth_clients').where({ id: clientId }).first();
  return r ? toClient(r) : undefined;
}

/** Live federated clients registered for this issuer and subject (finding the client of an assertion sent without client_id). */
export async function federatedClientsFor(db: Knex, issuer: string, subject: string): Promise<ClientRow[]> {
  const rows = await db('oauth_clients').where({ kind: 'federated', issuer, subject }).whereNull('revoked_at').limit(2);
  return rows.map(toClient);
}

export async function listClients(db: Knex): Promise<(ClientRow & { secrets: SecretRow[] })[]> {
  const clients = (await db('oauth_clients').orderBy('created_at', 'asc').orderBy('id', 'asc')).map(toClient);
  const secrets = await db('oauth_client_secrets').orderBy('created_at', 'asc').select('id', 'client_id', 'created_at', 'expires_at', 'revoked_at');
  return clients.map((c) => ({ ...c, secrets: secrets.filter((s: any) => s.client_id === c.id).map(toSecret) }));
}

export async function secretsOf(db: Knex, clientId: string): Promise<SecretRow[]> {
  return (await db('oauth_client_secrets').where({ client_id: clientId }).orderBy('created_at', 'asc')).map(toSecret);
}

/**
 * Whether a secret is still live, held until the transaction ends (PostgreSQL: FOR SHARE; SQLite runs one transaction
 * at a time): a revocation of it waits for the tokens the transaction issues with it, and then sees them.
 */
export async function holdLiveSecret(tx: Knex.Transaction, secretId: string): Promise<boolean> {
  return Boolean(await tx('oauth_client_secrets').where({ id: secretId }).whereNull('revoked_at').forShare().first('id'));
}

export type SecretCheck = { ok: true; secretId: string } | { ok: false; why: 'unknown' | 'expired' };

/**
 * Whether `secret` is a live secret of the live client `clientId`: looked up by digest, compared in constant time.
 * A revoked secret is as unknown as a wrong one; an expired one says so (an admin then knows to rotate).
 */
export async function checkSecret(db: Knex, clientId: string, secret: string, now = Date.now()): Promise<SecretCheck> {
  const hash = digest(secret);
  const row = await db('oauth_client_secrets as s')
    .join('oauth_clients as c', 'c.id', 's.client_id')
    .where({ 's.secret_hash': hash, 's.client_id': clientId, 'c.kind': 'secret' })
    .whereNull('s.revoked_at').whereNull('c.revoked_at')
    .first('s.id', 's.secret_hash', 's.expires_at');
  if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), Buffer.from(hash, 'hex'))) return { ok: false, why: 'unknown' };
  if (Number(row.expires_at) <= now) return { ok: false, why: 'expired' };
  return { ok: true, secretId: row.id };
}
