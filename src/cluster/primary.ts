/**
 * WORKERS > 1: this process forks that many servers (node:cluster), which share the port (the primary accepts and
 * hands connections out round-robin) and the store. The primary serves no request; it
 * - does once what must happen once (src/server.ts `prepareStore`: migrations, the first-start token, the mapping
 *   file), so no two workers race to migrate or each print a token;
 * - prints the one `listening` line, with `workers` and its `pid`, once every worker listens (each worker says
 *   `worker listening` with its own `pid`);
 * - on SIGTERM or SIGINT passes SIGTERM to every worker, which answers its requests in flight, flushes its request log
 *   and exits; the primary exits 0 once all have (1 if one had to be killed or failed);
 * - restarts a worker that dies, after a backoff that doubles with its recent deaths; a worker that keeps dying before
 *   it listens stops the cluster with one line and exit 1 (78 at once: a setting retrying cannot fix);
 * - answers the workers' requests for the cluster's metrics (prom-client's AggregatorRegistry).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/index.js';
import { announce, type Logger } from '../log.js';
import { listeningFields, prepareStore } from '../server.js';
import { METRICS_REPLY, METRICS_REQUEST, WORKER_INDEX_ENV, WORKER_READY } from './worker.js';

/** Deaths before listening, in a row, after which a slot stops the cluster. */
export const MAX_START_FAILURES = 5;
const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** Deaths of a listening worker count towards its backoff for this long. */
const CRASH_WINDOW_MS = 60_000;
/** A worker stops within 25 s (src/main.ts): past this, the primary kills what is left. */
const STOP_TIMEOUT_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  /** Said it has started (WORKER_READY) since it was forked. */
  listening: boolean;
  startFailures: number;
  crashes: number[];
  restart: NodeJS.Timeout | undefined;
}

/** Backoff before restarting after the n-th death in a row (n >= 1): 0.5 s, 1 s, 2 s, ... up to 30 s. */
export function backoffMs(n: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, n - 1));
}

export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const count = config.workers;
  let stopping: string | undefined;
  let exitCode = 0;
  let failedLine: string | undefined;
  let slots: Slot[] = [];
  let port = config.port;
  let announced = false;
  // A signal during prepareStore waits for it (a migration is not cut short), then the primary exits 0.
  let prepared = false;

  const live = () => slots.filter((s) => s.worker);
  const finishIfDone = () => {
    if (!stopping || !prepared || live().length) return;
    if (failedLine) process.stderr.write(`${failedLine}\n`);
    else log.info('stopped', { workers: count });
    process.exit(exitCode);
  };
  const stopAll = (reason: string, code = 0, line?: string) => {
    if (stopping) return;
    stopping = reason;
    exitCode = code;
    failedLine = line;
    if (!line) log.info('shutting down', { signal: reason, workers: count });
    setTimeout(() => {
      for (const s of live()) s.worker!.process.kill('SIGKILL');
      if (failedLine) process.stderr.write(`${failedLine}\n`);
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    for (const s of slots) {
      clearTimeout(s.restart);
      s.worker?.process.kill('SIGTERM');
    }
    finishIfDone();
  };
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));

  const { schema, migrated } = await prepareStore(config, log);
  // PORT=0: the primary picks the port, and every worker (a restarted one too) is told that port. Workers each asking
  // for port 0 would share one handle only while one of them holds it; a restarted worker must listen where the
  // others do, and after all of them died, where they did.
  if (port === 0) port = await freePort(config.host);
  prepared = true;
  if (stopping) return finishIfDone();

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.listening = false;
    slot.worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index), PORT: String(port) });
  };
  const slotOf = (w: Worker) => slots.find((s) => s.worker === w);

  // Started, not only listening: the worker's own line is out (stdout is one pipe, written synchronously) before
  // the primary's.
  const started = (worker: Worker) => {
    const slot = slotOf(worker);
    if (!slot) return;
    slot.listening = true;
    slot.startFailures = 0;
    if (!announced && slots.every((s) => s.listening)) {
      announced = true;
      if (config.publicUrlDerived) config.publicUrl = config.publicUrl.replace(/:\d+\/scim\/v2$/, `:${port}/scim/v2`);
      announce(log, 'listening', { ...listeningFields(config, schema, migrated, port), workers: count, pid: process.pid });
    }
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slotOf(worker);
    if (!slot) return;
    slot.worker = undefined;
    if (stopping) {
      // Stopped by our SIGTERM (a worker still loading has no handler yet) or exited 0 after its graceful close.
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') exitCode ||= 1;
      return finishIfDone();
    }
    const atStart = !slot.listening;
    log.error('worker exited', { worker: slot.index, pid: worker.process.pid, code, signal, atStart });
    if (atStart) {
      slot.startFailures += 1;
      if (code === 78) return stopAll('start-up failed', 78, `stopping: worker ${slot.index} cannot start (exit 78, a setting retrying cannot fix: see its line above)`);
      if (slot.startFailures >= MAX_START_FAILURES) {
        return stopAll('start-up failed', 1, `stopping: worker ${slot.index} exited ${slot.startFailures} times in a row before listening (last exit code ${code ?? signal})`);
      }
    }
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const wait = backoffMs(atStart ? slot.startFailures : slot.crashes.length);
    log.warn('restarting worker', { worker: slot.index, inMs: wait });
    slot.restart = setTimeout(() => fork(slot), wait);
  });

  // A worker asks for the cluster's metrics; prom-client asks every worker for its registry and sums them.
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: { type?: string; id?: number }) => {
    if (m?.type === WORKER_READY) return started(worker);
    if (m?.type !== METRICS_REQUEST) return;
    const reply = (body: { text: string } | { error: string }) => { if (worker.isConnected()) worker.send({ type: METRICS_REPLY, id: m.id, ...body }); };
    aggregator.clusterMetrics().then((text) => reply({ text }), (err: Error) => reply({ error: err.message }));
  });

  slots = Array.from({ length: count }, (_, index) => ({ index, worker: undefined, listening: false, startFailures: 0, crashes: [], restart: undefined }));
  for (const slot of slots) fork(slot);
}

/** A port the system gives for `host` now (listen on 0, read it, close). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
