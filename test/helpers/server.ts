/**
 * Component-test harness: starts the real server on a random port, on SQLite or on a fresh PostgreSQL database, and
 * talks HTTP to it. Every component test runs on each store in `stores()`. The server runs in the test's own process
 * (`startServer`); tests about the process itself (kill -9, signals, memory, exit codes) start a child (`spawnServer`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { after, before } from 'node:test';
import { Writable } from 'node:stream';
import { createServer } from 'node:net';
import { ConfigError, loadConfig, type Config } from '../../src/config/index.ts';
import { createStreamLogger } from '../../src/log.ts';
import { startServer as startApp, StartupError, type RunningServer } from '../../src/server.ts';
import type { WorkerTuning } from '../../src/connector/index.ts';
import type { OAuthTuning } from '../../src/http/app.ts';

export type Store = 'sqlite' | 'pg';
export const ROOT = resolve(import.meta.dirname, '../..');

/** SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it and fails if PG tests were skipped). */
export function stores(): Store[] {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'pg'] : ['sqlite'];
}

/** A local port nothing listens on: one the OS just gave out and took back. */
export async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface TestDatabase { url: string; drop(): Promise<void> }

/** A fresh, empty database: a temp SQLite file, or a new PostgreSQL database next to TEST_DATABASE_URL. */
export async function createDatabase(store: Store): Promise<TestDatabase> {
  if (store === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'scim-test-'));
    return { url: `sqlite:${join(dir, 'scim.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `scim_t_${randomBytes(6).toString('hex')}`;
  const k = knexFactory({ client: 'pg', connection: admin, pool: { min: 0, max: 1 } });
  await k.raw(`CREATE DATABASE ${name}`);
  await k.destroy();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const k2 = knexFactory({ client: 'pg', connection: admin, pool: { min: 0, max: 1 } });
      await k2.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await k2.destroy();
    },
  };
}

/** A direct connection to the test database, for checks the API does not expose (sessions, integrity). */
export function connect(url: string): Knex {
  if (url.startsWith('sqlite:')) return knexFactory({ client: 'better-sqlite3', connection: { filename: url.slice(7) }, useNullAsDefault: true });
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

export interface TestServer {
  store: Store;
  url: string;
  base: string;
  token: string;
  adminToken: string;
  dbUrl: string;
  /** Everything the server logged (JSON lines) and printed so far. */
  output: () => string;
  /** The running server (in-process only): its connector, for tests that watch deliveries. */
  running?: RunningServer;
  /** Graceful stop (a child also takes another signal); resolves with the exit code (0 in-process). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A server in a child process, for tests whose subject is the process: kill -9, signals, its memory, its exit. */
export interface SpawnedServer extends TestServer { proc: ChildProcess }

export interface StartOptions {
  env?: Record<string, string>;
  /** Delivery worker tuning for connector tests (fast polls and backoff). */
  connectorTuning?: WorkerTuning;
  /** OAuth tuning: JWKS cache ages, the token endpoint's throttle. */
  oauthTuning?: OAuthTuning;
  /** spawnServer only: run the production build (`node dist/src/main.js`, see helpers/build.ts) instead of src/ with tsx. */
  compiled?: boolean;
  /** spawnServer only: how long to wait for the listening line (or the exit) before killing the server; 30 s. */
  startTimeoutMs?: number;
}

function serverEnv(dbUrl: string, opts: StartOptions) {
  const token = `scim_test_${randomBytes(16).toString('hex')}`;
  const adminToken = `admin_test_${randomBytes(16).toString('hex')}`;
  const env: Record<string, string | undefined> = {
    // Durability is the subject of the crash test only, which asks for FULL: everywhere else NORMAL saves an fsync
    // per commit (an answered write still survives the process dying; only power loss could take it).
    SQLITE_SYNCHRONOUS: 'NORMAL',
    // One process, whatever the store's default (the cores on PostgreSQL): a spawned server's tests are about that
    // process (its kill -9, its memory, its exit code). test/component/workers.test.ts is the cluster's own test;
    // WORKERS=2 in the environment runs every spawned server as a cluster.
    WORKERS: '1',
    ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: dbUrl, SCIM_TOKEN: token, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info', PUBLIC_URL: '', ...opts.env,
  };
  return { env, token, adminToken };
}

/** Keeps the last megabyte or so of a server's output. */
function outputBuffer() {
  let out = '';
  return {
    add: (d: string | Buffer) => { out += d; if (out.length > 2_000_000) out = out.slice(-1_000_000); },
    text: () => out,
  };
}

/**
 * Start the app in this process on a random port (src/server.ts, as `npm start` runs it), with settings read by
 * `loadConfig` from process.env overlaid with the test's `env` (process.env itself is not changed). Its log lines are
 * collected for `output()`. A start-up that the process would exit from rejects with the line the process would
 * print and its exit code (`start-up refused, exit 78: ...`).
 */
export async function startServer(store: Store, db: TestDatabase | string, opts: StartOptions = {}): Promise<TestServer> {
  const dbUrl = typeof db === 'string' ? db : db.url;
  const { env, token, adminToken } = serverEnv(dbUrl, opts);
  const out = outputBuffer();
  const refused = (code: number, line: string) => new Error(`start-up refused, exit ${code}:\n${out.text()}${line}`);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw refused(78, `configuration error: ${err.message}`);
    throw err;
  }
  const log = createStreamLogger(config.logLevel, new Writable({ write(chunk, _enc, cb) { out.add(chunk); cb(); } }));
  let running: RunningServer;
  try {
    running = await startApp(config, log, {
      print: out.add, ...(opts.connectorTuning ? { connectorTuning: opts.connectorTuning } : {}), ...(opts.oauthTuning ? { oauthTuning: opts.oauthTuning } : {}),
    });
  } catch (err) {
    if (err instanceof StartupError) throw refused(err.exitCode, err.message);
    throw err;
  }
  const url = `http://127.0.0.1:${running.port}`;
  return {
    store, url, base: `${url}/scim/v2`, token, adminToken, dbUrl,
    output: out.text,
    running,
    stop: async () => { await running.close(); return 0; },
  };
}

/** Start `src/main.ts` (or the build's `dist/src/main.js`) in a child process on a random port and wait until it listens. */
export async function spawnServer(store: Store, db: TestDatabase | string, opts: StartOptions = {}): Promise<SpawnedServer> {
  const dbUrl = typeof db === 'string' ? db : db.url;
  const { env, token, adminToken } = serverEnv(dbUrl, opts);
  const args = opts.compiled ? ['dist/src/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = outputBuffer();
  proc.stdout!.on('data', out.add);
  proc.stderr!.on('data', out.add);
  const port = await new Promise<number>((resolvePort, reject) => {
    // A server that never says where it listens is killed, or the test run would wait on it forever.
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start:\n${out.text()}`)); }, opts.startTimeoutMs ?? 30_000);
    const onData = () => {
      const m = /"message":"listening"[^\n]*"port":(\d+)/.exec(out.text()) ?? /"port":(\d+)[^\n]*"message":"listening"/.exec(out.text());
      if (m) { clearTimeout(timer); resolvePort(Number(m[1])); }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${out.text()}`)); });
  });
  proc.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  return {
    store, url, base: `${url}/scim/v2`, token, adminToken, dbUrl, proc,
    output: out.text,
    stop: (signal = 'SIGTERM') => new Promise((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res(proc.exitCode);
      proc.once('exit', (code) => res(code));
      proc.kill(signal);
    }),
  };
}

/**
 * A fresh database and a server on it for the enclosing describe(): started in before(), stopped and dropped in
 * after(). Read `.server` / `.db` inside tests and later hooks (they are set once before() has run).
 */
export function useServer(store: Store, opts: StartOptions = {}): { readonly server: TestServer; readonly db: TestDatabase } {
  const env = {} as { server: TestServer; db: TestDatabase };
  before(async () => {
    env.db = await createDatabase(store);
    env.server = await startServer(store, env.db, opts);
  });
  after(async () => {
    await env.server?.stop();
    await env.db?.drop();
  });
  return env;
}

export interface Reply { status: number; headers: Headers; body: any; text: string }

/** A small SCIM client bound to one server and token. */
export function client(server: TestServer, token = server.token) {
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(path.startsWith('http') ? path : `${server.base}${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/scim+json; charset=utf-8' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
  return {
    get: (p: string, h?: Record<string, string>) => call('GET', p, undefined, h),
    post: (p: string, b: unknown, h?: Record<string, string>) => call('POST', p, b, h),
    put: (p: string, b: unknown, h?: Record<string, string>) => call('PUT', p, b, h),
    patch: (p: string, b: unknown, h?: Record<string, string>) => call('PATCH', p, b, h),
    del: (p: string, h?: Record<string, string>) => call('DELETE', p, undefined, h),
    call,
  };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const rand = () => randomBytes(5).toString('hex');

/** A minimal valid user body with random, unique values. */
export function newUser(extra: Record<string, unknown> = {}): Record<string, any> {
  const r = rand();
  return { schemas: [USER_SCHEMA], userName: `user.${r}@example.com`, externalId: `ext-${r}`, name: { givenName: 'Given', familyName: `Family${r}` }, emails: [{ value: `user.${r}@example.com`, type: 'work', primary: true }], active: true, ...extra };
}
