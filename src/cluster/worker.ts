/**
 * What a cluster worker (WORKERS > 1, src/cluster/primary.ts) needs besides the ordinary start-up: which worker it is,
 * and /metrics for the whole cluster. Each worker keeps its own prom-client registry; a scrape reaches one worker,
 * which asks the primary, which asks every worker for its registry (prom-client's AggregatorRegistry, the library's
 * answer for node:cluster) and answers with the sum, so one scrape sees every process.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** Set by the primary in each worker's environment: the worker's slot, 0 to count - 1 (a restarted worker keeps it). */
export const WORKER_INDEX_ENV = 'SCIM_WORKER_INDEX';

/** Messages between a worker and the primary (type-tagged; prom-client's own use `prom-client:` types). */
export const METRICS_REQUEST = 'scim:metrics-request';
export const METRICS_REPLY = 'scim:metrics-reply';
/** A worker has started: listening, its `worker listening` line written. */
export const WORKER_READY = 'scim:worker-ready';

export interface WorkerRole {
  /** 0 to count - 1. Worker 0 runs the work that must happen once: the connector's deliveries, its scheduled reconcile. */
  index: number;
  count: number;
  /** The whole cluster's metrics, in the Prometheus text format. */
  scrape(): Promise<string>;
  /** Answer the primary's requests for this worker's registry. */
  shareRegistry(registry: Registry): void;
  /** Tell the primary this worker has started. */
  ready(): void;
}

/** This process's role when the primary forked it; undefined in a process that is not a cluster worker. */
export function workerRole(count: number, env: Record<string, string | undefined> = process.env): WorkerRole | undefined {
  const raw = env[WORKER_INDEX_ENV];
  if (!cluster.isWorker || raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return { index: Number(raw), count, scrape, shareRegistry, ready: () => void process.send?.({ type: WORKER_READY }) };
}

function shareRegistry(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // The constructor is what makes this worker answer the primary (prom-client adds its message listener there).
  new AggregatorRegistry();
}

let next = 0;
const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
let listening = false;

/** Ask the primary for the cluster's metrics; rejects after 6 s (the primary's own wait for workers is 5 s). */
function scrape(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (m: { type?: string; id?: number; text?: string; error?: string }) => {
      if (m?.type !== METRICS_REPLY || typeof m.id !== 'number') return;
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      clearTimeout(w.timer);
      if (typeof m.text === 'string') w.resolve(m.text);
      else w.reject(new Error(`cluster metrics: ${m.error ?? 'no answer'}`));
    });
  }
  return new Promise((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => { waiting.delete(id); reject(new Error('cluster metrics: the primary did not answer')); }, 6000);
    waiting.set(id, { resolve, reject, timer });
    process.send!({ type: METRICS_REQUEST, id });
  });
}
