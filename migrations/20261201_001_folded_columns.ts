/**
 * Folded copies of every case-insensitive string (RFC 7643 §2.1 caseExact=false), computed by the one fold in
 * src/store/fold.ts, so that filters, sorts and uniqueness compare the same strings with plain `=` / LIKE and an index
 * on both databases, instead of lower(): SQLite's folds ASCII only and was replaced by a JavaScript function called
 * per row; PostgreSQL's folds per character in the database's locale, so the two disagreed on `ΣΊΣΥΦΟΣ`.
 *
 * Existing rows are folded here, in JavaScript, in batches. The old indexes on lower(...) go first: on SQLite they were
 * built with that JavaScript lower(), which is gone, and updating a row under them would look for index entries the
 * built-in lower() cannot find.
 */
import type { Knex } from 'knex';
import { fold, foldColumn, GROUP_FOLDED, USER_FOLDED, VALUE_FOLDED } from '../src/store/fold.js';

const BATCH = 1000;

/** [table, key columns (unique together), folded columns] */
const TABLES = [
  ['users', ['id'], USER_FOLDED],
  ['user_values', ['user_id', 'attr', 'position'], VALUE_FOLDED],
  ['groups', ['id'], GROUP_FOLDED],
] as const;

/** Live users whose userNames the new fold makes equal: the unique index cannot be built. */
async function assertNoFoldedDuplicates(knex: Knex, table: string, column: string, attr: string): Promise<void> {
  const dups = await knex(table).whereNull('deleted_at').groupBy(foldColumn(column)).havingRaw('count(*) > 1')
    .select(foldColumn(column)).limit(10);
  if (!dups.length) return;
  const names = await knex(table).whereNull('deleted_at').whereIn(foldColumn(column), dups.map((d) => d[foldColumn(column)])).pluck(column);
  throw new Error(`${table}: live ${attr} values that differ only in case (as folded since this version): ${names.map((n) => JSON.stringify(n)).join(', ')}; rename or delete all but one of each, then start again`);
}

/** Set the folds of one batch of rows in one statement (a JSON array of keys and folds joined back to the table). */
async function writeBatch(knex: Knex, table: string, keys: readonly string[], cols: readonly string[], rows: Record<string, unknown>[]): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  const folded = rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = r[k];
    for (const c of cols) out[foldColumn(c)] = typeof r[c] === 'string' ? fold(r[c] as string) : null;
    return out;
  });
  const set = cols.map((c) => `"${foldColumn(c)}" = ${pg ? `v."${foldColumn(c)}"` : `json_extract(v.value, '$.${foldColumn(c)}')`}`).join(', ');
  if (pg) {
    const types = [...keys.map((k) => `"${k}" ${k === 'position' ? 'integer' : 'text'}`), ...cols.map((c) => `"${foldColumn(c)}" text`)].join(', ');
    const match = keys.map((k) => `${table}."${k}" = v."${k}"`).join(' AND ');
    await knex.raw(`UPDATE ${table} SET ${set} FROM json_to_recordset(?::json) AS v(${types}) WHERE ${match}`, [JSON.stringify(folded)]);
  } else {
    const match = keys.map((k) => `${table}."${k}" = json_extract(v.value, '$.${k}')`).join(' AND ');
    await knex.raw(`UPDATE ${table} SET ${set} FROM json_each(?) AS v WHERE ${match}`, [JSON.stringify(folded)]);
  }
}

async function backfill(knex: Knex, table: string, keys: readonly string[], cols: readonly string[]): Promise<void> {
  let after: unknown[] | undefined;
  for (;;) {
    const q = knex(table).select(...keys, ...cols).orderBy(keys as string[]).limit(BATCH);
    if (after) q.whereRaw(`(${keys.map((k) => `"${k}"`).join(', ')}) > (${keys.map(() => '?').join(', ')})`, after as any[]);
    const rows: Record<string, unknown>[] = await q;
    if (!rows.length) return;
    await writeBatch(knex, table, keys, cols, rows);
    const last = rows[rows.length - 1]!;
    after = keys.map((k) => last[k]);
  }
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_user_name_active');
  await knex.raw('DROP INDEX IF EXISTS user_values_lookup');
  await knex.raw('DROP INDEX IF EXISTS groups_display_name_active');
  for (const [table, keys, cols] of TABLES) {
    await knex.schema.alterTable(table, (t) => { for (const c of cols) t.text(foldColumn(c)).nullable(); });
    await backfill(knex, table, keys, cols);
  }
  await assertNoFoldedDuplicates(knex, 'users', 'user_name', 'userName');
  // Same names as the indexes they replace (src/errors/error-mapping.ts names the attribute from them).
  await knex.raw('CREATE UNIQUE INDEX users_user_name_active ON users (user_name_fold) WHERE deleted_at IS NULL');
  await knex.raw('CREATE INDEX user_values_lookup ON user_values (attr, value_fold)');
  // Group displayNames stop being unique in the next migration (RFC 7643 §4.2), which indexes display_name_fold.
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_user_name_active');
  await knex.raw('DROP INDEX IF EXISTS user_values_lookup');
  await knex.raw('DROP INDEX IF EXISTS groups_display_name_active');
  for (const [table, , cols] of TABLES) for (const c of cols) await knex.raw(`ALTER TABLE ${table} DROP COLUMN ${foldColumn(c)}`);
  await knex.raw('CREATE UNIQUE INDEX users_user_name_active ON users (lower(user_name)) WHERE deleted_at IS NULL');
  await knex.raw('CREATE INDEX user_values_lookup ON user_values (attr, lower(value))');
  await knex.raw('CREATE UNIQUE INDEX groups_display_name_active ON groups (lower(display_name)) WHERE deleted_at IS NULL');
}
