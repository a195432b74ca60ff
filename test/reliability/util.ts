/**
 * Helpers for the reliability tests: bounded concurrency, SCIM error assertions, process memory, a cuttable TCP proxy.
 * Everything talks to 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { foldUser } from '../../src/store/fold.ts';

const ROOT_DIR = resolvePath(import.meta.dirname, '../..');

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Run `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A SCIM error body (RFC 7644 §3.12) with this status. */
export function assertScimError(body: any, status: number, text = ''): void {
  assert.ok(body && Array.isArray(body.schemas) && body.schemas.includes(ERROR_SCHEMA), `not a SCIM error body: ${text.slice(0, 300)}`);
  assert.equal(body.status, String(status), text.slice(0, 300));
}

/** Resident set size of a process in KiB (Linux /proc). */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Insert `n` minimal live users straight into the store (fast test setup); returns their ids. */
export async function seedUsers(db: Knex, n: number, prefix = 'seed'): Promise<string[]> {
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    const tag = `${prefix}${i}-${id.slice(0, 8)}`;
    return foldUser({ id, user_name: `${tag}@example.com`, username: tag.toLowerCase().slice(0, 60), email: `${tag}@example.com`.toLowerCase(), active: true, created_at: now, updated_at: now, version: 1 });
  });
  for (let i = 0; i < rows.length; i += 200) await db('users').insert(rows.slice(i, i + 200));
  return rows.map((r) => r.id);
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server (PostgreSQL), which the test can cut (destroy every socket and
 * refuse new ones) and restore, to make the database unreachable without touching the shared instance.
 */
export class CuttableProxy {
  private server = net.createServer((c) => this.accept(c));
  private sockets = new Set<net.Socket>();
  private up = true;
  private silent = false;
  private pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;

  constructor(private targetPort: number, private targetHost = '127.0.0.1') {}

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(client: net.Socket): void {
    if (this.silent) {
      // TCP open, no bytes: the connection is accepted and never answered.
      this.sockets.add(client);
      client.on('error', () => client.destroy()).on('close', () => this.sockets.delete(client));
      return;
    }
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    client.once('close', () => this.pairs.delete(pair));
  }

  /**
   * The database goes silent without closing anything (a stopped process, a hung host behind a live address): open
   * connections stay open but nothing more is forwarded either way, and new ones are accepted and never answered.
   */
  mute(): void {
    this.silent = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /**
   * Cut: every open connection dies, and new ones are either accepted and dropped at once (`drop`: the database
   * process went away behind a live address) or refused outright (`refuse`: nothing listens, ECONNREFUSED).
   */
  async cut(mode: 'drop' | 'refuse' = 'drop'): Promise<void> {
    this.up = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (mode === 'refuse' && this.server.listening) await new Promise<void>((r) => this.server.close(() => r()));
  }

  async restore(): Promise<void> {
    if (this.silent) {
      this.silent = false;
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }
    this.up = true;
    if (!this.server.listening) await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
  }

  get open(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    await this.cut('refuse');
  }
}

/** The database URL with its host and port replaced (to route a server through a proxy). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

export interface RawReply { status: number; headers: Record<string, string | string[] | undefined>; text: string; body: any }

/**
 * One HTTP request from a chosen loopback source address (127.0.0.x) to the server on 127.0.0.1, so per-client-IP
 * guards can be exercised (and avoided) deliberately. Bodies may be strings or raw bytes (invalid UTF-8).
 */
export function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; from?: string; timeoutMs?: number } = {}): Promise<RawReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET',
      headers: { ...(opts.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
      localAddress: opts.from, agent: false, timeout: opts.timeoutMs ?? 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request timed out: ${opts.method ?? 'GET'} ${u.pathname}`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Run the CLI from source (`src/cli/main.ts` with tsx, as the tests run the server) against a database; resolves
 * with stdout (rejects on a non-zero exit). `npm run cli` runs the build: test/component/cli.test.ts runs it once. */
export function cli(dbUrl: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT_DIR, env: { ...process.env, DATABASE_URL: dbUrl, SCIM_TOKEN: '', ADMIN_TOKEN: '' }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cli ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}
