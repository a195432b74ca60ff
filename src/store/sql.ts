/**
 * SQL helpers every repository shares. Statements run unchanged on SQLite (3.35+: RETURNING, upsert) and PostgreSQL;
 * the only dialect difference here is where a raw statement's rows come back.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';

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
