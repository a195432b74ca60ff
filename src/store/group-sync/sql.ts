/**
 * Small SQL helpers shared by the sync rules. Everything here runs unchanged on SQLite (3.35+: RETURNING, upsert)
 * and PostgreSQL; the only dialect difference is where a raw statement's rows come back.
 */
import type { Knex } from 'knex';
import { dialectOf } from '../db.js';

/** Ids per statement: far below SQLite's and PostgreSQL's bind limits, large enough to keep statements few. */
export const CHUNK = 500;

export function chunk<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** `?, ?, ?` for an IN list. */
export const marks = (n: number): string => new Array(n).fill('?').join(', ');

/** Rows of a raw statement (SELECT or ... RETURNING) on either driver. */
export async function rawRows<T>(db: Knex | Knex.Transaction, sql: string, bindings: readonly unknown[]): Promise<T[]> {
  const r: unknown = await db.raw(sql, bindings as Knex.RawBinding[]);
  if (dialectOf(db) === 'pg') return (r as { rows: T[] }).rows;
  return r as T[];
}

/** A WHERE fragment with its bindings, so rule statements can be composed without string soup at call sites. */
export interface Cond { sql: string; bindings: unknown[] }

export const TRUE_COND: Cond = { sql: 'TRUE', bindings: [] };

export function and(...parts: (Cond | null | undefined)[]): Cond {
  const ps = parts.filter((p): p is Cond => !!p && p.sql !== 'TRUE');
  if (!ps.length) return TRUE_COND;
  return { sql: ps.map((p) => `(${p.sql})`).join(' AND '), bindings: ps.flatMap((p) => p.bindings) };
}

export const eq = (column: string, value: string): Cond => ({ sql: `${column} = ?`, bindings: [value] });

export const inList = (column: string, values: readonly string[]): Cond => ({ sql: `${column} IN (${marks(values.length)})`, bindings: [...values] });

/** Pairs (syncable id, user id) grouped by syncable, each group's users chunked: the shape follow-up statements take. */
export function bySyncable<P>(pairs: readonly P[], key: (p: P) => string, user: (p: P) => string): [string, string[]][] {
  const m = new Map<string, string[]>();
  for (const p of pairs) {
    const k = key(p);
    const list = m.get(k);
    if (list) list.push(user(p));
    else m.set(k, [user(p)]);
  }
  const out: [string, string[]][] = [];
  for (const [k, users] of m) for (const part of chunk(users)) out.push([k, part]);
  return out;
}
