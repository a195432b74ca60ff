/**
 * Bearer tokens: random, shown once, stored only as SHA-256 digests (they are 256-bit random values, so a slow
 * password hash adds nothing), looked up by digest and compared in constant time.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { writeAudit } from './audit.js';
import type { Scope } from './scopes.js';

export type { Scope } from './scopes.js';
/** A token as listed: never its value or digest. Times in milliseconds. */
export interface TokenRow { id: string; name: string; scope: Scope; created_at: number | string; revoked_at: number | string | null }

export const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(digest(a), 'hex'), Buffer.from(digest(b), 'hex'));
}

/** A random secret with a prefix that says what it is (`scim_`, `scimread_`, `oat_`...), for people and secret scanners. */
export function newSecretValue(prefix: string): string {
  return `${prefix.replace(/[^a-z]/g, '')}_${randomBytes(32).toString('base64url')}`;
}

export const newTokenValue = (scope: Scope): string => newSecretValue(scope);

export async function createToken(db: Knex, name: string, scope: Scope, actor: string, id: string = randomUUID()): Promise<{ id: string; token: string } | null> {
  const token = newTokenValue(scope);
  return db.transaction(async (tx) => {
    const inserted = await tx('api_tokens')
      .insert({ id, name, scope, token_hash: digest(token), created_at: Date.now(), revoked_at: null })
      .onConflict('id').ignore()
      .returning('id');
    if (inserted.length === 0) return null;
    await writeAudit(tx, { actor, operation: 'create_token', resourceType: 'Token', resourceId: id, after: { name, scope } });
    return { id, token };
  });
}

export async function listTokens(db: Knex): Promise<TokenRow[]> {
  return db('api_tokens').orderBy('created_at', 'asc').select('id', 'name', 'scope', 'created_at', 'revoked_at');
}

/** Revoke by id or by name; returns how many were revoked. */
export async function revokeToken(db: Knex, idOrName: string, actor: string): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx('api_tokens').whereNull('revoked_at').andWhere((q) => q.where('id', idOrName).orWhere('name', idOrName));
    for (const r of rows) {
      await tx('api_tokens').where('id', r.id).update({ revoked_at: Date.now() });
      await writeAudit(tx, { actor, operation: 'revoke_token', resourceType: 'Token', resourceId: r.id, before: { name: r.name, scope: r.scope } });
    }
    return rows.length;
  });
}

export async function countActiveTokens(db: Knex, scope: Scope): Promise<number> {
  const [{ n }] = await db('api_tokens').where({ scope }).whereNull('revoked_at').count({ n: '*' });
  return Number(n);
}

/** Find the live token with this value, or undefined. */
export async function findToken(db: Knex, token: string): Promise<{ id: string; name: string; scope: Scope } | undefined> {
  const hash = digest(token);
  const row = await db('api_tokens').where({ token_hash: hash }).whereNull('revoked_at').first();
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { id: row.id, name: row.name, scope: row.scope };
}
