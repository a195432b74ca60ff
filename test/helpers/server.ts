/**
 * Component-test harness: starts the real server as a child process on a random port, on SQLite or on a fresh
 * PostgreSQL database, and talks HTTP to it. Every component test runs on each store in `stores()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { after, before } from 'node:test';

export type Store = 'sqlite' | 'pg';
export const ROOT = resolve(import.meta.dirname, '../..');

/** SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it and fails if PG tests were skipped). */
export function stores(): Store[] {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'pg'] : ['sqlite'];
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
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions { env?: Record<string, string>; dbUrl?: string }

/** Start `src/main.ts` on a random port and wait until it listens. */
export async function startServer(store: Store, db: TestDatabase | string, opts: StartOptions = {}): Promise<TestServer> {
  const dbUrl = typeof db === 'string' ? db : db.url;
  const token = `scim_test_${randomBytes(16).toString('hex')}`;
  const adminToken = `admin_test_${randomBytes(16).toString('hex')}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: dbUrl, SCIM_TOKEN: token, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info', PUBLIC_URL: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; if (out.length > 2_000_000) out = out.slice(-1_000_000); });
  proc.stderr!.on('data', (d) => { out += d; });
  const port = await new Promise<number>((resolvePort, reject) => {
    // A server that never says where it listens is killed, or the test run would wait on it forever.
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start:\n${out}`)); }, 30_000);
    const onData = () => {
      const m = /"message":"listening"[^\n]*"port":(\d+)/.exec(out) ?? /"port":(\d+)[^\n]*"message":"listening"/.exec(out);
      if (m) { clearTimeout(timer); resolvePort(Number(m[1])); }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${out}`)); });
  });
  proc.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  return {
    store, url, base: `${url}/scim/v2`, token, adminToken, dbUrl, proc,
    output: () => out,
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
