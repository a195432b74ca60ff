/**
 * One running server from validated settings: the database (opened, checked, migrated), the first-start token, the
 * sync engine, the HTTP app listening, and its graceful close. What belongs to the process (reading the environment,
 * exit codes, signals) is main.ts's; tests start this in their own process, one server per test file.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Knex } from 'knex';
import { ConfigError, maskDatabaseUrl, type Config } from './config/index.js';
import { announce, type Logger } from './log.js';
import { classifyDbError, openDb, ping } from './store/db.js';
import { migrateUp, NewerSchemaError, schemaStatus } from './store/migrations.js';
import { VERSION } from './version.js';
import { countActiveTokens, createToken } from './store/tokens.js';
import { startSync } from './sync/startup.js';
import { createApp, type AppState, type OAuthTuning } from './http/app.js';
import { onClientError } from './http/errors.js';
import { startConnector, type Connector, type WorkerTuning } from './connector/index.js';
import { RequestLog, type RequestLogTuning } from './http/request-log.js';
import type { WorkerRole } from './cluster/worker.js';

/**
 * Start-up refused: `message` is the one line for the operator, `exitCode` what the process exits with: 78
 * (EX_CONFIG) when retrying cannot help, 1 when the database is unreachable, which a restart may outlive.
 */
export class StartupError extends Error {
  constructor(message: string, readonly exitCode: 1 | 78) {
    super(message);
  }
}

export interface RunningServer {
  port: number;
  /** http://host:port, without the SCIM mount. */
  url: string;
  /**
   * Graceful close: refuse new requests (503), answer the ones in flight, close idle keep-alive connections, then the
   * pool. Resolves when everything is closed; calling it again returns the same promise.
   */
  close(signal?: string): Promise<void>;
  /** The Mattermost connector, when MATTERMOST_URL is set. */
  connector: Connector | undefined;
  /** The request log table's writer; undefined when REQUEST_LOG_DAYS=0. */
  requestLog: RequestLog | undefined;
}

export interface ServerOptions {
  /** Where the first-start token is shown, once (stdout by default). */
  print?: (text: string) => void;
  /** Delivery worker tuning (tests: fast polls and backoff). */
  connectorTuning?: WorkerTuning;
  /** OAuth tuning (tests: JWKS cache ages, the token endpoint's throttle). */
  oauthTuning?: OAuthTuning;
  /** Request log tuning (tests: the buffer's cap, the prune timer). */
  requestLogTuning?: RequestLogTuning;
  /**
   * One worker of several (WORKERS > 1, src/cluster/primary.ts). The primary has done what must happen once
   * (`prepareStore`: migrations, the first-start token, the mapping file's rules) and prints the `listening` line for
   * all; a worker says `worker listening`, and only worker 0 delivers to Mattermost.
   */
  worker?: WorkerRole;
}

/**
 * What start-up does once per database, for a cluster's primary before it forks: open and check the database,
 * migrate, create and show the first-start token, check the mapping file and apply its rules. The same refusals as
 * `startServer` (StartupError with its exit code). Closes the database before it returns.
 */
export async function prepareStore(config: Config, log: Logger, print: (text: string) => void = (text) => void process.stdout.write(text)): Promise<{ schema: string | null; migrated: number }> {
  // Knex's warnings (a stack per failed connect) are dropped: a failure here is reported once, by openChecked.
  const db = await openChecked(config.databaseUrl, () => openDb({ url: config.databaseUrl, poolMax: 2, sqliteSynchronous: config.sqliteSynchronous, sqliteGroupCommit: config.sqliteGroupCommit, onWarning: () => undefined }));
  try {
    const applied = await migrate(db, config);
    const schema = (await schemaStatus(db)).current;
    await firstStartToken(db, config, print);
    await syncAtStart(db, config, log);
    return { schema, migrated: applied.length };
  } finally {
    await db.destroy().catch(() => undefined);
  }
}

const migrate = (db: Knex, config: Config) => migrateUp(db, config.databaseUrl).catch((err) => {
  throw err instanceof NewerSchemaError ? new StartupError(`refusing to start: ${err.message}`, 1) : err;
});

/** First start with no token at all: make one, show it once, keep only its hash. */
async function firstStartToken(db: Knex, config: Config, print: (text: string) => void): Promise<void> {
  if (config.scimToken || (await countActiveTokens(db, 'scim')) > 0) return;
  const created = await createToken(db, 'bootstrap', 'scim', 'system:first-start', 'bootstrap');
  if (created) print(`\nSCIM bearer token (shown once, store it now): ${created.token}\n\n`);
}

/** Parses GROUP_MAPPING_FILE (a bad file stops start-up, one line) and, unless told not to, applies it to the groups that exist. */
const syncAtStart = (db: Knex, config: Config, log: Logger, applyAtStart = true) => startSync(db, config, log, { applyAtStart }).catch((err) => {
  throw err instanceof ConfigError ? new StartupError(`configuration error: ${err.message}`, 78) : err;
});

export async function startServer(config: Config, log: Logger, opts: ServerOptions = {}): Promise<RunningServer> {
  const print = opts.print ?? ((text: string) => void process.stdout.write(text));
  // Knex warns with a stack for every failed connect: before start-up the failure is reported once below, after it
  // a request meets it as a 503 and the warning is one log line.
  let started = false;
  const onWarning = (message: string) => {
    if (started) log.warn('database warning', { detail: scrub(message.split('\n')[0]!, config.databaseUrl) });
  };
  let stopConnector: (() => Promise<void>) | undefined;
  let requestLog: RequestLog | undefined;
  const db = await openChecked(config.databaseUrl, () => openDb({ url: config.databaseUrl, poolMax: config.dbPoolMax, sqliteSynchronous: config.sqliteSynchronous, sqliteGroupCommit: config.sqliteGroupCommit, pgPreparedStatements: config.pgPreparedStatements, onWarning }));
  try {
    // In a worker, the primary has migrated: this only checks (and refuses a database newer than this server).
    const applied = await migrate(db, config);
    const schema = (await schemaStatus(db)).current;
    started = true;

    if (!opts.worker) await firstStartToken(db, config, print);
    const { sync, applyGroupRules } = await syncAtStart(db, config, log, !opts.worker);
    // The connector queues every change from here on and delivers in the background; a Mattermost outage only
    // delays deliveries, never a SCIM answer.
    const connector: Connector | undefined = config.mattermost ? await startConnector(db, config.mattermost, log, opts.connectorTuning, { deliver: !opts.worker || opts.worker.index === 0 }) : undefined;
    stopConnector = connector?.stop;
    if (config.mattermost && (opts.worker?.index ?? 0) === 0) announce(log, 'mattermost connector on', { url: config.mattermost.url, authService: config.mattermost.authService || 'email', delete: config.mattermost.deleteMode });
    // REQUEST_LOG_DAYS=0: no writer, so no rows, no flush or prune timer.
    requestLog = config.requestLog.days > 0 ? new RequestLog(db, config.requestLog, log, opts.requestLogTuning) : undefined;
    const state: AppState = { shuttingDown: false };
    const app = createApp({ db, config, log, sync, applyGroupRules, connector, oauthTuning: opts.oauthTuning, schema, requestLog, worker: opts.worker }, state);
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
    if (opts.worker) {
      announce(log, 'worker listening', { worker: opts.worker.index, pid: process.pid, port });
      opts.worker.ready();
    }
    else announce(log, 'listening', listeningFields(config, schema, applied.length, port));

    let closing: Promise<void> | undefined;
    const close = (signal?: string): Promise<void> => {
      if (closing) return closing;
      state.shuttingDown = true;
      log.info('shutting down', signal ? { signal } : {});
      closing = new Promise<void>((resolve) => {
        // Finish in-flight requests, refuse new ones, then close the pool.
        const idle = setInterval(() => server.closeIdleConnections(), 100).unref();
        server.close(async () => {
          clearInterval(idle);
          // Every answer has been sent, so every request's row is buffered: write them before the pool closes.
          await requestLog?.close().catch(() => undefined);
          await connector?.stop().catch(() => undefined);
          await db.destroy().catch(() => undefined);
          log.info('stopped');
          resolve();
        });
        // A keep-alive connection would hold server.close open until its idle timeout: in-flight responses go out
        // with Connection: close, and connections are closed as soon as they fall idle.
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.closeIdleConnections();
      });
      return closing;
    };
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return { port, url: `http://${host}:${port}`, close, connector, requestLog };
  } catch (err) {
    await requestLog?.close().catch(() => undefined);
    await stopConnector?.().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
}

/** What the `listening` line says (a cluster's primary prints it too, for all its workers). */
export function listeningFields(config: Config, schema: string | null, migrated: number, port: number): Record<string, unknown> {
  return { version: VERSION, schema, migrated, port, host: config.host, scim: `http://${config.host}:${port}/scim/v2`, publicUrl: config.publicUrl, database: config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres' };
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
 * stack from the first migration: a StartupError with exit code 78 when retrying cannot help (database missing,
 * authentication refused, SQLite path that cannot be opened), 1 when the database is unreachable (refused, timed out).
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
    throw new StartupError(`${unreachable ? 'database unavailable' : 'configuration error'}: DATABASE_URL ${maskDatabaseUrl(url)}: ${detail}`, unreachable ? 1 : 78);
  }
}
