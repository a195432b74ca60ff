/**
 * WORKERS (src/cluster/): several server processes on one port, sharing the store. On PostgreSQL, the real server with
 * WORKERS=2: both workers serve, /metrics sums them, creates racing across them stay consistent, SIGTERM answers every
 * request in flight, a worker killed with -9 is replaced, a worker that cannot start stops the cluster with one line.
 * On SQLite the default is one process, no cluster.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect as tcp, createServer, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { once } from 'node:events';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { connect, createDatabase, newUser, rand, spawnServer, stores, type SpawnedServer, type TestDatabase } from '../helpers/server.ts';
import { memberAddRace } from '../reliability/member-race.ts';

/** One request on a connection of its own (no keep-alive): the primary hands each connection to the next worker. */
function fresh(server: SpawnedServer, method: string, path: string, body?: unknown, token = server.token): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${server.url}${path}`, {
      method, agent: false,
      headers: { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': 'application/scim+json', 'Content-Length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const lines = (server: SpawnedServer): any[] => server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
/** The pids of the workers that answered requests for `path` (their access lines). */
const servedBy = (server: SpawnedServer, method: string, path: string) =>
  new Set(lines(server).filter((l) => l.level === 'http' && l.method === method && l.path === path).map((l) => l.pid));
const workerPids = (server: SpawnedServer): number[] => lines(server).filter((l) => l.message === 'worker listening').map((l) => l.pid);

/** Resolves once `predicate` holds for the server's output (the test's own timeout bounds the wait). */
async function until(server: SpawnedServer, what: string, predicate: () => boolean): Promise<void> {
  while (!predicate()) {
    if (server.proc.exitCode !== null) throw new Error(`server exited waiting for ${what}:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('WORKERS defaults', () => {
  test('SQLite: one process by default; PostgreSQL: the cores; 0 is refused', () => {
    assert.equal(loadConfig({ DATABASE_URL: 'sqlite:./x.db' }).workers, 1);
    assert.equal(loadConfig({}).workers, 1);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).workers, availableParallelism());
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://u@h/db', WORKERS: '3' }).workers, 3);
    assert.equal(loadConfig({ DATABASE_URL: 'sqlite:./x.db', WORKERS: '2' }).workers, 2);
    assert.throws(() => loadConfig({ WORKERS: '0' }), (e: unknown) => e instanceof ConfigError && /WORKERS must be between 1 and 256/.test(e.message));
  });

  test('SQLite with WORKERS unset runs no cluster: the process is the server', async () => {
    const db = await createDatabase('sqlite');
    const server = await spawnServer('sqlite', db, { env: { WORKERS: '' } });
    try {
      const reply = await fresh(server, 'GET', '/scim/v2/Users');
      assert.equal(reply.status, 200, reply.text);
      const out = lines(server);
      assert.equal(out.filter((l) => l.message === 'listening').length, 1);
      assert.equal(out.filter((l) => l.message === 'worker listening').length, 0, server.output());
      assert.equal(out.find((l) => l.message === 'listening').workers, undefined);
      assert.equal(await server.stop(), 0);
    } finally {
      await server.stop('SIGKILL');
      await db.drop();
    }
  });
});

const pg = stores().includes('pg');

describe('WORKERS=2 on PostgreSQL', { skip: !pg && 'needs TEST_DATABASE_URL', timeout: 180_000 }, () => {
  let db: TestDatabase;
  let server: SpawnedServer;
  // The access lines say which process answered; rate limiting off: these are bursts from one token on purpose.
  const env = { WORKERS: '2', LOG_LEVEL: 'http', RATE_LIMIT_PER_SECOND: '0' };
  before(async () => {
    db = await createDatabase('pg');
    server = await spawnServer('pg', db, { env });
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await db?.drop();
  });

  test('one listening line, from the primary, once both workers listen on its port', async () => {
    const out = lines(server);
    const listening = out.filter((l) => l.message === 'listening');
    assert.equal(listening.length, 1, server.output());
    assert.equal(listening[0].workers, 2);
    assert.equal(listening[0].pid, server.proc.pid);
    const workers = out.filter((l) => l.message === 'worker listening');
    assert.equal(workers.length, 2, server.output());
    assert.deepEqual(workers.map((w) => w.port), [listening[0].port, listening[0].port]);
    assert.deepEqual(workers.map((w) => w.worker).sort(), [0, 1]);
    assert.equal(new Set(workers.map((w) => w.pid)).size, 2);
    assert.ok(!workers.some((w) => w.pid === server.proc.pid));
    // The primary migrated the fresh database before forking.
    assert.ok(listening[0].migrated > 0, server.output());
  });

  test('200 requests are served by both workers, and /metrics counts all of them', async () => {
    const path = `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "nobody.${rand()}"`)}`;
    for (let i = 0; i < 20; i++) {
      const replies = await Promise.all(Array.from({ length: 10 }, () => fresh(server, 'GET', path)));
      for (const r of replies) assert.equal(r.status, 200, r.text);
    }
    await until(server, 'the access lines', () => lines(server).filter((l) => l.level === 'http' && l.path === '/scim/v2/Users').length >= 200);
    const pids = servedBy(server, 'GET', '/scim/v2/Users');
    assert.deepEqual([...pids].sort(), workerPids(server).sort(), 'both workers answered');

    // Whichever worker a scrape reaches, it answers for the cluster: 200, not one worker's share.
    for (let i = 0; i < 4; i++) {
      const metrics = await fresh(server, 'GET', '/metrics', undefined, server.adminToken);
      assert.equal(metrics.status, 200, metrics.text);
      const m = /^scim_http_requests_total\{method="GET",route="\/scim\/v2\/Users",status="200"\} (\d+)$/m.exec(metrics.text);
      assert.equal(Number(m?.[1]), 200, metrics.text.slice(0, 2000));
    }
  });

  test('creates racing across the workers: one userName, one 201 and 49 × 409; 100 distinct creates, 100 rows', async () => {
    const userName = `Race.${rand()}@Example.com`;
    const race = await Promise.all(Array.from({ length: 50 }, (_, i) => fresh(server, 'POST', '/scim/v2/Users', newUser({ userName: i % 2 ? userName : userName.toLowerCase() }))));
    assert.equal(race.filter((r) => r.status === 201).length, 1, race.map((r) => `${r.status} ${r.text.slice(0, 100)}`).join('\n'));
    assert.equal(race.filter((r) => r.status === 409).length, 49);
    const tag = rand();
    const creates = await Promise.all(Array.from({ length: 100 }, (_, i) => fresh(server, 'POST', '/scim/v2/Users', newUser({ userName: `c${i}.${tag}@example.com` }))));
    assert.deepEqual(creates.filter((r) => r.status !== 201).map((r) => r.text), []);
    const k = connect(db.url);
    try {
      assert.equal((await k('users').whereRaw('lower(user_name) = ?', [userName.toLowerCase()])).length, 1);
      assert.equal(Number((await k('users').where('user_name', 'like', `%.${tag}@example.com`).count({ n: '*' }))[0]!.n), 100);
    } finally {
      await k.destroy();
    }
    assert.equal(servedBy(server, 'POST', '/scim/v2/Users').size, 2, 'both workers created');
  });

  test('100 member adds to one group across the workers: exactly 100 members and memberships', async () => {
    await memberAddRace([server], db, 100, 'two workers');
  });

  test('kill -9 of one worker: the others keep serving, the primary starts another', async () => {
    const [victim, survivor] = workerPids(server);
    process.kill(victim!, 'SIGKILL');
    await until(server, 'the worker exit', () => lines(server).some((l) => l.message === 'worker exited' && l.pid === victim));
    const during = await Promise.all(Array.from({ length: 20 }, () => fresh(server, 'GET', '/scim/v2/Users?count=1')));
    assert.deepEqual(during.map((r) => r.status), Array(20).fill(200));
    await until(server, 'the new worker', () => workerPids(server).length === 3);
    const replacement = workerPids(server)[2]!;
    assert.ok(replacement !== victim && replacement !== survivor);
    assert.ok(lines(server).some((l) => l.message === 'restarting worker'), server.output());
    const after = await Promise.all(Array.from({ length: 40 }, () => fresh(server, 'GET', '/scim/v2/Users?count=2')));
    assert.deepEqual(after.map((r) => r.status), Array(40).fill(200));
    await until(server, 'the access lines', () => lines(server).filter((l) => l.level === 'http' && l.path === '/scim/v2/Users' && l.pid === replacement).length > 0);
    // Still one start-up line: a restart is not a new start.
    assert.equal(lines(server).filter((l) => l.message === 'listening').length, 1);
  });

  test('SIGTERM to the primary with requests in flight on both workers: every one answered, request log flushed, exit 0', async () => {
    // Each request's headers go first with `Expect: 100-continue`: a worker answering 100 Continue has the request
    // (it is in flight); its body follows once both workers are shutting down.
    const tag = rand();
    const sockets: { socket: Socket; body: string; reply: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify(newUser({ userName: `term${i}.${tag}@example.com` }));
      const socket = tcp(Number(new URL(server.url).port), '127.0.0.1');
      await once(socket, 'connect');
      const entry = { socket, body, reply: '' };
      socket.setEncoding('utf8');
      socket.on('data', (d) => { entry.reply += d; });
      socket.write(`POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
      sockets.push(entry);
    }
    for (const s of sockets) while (!s.reply.includes('100 Continue')) await once(s.socket, 'data');
    const exited = server.stop('SIGTERM');
    await until(server, 'both workers shutting down', () => lines(server).filter((l) => l.message === 'shutting down' && l.worker !== undefined).length === 2);
    const ended = sockets.map((s) => once(s.socket, 'end'));
    for (const s of sockets) s.socket.write(s.body);
    await Promise.all(ended);
    const statuses = sockets.map((s) => /HTTP\/1\.1 (\d{3}) (?!Continue)/.exec(s.reply.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''))?.[1]);
    assert.deepEqual(statuses, Array(12).fill('201'), sockets.map((s) => s.reply.slice(0, 200)).join('\n---\n'));
    assert.equal(await exited, 0, server.output());
    const k = connect(db.url);
    try {
      assert.equal(Number((await k('users').where('user_name', 'like', `term%.${tag}@example.com`).count({ n: '*' }))[0]!.n), 12);
      // Each worker wrote its buffered request log rows before its pool closed.
      const logged = await k('request_log').where({ method: 'POST', path: '/scim/v2/Users', status: 201 }).count({ n: '*' });
      assert.equal(Number(logged[0]!.n), 1 + 100 + 12, 'the race winner, the 100 creates and these 12');
    } finally {
      await k.destroy();
    }
    const stopped = lines(server).filter((l) => l.message === 'stopped');
    assert.equal(stopped.length, 3, server.output());
  });
});

describe('WORKERS=2: a worker that cannot start', { skip: !pg && 'needs TEST_DATABASE_URL', timeout: 180_000 }, () => {
  test('keeps failing at start-up (port taken): the primary stops after 5 tries with one line and exit 1', async () => {
    const db = await createDatabase('pg');
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      // Five starts and four backoffs (0.5 + 1 + 2 + 4 s): over the usual 30 s on a loaded CI machine.
      await assert.rejects(spawnServer('pg', db, { env: { WORKERS: '2', PORT: String(port) }, startTimeoutMs: 120_000 }), (err: Error) => {
        assert.match(err.message, /server exited with 1/);
        assert.match(err.message, /stopping: worker \d exited 5 times in a row before listening/);
        assert.doesNotMatch(err.message, /"message":"listening"/);
        return true;
      });
    } finally {
      taken.close();
      await db.drop();
    }
  });
});
