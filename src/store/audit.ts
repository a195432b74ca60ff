/**
 * The append-only audit log. Every lifecycle change writes its row inside the transaction that makes the change,
 * so a change and its record commit or roll back together. Writing the row also queues the change for the outbox's
 * consumers (outbox.ts), in the same transaction: the one place every change already passes through.
 */
import type { Knex } from 'knex';
import { dialectOf } from './db.js';
import { enqueueAudited, outboxRowsOf } from './outbox.js';

export { LINK_OPERATIONS, MEMBER_OPERATIONS, type AuditEntry, type AuditOperation } from './audit-entry.js';
import type { AuditEntry } from './audit-entry.js';

/** Attribute names that never enter the log, whatever object is passed. */
const SECRET_KEYS = /^(password|token|token_hash|secret)$/i;

function scrub(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value, (k, v) => (SECRET_KEYS.test(k) ? undefined : v));
}

export async function writeAudit(db: Knex | Knex.Transaction, e: AuditEntry): Promise<void> {
  await writeWithAudit(db, [], e);
}

/**
 * `writes` (inserts, in order) and the audit row that records them, with its outbox row. On PostgreSQL they are one
 * statement of data-modifying CTEs, which all run whether or not they are read, and whose foreign keys are checked
 * at the end of the statement: there the round trip, not the insert, is what a statement costs (a create was eight
 * round trips). SQLite runs them one after another: its statements are calls, not round trips.
 */
export async function writeWithAudit(db: Knex | Knex.Transaction, writes: readonly Knex.QueryBuilder[], e: AuditEntry): Promise<void> {
  const all = [...writes, ...auditInserts(db, e)];
  if (all.length > 1 && dialectOf(db) === 'pg') await oneStatement(db, all, 'SELECT 1');
  else for (const w of all) await w;
  afterCommit(db, [e.operation]);
}

/**
 * An UPDATE and the audit row that records it (with its outbox row): one statement on PostgreSQL, as in
 * writeWithAudit. Answers how many rows the UPDATE changed; a caller that finds none throws, and its transaction takes
 * the audit row back with it (SQLite, where statements are calls, then writes none).
 */
export async function updateWithAudit(db: Knex | Knex.Transaction, update: Knex.QueryBuilder, e: AuditEntry): Promise<number> {
  let n: number;
  if (dialectOf(db) === 'pg') {
    const r: { rows: { n: string | number }[] } = await oneStatement(db, [update.returning('id'), ...auditInserts(db, e)], 'SELECT count(*) AS n FROM w0');
    n = Number(r.rows[0]!.n);
  } else {
    n = Number(await update);
    if (n > 0) for (const w of auditInserts(db, e)) await w;
  }
  if (n > 0) afterCommit(db, [e.operation]);
  return n;
}

/** The audit row's insert and, when a consumer of the outbox wants the change, its outbox row's (outbox.ts). */
function auditInserts(db: Knex | Knex.Transaction, e: AuditEntry): Knex.QueryBuilder[] {
  const queued = outboxRowsOf(db, [e]);
  return [db('audit_log').insert(auditRow(e)), ...(queued.length ? [db('outbox').insert(queued)] : [])];
}

/** PostgreSQL: `parts` as the data-modifying CTEs w0, w1, ... of one statement that ends with `select`. */
const oneStatement = (db: Knex | Knex.Transaction, parts: readonly Knex.QueryBuilder[], select: string): Promise<any> =>
  db.raw(`WITH ${parts.map((_, i) => `w${i} AS (?)`).join(', ')} ${select}`, parts as Knex.QueryBuilder[]) as unknown as Promise<any>;

export async function writeAuditMany(db: Knex | Knex.Transaction, entries: AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 500) await db('audit_log').insert(entries.slice(i, i + 500).map(auditRow));
  await enqueueAudited(db, entries);
  if (entries.length) afterCommit(db, entries.map((e) => e.operation));
}

type AuditListener = (operations: string[]) => void;
/** Each listener with the database it observes, known by its client's config (a transaction shares its knex's). */
const listeners = new Map<AuditListener, unknown>();

/**
 * Observe the operations of audit rows written through `db` once their transaction has committed (metrics); returns
 * an unsubscribe. Other databases opened in the same process (a second app, the CLI's) are not reported.
 */
export function onAuditCommitted(db: Knex, listener: AuditListener): () => void {
  listeners.set(listener, db.client.config);
  return () => listeners.delete(listener);
}

function afterCommit(db: Knex | Knex.Transaction, operations: string[]): void {
  if (!listeners.size) return;
  const source = db.client.config;
  const fire = () => { for (const [l, of] of listeners) if (of === source) l(operations); };
  // The outermost transaction decides: a savepoint released inside a transaction that rolls back never happened.
  let tx: any = (db as any).isTransaction ? db : undefined;
  while (tx?.parentTransaction) tx = tx.parentTransaction;
  if (tx?.executionPromise) tx.executionPromise.then(fire, () => undefined);
  else fire();
}

function auditRow(e: AuditEntry) {
  return {
    at: Date.now(),
    actor: e.actor,
    request_id: e.requestId ?? null,
    operation: e.operation,
    resource_type: e.resourceType,
    resource_id: e.resourceId ?? null,
    cause: e.cause ?? null,
    before: scrub(e.before),
    after: scrub(e.after),
  };
}

/**
 * An audit search. Every filter is an indexed column (migration 20261206_001_audit_search); `order` is by id, which
 * follows commit order closely enough to page by (rows are never updated, so a keyset on id never skips or repeats).
 */
export interface AuditQuery {
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  requestId?: string | undefined;
  /** Exact actor (`token:<name>`, `client:<OAuth client>`, `admin:<token name>`, `admin:cli:<os user>`...), or a prefix ending `*`. */
  actor?: string | undefined;
  /** One or more operations (AuditOperation values). */
  operations?: readonly string[] | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  /** Rows after this id in the listing's order: smaller ids when newest first. */
  cursor?: number | undefined;
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc' | undefined;
  limit?: number | undefined;
}

export interface AuditRecord {
  id: number; at: string; actor: string; requestId: string | null; operation: string; resourceType: string;
  resourceId: string | null; cause: string | null; before: unknown; after: unknown;
}

/** The search's statement (exported so a test can ask the database how it plans it). */
export function auditSearch(db: Knex, q: AuditQuery): Knex.QueryBuilder {
  const desc = (q.order ?? 'desc') === 'desc';
  const qb = db('audit_log').orderBy('id', desc ? 'desc' : 'asc').limit(Math.min(q.limit ?? 100, 1000));
  if (q.resourceType) qb.where('resource_type', q.resourceType);
  if (q.resourceId) qb.where('resource_id', q.resourceId);
  if (q.requestId) qb.where('request_id', q.requestId);
  // A prefix by substr, not LIKE: LIKE folds case on SQLite and not on PostgreSQL; this means the same on both.
  if (q.actor?.endsWith('*')) qb.whereRaw('substr(actor, 1, ?) = ?', [q.actor.length - 1, q.actor.slice(0, -1)]);
  else if (q.actor) qb.where('actor', q.actor);
  if (q.operations?.length) qb.whereIn('operation', [...q.operations]);
  if (q.since !== undefined) qb.where('at', '>=', q.since);
  if (q.until !== undefined) qb.where('at', '<', q.until);
  if (q.cursor !== undefined) qb.where('id', desc ? '<' : '>', q.cursor);
  return qb;
}

export async function listAudit(db: Knex, q: AuditQuery): Promise<AuditRecord[]> {
  const rows = await auditSearch(db, q);
  return rows.map(toRecord);
}

/** The newest audit row's id (0 for an empty log): where a preview starts reading the rows it writes. */
export async function lastAuditId(db: Knex | Knex.Transaction): Promise<number> {
  const r = (await db('audit_log').max({ m: 'id' }).first()) as { m: number | string | null } | undefined;
  return Number(r?.m ?? 0);
}

/**
 * The rows a transaction wrote after `afterId` under `requestId`, oldest first, at most `limit`, without those of
 * `exceptOperation`; `more` says whether there were others (a preview's truncation). Read inside that transaction.
 */
export async function auditWrittenAfter(tx: Knex.Transaction, afterId: number, requestId: string, limit: number, exceptOperation?: string): Promise<{ rows: AuditRecord[]; more: boolean }> {
  const qb = tx('audit_log').where('id', '>', afterId).where('request_id', requestId).orderBy('id', 'asc').limit(limit + 1);
  if (exceptOperation) qb.whereNot('operation', exceptOperation);
  const rows = await qb;
  return { rows: rows.slice(0, limit).map(toRecord), more: rows.length > limit };
}

function toRecord(r: any): AuditRecord {
  return {
    id: Number(r.id),
    at: new Date(Number(r.at)).toISOString(),
    actor: r.actor,
    requestId: r.request_id,
    operation: r.operation,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    cause: r.cause,
    before: r.before ? JSON.parse(r.before) : null,
    after: r.after ? JSON.parse(r.after) : null,
  };
}
