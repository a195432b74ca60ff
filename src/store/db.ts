/**
 * The Knex connection: SQLite (embedded default) or PostgreSQL (production, several instances on one database).
 * Everything dialect-specific lives here so repositories stay plain Knex.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
// @ts-expect-error knex ships no types for its dialect classes
import BetterSqlite3Client from 'knex/lib/dialects/better-sqlite3/index.js';
import { MigrationFiles } from './migration-source.js';
import { WalSync } from './group-commit.js';

export type Db = Knex;
export type Tx = Knex.Transaction;
export type Dialect = 'sqlite' | 'pg';

export interface DbOptions {
  url: string;
  poolMax?: number;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /**
   * SQLite with `synchronous=FULL`: commits share an fsync run off the event loop (store/group-commit.ts) instead of
   * each fsyncing inside COMMIT; a transaction still resolves only once it is on disk. SQLITE_GROUP_COMMIT; default on.
   */
  sqliteGroupCommit?: boolean;
  /** PostgreSQL: prepare each statement once per connection (PG_PREPARED_STATEMENTS; default on). */
  pgPreparedStatements?: boolean;
  /**
   * Where Knex's own warnings go (by default its console logger, which prints a stack for every failed connect):
   * the failure itself reaches the caller as an error, classified by classifyDbError.
   */
  onWarning?: (message: string) => void;
}

/**
 * Knex prepares every SQLite statement anew, a measurable share of a request's CPU (docs/benchmarks.md). Statements
 * are safe to reuse here: one connection, and better-sqlite3 runs each statement to completion synchronously.
 */
function cacheStatements(conn: { prepare: (sql: string) => unknown }): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = prepare(sql);
      if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

/**
 * SQLite runs a statement with `LIMIT ?` several times slower than the same one with a literal, and every Knex
 * `.first()` lookup has one (docs/benchmarks.md). Knex has already parsed limit
 * and offset to integers (QueryBuilder#limit), so this client writes them into the SQL instead of binding them. A
 * subclass, not a patched instance: transactions build their client from the class's prototype.
 */
class SqliteClient extends (BetterSqlite3Client as any) {
  /**
   * Group commit (store/group-commit.ts): a top-level transaction resolves once its COMMIT is on disk, after the
   * connection went back to the pool, so the next transaction runs while this one's fsync does. Nested transactions
   * (savepoints) commit nothing.
   */
  transaction(container: unknown, config: unknown, outerTx: unknown) {
    const trx = super.transaction(container, config, outerTx);
    const wal: WalSync | undefined = this.config.walSync;
    if (!wal || outerTx || !container) return trx;
    return trx.then(async (value: unknown) => {
      await wal.durable();
      return value;
    });
  }

  /**
   * A write outside a transaction (autocommit) is on disk before its query resolves, as with FULL: it waits for the
   * fsync holding the connection, as FULL's COMMIT would, but off the event loop. Transaction control statements wait
   * in `transaction` above instead.
   */
  async _query(connection: { inTransaction: boolean }, obj: { sql: string; response?: unknown }) {
    const out = await super._query(connection, obj);
    const wal: WalSync | undefined = this.config.walSync;
    if (wal && !connection.inTransaction && !Array.isArray(obj.response) && !CONTROL.test(obj.sql)) await wal.durable();
    return out;
  }

  queryCompiler(...args: unknown[]) {
    const c = super.queryCompiler(...args);
    const parameter = c._getValueOrParameterFromAttribute.bind(c);
    c._getValueOrParameterFromAttribute = (attribute: string, raw: unknown) => {
      const v = c.single[attribute];
      return (attribute === 'limit' || attribute === 'offset') && Number.isSafeInteger(v) ? String(v) : parameter(attribute, raw);
    };
    return c;
  }
}

/** Statements that commit nothing themselves, or whose commit the transaction wrapper waits for. */
const CONTROL = /^\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b/i;

/** mkdir -p, one level at a time: Node's recursive mkdir never returns for a missing directory under /proc. */
export function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  if (dirname(dir) !== dir) makeDirs(dirname(dir));
  mkdirSync(dir);
}

export function dialectOf(db: Knex): Dialect {
  return db.client.config.client === 'pg' ? 'pg' : 'sqlite';
}

export function openDb(opts: DbOptions): Knex {
  const log = opts.onWarning && { warn: opts.onWarning, error: opts.onWarning, deprecate: () => undefined, debug: () => undefined };
  if (opts.url.startsWith('sqlite:')) {
    const file = opts.url.slice('sqlite:'.length);
    if (file !== ':memory:') makeDirs(dirname(resolve(file)));
    const synchronous = opts.sqliteSynchronous ?? 'FULL';
    const walSync = synchronous === 'FULL' && opts.sqliteGroupCommit !== false && file !== ':memory:' ? new WalSync(resolve(file)) : undefined;
    const db: Knex = knexFactory({
      client: SqliteClient as any,
      connection: { filename: file },
      // Read by SqliteClient from its config (transaction clients share it).
      ...({ walSync } as object),
      useNullAsDefault: true,
      ...(log && { log }),
      // One connection: SQLite has one writer anyway, and a single connection makes Knex transactions serialise
      // instead of failing with SQLITE_BUSY.
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
          try {
            // WAL: readers never block the writer. synchronous=FULL: a 2xx is on disk even after a power cut.
            conn.pragma('journal_mode = WAL');
            // With group commit, FULL's guarantee comes from WalSync's fsync before a commit resolves.
            conn.pragma(`synchronous = ${walSync ? 'NORMAL' : synchronous}`);
            conn.pragma('foreign_keys = ON');
            // 32 MiB page cache (default 2 MiB): bulk member changes write many index pages in one transaction.
            conn.pragma('cache_size = -32768');
            conn.pragma('busy_timeout = 5000');
            // LIKE must be case-sensitive so caseExact attributes filter exactly; case-insensitive ones compare the
            // folded columns (store/fold.ts).
            conn.pragma('case_sensitive_like = ON');
            cacheStatements(conn);
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
      migrations: { migrationSource: new MigrationFiles(() => db) },
    });
    return db;
  }
  const watch = new SilenceWatch(opts.url);
  const db: Knex = knexFactory({
    client: 'pg',
    // Outage behaviour (docs/reliability.md §3): a refused or dropped connection fails at once (503 via
    // classifyDbError); a host that does not answer fails the connect after 2 s. A pooled connection whose database
    // went silent (TCP open, no bytes) cannot be told from a long statement by its socket alone, so SilenceWatch asks
    // the database itself once a query has waited SILENT_MS: no answer to a fresh probe means the waiting connections
    // are cut and their requests get 503 within a few seconds, an answer means the statement is legitimately long and
    // may run up to statement_timeout (30 s, sized for the slowest legitimate statement, e.g. a 100,000-member group
    // replace), with query_timeout 5 s above it as the client-side backstop. TCP keepalive finds dead idle
    // connections. Waiting for a free connection is allowed 30 s: under a burst on a healthy database (1,000
    // concurrent PATCHes of one group) requests queue for the pool instead of being shed with 503; when the database
    // is down or silent, waiters are rejected by the failing connects (knex propagates create errors) long before.
    connection: {
      connectionString: opts.url, connectionTimeoutMillis: 2000, statement_timeout: 30000, query_timeout: 35000,
      keepAlive: true, keepAliveInitialDelayMillis: 10000,
    } as any,
    pool: {
      min: 0, max: opts.poolMax ?? 10, acquireTimeoutMillis: 30000, createTimeoutMillis: 2000, idleTimeoutMillis: 10000,
      afterCreate(conn: PgConnection, done: (err: Error | null, conn: unknown) => void) {
        watch.track(conn);
        if (opts.pgPreparedStatements !== false) prepareStatements(conn);
        done(null, conn);
      },
    },
    acquireConnectionTimeout: 30000,
    ...(log && { log }),
    migrations: { migrationSource: new MigrationFiles(() => db) },
  });
  return db;
}

/** Named statements per connection at most; statements beyond run unnamed (an IN list of each length is its own text). */
const PREPARED_MAX = 500;
/** `select *` / `returning *`: their row type follows the table's, so a plan prepared before a migration would fail. */
const STAR = /\*\s*(?:from\b|$)|returning\s+\*/i;

/**
 * PostgreSQL parses and plans an unnamed statement on every execution; a named one (extended protocol, pg's `name`)
 * is parsed and planned once per connection and then only bound and executed: for a one-row lookup that is most of the
 * database's CPU (60-75 us of backend CPU per query unnamed, 14 us named, on this machine's PostgreSQL 15). Knex sends
 * every query unnamed, so this names each distinct statement text of a connection, like SQLite's cacheStatements.
 * Left unnamed: statements whose result row type follows a table's (`select *`: a column added by a migration on
 * another instance fails a prepared plan with "cached plan must not change result type"), query streams and other
 * submittables (not plain objects), and statements beyond PREPARED_MAX. PG_PREPARED_STATEMENTS=off for a pooler that
 * cannot keep a session's prepared statements (PgBouncer before 1.21 in transaction mode).
 */
function prepareStatements(conn: PgConnection): void {
  const query = conn.query.bind(conn);
  const names = new Map<string, string>();
  conn.query = (...args: any[]) => {
    const q = args[0];
    if (q !== null && typeof q === 'object' && Object.getPrototypeOf(q) === Object.prototype && typeof q.text === 'string' && q.name === undefined && !STAR.test(q.text)) {
      let name = names.get(q.text);
      if (name === undefined && names.size < PREPARED_MAX) names.set(q.text, (name = `scim_${names.size}`));
      if (name !== undefined) args[0] = { ...q, name };
    }
    return query(...args);
  };
}

/** The parts of a pg Client the watch uses (its public query() and the socket under it). */
interface PgConnection {
  query: (...args: any[]) => any;
  connection?: { stream?: { destroy: (err?: Error) => void } };
  once: (event: 'end', fn: () => void) => void;
}

/** How long a query may go unanswered before the database is asked whether it is still there. */
const SILENT_MS = 1500;
/** How long that probe (a fresh connection and `select 1`) may take before the database counts as silent. */
const PROBE_MS = 1500;

/**
 * Finds pooled connections whose database has gone silent. Every query's start is recorded; every 250 ms, if a
 * query has been waiting longer than SILENT_MS, a probe opens a new connection and runs `select 1` within PROBE_MS.
 * If the probe fails, every connection with a query waiting longer than SILENT_MS is cut: its query fails with
 * "Connection terminated" (an outage, 503), knex discards the connection, and the next one must connect afresh.
 * If the probe answers, the database is alive and busy: nothing is cut, and the next probe waits SILENT_MS.
 * Worst case for a request caught by a silent database: SILENT_MS + PROBE_MS + one tick, about 3.5 s.
 */
class SilenceWatch {
  private readonly pending = new Map<PgConnection, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private lastProbe = 0;

  constructor(private readonly url: string) {}

  track(conn: PgConnection): void {
    const query = conn.query.bind(conn);
    conn.query = (...args: any[]) => {
      const started = Date.now();
      const starts = this.pending.get(conn) ?? [];
      starts.push(started);
      this.pending.set(conn, starts);
      this.start();
      const settle = () => {
        const s = this.pending.get(conn);
        const i = s?.indexOf(started) ?? -1;
        if (s && i >= 0) s.splice(i, 1);
        if (s && s.length === 0) this.pending.delete(conn);
      };
      const cb = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
      if (cb) return query(...args, (...r: unknown[]) => { settle(); cb(...r); });
      const out = query(...args);
      if (out && typeof out.then === 'function') out.then(settle, settle);
      else if (out && typeof out.once === 'function') out.once('end', settle).once('error', settle); // a stream
      else settle();
      return out;
    };
    conn.once('end', () => this.pending.delete(conn));
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), 250);
    this.timer.unref();
  }

  /** The timer runs only while queries are pending (and never keeps the process alive). */
  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    const now = Date.now();
    const stale = [...this.pending].filter(([, s]) => s.length > 0 && now - Math.min(...s) > SILENT_MS).map(([c]) => c);
    if (this.pending.size === 0) this.stop();
    if (stale.length === 0 || this.probing || now - this.lastProbe < SILENT_MS) return;
    this.probing = true;
    const alive = await this.probe();
    this.lastProbe = Date.now();
    this.probing = false;
    if (alive) return;
    for (const conn of stale) {
      if (!this.pending.has(conn)) continue; // answered meanwhile
      this.pending.delete(conn);
      conn.connection?.stream?.destroy(new Error('database silent: no answer to a query or a fresh probe'));
    }
  }

  private async probe(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: PROBE_MS, query_timeout: PROBE_MS } as pg.ClientConfig);
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      void client.end().catch(() => undefined);
    }
  }
}

/** One round trip that needs nothing but a working connection: readiness probes and the start-up check. */
export async function ping(db: Knex): Promise<void> {
  await db.raw('select 1');
}

export async function migrate(db: Knex): Promise<void> {
  await db.migrate.latest();
}

/** What a database error means to the SCIM layer. */
export type DbErrorKind =
  | { kind: 'unique'; constraint: string } | { kind: 'foreignKey' } | { kind: 'unavailable' } | { kind: 'invalidData' }
  | { kind: 'concurrency' } | { kind: 'other' };

/** Classify a driver error without string-matching on every call site. */
export function classifyDbError(err: unknown): DbErrorKind {
  const e = err as { code?: string; constraint?: string; message?: string; errno?: number };
  const code = e?.code ?? '';
  const msg = e?.message ?? '';
  if (code === '23505') return { kind: 'unique', constraint: e.constraint ?? '' };
  if (code === '23503') return { kind: 'foreignKey' };
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.username" or "UNIQUE constraint failed: index 'users_user_name_active'"
    const m = /index '([^']+)'/.exec(msg) ?? /failed: (.+)$/.exec(msg);
    return { kind: 'unique', constraint: m?.[1] ?? '' };
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreignKey' };
  // PostgreSQL aborted the transaction for a concurrent one (deadlock_detected, serialization_failure): the whole
  // transaction may simply run again.
  if (code === '40P01' || code === '40001') return { kind: 'concurrency' };
  // statement_timeout (57014 query_canceled) and the client-side query_timeout ("Query read timeout"): the database
  // did not answer in time, an outage for the caller (503 + Retry-After), not a bug (500).
  if (code === '57014') return { kind: 'unavailable' };
  // A value the database cannot take (PostgreSQL class 22 "data exception": too long for the column, NUL in text,
  // out of range, not a number...; SQLite's too big / type mismatch): the input's fault, not the server's.
  if (/^22[0-9A-Z]{3}$/.test(code) || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH') return { kind: 'invalidData' };
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03', '08006', '08001', '08003', '53300'].includes(code) ||
    /Knex: Timeout acquiring a connection|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|database silent/i.test(msg) ||
    code === 'SQLITE_BUSY'
  ) {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}

/** A true/false the dialect stores: PostgreSQL booleans, SQLite 0/1. */
export const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';
