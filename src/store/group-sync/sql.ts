/**
 * The WHERE fragments the sync rules compose, and the pairs their follow-up statements take. Everything here runs
 * unchanged on SQLite and PostgreSQL.
 */
import { chunk, marks } from '../sql.js';

/** Kept for src/sync/engine.ts, which imports it from here; the helper itself lives in src/store/sql.ts. */

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
