/**
 * A SCIM list answered by SQL (RFC 7644 §3.4.2): the filterable and sortable attributes of a resource type and where
 * they live, and one page of its live rows in the order asked, with totalResults. Nothing is filtered, sorted or paged
 * in memory. The query itself is parsed in src/scim/query/collection-query.ts, which is told what it needs to know
 * of a list by `listingOf`.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import type { FilterNode } from './filter-ast.js';
import { filterToSql, type AttributeMap, type ColumnTarget } from './filter-sql.js';

/** A compiled filter: an SQL predicate and its bindings (store/filter-sql.ts). */
export interface SqlWhere { sql: string; bindings: unknown[] }

/** A page to read: the compiled filter, the sort (a key of `ListTable.sortable`) and the RFC 7644 §3.4.2.4 window. */
export interface ListQuery {
  where?: SqlWhere | undefined;
  sort?: { by: string; descending: boolean } | undefined;
  startIndex: number;
  count: number;
}

/** What a list tells the query parser: the attributes it sorts by, and how a filter compiles here (or why not). */
export interface Listing {
  sortable: ReadonlySet<string>;
  compileFilter(filter: FilterNode): { ok: true; value: SqlWhere } | { ok: false; error: string };
}

/**
 * Where a walk through a list left off: the sort values of the last row served (in ORDER BY order), under the query
 * and the startIndex that follows it (src/scim/query/page-cursors.ts keeps them per process).
 */
export interface SeekCursors {
  get(query: string): unknown[] | undefined;
  set(query: string, key: unknown[]): void;
}

/** A column; a caseExact=false string is compared through its stored fold, `<column>_fold` (store/fold.ts). */
export const column = (sql: string, type: ColumnTarget['type'] = 'string', caseExact = false): ColumnTarget => ({
  kind: 'column', sql, type, caseExact, ...(!caseExact && type === 'string' ? { folded: `${sql}_fold` } : {}),
});

/** How the rows of one resource type are listed. */
export interface ListTable {
  /** The table; rows with `deleted_at` set are never listed. */
  table: string;
  /** Filterable attributes (store/filter-sql.ts). */
  attributes: AttributeMap;
  /** Sortable attributes (lower-cased SCIM path, without the core schema URN) -> SQL expression. */
  sortable: Readonly<Record<string, string>>;
  /** Must be NOT NULL, like uniqueKey, so an index on (defaultOrder, uniqueKey) can serve every page. */
  defaultOrder: string;
  uniqueKey: string;
  /** Sort expressions that are never NULL (they need no NULLS-LAST term, which would defeat their index). */
  notNull: readonly string[];
}

/** What the query parser is told about a list: which attributes sort, and how a filter compiles on this database. */
export function listingOf(t: ListTable, db: Knex): Listing {
  const dialect = dialectOf(db);
  return {
    sortable: sortKeys(t),
    compileFilter: (filter) => {
      const r = filterToSql(filter, t.attributes, dialect);
      return r.ok ? { ok: true, value: { sql: r.sql, bindings: r.bindings } } : r;
    },
  };
}

const keysOf = new WeakMap<ListTable, ReadonlySet<string>>();
function sortKeys(t: ListTable): ReadonlySet<string> {
  let keys = keysOf.get(t);
  if (!keys) keysOf.set(t, (keys = new Set(Object.keys(t.sortable))));
  return keys;
}

/** One term of ORDER BY: an SQL expression, most significant first. */
interface Order { sql: string; desc: boolean; nullable: boolean }

/** The order of a page; always ends with the unique key, so pages are stable. */
function orderOf(t: ListTable, q: ListQuery): [Order, Order] {
  let first: Order;
  if (q.sort) {
    const sql = t.sortable[q.sort.by];
    if (sql === undefined) throw new Error(`${t.table} cannot be sorted by ${q.sort.by}`);
    first = { sql, desc: q.sort.descending, nullable: !t.notNull.includes(sql) };
  } else {
    first = { sql: t.defaultOrder, desc: false, nullable: false };
  }
  return [first, { sql: t.uniqueKey, desc: first.desc, nullable: false }];
}

/** Apply ORDER BY / LIMIT / OFFSET. Unassigned values sort last in either order. */
function applyPage(qb: Knex.QueryBuilder, orderBy: readonly Order[], q: { startIndex: number; count: number }): Knex.QueryBuilder {
  for (const o of orderBy) {
    qb.orderByRaw(o.nullable ? `(${o.sql}) IS NULL ASC, ${o.sql} ${o.desc ? 'DESC' : 'ASC'}` : `${o.sql} ${o.desc ? 'DESC' : 'ASC'}`);
  }
  return qb.limit(q.count).offset(q.startIndex - 1);
}

/**
 * Where the page after a row with these sort values starts, in the order applyPage writes (unassigned values last in
 * either direction, then the unique key): the rows strictly after it. Any sort a list accepts can be continued this
 * way, NULLs and descending included; a never-NULL key gets the `k >= ? AND (...)` form an index range can serve.
 */
function seekAfter([first, unique]: readonly [Order, Order], key: unknown[]): SqlWhere {
  const [gte, gt] = first.desc ? ['<=', '<'] : ['>=', '>'];
  const [k, u] = [first.sql, unique.sql];
  if (!first.nullable) return { sql: `${k} ${gte} ? AND (${k} ${gt} ? OR ${u} ${gt} ?)`, bindings: [key[0], key[0], key[1]] };
  if (key[0] === null || key[0] === undefined) return { sql: `(${k}) IS NULL AND ${u} ${gt} ?`, bindings: [key[1]] };
  return { sql: `((${k}) IS NULL OR ${k} ${gt} ? OR (${k} = ? AND ${u} ${gt} ?))`, bindings: [key[0], key[0], key[1]] };
}

/** Aliases under which a page's sort values are read, so the next page can seek past its last row. */
const SEEK_ALIASES = ['scim_seek_0', 'scim_seek_1'] as const;

/** What readPage reads of each row. */
export interface PageColumns {
  columns: string | readonly string[];
  /**
   * Columns worth computing only for the rows returned (a subquery per row). Left out of a page read with OFFSET:
   * PostgreSQL computes the select list of the skipped rows too, so a deep page would pay for every row it skips.
   */
  inlineColumns?: (string | Knex.Raw)[];
  /** How many live rows the table holds, when known cheaper than count(*): used when there is no filter. */
  countAll?: () => Promise<number>;
  cursors: SeekCursors;
}

/**
 * One page and totalResults (RFC 7644 §3.4.2.4). The page is read first: a page that is not full, and is either
 * non-empty or the first, already tells the total (an IdP's `eq` match is one such page), so `count(*)` runs only
 * when more rows may follow or the page lies past the end, and not at all for an unfiltered list when `countAll` knows.
 * A page that follows one served before (found in `cursors`) seeks past its last row instead of skipping
 * `startIndex - 1` rows.
 */
export async function readPage<T extends object>(db: Knex, t: ListTable, q: ListQuery, source: PageColumns): Promise<{ rows: T[]; total: number }> {
  const { columns, inlineColumns = [], countAll, cursors } = source;
  const where = q.where;
  const base = () => {
    const qb = db(t.table).whereNull(`${t.table}.deleted_at`);
    return where ? qb.whereRaw(`(${where.sql})`, where.bindings as any[]) : qb;
  };
  const orderBy = orderOf(t, q);
  const cursorKey = (startIndex: number) => `${where?.sql ?? ''}|${JSON.stringify(where?.bindings ?? [])}|${orderBy.map((o) => `${o.sql} ${o.desc}`).join(',')}|${startIndex}`;
  const after = q.startIndex > 1 ? cursors.get(cursorKey(q.startIndex)) : undefined;
  // The sort values of each row, read with it (an expression such as lower(last_name) is not a column of the row).
  const keyColumns = orderBy.map((o, i) => db.raw(`${o.sql} AS ${SEEK_ALIASES[i]}`));
  let rows: T[] = [];
  if (q.count > 0 && after) {
    const seek = seekAfter(orderBy, after);
    rows = await applyPage(base().select(...[columns].flat(), ...inlineColumns, ...keyColumns).whereRaw(seek.sql, seek.bindings as any[]), orderBy, { startIndex: 1, count: q.count });
  } else if (q.count > 0) {
    rows = await applyPage(base().select(...[columns].flat(), ...(q.startIndex === 1 ? inlineColumns : []), ...keyColumns), orderBy, q);
  }
  if (rows.length === q.count && rows.length > 0) {
    const last = rows[rows.length - 1] as Record<string, unknown>;
    cursors.set(cursorKey(q.startIndex + rows.length), SEEK_ALIASES.map((a) => last[a] ?? null));
  }
  for (const r of rows as Record<string, unknown>[]) for (const a of SEEK_ALIASES) delete r[a];
  // After a seek, startIndex - 1 is not a row count (rows before the page may have gone): count them.
  if (!after && rows.length < q.count && (rows.length > 0 || q.startIndex === 1)) return { rows, total: q.startIndex - 1 + rows.length };
  if (!where && countAll) return { rows, total: await countAll() };
  const [{ n }] = await base().count({ n: '*' });
  return { rows, total: Number(n) };
}
