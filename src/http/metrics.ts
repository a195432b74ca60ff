/**
 * Prometheus metrics (prom-client) at GET /metrics: requests by route template and status, request latency, the
 * database pool, provisioning operations by type (counted from committed audit rows), the Mattermost connector (outbox
 * depth and age read at scrape time, deliveries by result, delivery lag, Mattermost request latency), the request log
 * table's writer (rows dropped, rows buffered), and Node's process metrics.
 *
 * Route labels are templates (/scim/v2/Users/:id), never raw paths: ids, garbage from scanners and fuzzers would
 * otherwise make a new time series per request.
 * Access: the admin token, or METRICS_TOKEN when set (a scrape-only secret, so Prometheus needs no admin rights).
 * Several workers (WORKERS > 1): a scrape answers for the whole cluster, every process's series summed (src/cluster/).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { onAuditCommitted } from '../store/audit.js';
import { outboxStats, type OutboxStats } from '../store/outbox.js';
import type { Connector } from '../connector/index.js';
import type { RequestLog } from './request-log.js';
import { sameSecret } from '../store/tokens.js';
import type { WorkerRole } from '../cluster/worker.js';

const SCIM_RESOURCES = ['Users', 'Groups', 'ServiceProviderConfig', 'Schemas', 'ResourceTypes', 'Bulk', 'Me'];

/** The route template of a request, with a small, fixed set of values. */
export function routeTemplate(req: Request, status: number): string {
  const path = (req.originalUrl ?? req.url ?? '/').split('?')[0]!;
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path;
  const scim = /^\/scim\/v2(?:\/(.*))?$/i.exec(path);
  if (scim) {
    const segs = (scim[1] ?? '').split('/').filter(Boolean);
    if (!segs.length) return '/scim/v2';
    const resource = SCIM_RESOURCES.find((r) => r.toLowerCase() === segs[0]!.toLowerCase());
    if (!resource) return '/scim/v2/:unknown';
    if (segs.length === 1) return `/scim/v2/${resource}`;
    if (segs.length === 2) return segs[1]!.toLowerCase() === '.search' ? `/scim/v2/${resource}/.search` : `/scim/v2/${resource}/:id`;
    return `/scim/v2/${resource}/:id/:unknown`;
  }
  // A route handler answered: Express knows the template.
  const route = (req as any).route;
  if (route && typeof route.path === 'string' && status !== 404) return `${req.baseUrl ?? ''}${route.path}`.slice(0, 120) || '/';
  // Anything else (no route matched, or refused before routing: 401/403/429): one series per area, so scanners and
  // fuzzers cannot create a series per path.
  return path.startsWith('/admin/') ? '/admin/:unmatched' : '/:unmatched';
}

export interface Metrics {
  registry: Registry;
  /** Counts and times every request (mount first). */
  middleware: RequestHandler;
  /** GET /metrics (mount with its own access check: see `metricsAccess`). */
  handler: RequestHandler;
  close(): void;
}

export function createMetrics(db: Knex, connector?: Connector, requestLog?: RequestLog, worker?: WorkerRole): Metrics {
  const registry = new Registry();
  worker?.shareRegistry(registry);
  collectDefaultMetrics({ register: registry, prefix: 'scim_' });

  const requests = new Counter({
    name: 'scim_http_requests_total', help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const latency = new Histogram({
    name: 'scim_http_request_duration_seconds', help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'] as const, registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const pool = () => (db.client as any).pool as
    | { numUsed(): number; numFree(): number; numPendingAcquires(): number; numPendingCreates(): number; max: number }
    | undefined;
  new Gauge({
    name: 'scim_db_pool_connections', help: 'Database pool: connections in use, idle, and acquires waiting for one',
    labelNames: ['state'] as const, registers: [registry],
    collect() {
      const p = pool();
      this.set({ state: 'used' }, p?.numUsed() ?? 0);
      this.set({ state: 'free' }, p?.numFree() ?? 0);
      this.set({ state: 'pending' }, p?.numPendingAcquires() ?? 0);
      this.set({ state: 'creating' }, p?.numPendingCreates() ?? 0);
    },
  });
  new Gauge({
    name: 'scim_db_pool_max', help: 'Database pool size limit', registers: [registry],
    collect() { this.set(pool()?.max ?? 0); },
  });
  const operations = new Counter({
    name: 'scim_provisioning_operations_total', help: 'Provisioning operations committed, by audit operation (create_user, add_group_member, team_add, ...)',
    labelNames: ['operation'] as const, registers: [registry],
  });
  const unsubscribe = onAuditCommitted(db, (ops) => {
    const counts = new Map<string, number>();
    for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
    for (const [op, n] of counts) operations.inc({ operation: op.slice(0, 64) }, n);
  });

  const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const method = methods.has(req.method) ? req.method : 'OTHER';
      const route = routeTemplate(req, res.statusCode);
      requests.inc({ method, route, status: String(res.statusCode) });
      latency.observe({ method, route }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };

  const handler: RequestHandler = async (_req, res, next) => {
    try {
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(await (worker ? worker.scrape() : registry.metrics()));
    } catch (err) {
      next(err);
    }
  };

  const unsubscribeConnector = connector ? connectorMetrics(registry, db, connector) : () => undefined;
  if (requestLog) requestLogMetrics(registry, requestLog);

  return { registry, middleware, handler, close: () => { unsubscribe(); unsubscribeConnector(); } };
}

/**
 * The request log's writer (request-log.ts): rows it could not keep (its buffer full while the database was down or
 * slow) and rows waiting in memory. Read from the writer at scrape time; the hot path only counts.
 */
function requestLogMetrics(registry: Registry, requestLog: RequestLog): void {
  let reported = 0;
  new Counter({
    name: 'scim_request_log_dropped_total', help: 'Request log rows dropped: the in-memory buffer was full (database down or too slow)', registers: [registry],
    collect() {
      const now = requestLog.dropped;
      if (now > reported) this.inc(now - reported);
      reported = now;
    },
  });
  new Gauge({
    name: 'scim_request_log_buffered', help: 'Request log rows waiting in memory to be written', registers: [registry],
    collect() { this.set(requestLog.buffered); },
  });
}

/** How long a scrape waits for the outbox counts: a database that hangs must not hang /metrics. */
const STATS_TIMEOUT_MS = 2000;

/** The connector's series; returns the unsubscribe from its events. */
function connectorMetrics(registry: Registry, db: Knex, connector: Connector): () => void {
  // One outbox query per scrape for the three gauges (prom-client collects them concurrently, so the first starts it
  // and the others share it). A query that fails or times out leaves the gauges at their last values: /metrics still
  // answers, and the database's own series say why. Every worker reads the same outbox: in a cluster's scrape the
  // gauges are the largest reading, not the sum.
  let inflight: Promise<OutboxStats | null> | null = null;
  const stats = (): Promise<OutboxStats | null> => {
    if (inflight) return inflight;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), STATS_TIMEOUT_MS); });
    inflight = Promise.race([outboxStats(db, 'mattermost').catch(() => null), timeout])
      .finally(() => { clearTimeout(timer); inflight = null; });
    return inflight;
  };
  new Gauge({
    name: 'scim_connector_outbox_pending', help: 'Mattermost deliveries waiting (the outbox depth), in flight included', registers: [registry], aggregator: 'max',
    async collect() { const s = await stats(); if (s) this.set(s.pending); },
  });
  new Gauge({
    name: 'scim_connector_outbox_parked', help: 'Mattermost deliveries parked: failed in a way retrying cannot fix, waiting for an admin', registers: [registry], aggregator: 'max',
    async collect() { const s = await stats(); if (s) this.set(s.parked); },
  });
  new Gauge({
    name: 'scim_connector_outbox_oldest_pending_seconds', help: 'Age of the oldest waiting Mattermost delivery (0 when none waits)', registers: [registry], aggregator: 'max',
    async collect() { const s = await stats(); if (s) this.set(s.oldestPendingAt == null ? 0 : Math.max(0, (Date.now() - s.oldestPendingAt) / 1000)); },
  });
  const deliveries = new Counter({
    name: 'scim_connector_deliveries_total', help: 'Mattermost delivery attempts by result (delivered, retry, rate_limited, parked) and entity kind',
    labelNames: ['result', 'entity'] as const, registers: [registry],
  });
  const lag = new Histogram({
    name: 'scim_connector_delivery_lag_seconds', help: 'From a change committed to Mattermost brought in line with it (successful deliveries)',
    registers: [registry], buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600],
  });
  const requests = new Histogram({
    name: 'scim_connector_mattermost_request_seconds', help: 'Requests to Mattermost by method and status (0 = no answer: refused, reset, timed out)',
    labelNames: ['method', 'status'] as const, registers: [registry],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const onResult: Connector['events']['result'][number] = (result, entity, lagMs) => {
    deliveries.inc({ result, entity });
    // Only a delivery that happened has a lag; a retry's age is what the oldest-pending gauge shows.
    if (result === 'delivered') lag.observe(lagMs / 1000);
  };
  const onRequest: Connector['events']['request'][number] = (method, status, seconds) => {
    requests.observe({ method, status: String(status) }, seconds);
  };
  connector.events.result.push(onResult);
  connector.events.request.push(onRequest);
  return () => {
    for (const [list, f] of [[connector.events.result, onResult], [connector.events.request, onRequest]] as const) {
      const i = (list as unknown[]).indexOf(f);
      if (i >= 0) list.splice(i, 1);
    }
  };
}

/**
 * Access to /metrics: METRICS_TOKEN (when configured) as a bearer token, otherwise whatever `fallback` accepts (the
 * admin scope).
 */
export function metricsAccess(metricsToken: string | undefined, fallback: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(req.get('authorization') ?? '');
    if (metricsToken && m && sameSecret(m[1]!, metricsToken)) return next();
    fallback(req, res, next);
  };
}
