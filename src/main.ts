/**
 * The server process: settings from the environment, the server (src/server.ts), exit codes, signals; with WORKERS > 1,
 * the cluster's primary (src/cluster/primary.ts) or one of its workers.
 */
import cluster from 'node:cluster';
import { ConfigError, loadConfig, loadDotEnv } from './config/index.js';
import { createLogger } from './log.js';
import { startServer, StartupError, type RunningServer } from './server.js';
import { runPrimary } from './cluster/primary.js';
import { workerRole } from './cluster/worker.js';

async function main(): Promise<void> {
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  // WORKERS > 1: this process becomes the cluster's primary (src/cluster/primary.ts), which forks the servers; each
  // of them runs this file again as a worker, below. WORKERS=1 runs no cluster: this process is the server.
  if (config.workers > 1 && cluster.isPrimary) {
    try {
      return await runPrimary(config, createLogger(config.logLevel, { pid: process.pid }));
    } catch (err) {
      if (!(err instanceof StartupError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return process.exit(err.exitCode);
    }
  }
  const worker = workerRole(config.workers);
  const log = createLogger(config.logLevel, worker ? { worker: worker.index, pid: process.pid } : {});

  // The handlers go in before start-up: the server listens (and a process manager may already send SIGTERM) a few
  // ticks before startServer returns, and a signal with no handler would kill it uncleanly (no exit 0). A signal during
  // start-up stops the server as soon as it is up; a start-up that cannot finish in 25 s exits 1.
  let server: RunningServer | undefined;
  let stopping: string | undefined;
  const stop = (srv: RunningServer, signal: string) => {
    // In-flight requests are answered, new ones refused, then the pool closes and the process exits 0; a request that
    // never finishes cannot hold the process past 25 s.
    void srv.close(signal).then(() => process.exit(0));
  };
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = signal;
    setTimeout(() => process.exit(1), 25_000).unref();
    if (server) stop(server, signal);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    server = await startServer(config, log, worker ? { worker } : {});
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return process.exit(err.exitCode);
  }
  if (stopping) stop(server, stopping);
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err?.message ?? err}\n`);
  process.exit(1);
});
