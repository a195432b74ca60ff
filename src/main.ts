/**
 * Start the server: settings, database and migrations, first-start token, HTTP, graceful shutdown.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import { ConfigError, loadConfig, loadDotEnv, maskDatabaseUrl } from './config/index.js';
import { announce, createLogger } from './log.js';
import { classifyDbError, migrate, openDb, ping } from './store/db.js';
import { countActiveTokens, createToken } from './store/tokens.js';
import { startSync } from './sync/startup.js';
import { createApp, type AppState } from './http/app.js';
import { onClientError } from './http/errors.js';

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
  // Knex warns with a stack for every failed connect: before start-up the failure is reported once below, after it
  // a request meets it as a 503 and the warning is one log line.
  let started = false;
  const onWarning = (message: string) => {
    if (started) log.warn('database warning', { detail: scrub(message.split('\n')[0]!, config.databaseUrl) });
  };
  const db = await openChecked(config.databaseUrl, () => openDb({ url: config.databaseUrl, poolMax: config.dbPoolMax, sqliteSynchronous: config.sqliteSynchronous, onWarning }));
  await migrate(db);
  started = true;

  if (!config.scimToken && (await countActiveTokens(db, 'scim')) === 0) {
    // First start with no token at all: make one, show it once, keep only its hash.
    const created = await createToken(db, 'bootstrap', 'scim', 'system:first-start', 'bootstrap');
    if (created) process.stdout.write(`\nSCIM bearer token (shown once, store it now): ${created.token}\n\n`);
  }

  // Parses GROUP_MAPPING_FILE (a bad file stops start-up, one line) and applies it to the groups that exist.
  const { sync, applyGroupRules } = await startSync(db, config, log).catch((err) => {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`configuration error: ${err.message}\n`);
    return process.exit(78);
  });
  const state: AppState = { shuttingDown: false };
  const app = createApp({ db, config, log, sync, applyGroupRules }, state);
  const server: Server = app.listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  server.on('clientError', onClientError);
  // Responses in flight, so shutdown can ask their keep-alive connections to close once they are answered.
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (config.publicUrlDerived) config.publicUrl = config.publicUrl.replace(/:\d+\/scim\/v2$/, `:${port}/scim/v2`);
  announce(log, 'listening', { port, host: config.host, scim: `http://${config.host}:${port}/scim/v2`, publicUrl: config.publicUrl, database: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres' });

  const shutdown = (signal: string) => {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    log.info('shutting down', { signal });
    // Finish in-flight requests, refuse new ones, then close the pool and exit 0.
    server.close(async () => {
      await db.destroy().catch(() => undefined);
      log.info('stopped');
      process.exit(0);
    });
    // A keep-alive connection would hold server.close open until its idle timeout: in-flight responses go out with
    // Connection: close, and connections are closed as soon as they fall idle.
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => process.exit(1), 25_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** A message about DATABASE_URL with its password taken out (a driver may echo parts of the URL). */
function scrub(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // not a URL (sqlite:<path>): nothing secret in it
  }
  return password.length >= 3 ? message.split(password).join('***') : message;
}

/**
 * Open the database and connect once, so that a DATABASE_URL that cannot work is one line naming the setting, not a
 * stack from the first migration. Exit codes: 78 (EX_CONFIG, like every other bad setting) when retrying cannot help
 * (database missing, authentication refused, SQLite path that cannot be opened); 1 when the database is unreachable
 * (refused, timed out), which a process manager's restart may outlive.
 */
async function openChecked(url: string, open: () => Knex): Promise<Knex> {
  let db: Knex | undefined;
  try {
    db = open();
    await ping(db);
    return db;
  } catch (err) {
    await db?.destroy().catch(() => undefined);
    const detail = scrub(String((err as Error)?.message ?? err).split('\n')[0]!, url);
    const unreachable = classifyDbError(err).kind === 'unavailable';
    process.stderr.write(`${unreachable ? 'database unavailable' : 'configuration error'}: DATABASE_URL ${maskDatabaseUrl(url)}: ${detail}\n`);
    return process.exit(unreachable ? 1 : 78);
  }
}

main().catch((err) => {
  process.stderr.write(`fatal: ${err?.message ?? err}\n`);
  process.exit(1);
});
