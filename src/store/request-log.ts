/**
 * The request log table (migration 20261206_002_request_log): one row per HTTP request, written in batches by the
 * server (http/request-log.ts), read by GET /admin/v1/requests and `cli requests`, pruned by age and by count. Rows
 * hold what the JSON access line holds (http/request-context.ts): never a token, a body or a query value.
 *
 * Several instances on one PostgreSQL database write and prune the same table: inserts never conflict (ids come from
 * the sequence), and each prune batch locks its rows with SKIP LOCKED, so instances pruning at once share the work
 * instead of queuing on each other.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';

export interface RequestLogRow {
  /** Epoch ms when the answer was sent. */
  at: number;
  method: string;
  /** Without the query string. */
  path: string;
  /** Names of the query parameters (never values), comma-separated, or null. */
  params: string | null;
  status: number;
  ms: number;
  client: string | null;
  actor: string | null;
  requestId: string;
  detail: string | null;
  /** scimType of a SCIM error, `code` of an admin or OAuth error. */
  errorType: string | null;
}

export interface RequestRecord extends Omit<RequestLogRow, 'at'> {
  id: number;
  at: string;
}

/** Rows per statement: a bounded statement, and what the writer flushes at once when requests come fast. */
export const INSERT_BATCH = 500;

/**
 * Rows travel as one JSON parameter that the database unpacks (json_to_recordset, json_each): one statement text
 * whatever the row count, so SQLite's statement cache (store/db.ts) keeps one entry for it instead of one per batch
 * size, evicting the statements requests run.
 */
const PG_INSERT = `INSERT INTO request_log (at, method, path, params, status, status_class, ms, client, actor, request_id, detail, error_type)
  SELECT at, method, path, params, status, status / 100, ms, client, actor, request_id, detail, error_type
  FROM json_to_recordset(?::json) AS r(at bigint, method text, path text, params text, status smallint, ms double precision,
    client text, actor text, request_id text, detail text, error_type text)`;
const SQLITE_INSERT = `INSERT INTO request_log (at, method, path, params, status, status_class, ms, client, actor, request_id, detail, error_type)
  SELECT value ->> '$.at', value ->> '$.method', value ->> '$.path', value ->> '$.params', value ->> '$.status',
    (value ->> '$.status') / 100, value ->> '$.ms', value ->> '$.client', value ->> '$.actor', value ->> '$.request_id',
    value ->> '$.detail', value ->> '$.error_type'
  FROM json_each(?)`;

export async function insertRequests(db: Knex, rows: readonly RequestLogRow[]): Promise<void> {
  const sql = dialectOf(db) === 'pg' ? PG_INSERT : SQLITE_INSERT;
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const json = JSON.stringify(rows.slice(i, i + INSERT_BATCH).map((r) => ({
      at: r.at, method: r.method, path: r.path, params: r.params, status: r.status, ms: r.ms, client: r.client,
      actor: r.actor, request_id: r.requestId, detail: r.detail, error_type: r.errorType,
    })));
    await db.raw(sql, [json]);
  }
}

export interface RequestQuery {
  /** 2 for 2xx, 4 for 4xx... */
  statusClass?: number | undefined;
  /** An exact status (its class is filtered too, so the class index serves it). */
  status?: number | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  method?: string | undefined;
  /** Exact actor, or a prefix ending `*`. */
  actor?: string | undefined;
  pathPrefix?: string | undefined;
  requestId?: string | undefined;
  /**
   * Requests about this resource: its id is a segment of the path (`/scim/v2/Users/<id>`, `/admin/v1/teams/<id>/...`),
   * or the request wrote an audit row about it (the POST that created it has no id in its path).
   */
  resourceId?: string | undefined;
  /** Rows older than this one (the last row of the previous page). */
  cursor?: { at: number; id: number } | undefined;
  limit?: number | undefined;
}

/**
 * The search's statement, newest first by (at, id) (exported so a test can ask the database how it plans it). The
 * status class, actor and time range are index ranges ending in (at, id); method and a path prefix filter that scan.
 */
export function requestSearch(db: Knex, q: RequestQuery): Knex.QueryBuilder {
  const qb = db('request_log').orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(Math.min(q.limit ?? 100, 1000));
  if (q.status !== undefined) qb.where('status_class', Math.floor(q.status / 100)).where('status', q.status);
  else if (q.statusClass !== undefined) qb.where('status_class', q.statusClass);
  if (q.requestId) qb.where('request_id', q.requestId);
  if (q.method) qb.where('method', q.method);
  // Prefixes by substr, not LIKE: LIKE folds case on SQLite and not on PostgreSQL, and `_` and `%` are common in paths.
  if (q.actor?.endsWith('*')) qb.whereRaw('substr(actor, 1, ?) = ?', [q.actor.length - 1, q.actor.slice(0, -1)]);
  else if (q.actor) qb.where('actor', q.actor);
  if (q.pathPrefix) qb.whereRaw('substr(path, 1, ?) = ?', [q.pathPrefix.length, q.pathPrefix]);
  if (q.resourceId) {
    // The audit side is the resource's index on audit_log (resource_id, id), then the request id index here; the path
    // side is a filter over the newest-first scan, as a path prefix is. instr/strpos, not LIKE, for the reasons above.
    const segment = `/${q.resourceId}/`;
    const find = dialectOf(db) === 'pg' ? "strpos(path || '/', ?) > 0" : "instr(path || '/', ?) > 0";
    const resourceId = q.resourceId;
    qb.where((w) => {
      w.whereRaw(find, [segment]).orWhereIn('request_id', db('audit_log').select('request_id').where('resource_id', resourceId).whereNotNull('request_id'));
    });
  }
  if (q.since !== undefined) qb.where('at', '>=', q.since);
  if (q.until !== undefined) qb.where('at', '<', q.until);
  if (q.cursor) qb.whereRaw('(at, id) < (?, ?)', [q.cursor.at, q.cursor.id]);
  return qb;
}

export async function listRequests(db: Knex, q: RequestQuery): Promise<RequestRecord[]> {
  const rows = await requestSearch(db, q);
  return rows.map((r: any) => ({
    id: Number(r.id),
    at: new Date(Number(r.at)).toISOString(),
    method: r.method,
    path: r.path,
    params: r.params,
    status: Number(r.status),
    ms: Number(r.ms),
    client: r.client,
    actor: r.actor,
    requestId: r.request_id,
    detail: r.detail,
    errorType: r.error_type,
  }));
}

/** `4xx` (a class) or `404` (a code) as a filter; undefined when it is neither. */
export function parseStatusFilter(raw: string): Pick<RequestQuery, 'status' | 'statusClass'> | undefined {
  const cls = /^([1-5])xx$/i.exec(raw);
  if (cls) return { statusClass: Number(cls[1]) };
  if (/^[1-5]\d\d$/.test(raw)) return { status: Number(raw) };
  return undefined;
}

/** A page's `next`, `<at>-<id>`: the keyset of the row it ended on. */
export const cursorText = (r: { at: string; id: number }): string => `${Date.parse(r.at)}-${r.id}`;

export function parseCursor(raw: string): { at: number; id: number } | undefined {
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(raw);
  return m ? { at: Number(m[1]), id: Number(m[2]) } : undefined;
}

export const SUMMARY_BUCKETS = { minute: 60_000, hour: 3_600_000 } as const;
export type SummaryBucketSize = keyof typeof SUMMARY_BUCKETS;
/** Buckets one summary answers at most: a day of minutes, or two months of hours. */
export const MAX_SUMMARY_BUCKETS = 1440;

export interface SummaryBucket { start: string; total: number; '2xx': number; '3xx': number; '4xx': number; '5xx': number }
export interface RequestSummary { bucket: SummaryBucketSize; since: string; until: string; buckets: SummaryBucket[] }

/**
 * The window of a summary: [since, until) widened to whole buckets, by default the last hour of minutes or the last
 * day of hours. A string when it cannot be answered (empty, or more than MAX_SUMMARY_BUCKETS buckets).
 */
export function summaryWindow(bucket: SummaryBucketSize, since: number | undefined, until: number | undefined, now = Date.now()): { since: number; until: number } | string {
  const size = SUMMARY_BUCKETS[bucket];
  const to = Math.ceil((until ?? now) / size) * size;
  const from = Math.floor((since ?? to - (bucket === 'minute' ? 60 : 24) * size) / size) * size;
  if (to <= from) return 'until must be after since';
  if ((to - from) / size > MAX_SUMMARY_BUCKETS) {
    return `at most ${MAX_SUMMARY_BUCKETS} buckets per summary (${MAX_SUMMARY_BUCKETS / (bucket === 'minute' ? 60 : 24)} ${bucket === 'minute' ? 'hours of minutes' : 'days of hours'}): narrow since and until${bucket === 'minute' ? ', or ask for hours' : ''}`;
  }
  return { since: from, until: to };
}

/**
 * Requests per bucket and status class in a window from `summaryWindow`, every bucket listed (zeros included, so a
 * chart has no gaps to fill). One GROUP BY over the time index, which carries the class, so no table row is read.
 */
export async function summarizeRequests(db: Knex, bucket: SummaryBucketSize, window: { since: number; until: number }): Promise<RequestSummary> {
  const size = SUMMARY_BUCKETS[bucket];
  const buckets: SummaryBucket[] = [];
  for (let t = window.since; t < window.until; t += size) buckets.push({ start: new Date(t).toISOString(), total: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 });
  for (const c of await countByBucket(db, { ...window, bucketMs: size })) {
    const b = buckets[(c.bucket - window.since) / size];
    if (!b) continue;
    b.total += c.count;
    const key = `${c.statusClass}xx`;
    if (key === '2xx' || key === '3xx' || key === '4xx' || key === '5xx') b[key] += c.count;
  }
  return { bucket, since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString(), buckets };
}

/** Actors a summary by actor lists at most; the rest are added up as `other`. */
export const MAX_SUMMARY_ACTORS = 20;
/** The series of everyone beyond MAX_SUMMARY_ACTORS. `null` is the series of unauthenticated requests. */
export const OTHER_ACTORS = 'other';

export interface ActorSeries { actor: string | null; buckets: SummaryBucket[] }
export interface RequestSummaryByActor { bucket: SummaryBucketSize; since: string; until: string; series: ActorSeries[] }

/**
 * `summarizeRequests` per actor: the busiest MAX_SUMMARY_ACTORS actors of the window, busiest first, each with every
 * bucket, then `other` for the rest (when there is a rest). One GROUP BY over the window.
 */
export async function summarizeRequestsByActor(db: Knex, bucket: SummaryBucketSize, window: { since: number; until: number }, maxActors = MAX_SUMMARY_ACTORS): Promise<RequestSummaryByActor> {
  const size = SUMMARY_BUCKETS[bucket];
  const counts = await countByBucket(db, { ...window, bucketMs: size, byActor: true });
  const totals = new Map<string | null, number>();
  for (const c of counts) totals.set(c.actor ?? null, (totals.get(c.actor ?? null) ?? 0) + c.count);
  const ranked = [...totals].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
  const kept = new Set(ranked.slice(0, maxActors).map(([actor]) => actor));
  const empty = (): SummaryBucket[] => {
    const out: SummaryBucket[] = [];
    for (let t = window.since; t < window.until; t += size) out.push({ start: new Date(t).toISOString(), total: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 });
    return out;
  };
  const series = new Map<string | null, ActorSeries>();
  for (const actor of kept) series.set(actor, { actor, buckets: empty() });
  for (const c of counts) {
    const actor = c.actor ?? null;
    const key = kept.has(actor) ? actor : OTHER_ACTORS;
    let s = series.get(key);
    if (!s) series.set(key, s = { actor: OTHER_ACTORS, buckets: empty() });
    const b = s.buckets[(c.bucket - window.since) / size];
    if (!b) continue;
    b.total += c.count;
    const cls = `${c.statusClass}xx`;
    if (cls === '2xx' || cls === '3xx' || cls === '4xx' || cls === '5xx') b[cls] += c.count;
  }
  return { bucket, since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString(), series: [...series.values()] };
}

/** SCIM requests and their failures (4xx and 5xx) per actor since `since`, busiest first, at most `limit` actors. */
export async function scimRequestsByActor(db: Knex, since: number, limit = MAX_SUMMARY_ACTORS): Promise<{ actor: string | null; total: number; failed: number }[]> {
  const rows = await db('request_log')
    .select('actor', db.raw('count(*) as total'), db.raw('sum(case when status_class >= 4 then 1 else 0 end) as failed'))
    .where('at', '>=', since)
    .whereRaw('substr(path, 1, 9) = ?', ['/scim/v2/'])
    .groupBy('actor')
    .orderByRaw('count(*) desc')
    .limit(limit);
  return rows.map((r: any) => ({ actor: r.actor ?? null, total: Number(r.total), failed: Number(r.failed ?? 0) }));
}

interface SummaryCount { bucket: number; statusClass: number; count: number; actor?: string | null }

/** Requests per time bucket and status class in [since, until): `bucket` is the bucket's start in epoch ms. */
async function countByBucket(db: Knex, q: { since: number; until: number; bucketMs: number; byActor?: boolean }): Promise<SummaryCount[]> {
  // Written into the statement: a whole number of ms the caller chose from a fixed set, not user text.
  const size = Math.trunc(q.bucketMs);
  if (!(size >= 1000)) throw new Error('bucket size must be at least a second');
  const rows = await db('request_log')
    .select(db.raw(`at / ${size} AS bucket`), 'status_class', ...(q.byActor ? ['actor'] : []))
    .count({ n: '*' })
    .where('at', '>=', q.since)
    .where('at', '<', q.until)
    .groupByRaw(`at / ${size}, status_class${q.byActor ? ', actor' : ''}`);
  return rows.map((r: any) => ({ bucket: Number(r.bucket) * size, statusClass: Number(r.status_class), count: Number(r.n), ...(q.byActor ? { actor: r.actor ?? null } : {}) }));
}

export interface PruneOptions {
  /** Delete rows older than this (epoch ms). */
  before?: number | undefined;
  /** Keep at most this many rows (the newest by id). */
  maxRows?: number | undefined;
  /** Rows per DELETE: each is its own short statement, so a prune never holds the table long. */
  batch?: number | undefined;
  /** Asked between batches: true stops the prune (the server is closing). */
  stop?: (() => boolean) | undefined;
}

/**
 * Delete what is too old or beyond the row cap, one batch per statement, yielding between batches so requests' own
 * statements run in between (SQLite has one connection). By count: ids grow with every insert and are never reused,
 * so the rows above `max(id) - maxRows` are at most maxRows (fewer where the sequence has gaps). Returns rows deleted.
 */
export async function pruneRequests(db: Knex, opts: PruneOptions): Promise<number> {
  const batch = Math.max(1, Math.min(opts.batch ?? 2000, 10_000));
  const pg = dialectOf(db) === 'pg';
  let deleted = 0;
  const run = async (select: Knex.QueryBuilder): Promise<void> => {
    if (pg) select.forUpdate().skipLocked();
    for (;;) {
      const n = Number(await db('request_log').whereIn('id', select).del());
      deleted += n;
      if (n < batch || opts.stop?.()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  if (opts.before !== undefined) {
    await run(db('request_log').select('id').where('at', '<', opts.before).orderBy('at').limit(batch));
  }
  if (opts.maxRows !== undefined && !opts.stop?.()) {
    const top = (await db('request_log').max({ m: 'id' }).first()) as { m: number | string | null } | undefined;
    const cut = Number(top?.m ?? 0) - opts.maxRows;
    if (cut > 0) await run(db('request_log').select('id').where('id', '<=', cut).orderBy('id').limit(batch));
  }
  return deleted;
}

/** Rows in the table (tests, `db check`-style counts). */
export async function countRequests(db: Knex): Promise<number> {
  const r = (await db('request_log').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(r?.n ?? 0);
}
