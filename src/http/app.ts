/**
 * The Express application: request ids and access log, security headers, health probes, SCIM, the admin API,
 * metrics, and one error handler, which renders each mount's error format (http/errors.ts). Dependencies come in;
 * nothing here reads the environment.
 */
import { VERSION } from '../version.js';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { ApplyGroupRules } from '../scim/use-cases/context.js';
import type { Logger } from '../log.js';
import type { SyncEngine } from '../sync/engine.js';
import { ping } from '../store/db.js';
import { requestContext } from './request-context.js';
import type { RequestLog } from './request-log.js';
import { AppError } from '../errors/app-error.js';
import { errorFormat, errorHandler, notFound } from './errors.js';
import { createAuthenticator, FailureGuard } from './auth.js';
import { scimRouter, SCIM_MOUNT } from './scim.js';
import { adminRouter } from '../admin/router.js';
import { CONSOLE_MOUNT, consolePage } from './console-page.js';
import { createMetrics, metricsAccess } from './metrics.js';
import type { Connector } from '../connector/index.js';
import { AssertionVerifier, type AssertionTuning } from '../oauth/assertion.js';
import { ClientThrottle } from '../oauth/throttle.js';
import type { OAuthDeps } from '../oauth/context.js';
import { oauthRouter } from './oauth/router.js';
import { metadataHandler } from './oauth/metadata.js';
import { ConsoleSessions } from '../console/sessions.js';
import { CONSOLE_SESSION_PATH, consoleAuth, consoleSessionRouter } from './console-session.js';
import type { WorkerRole } from '../cluster/worker.js';

/** Where the admin API is mounted; its errors are admin JSON, the OAuth mount's RFC 6749 JSON, everything else's SCIM. */
export const ADMIN_MOUNT = '/admin/v1';
export const OAUTH_MOUNT = '/oauth';

export interface AppDeps {
  db: Knex; config: Config; log: Logger; sync: SyncEngine; applyGroupRules: ApplyGroupRules; connector?: Connector | undefined;
  /** Tests: JWKS caching of client assertions, and the token endpoint's throttle. */
  oauthTuning?: OAuthTuning | undefined;
  /** The schema version (newest migration) the database had once start-up migrated it. */
  schema?: string | null | undefined;
  /** The request log table's writer; undefined when REQUEST_LOG_DAYS=0. */
  requestLog?: RequestLog | undefined;
  /** This process is one worker of several (WORKERS > 1): /metrics answers for the whole cluster. */
  worker?: WorkerRole | undefined;
}

export interface OAuthTuning { assertion?: AssertionTuning; throttle?: { limit: number; windowMs: number } }

export interface AppState { shuttingDown: boolean }

export function createApp(deps: AppDeps, state: AppState = { shuttingDown: false }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are resource versions (meta.version), not body hashes
  app.set('trust proxy', deps.config.trustProxyHops || false);
  app.set('query parser', 'simple');
  app.use(requestContext(deps.log, deps.requestLog));
  // Each mount's error format is known from the first middleware on, so even the shutdown 503 is in its format.
  app.use(ADMIN_MOUNT, errorFormat('admin'));
  app.use(OAUTH_MOUNT, errorFormat('oauth'));
  app.use(CONSOLE_SESSION_PATH, errorFormat('admin'));
  const metrics = createMetrics(deps.db, deps.connector, deps.requestLog, deps.worker);
  app.use(metrics.middleware);
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));
  app.use((req, res, next) => {
    if (state.shuttingDown) {
      res.setHeader('Connection', 'close');
      return next(AppError.scim(503, null, 'server is shutting down', { 'Retry-After': '1' }));
    }
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // No token, like the probes: an operator or a load balancer checks what runs before an upgrade and after it.
  app.get('/version', (_req, res) => {
    res.json({ version: VERSION, schema: deps.schema ?? null });
  });
  app.get('/readyz', async (_req, res) => {
    // A probe answers within two seconds whatever the database does (an unreachable host must not hang it).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('readiness timeout')), 2000); });
    try {
      await Promise.race([ping(deps.db), timeout]);
      res.json({ status: 'ready', database: 'up' });
    } catch {
      res.status(503).json({ status: 'unavailable', database: 'down' });
    } finally {
      clearTimeout(timer);
    }
  });

  const auth = createAuthenticator(deps.db, deps.config, new FailureGuard(), deps.log);
  const oauth: OAuthDeps = {
    db: deps.db, config: deps.config.oauth, log: deps.log,
    // A JWKS outage is served from cached keys for a while: the log says so at once, not when the cache runs out.
    verifier: new AssertionVerifier({ onJwksUnreachable: (jwksUrl, detail) => deps.log.warn('jwks endpoint unreachable; using cached keys', { jwksUrl, detail }), ...deps.oauthTuning?.assertion }),
    throttle: new ClientThrottle(deps.oauthTuning?.throttle?.limit, deps.oauthTuning?.throttle?.windowMs),
  };
  app.get(['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/*rest'], metadataHandler(() => deps.config.publicUrl));
  app.use(OAUTH_MOUNT, oauthRouter({ ...oauth, auth, publicUrl: () => deps.config.publicUrl }));
  // The admin console's page and files (no data: everything it shows comes from the admin API below).
  app.use(CONSOLE_MOUNT, consolePage());
  app.get('/metrics', metricsAccess(deps.config.metricsToken, auth.require('metrics')), metrics.handler);
  app.use(SCIM_MOUNT, scimRouter({ ...deps, auth }));
  // The admin console's session: the admin API takes its cookie as it takes an admin token (SCIM never does).
  const sessions = new ConsoleSessions(deps.db, {
    idleMs: deps.config.console.idleMinutes * 60_000, absoluteMs: deps.config.console.sessionHours * 3_600_000, adminToken: deps.config.adminToken,
  });
  const consoleDeps = { sessions, auth, log: deps.log, publicUrl: () => deps.config.publicUrl, bodyLimit: deps.config.bodyLimit };
  app.use(CONSOLE_SESSION_PATH, consoleSessionRouter(consoleDeps));
  app.use(ADMIN_MOUNT, adminRouter({ ...deps, auth, consoleAuth: consoleAuth(consoleDeps) }));

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
