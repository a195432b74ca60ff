/**
 * Query parameters of a SCIM list (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count, parsed once and
 * answered by SQL. Parsers return a result (or a SCIM error to throw); nothing is filtered, sorted or paged in memory.
 */
import type { Knex } from 'knex';
import { parseFilter } from './filter-parse.js';
import { filterToSql, type AttributeMap } from '../../store/filter-sql.js';
import { scimError } from '../shared/errors.js';
import type { Dialect } from '../../store/db.js';
import type { PageCursors, SeekKey } from './page-cursors.js';

export interface CollectionQuery {
  where?: { sql: string; bindings: unknown[] };
  /** SQL expressions to order by, most significant first; always ends with a unique key for stable pages. */
  orderBy: { sql: string; desc: boolean; nullable: boolean }[];
  startIndex: number;
  count: number;
}

export interface ListOptions {
  attributes: AttributeMap;
  /** Sortable attributes (lower-cased SCIM path -> SQL expression). */
  sortable: Record<string, string>;
  /** Must be NOT NULL, like uniqueKey, so an index on (defaultOrder, uniqueKey) can serve every page. */
  defaultOrder: string;
  uniqueKey: string;
  /** Sort expressions that are never NULL (they need no NULLS-LAST term, which would defeat their index). */
  notNull?: string[];
  dialect: Dialect;
  defaultCount: number;
  maxResults: number;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: ReturnType<typeof scimError> };
const fail = (scimType: 'invalidFilter' | 'invalidValue', detail: string): Result<never> => ({ ok: false, error: scimError(400, scimType, detail) });

/** A non-negative integer from a query value (string in a URL, number in a .search body). */
function integer(v: unknown, name: string): Result<number | undefined> {
  if (v === undefined || v === null || v === '') return { ok: true, value: undefined };
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^[-+]?\d{1,30}$/.test(s)) return fail('invalidValue', `${name} must be an integer`);
  return { ok: true, value: Math.max(-1, Math.min(Number(s), 2 ** 31 - 1)) };
}

export function parseCollectionQuery(q: Record<string, unknown>, o: ListOptions): Result<CollectionQuery> {
  const start = integer(q.startIndex, 'startIndex');
  if (!start.ok) return start;
  const cnt = integer(q.count, 'count');
  if (!cnt.ok) return cnt;
  // RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0; count above the maximum is the maximum.
  const startIndex = Math.max(start.value ?? 1, 1);
  const count = Math.min(Math.max(cnt.value ?? o.defaultCount, 0), o.maxResults);

  let where: CollectionQuery['where'];
  if (q.filter !== undefined) {
    if (typeof q.filter !== 'string' || !q.filter.trim()) return fail('invalidFilter', 'filter must be a non-empty string');
    const parsed = parseFilter(q.filter);
    if (!parsed.ok) return fail('invalidFilter', parsed.error);
    const sql = filterToSql(parsed.filter, o.attributes, o.dialect);
    if (!sql.ok) return fail('invalidFilter', sql.error);
    where = { sql: sql.sql, bindings: sql.bindings };
  }

  const orderBy: CollectionQuery['orderBy'] = [];
  const desc = typeof q.sortOrder === 'string' && q.sortOrder.toLowerCase() === 'descending';
  if (q.sortOrder !== undefined && !(typeof q.sortOrder === 'string' && /^(a|de)scending$/i.test(q.sortOrder))) {
    return fail('invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  if (q.sortBy !== undefined) {
    if (typeof q.sortBy !== 'string') return fail('invalidValue', 'sortBy must be an attribute path');
    const key = q.sortBy.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, '');
    const expr = o.sortable[key];
    if (!expr) return fail('invalidValue', `cannot sort by "${q.sortBy.slice(0, 100)}"`);
    orderBy.push({ sql: expr, desc, nullable: !(o.notNull ?? []).includes(expr) });
  } else {
    orderBy.push({ sql: o.defaultOrder, desc: false, nullable: false });
  }
  orderBy.push({ sql: o.uniqueKey, desc: orderBy[0]!.desc, nullable: false });
  return { ok: true, value: { where, orderBy, startIndex, count } };
}

/** Apply WHERE to a query builder. */
export function applyWhere(qb: Knex.QueryBuilder, cq: CollectionQuery): Knex.QueryBuilder {
  return cq.where ? qb.whereRaw(`(${cq.where.sql})`, cq.where.bindings as any[]) : qb;
}

/** Apply ORDER BY / LIMIT / OFFSET. Unassigned values sort last in either order. */
export function applyPage(qb: Knex.QueryBuilder, cq: CollectionQuery): Knex.QueryBuilder {
  for (const o of cq.orderBy) {
    qb.orderByRaw(o.nullable ? `(${o.sql}) IS NULL ASC, ${o.sql} ${o.desc ? 'DESC' : 'ASC'}` : `${o.sql} ${o.desc ? 'DESC' : 'ASC'}`);
  }
  return qb.limit(cq.count).offset(cq.startIndex - 1);
}

/**
 * Where the page after a row with these sort values starts, in the order applyPage writes (unassigned values last in
 * either direction, then the unique key): the rows strictly after it. Any sort a list accepts can be continued this
 * way, NULLs and descending included; a never-NULL key gets the `k >= ? AND (...)` form an index range can serve.
 */
function seekAfter(cq: CollectionQuery, key: SeekKey): { sql: string; bindings: unknown[] } {
  const [first, unique] = cq.orderBy as [CollectionQuery['orderBy'][0], CollectionQuery['orderBy'][0]];
  const [gte, gt] = first.desc ? ['<=', '<'] : ['>=', '>'];
  const [k, u] = [first.sql, unique.sql];
  if (!first.nullable) return { sql: `${k} ${gte} ? AND (${k} ${gt} ? OR ${u} ${gt} ?)`, bindings: [key[0], key[0], key[1]] };
  if (key[0] === null || key[0] === undefined) return { sql: `(${k}) IS NULL AND ${u} ${gt} ?`, bindings: [key[1]] };
  return { sql: `((${k}) IS NULL OR ${k} ${gt} ? OR (${k} = ? AND ${u} ${gt} ?))`, bindings: [key[0], key[0], key[1]] };
}

/** Aliases under which a page's sort values are read, so the next page can seek past its last row. */
const SEEK_ALIASES = ['scim_seek_0', 'scim_seek_1'] as const;

/** Where readPage reads its rows from. */
export interface PageSource {
  /** The live rows of the resource type, before the filter. */
  base: () => Knex.QueryBuilder;
  columns: string | readonly string[];
  /**
   * Columns worth computing only for the rows returned (a subquery per row). Left out of a page read with OFFSET:
   * PostgreSQL computes the select list of the skipped rows too, so a deep page would pay for every row it skips.
   */
  inlineColumns?: (string | Knex.Raw)[];
  cursors?: PageCursors;
  /** How many rows `base` holds, when known cheaper than count(*): used when there is no filter. */
  countAll?: () => Promise<number>;
}

/**
 * One page and totalResults (RFC 7644 §3.4.2.4). The page is read first: a page that is not full, and is either
 * non-empty or the first, already tells the total (an IdP's `eq` match is one such page), so `count(*)` runs only
 * when more rows may follow or the page lies past the end, and not at all for an unfiltered list when `countAll` knows.
 * With `cursors`, a page that follows one served before seeks past its last row instead of skipping `startIndex - 1`
 * rows (page-cursors.ts).
 */
export async function readPage<T extends object>(cq: CollectionQuery, source: PageSource): Promise<{ rows: T[]; total: number }> {
  const { base, columns, inlineColumns = [], cursors, countAll } = source;
  const seekable = cursors !== undefined && cq.orderBy.length === 2;
  const cursorKey = (startIndex: number) => `${cq.where?.sql ?? ''}|${JSON.stringify(cq.where?.bindings ?? [])}|${cq.orderBy.map((o) => `${o.sql} ${o.desc}`).join(',')}|${startIndex}`;
  const after = seekable && cq.startIndex > 1 ? cursors.get(cursorKey(cq.startIndex)) : undefined;
  // The sort values of each row, read with it (an expression such as lower(last_name) is not a column of the row).
  const keyColumns = seekable ? cq.orderBy.map((o, i) => base().client.raw(`${o.sql} AS ${SEEK_ALIASES[i]}`)) : [];
  let rows: T[] = [];
  if (cq.count > 0 && after) {
    const seek = seekAfter(cq, after);
    rows = await applyPage(base().select(...[columns].flat(), ...inlineColumns, ...keyColumns).whereRaw(seek.sql, seek.bindings as any[]), { ...cq, startIndex: 1 });
  } else if (cq.count > 0) {
    rows = await applyPage(base().select(...[columns].flat(), ...(cq.startIndex === 1 ? inlineColumns : []), ...keyColumns), cq);
  }
  if (seekable && rows.length === cq.count && rows.length > 0) {
    const last = rows[rows.length - 1] as Record<string, unknown>;
    cursors.set(cursorKey(cq.startIndex + rows.length), SEEK_ALIASES.map((a) => last[a] ?? null));
  }
  if (seekable) for (const r of rows as Record<string, unknown>[]) for (const a of SEEK_ALIASES) delete r[a];
  // After a seek, startIndex - 1 is not a row count (rows before the page may have gone): count them.
  if (!after && rows.length < cq.count && (rows.length > 0 || cq.startIndex === 1)) return { rows, total: cq.startIndex - 1 + rows.length };
  if (!cq.where && countAll) return { rows, total: await countAll() };
  const [{ n }] = await base().count({ n: '*' });
  return { rows, total: Number(n) };
}
