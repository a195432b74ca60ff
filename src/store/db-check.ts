/**
 * `db check`: is this store whole? Run after a restore (a `restore` of an SQLite backup, a `pg_restore` of a
 * pg_dump) and whenever a store is suspect. Each check reads only; together they cover what a restore or a bad edit
 * by hand can break:
 * - migrations: every migration this build has is applied, none it does not know (store/migrations.ts);
 * - integrity: SQLite `PRAGMA integrity_check` and `foreign_key_check`; on PostgreSQL, which checks pages and
 *   foreign keys itself, no index left invalid and no constraint left unvalidated (a failed or partial restore);
 * - orphans: rows whose foreign key names a missing row, for every foreign key the schema declares (a restore with
 *   constraints off, rows inserted with `foreign_keys` off);
 * - counters: the live user and group counts the triggers keep (migrations/20261123_006_live_counts.ts) equal the
 *   real counts, and every `_fold` column holds the fold of its value (store/fold.ts);
 * - triggers: the append-only audit triggers (migrations/20261122_001_core.ts) and the live-count triggers exist and
 *   are enabled.
 */
import type { Knex } from 'knex';
import { dialectOf, type Dialect } from './db.js';
import { fold, foldColumn, GROUP_FOLDED, USER_FOLDED, VALUE_FOLDED } from './fold.js';
import { schemaStatus } from './migrations.js';
import { rawRows } from './sql.js';
import { tableCounts } from './tables.js';

export interface Check {
  name: string;
  ok: boolean;
  /** One line: what was checked and what was found. */
  detail: string;
  /** What is wrong, one entry per problem (at most a few examples each). */
  problems: string[];
}

export interface DbCheckReport {
  ok: boolean;
  store: Dialect;
  schema: string | null;
  checks: Check[];
  /** Rows per data table (store/tables.ts). */
  counts: Record<string, number>;
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const result = (name: string, problems: string[], detail: string): Check => ({ name, ok: problems.length === 0, detail, problems });

async function migrations(db: Knex): Promise<Check> {
  const s = await schemaStatus(db);
  const problems = [
    ...(s.pending.length ? [`not applied (${s.pending.length}): ${s.pending.join(', ')}`] : []),
    ...(s.unknown.length ? [`unknown to this version, a newer one migrated the store (${s.unknown.length}): ${s.unknown.join(', ')}`] : []),
  ];
  return result('migrations', problems, `${s.applied.length} applied, ${s.pending.length} missing, ${s.unknown.length} unknown; schema ${s.current ?? '(none)'}`);
}

async function sqliteIntegrity(db: Knex): Promise<Check[]> {
  const integrity = (await rawRows<{ integrity_check: string }>(db, 'PRAGMA integrity_check', [])).map((r) => r.integrity_check).filter((r) => r !== 'ok');
  const fk = await rawRows<{ table: string; parent: string }>(db, 'PRAGMA foreign_key_check', []);
  const byPair = new Map<string, number>();
  for (const r of fk) byPair.set(`${r.table} -> ${r.parent}`, (byPair.get(`${r.table} -> ${r.parent}`) ?? 0) + 1);
  return [
    result('integrity_check', integrity.slice(0, 10), integrity.length ? `${integrity.length} complaints` : 'ok'),
    result('foreign_key_check', [...byPair].map(([pair, n]) => `${pair}: ${n} rows`), fk.length ? `${fk.length} rows break a foreign key` : 'ok'),
  ];
}

/** PostgreSQL checks its pages and enforces foreign keys itself; what a failed restore can leave is an invalid index or an unvalidated constraint. */
async function pgIntegrity(db: Knex): Promise<Check[]> {
  const indexes = await rawRows<{ name: string }>(db, `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`, []);
  const constraints = await rawRows<{ name: string; table: string }>(db, `SELECT conname AS name, conrelid::regclass::text AS "table" FROM pg_constraint
    WHERE NOT convalidated AND connamespace = current_schema()::regnamespace ORDER BY 1`, []);
  const problems = [...indexes.map((r) => `invalid index ${r.name}`), ...constraints.map((r) => `constraint ${r.name} on ${r.table} not validated`)];
  return [result('integrity', problems, problems.length ? `${problems.length} problems` : 'every index valid, every constraint validated')];
}

interface ForeignKey { table: string; parent: string; columns: string[]; parentColumns: string[] }

/** Every foreign key the schema declares, from the catalogue (so a table a later migration adds is covered too). */
async function foreignKeys(db: Knex): Promise<ForeignKey[]> {
  const rows = dialectOf(db) === 'pg'
    ? await rawRows<{ table: string; id: string; parent: string; from: string; to: string }>(db, `
        SELECT c.conrelid::regclass::text AS "table", c.oid::text AS id, c.confrelid::regclass::text AS parent,
               a.attname AS "from", af.attname AS "to"
        FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, fcol, i)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol
        WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
        ORDER BY 1, 2, k.i`, [])
    : await rawRows<{ table: string; id: number; parent: string; from: string; to: string | null }>(db, `
        SELECT m.name AS "table", f.id AS id, f."table" AS parent, f."from" AS "from", f."to" AS "to"
        FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq`, []);
  const keys = new Map<string, ForeignKey>();
  for (const r of rows) {
    const k = `${r.table}\0${r.id}`;
    const fk = keys.get(k) ?? { table: r.table, parent: r.parent, columns: [], parentColumns: [] };
    fk.columns.push(r.from);
    fk.parentColumns.push(r.to ?? 'id');
    keys.set(k, fk);
  }
  return [...keys.values()];
}

async function orphans(db: Knex): Promise<Check> {
  const fks = await foreignKeys(db);
  const problems: string[] = [];
  for (const fk of fks) {
    const set = fk.columns.map((c) => `c.${q(c)} IS NOT NULL`).join(' AND ');
    const join = fk.columns.map((c, i) => `p.${q(fk.parentColumns[i]!)} = c.${q(c)}`).join(' AND ');
    const [{ n }] = await rawRows<{ n: number | string }>(db, `SELECT count(*) AS n FROM ${q(fk.table)} c
      WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${q(fk.parent)} p WHERE ${join})`, []);
    if (Number(n) > 0) problems.push(`${fk.table}.${fk.columns.join(',')} -> missing ${fk.parent}: ${n} rows`);
  }
  return result('orphans', problems, problems.length ? `${problems.length} of ${fks.length} foreign keys have orphans` : `none across ${fks.length} foreign keys`);
}

async function liveCounts(db: Knex): Promise<Check> {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const [type, table] of [['User', 'users'], ['Group', 'groups']] as const) {
    const [{ kept }] = await db('live_counts').where({ resource_type: type }).sum({ kept: 'n' });
    const [{ real }] = await db(table).whereNull('deleted_at').count({ real: '*' });
    seen.push(`${type} ${Number(real)}`);
    if (Number(kept ?? 0) !== Number(real)) problems.push(`${type}: counter says ${Number(kept ?? 0)}, ${table} has ${Number(real)} live rows`);
  }
  return result('live_counts', problems, problems.length ? 'counter differs from the rows' : `counters equal the live rows (${seen.join(', ')})`);
}

/** Rows read per page when comparing folds. */
const FOLD_PAGE = 1000;

/** Every `_fold` column against the fold of its value, a page at a time (keyset on the table's key). */
async function folds(db: Knex): Promise<Check> {
  const tables = [['users', ['id'], USER_FOLDED], ['user_values', ['user_id', 'attr', 'position'], VALUE_FOLDED], ['groups', ['id'], GROUP_FOLDED]] as const;
  const problems: string[] = [];
  let rowsRead = 0;
  for (const [table, keys, cols] of tables) {
    const wrong = new Map<string, number>();
    let after: unknown[] | undefined;
    for (;;) {
      const page = db(table).select(...keys, ...cols, ...cols.map(foldColumn)).orderBy(keys as unknown as string[]).limit(FOLD_PAGE);
      if (after) page.whereRaw(`(${keys.map(q).join(', ')}) > (${keys.map(() => '?').join(', ')})`, after as Knex.Value[]);
      const rows: Record<string, unknown>[] = await page;
      rowsRead += rows.length;
      for (const r of rows) {
        for (const c of cols) {
          const v = r[c];
          const expected = typeof v === 'string' ? fold(v) : null;
          if ((r[foldColumn(c)] ?? null) !== expected) wrong.set(c, (wrong.get(c) ?? 0) + 1);
        }
      }
      if (rows.length < FOLD_PAGE) break;
      const last = rows[rows.length - 1]!;
      after = keys.map((k) => last[k]);
    }
    for (const [c, n] of wrong) problems.push(`${table}.${foldColumn(c)} differs from the fold of ${c}: ${n} rows`);
  }
  return result('folded_columns', problems, problems.length ? `${problems.length} columns wrong` : `every fold matches (${rowsRead} rows)`);
}

/** The triggers the migrations create, by store: [table, trigger, what it is for]. */
const TRIGGERS: Record<Dialect, [string, string, string][]> = {
  sqlite: [
    ['audit_log', 'audit_log_no_update', 'audit append-only'], ['audit_log', 'audit_log_no_delete', 'audit append-only'],
    ...(['users', 'groups'] as const).flatMap((t) => (['insert', 'update', 'delete'] as const).map((op): [string, string, string] => [t, `${t}_live_${op}`, 'live count'])),
  ],
  pg: [
    ['audit_log', 'audit_log_no_change', 'audit append-only'],
    ...(['users', 'groups'] as const).flatMap((t) => (['insert', 'update', 'delete'] as const).map((op): [string, string, string] => [t, `${t}_live_${op}`, 'live count'])),
  ],
};

async function triggers(db: Knex): Promise<Check> {
  const dialect = dialectOf(db);
  const present = dialect === 'pg'
    ? await rawRows<{ table: string; name: string; enabled: string }>(db, `SELECT c.relname AS "table", t.tgname AS name, t.tgenabled AS enabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace`, [])
    : (await rawRows<{ table: string; name: string }>(db, `SELECT tbl_name AS "table", name FROM sqlite_master WHERE type = 'trigger'`, [])).map((r) => ({ ...r, enabled: 'O' }));
  const problems: string[] = [];
  for (const [table, name, why] of TRIGGERS[dialect]) {
    const t = present.find((p) => p.name === name && p.table === table);
    if (!t) problems.push(`missing trigger ${name} on ${table} (${why})`);
    else if (t.enabled === 'D') problems.push(`trigger ${name} on ${table} is disabled (${why})`);
  }
  return result('triggers', problems, problems.length ? `${problems.length} of ${TRIGGERS[dialect].length} missing or disabled` : `${TRIGGERS[dialect].length} present (audit append-only, live counts)`);
}

/** A check that cannot run (a table it needs is missing) is itself a problem, reported in its place. */
async function guarded(name: string, run: () => Promise<Check | Check[]>): Promise<Check[]> {
  try {
    const out = await run();
    return Array.isArray(out) ? out : [out];
  } catch (err) {
    // Knex prefixes the driver's message with the statement ("select ... - relation does not exist"): keep the reason.
    const reason = String((err as Error)?.message ?? err).split('\n')[0]!.split(' - ').at(-1)!.slice(0, 200);
    return [result(name, [`could not check: ${reason}`], 'check failed')];
  }
}

/** Every check, in order; the store is whole when every one is ok. Reads only. */
export async function checkDb(db: Knex): Promise<DbCheckReport> {
  const dialect = dialectOf(db);
  const checks: Check[] = [];
  checks.push(...await guarded('migrations', () => migrations(db)));
  checks.push(...await guarded('integrity', () => (dialect === 'pg' ? pgIntegrity(db) : sqliteIntegrity(db))));
  checks.push(...await guarded('orphans', () => orphans(db)));
  checks.push(...await guarded('live_counts', () => liveCounts(db)));
  checks.push(...await guarded('folded_columns', () => folds(db)));
  checks.push(...await guarded('triggers', () => triggers(db)));
  let counts: Record<string, number> = {};
  checks.push(...await guarded('counts', async () => {
    counts = await tableCounts(db);
    return result('counts', [], `${Object.keys(counts).length} tables, ${Object.values(counts).reduce((a, b) => a + b, 0)} rows`);
  }));
  const status = await schemaStatus(db).catch(() => undefined);
  return { ok: checks.every((c) => c.ok), store: dialect, schema: status?.current ?? null, checks, counts };
}
