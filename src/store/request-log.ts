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
  /** The resource the path addresses (`/scim/v2/Users/<id>`: resourceIdOf), if any. */
  resourceId?: string | null;
}

/**
 * The id segment of `/scim/v2/<Type>/<id>...` and `/admin/v1/<kind>/<key>...`, at most 100 characters; null for any
 * other path (a search, a list, /oauth). What `resourceId` finds requests by, with the audit rows they wrote.
 */
export function resourceIdOf(path: string): string | null {
  if (!path.startsWith('/scim/v2/') && !path.startsWith('/admin/v1/')) return null;
  const seg = path.split('/', 5)[4];
  return seg ? seg.slice(0, 100) : null;
}

export interface RequestRecord extends Omit<RequestLogRow, 'at'> {
  id: number;
  at: string;
}

/** Rows per statement: a bounded statement, and what the writer flushes at once when requests come fast. */
export const INSERT_BATCH = 500;

/**
 * PostgreSQL: the rows travel as one JSON parameter that the database unpacks (json_to_recordset): one statement and
 * one round trip whatever the row count, and one statement text for the server to plan.
 */
const PG_INSERT = `INSERT INTO request_log (at, method, path, params, status, status_class, ms, client, actor, request_id, detail, error_type, resource_id)
  SELECT at, method, path, params, status, status / 100, ms, client, actor, request_id, detail, error_type, resource_id
  FROM json_to_recordset(?::json) AS r(at bigint, method text, path text, params text, status smallint, ms double precision,
    client text, actor text, request_id text, detail text, error_type text, resource_id text)`;
/**
 * SQLite: one prepared single-row INSERT run for each row inside one transaction, on the raw connection. better-sqlite3
 * runs on the event loop, so this statement's time is time no request is served: it costs half of a json_each insert
 * (which parses every row's JSON once per field) and no Knex query building per row.
 */
const SQLITE_INSERT = `INSERT INTO request_log (at, method, path, params, status, status_class, ms, client, actor, request_id, detail, error_type, resource_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The per-minute counts (migration 20261209_001) of the same rows, added to what other batches and instances counted. */
const MINUTES_UPSERT = ' ON CONFLICT (minute, actor, status_class, scim) DO UPDATE SET n = request_log_minutes.n + excluded.n';
const PG_MINUTES = `INSERT INTO request_log_minutes (minute, actor, status_class, scim, n)
  SELECT minute, actor, status_class, scim, n FROM json_to_recordset(?::json) AS r(minute bigint, actor text, status_class smallint, scim smallint, n bigint)${MINUTES_UPSERT}`;
const SQLITE_MINUTES = `INSERT INTO request_log_minutes (minute, actor, status_class, scim, n) VALUES (?, ?, ?, ?, ?)${MINUTES_UPSERT}`;

interface MinuteCount { minute: number; actor: string; status_class: number; scim: number; n: number }

/** Rows counted per minute, actor, status class and SCIM-or-not: a handful of keys per batch, whatever its size. */
function countMinutes(rows: readonly RequestLogRow[]): MinuteCount[] {
  const counts = new Map<string, MinuteCount>();
  for (const r of rows) {
    const minute = Math.floor(r.at / 60_000) * 60_000;
    const actor = r.actor ?? '';
    const statusClass = Math.floor(r.status / 100);
    const scim = r.path.startsWith('/scim/v2/') ? 1 : 0;
    const key = `${minute} ${statusClass} ${scim} ${actor}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { minute, actor, status_class: statusClass, scim, n: 1 });
  }
  return [...counts.values()];
}

interface SqliteConnection {
  prepare(sql: string): { run(...values: unknown[]): unknown };
  transaction(fn: () => void): () => void;
}

/** Write rows and their per-minute counts, one transaction per INSERT_BATCH rows. */
export async function insertRequests(db: Knex, rows: readonly RequestLogRow[]): Promise<void> {
  if (dialectOf(db) === 'pg') {
    for (let i = 0; i < rows.length; i += INSERT_BATCH) {
      const batch = rows.slice(i, i + INSERT_BATCH);
      const json = JSON.stringify(batch.map((r) => ({
        at: r.at, method: r.method, path: r.path, params: r.params, status: r.status, ms: r.ms, client: r.client,
        actor: r.actor, request_id: r.requestId, detail: r.detail, error_type: r.errorType, resource_id: r.resourceId ?? null,
      })));
      await db.transaction(async (tx) => {
        await tx.raw(PG_INSERT, [json]);
        await tx.raw(PG_MINUTES, [JSON.stringify(countMinutes(batch))]);
      });
    }
    return;
  }
  // The store's one connection (store/db.ts), taken from the pool as any query takes it, so nothing runs meanwhile.
  const conn = (await db.client.acquireConnection()) as SqliteConnection;
  try {
    const insert = conn.prepare(SQLITE_INSERT);
    const minutes = conn.prepare(SQLITE_MINUTES);
    for (let i = 0; i < rows.length; i += INSERT_BATCH) {
      const batch = rows.slice(i, i + INSERT_BATCH);
      conn.transaction(() => {
        for (const r of batch) {
          insert.run(r.at, r.method, r.path, r.params, r.status, Math.floor(r.status / 100), r.ms, r.client, r.actor, r.requestId, r.detail, r.errorType, r.resourceId ?? null);
        }
        for (const c of countMinutes(batch)) minutes.run(c.minute, c.actor, c.status_class, c.scim, c.n);
      })();
    }
  } finally {
    await db.client.releaseConnection(conn);
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
   * Requests about this resource: its path addresses it (`/scim/v2/Users/<id>`, `/admin/v1/teams/<id>/...`:
   * resourceIdOf), or the request wrote an audit row about it (the POST that created it has no id in its path).
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
    // Two index lookups joined by OR (SQLite's multi-index OR, PostgreSQL's BitmapOr), then a sort of what they found:
    // the rows whose path addresses the resource (request_log_resource_idx), and the rows of the requests that wrote an
    // audit row about it (audit_log's resource index, then request_log_request_idx).
    const resourceId = q.resourceId;
    qb.where((w) => {
      w.where('resource_id', resourceId).orWhereIn('request_id', db('audit_log').select('request_id').where('resource_id', resourceId).whereNotNull('request_id'));
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
 * chart has no gaps to fill). One GROUP BY over the per-minute counts (request_log_minutes), not the rows.
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
 * bucket, then `other` for the rest (when there is a rest). One GROUP BY over the per-minute counts of the window.
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

/**
 * SCIM requests and their failures (4xx and 5xx) per actor since `since` (from its minute on), busiest first, at most
 * `limit` actors: from the per-minute counts, so a day costs at most 1,440 rows per actor and class.
 */
export async function scimRequestsByActor(db: Knex, since: number, limit = MAX_SUMMARY_ACTORS): Promise<{ actor: string | null; total: number; failed: number }[]> {
  const rows = await db('request_log_minutes')
    .select('actor', db.raw('sum(n) as total'), db.raw('sum(case when status_class >= 4 then n else 0 end) as failed'))
    .where('minute', '>=', Math.floor(since / 60_000) * 60_000)
    .where('scim', 1)
    .groupBy('actor')
    .orderByRaw('sum(n) desc, actor')
    .limit(limit);
  return rows.map((r: any) => ({ actor: r.actor || null, total: Number(r.total), failed: Number(r.failed ?? 0) }));
}

interface SummaryCount { bucket: number; statusClass: number; count: number; actor?: string | null }

/**
 * Requests per time bucket and status class in [since, until) (whole minutes), from the per-minute counts: `bucket` is
 * the bucket's start in epoch ms.
 */
async function countByBucket(db: Knex, q: { since: number; until: number; bucketMs: number; byActor?: boolean }): Promise<SummaryCount[]> {
  // Written into the statement: a whole number of minutes the caller chose from a fixed set, not user text.
  const size = Math.trunc(q.bucketMs);
  if (!(size >= 60_000) || size % 60_000 !== 0) throw new Error('bucket size must be a whole number of minutes');
  const rows = await db('request_log_minutes')
    .select(db.raw(`minute / ${size} AS bucket`), 'status_class', ...(q.byActor ? ['actor'] : []))
    .sum({ n: 'n' })
    .where('minute', '>=', q.since)
    .where('minute', '<', q.until)
    .groupByRaw(`minute / ${size}, status_class${q.byActor ? ', actor' : ''}`);
  return rows.map((r: any) => ({ bucket: Number(r.bucket) * size, statusClass: Number(r.status_class), count: Number(r.n), ...(q.byActor ? { actor: r.actor || null } : {}) }));
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
    // The per-minute counts by age only: a day of them is a few thousand rows, so one statement.
    if (!opts.stop?.()) await db('request_log_minutes').where('minute', '<', Math.floor(opts.before / 60_000) * 60_000).del();
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
