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

export async function startConnector(db: Knex, cfg: MattermostConfig, log: Logger, tuning: WorkerTuning = {}): Promise<Connector> {
  enableOutbox(db, ['mattermost']);
  const events: ConnectorEvents = { request: [], result: [] };
  const ctx = { ...connectorCtx(db, cfg, log, { observe: (m, s, t) => { for (const f of events.request) f(m, s, t); } }), waitForQueued: true };
  const worker = new DeliveryWorker(ctx, {
    concurrency: cfg.concurrency, leaseMs: cfg.leaseMs, ...tuning,
    onResult: (r, k, lag) => { for (const f of events.result) f(r, k, lag); },
  });
  const unsubscribe = onAuditCommitted(db, () => worker.nudge());
  // Switched on over a store that already has people: changes made before were never queued, so say how to send them.
  const [unbound, queued] = await Promise.all([countUnboundUsers(db), outboxStats(db, 'mattermost')]);
  if (unbound > 0 && queued.pending === 0) {
    log.warn('people here are not in Mattermost yet', { unbound, hint: 'run `npm run -s cli -- connector adopt --dry-run`, then `connector adopt`, to bind existing accounts and send the rest' });
  }
  await worker.start();
  let timer: NodeJS.Timeout | undefined;
  let reconciling: Promise<unknown> | null = null;
  if (cfg.reconcileIntervalMs > 0) {
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
