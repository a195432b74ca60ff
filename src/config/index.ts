/**
 * Settings, read once from the environment (and `.env` if present) and validated at start.
 * A bad value stops the server with one line naming the setting; every setting is listed in `.env.example`.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseRoleMapping, type RoleMapping } from './roles.js';

export interface Config {
  port: number;
  host: string;
  /** `sqlite:<path>` or `postgres://...`; unset means SQLite at ./data/scim.db. */
  databaseUrl: string;
  /** A static SCIM bearer token accepted besides managed ones (never logged). */
  scimToken: string | undefined;
  /** A static admin-scope bearer token for the admin API (never logged). */
  adminToken: string | undefined;
  /** A scrape-only bearer token for GET /metrics (the admin token works too); never logged. */
  metricsToken: string | undefined;
  /** Express `trust proxy`: hops of proxies whose X-Forwarded-For is believed (0 = none), so the failed-auth guard
   * sees real client addresses behind a load balancer instead of blocking everyone behind one address. */
  trustProxyHops: number;
  logLevel: 'error' | 'warn' | 'info' | 'http' | 'debug';
  /** Base for `meta.location` and the `Location` header, e.g. https://scim.example.com/scim/v2 */
  publicUrl: string;
  /** True when PUBLIC_URL was not set: main() fills in the real port once listening (PORT=0 picks one). */
  publicUrlDerived: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** filter.maxResults advertised and enforced (RFC 7644 §5). */
  maxResults: number;
  /** /Bulk limits (RFC 7644 §3.7.4), advertised in /ServiceProviderConfig: operations per request, body bytes. */
  bulk: { maxOperations: number; maxPayloadSize: number };
  /** Default page size when the client sends no `count`. */
  defaultPageSize: number;
  /** Default channels joined with a team (open channels, created with every team). */
  defaultChannels: string[];
  /** Path of a JSON file of group-to-team/channel links applied at start, or undefined. */
  groupMappingFile: string | undefined;
  /** Requests per second allowed per token (token bucket), 0 disables. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** SQLite `synchronous` level: FULL survives power loss; NORMAL only process crashes. */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** SQLite with FULL: commits share one fsync off the event loop (store/group-commit.ts). */
  sqliteGroupCommit: boolean;
  /** PostgreSQL: prepare each statement once per connection (store/db.ts). */
  pgPreparedStatements: boolean;
  dbPoolMax: number;
  /**
   * Server processes sharing the port (node:cluster, src/cluster/primary.ts); 1 runs no cluster at all. Default: the
   * cores on PostgreSQL, 1 on SQLite (one writer at a time: a second process adds lock waits, not throughput).
   */
  workers: number;
  /** The Mattermost connector; undefined when MATTERMOST_URL is unset (the server then behaves as without it). */
  mattermost: MattermostConfig | undefined;
  oauth: OAuthConfig;
  /** IdP role values -> system roles, and whether admin-flavoured entitlements exist (src/config/roles.ts). */
  roleMapping: RoleMapping;
  requestLog: RequestLogConfig;
  console: ConsoleConfig;
}

/** Sessions of the admin console (src/console/sessions.ts). */
export interface ConsoleConfig {
  /**
   * Minutes without a request after which a session ends. OWASP's Session Management Cheat Sheet gives 2-5 minutes
   * for high-value applications and 15-30 for low-risk ones: the default, 15, is the short end of the latter.
   */
  idleMinutes: number;
  /** Hours after sign-in after which a session ends whatever its activity. */
  sessionHours: number;
}

/** The request log table (src/store/request-log.ts, GET /admin/v1/requests). */
export interface RequestLogConfig {
  /** Days a row is kept; 0 turns the table off (nothing written, no timers). */
  days: number;
  /** Rows kept at most, whatever their age. */
  maxRows: number;
  /** How long a row waits in memory before its batch is written (a full batch is written at once). */
  flushMs: number;
}

export interface OAuthConfig {
  /** Lifetime of an access token from /oauth/token: 60 to 360 minutes, the window Entra's gallery validator checks. */
  accessTokenTtlMs: number;
  /** Lifetime of a refresh token (authorization code grant); each use replaces it with a new one of full lifetime. */
  refreshTokenTtlMs: number;
}

export const AUTH_SERVICES = ['', 'saml', 'ldap', 'openid', 'office365', 'gitlab', 'google'] as const;

export interface MattermostConfig {
  /** Base URL of the Mattermost server, without /api/v4. */
  url: string;
  /** A personal access token or bot token of a system admin (never logged). */
  token: string;
  /** `auth_service` of the accounts created: empty for email accounts, or the SSO people sign in with. */
  authService: (typeof AUTH_SERVICES)[number];
  /** Which SCIM attribute becomes `auth_data` (only with an authService). */
  authData: 'externalId' | 'userName' | 'email';
  /** What purging a user does in Mattermost: deactivate (keeps messages) or permanent deletion. */
  deleteMode: 'deactivate' | 'permanent';
  /** Scheduled reconcile, in ms; 0 = only on demand. */
  reconcileIntervalMs: number;
  /** Deliveries in flight at once, per instance. */
  concurrency: number;
  /** Requests per second this instance sends at most (0 = no limit of our own; Mattermost's 429s still pace it). */
  maxRequestsPerSecond: number;
  /** How long a claimed delivery is ours before another instance may take it over. */
  leaseMs: number;
  /** Timeout of one request to Mattermost. */
  requestTimeoutMs: number;
}

/** A setting that is missing or invalid: stops start-up (main.ts) or a CLI command; never an HTTP answer, so not an AppError. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = (name === 'SQLITE_SYNCHRONOUS' ? raw.toUpperCase() : raw.toLowerCase()) as T;
  if (!allowed.includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return v;
}

function token(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
  if (!/^[\x21-\x7e]+$/.test(raw)) throw new ConfigError(`${name} must be printable ASCII without spaces`);
  return raw;
}

function duration(env: Env, name: string, def: string, minMs: number, maxMs: number): number {
  const raw = (env[name] || def).trim();
  const ms = parseDuration(raw);
  if (ms === undefined) throw new ConfigError(`${name} must be a duration such as 500ms, 30s, 15m, 1h or 30d, got "${raw}"`);
  if (ms !== 0 && (ms < minMs || ms > maxMs)) throw new ConfigError(`${name} must be 0 or between ${minMs} ms and ${maxMs} ms, got "${raw}"`);
  return ms;
}

/** `500ms`, `30s`, `15m`, `1h`, `30d` (a bare number is seconds) in milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
}

function oauth(env: Env): OAuthConfig {
  const ttl = (name: string, def: string, min: number, max: number, range: string): number => {
    const raw = (env[name] || def).trim();
    const ms = parseDuration(raw);
    if (ms === undefined || ms < min || ms > max) throw new ConfigError(`${name} must be a duration between ${range}, got "${raw}"`);
    return ms;
  };
  return {
    accessTokenTtlMs: ttl('OAUTH_TOKEN_TTL', '1h', 60 * 60_000, 360 * 60_000, '60m and 360m (6h)'),
    refreshTokenTtlMs: ttl('OAUTH_REFRESH_TOKEN_TTL', '90d', 3_600_000, 365 * 86_400_000, '1h and 365d'),
  };
}

function mattermost(env: Env): MattermostConfig | undefined {
  const url = env.MATTERMOST_URL?.trim();
  const tokenValue = env.MATTERMOST_TOKEN?.trim();
  if (!url) {
    if (tokenValue) throw new ConfigError('MATTERMOST_TOKEN is set but MATTERMOST_URL is not');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`MATTERMOST_URL must be an http(s) URL, got "${url}"`);
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new ConfigError(`MATTERMOST_URL must be an http(s) URL without credentials, query or fragment, got "${parsed.protocol}//${parsed.host}${parsed.pathname}"`);
  }
  if (!tokenValue) throw new ConfigError('MATTERMOST_URL is set but MATTERMOST_TOKEN is not (a system admin personal access token or bot token)');
  if (!/^[A-Za-z0-9]{16,128}$/.test(tokenValue)) throw new ConfigError('MATTERMOST_TOKEN must be a Mattermost token (letters and digits)');
  const authService = oneOf(env, 'MATTERMOST_AUTH_SERVICE', '', AUTH_SERVICES);
  const authData = oneOf(env, 'MATTERMOST_AUTH_DATA', 'externalid', ['externalid', 'username', 'email'] as const);
  return {
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '')}`,
    token: tokenValue,
    authService,
    authData: ({ externalid: 'externalId', username: 'userName', email: 'email' } as const)[authData],
    deleteMode: oneOf(env, 'MATTERMOST_DELETE', 'deactivate', ['deactivate', 'permanent'] as const),
    reconcileIntervalMs: duration(env, 'MATTERMOST_RECONCILE_INTERVAL', '0', 60_000, 7 * 24 * 3_600_000),
    concurrency: int(env, 'MATTERMOST_CONCURRENCY', 4, 1, 64),
    maxRequestsPerSecond: int(env, 'MATTERMOST_MAX_RPS', 0, 0, 100000),
    leaseMs: duration(env, 'MATTERMOST_LEASE', '30s', 1000, 3_600_000) || 30_000,
    requestTimeoutMs: duration(env, 'MATTERMOST_REQUEST_TIMEOUT', '15s', 500, 600_000) || 15_000,
  };
}

/**
 * DATABASE_URL as it may be shown (errors, logs): everything between `//` and the last `@` is replaced, since a
 * password may itself contain `@` (`postgres://user:p@ss@host/db` -> `postgres://***@host/db`), and so is a
 * `password=` query parameter. Masking a user name too is the price of never showing part of a password.
 */
export function maskDatabaseUrl(url: string): string {
  let out = url;
  const start = out.indexOf('//');
  const at = out.lastIndexOf('@');
  if (start >= 0 && at > start) out = `${out.slice(0, start + 2)}***${out.slice(at)}`;
  return out.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Parse and validate settings; throws ConfigError with a one-line message naming the setting. */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/scim.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    throw new ConfigError(`DATABASE_URL must be sqlite:<path> or postgres://..., got "${maskDatabaseUrl(databaseUrl)}"`);
  }
  const publicUrl = (env.PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}/scim/v2`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+(\/.*)?\/scim\/v2$/.test(publicUrl)) throw new ConfigError(`PUBLIC_URL must be an http(s) URL ending in /scim/v2, got "${publicUrl}"`);
  const defaultChannels = (env.DEFAULT_CHANNELS ?? 'town-square,off-topic').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of defaultChannels) {
    if (!/^[a-z0-9]+([a-z0-9_-]*[a-z0-9])?$/.test(c) || c.length > 64) throw new ConfigError(`DEFAULT_CHANNELS has an invalid channel name "${c}"`);
  }
  const groupMappingFile = env.GROUP_MAPPING_FILE || undefined;
  if (groupMappingFile && !existsSync(groupMappingFile)) throw new ConfigError(`GROUP_MAPPING_FILE does not exist: ${groupMappingFile}`);
  return {
    port,
    host,
    databaseUrl,
    scimToken: token(env, 'SCIM_TOKEN'),
    adminToken: token(env, 'ADMIN_TOKEN'),
    metricsToken: token(env, 'METRICS_TOKEN'),
    trustProxyHops: int(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    // Default `http`: one access line per request is written by default, not something an operator opts into.
    logLevel: oneOf(env, 'LOG_LEVEL', 'http', ['error', 'warn', 'info', 'http', 'debug'] as const),
    publicUrl,
    publicUrlDerived: !env.PUBLIC_URL,
    bodyLimit: int(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    maxResults: int(env, 'FILTER_MAX_RESULTS', 1000, 1, 100000),
    // RFC 7643 §8.5's example figures: 1,000 operations in 1 MiB.
    bulk: { maxOperations: int(env, 'BULK_MAX_OPERATIONS', 1000, 1, 10000), maxPayloadSize: int(env, 'BULK_MAX_PAYLOAD_BYTES', 1048576, 1024, 64 * 1024 * 1024) },
    defaultPageSize: int(env, 'DEFAULT_PAGE_SIZE', 100, 1, 100000),
    defaultChannels,
    groupMappingFile,
    // Sized above what one instance serves (docs/benchmarks.md), so the limit stops abuse and a runaway client, never
    // a real IdP or a conformance run (a limit below the server's speed throttled a conformance run's creates); the
    // server's own speed is what paces an honest client.
    rateLimitPerSecond: int(env, 'RATE_LIMIT_PER_SECOND', 2500, 0, 1000000),
    rateLimitBurst: int(env, 'RATE_LIMIT_BURST', 5000, 1, 10000000),
    sqliteSynchronous: oneOf(env, 'SQLITE_SYNCHRONOUS', 'FULL', ['FULL', 'NORMAL'] as const),
    sqliteGroupCommit: oneOf(env, 'SQLITE_GROUP_COMMIT', 'on', ['on', 'off'] as const) === 'on',
    pgPreparedStatements: oneOf(env, 'PG_PREPARED_STATEMENTS', 'on', ['on', 'off'] as const) === 'on',
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 200),
    workers: int(env, 'WORKERS', databaseUrl.startsWith('sqlite:') ? 1 : availableParallelism(), 1, 256),
    mattermost: mattermost(env),
    oauth: oauth(env),
    roleMapping: parseRoleMapping(env, (m) => { throw new ConfigError(m); }),
    requestLog: {
      days: int(env, 'REQUEST_LOG_DAYS', 7, 0, 3650),
      maxRows: int(env, 'REQUEST_LOG_MAX_ROWS', 1_000_000, 10, 100_000_000),
      flushMs: duration(env, 'REQUEST_LOG_FLUSH_INTERVAL', '1s', 100, 60_000) || 1000,
    },
    console: consoleSettings(env),
  };
}

function consoleSettings(env: Env): ConsoleConfig {
  const idleMinutes = int(env, 'CONSOLE_IDLE_MINUTES', 15, 1, 1440);
  const sessionHours = int(env, 'CONSOLE_SESSION_HOURS', 12, 1, 168);
  if (idleMinutes > sessionHours * 60) throw new ConfigError(`CONSOLE_IDLE_MINUTES (${idleMinutes}) must not be longer than CONSOLE_SESSION_HOURS (${sessionHours} h)`);
  return { idleMinutes, sessionHours };
}

/** Load `.env` into process.env (existing variables win), using Node's own parser. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
