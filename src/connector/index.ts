/**
 * The Mattermost connector as the server runs it: queuing turned on for the store, the API client, the delivery
 * worker (woken by every committed change), and the scheduled reconcile. Built only when MATTERMOST_URL is set.
 */
import type { Knex } from 'knex';
import type { MattermostConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { onAuditCommitted } from '../store/audit.js';
import { enableOutbox, outboxStats } from '../store/outbox.js';
import { countUnboundUsers } from '../store/mattermost-bindings.js';
import type { ConnectorCtx } from './context.js';
import { DeliveryWorker, type WorkerOptions } from './delivery-worker.js';
import { MattermostApi, type MattermostApiOptions } from './mattermost-api.js';
import { reconcile } from './reconcile.js';

/** Who listens to the connector (metrics): each request to Mattermost, each delivery's result. */
export interface ConnectorEvents {
  request: NonNullable<MattermostApiOptions['observe']>[];
  result: NonNullable<WorkerOptions['onResult']>[];
}

export interface Connector {
  ctx: ConnectorCtx;
  worker: DeliveryWorker;
  events: ConnectorEvents;
  stop(): Promise<void>;
}

/** Worker tuning for tests (poll and backoff); production uses the defaults. */
export type WorkerTuning = Partial<Pick<WorkerOptions, 'pollMs' | 'baseBackoffMs' | 'maxBackoffMs'>>;

export function connectorCtx(db: Knex, cfg: MattermostConfig, log: Logger, opts: { dryRun?: boolean; observe?: MattermostApiOptions['observe'] } = {}): ConnectorCtx {
  const api = new MattermostApi({ ...cfg, ...(opts.observe ? { observe: opts.observe } : {}) });
  return { db, api, cfg, log, dryRun: !!opts.dryRun };
}

/**
 * `deliver: false`: queue changes but deliver nothing and schedule no reconcile. Several workers of one cluster
 * (WORKERS > 1) each queue their own changes, and worker 0 alone delivers them (src/cluster/worker.ts): claims are
 * safe from several processes (SKIP LOCKED on PostgreSQL, one writer on SQLite, where a starting worker releases every
 * lease as a dead process's), but MATTERMOST_CONCURRENCY and MATTERMOST_MAX_RPS are what one instance sends
 * Mattermost, and N delivering workers would send N times that. A change committed in another worker waits for the
 * next poll (250 ms) instead of waking the worker at once.
 */
export async function startConnector(db: Knex, cfg: MattermostConfig, log: Logger, tuning: WorkerTuning = {}, opts: { deliver?: boolean } = {}): Promise<Connector> {
  enableOutbox(db, ['mattermost']);
  const events: ConnectorEvents = { request: [], result: [] };
  const ctx = { ...connectorCtx(db, cfg, log, { observe: (m, s, t) => { for (const f of events.request) f(m, s, t); } }), waitForQueued: true };
  const worker = new DeliveryWorker(ctx, {
    concurrency: cfg.concurrency, leaseMs: cfg.leaseMs, ...tuning,
    onResult: (r, k, lag) => { for (const f of events.result) f(r, k, lag); },
  });
  const unsubscribe = onAuditCommitted(db, () => worker.nudge());
  const deliver = opts.deliver !== false;
  // Switched on over a store that already has people: changes made before were never queued, so say how to send them
  // (once: the delivering worker says it).
  const [unbound, queued] = deliver ? await Promise.all([countUnboundUsers(db), outboxStats(db, 'mattermost')]) : [0, { pending: 0 }];
  if (unbound > 0 && queued.pending === 0) {
    log.warn('people here are not in Mattermost yet', { unbound, hint: 'run `npm run -s cli -- connector adopt --dry-run`, then `connector adopt`, to bind existing accounts and send the rest' });
  }
  if (deliver) await worker.start();
  let timer: NodeJS.Timeout | undefined;
  let reconciling: Promise<unknown> | null = null;
  if (deliver && cfg.reconcileIntervalMs > 0) {
    timer = setInterval(() => {
      if (reconciling) return;
      reconciling = reconcile(ctx, { actor: 'system:schedule' })
        .then((r) => log.info('scheduled reconcile', { fixed: r.fixed, checked: r.checked }))
        .catch((err) => log.warn('scheduled reconcile failed', { error: (err as Error).message }))
        .finally(() => { reconciling = null; });
    }, cfg.reconcileIntervalMs);
    timer.unref();
  }
  return {
    ctx,
    worker,
    events,
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe();
      await worker.stop();
      await reconciling;
    },
  };
}
