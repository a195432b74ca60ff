/**
 * The tables a store has and how many rows each holds: what `db check` reports, what `backup` records of the copy it
 * made, and how `restore` tells an empty store from one with data. Read from the database's own catalogue rather
 * than a list kept here, so a table a later migration adds is counted without anyone remembering to add it.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import { rawRows } from './sql.js';

/**
 * Tables that describe the store rather than hold its data: Knex's migration records, and the live counters
 * (migrations/20261123_006_live_counts.ts), whose rows exist, at zero, in a store that holds nothing.
 */
const BOOKKEEPING = new Set(['knex_migrations', 'knex_migrations_lock', 'live_counts']);

/** A table whose rows are the store's data (users, memberships, tokens, audit...), not its bookkeeping. */
export const isDataTable = (name: string): boolean => !BOOKKEEPING.has(name) && !name.startsWith('sqlite_');

/** Every table of the store (the current schema on PostgreSQL), by name. */
export async function listTables(db: Knex): Promise<string[]> {
  const rows = dialectOf(db) === 'pg'
    ? await rawRows<{ name: string }>(db, `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`, [])
    : await rawRows<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`, []);
  return rows.map((r) => r.name);
}

/** Rows in each data table, by table name in name order. */
export async function tableCounts(db: Knex): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of (await listTables(db)).filter(isDataTable)) {
    const [{ n }] = await db(table).count({ n: '*' });
    counts[table] = Number(n);
  }
  return counts;
}
