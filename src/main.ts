/**
 * The server process: settings from the environment, the server (src/server.ts), exit codes, signals.
 */
import { ConfigError, loadConfig, loadDotEnv } from './config/index.js';
import { createLogger } from './log.js';
import { startServer, StartupError } from './server.js';

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
  const log = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, log);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return process.exit(err.exitCode);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // In-flight requests are answered, new ones refused, then the pool closes and the process exits 0; a request that
    // never finishes cannot hold the process past 25 s.
    void server.close(signal).then(() => process.exit(0));
    setTimeout(() => process.exit(1), 25_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err?.message ?? err}\n`);
  process.exit(1);
});
