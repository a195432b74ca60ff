/**
 * The request log (issue 16 §5): every request's method, path, status, latency, client, actor, request id and, for a
 * failure, its detail and scimType, in the JSON log and in a bounded table read by GET /admin/v1/requests (newest
 * first, filtered, keyset-paged), GET /admin/v1/requests/summary and `cli requests`. Never a token, a body or a query
 * value. Rows are written in batches and on shutdown; REQUEST_LOG_DAYS=0 writes none; pruning keeps the row cap and
 * the age limit, on PostgreSQL from several instances at once.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { client, connect, createDatabase, newUser, spawnServer, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { createToken } from '../../src/store/tokens.ts';
import { countRequests, insertRequests, pruneRequests, requestSearch, type RequestLogRow } from '../../src/store/request-log.ts';
import { RequestLog } from '../../src/http/request-log.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createStreamLogger } from '../../src/log.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Rows are written when the test says (flush) or at shutdown, never behind its back. */
const QUIET = { REQUEST_LOG_FLUSH_INTERVAL: '60s' };

const row = (at: number, extra: Partial<RequestLogRow> = {}): RequestLogRow => ({
  at, method: 'GET', path: '/scim/v2/Users', params: null, status: 200, ms: 1.5, client: '127.0.0.1', actor: 'token:t',
  requestId: `r-${randomUUID()}`, detail: null, errorType: null, ...extra,
});
const quietLog = () => createStreamLogger('error', new Writable({ write(_c, _e, cb) { cb(); } }));

for (const store of stores()) {
  describe(`request log [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    let entraToken: string;
    let entra: ReturnType<typeof client>;
    let admin: (path: string) => Promise<{ status: number; body: any; text: string }>;
    /** Every row, newest first, once the requests below are written. */
    let all: any[];
    const ids = { conflict: `conflict-${randomUUID()}`, badToken: `bad-${randomUUID()}`, created: '', conflictDetail: '' };
    const flush = () => server.running!.requestLog!.flush();

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { ...QUIET, LOG_LEVEL: 'http' } });
      sql = connect(server.dbUrl);
      entraToken = (await createToken(sql, 'entra-prod', 'scim', 'test'))!.token;
      entra = client(server, entraToken);
      const a = client(server, server.adminToken);
      admin = async (path) => {
        const r = await a.get(`${server.url}/admin/v1${path}`);
        return { status: r.status, body: r.body, text: r.text };
      };
      const user = newUser({ password: `Secret-${randomUUID()}` });
      const made = await entra.post('/Users', user);
      assert.equal(made.status, 201, made.text);
      ids.created = made.body.id;
      for (let i = 0; i < 4; i++) assert.equal((await entra.post('/Users', newUser())).status, 201);
      assert.equal((await entra.get(`/Users/${ids.created}?attributes=userName`)).status, 200);
      assert.equal((await entra.get(`/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}&count=5&${encodeURIComponent('stray-param')}=1`)).status, 200);
      const dup = await entra.post('/Users', { ...user, externalId: `x-${randomUUID()}` }, { 'X-Request-Id': ids.conflict });
      assert.equal(dup.status, 409, dup.text);
      ids.conflictDetail = dup.body.detail;
      assert.equal((await entra.get('/Users?filter=userName%20zz%20%22x%22')).status, 400);
      const refused = await fetch(`${server.base}/Users`, { headers: { Authorization: `Bearer wrong_${randomUUID()}`, 'X-Request-Id': ids.badToken } });
      assert.equal(refused.status, 401);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await admin('/teams?limit=1')).status, 200);
      await flush();
      all = (await admin('/requests?limit=1000')).body.items;
      // From here on nothing is written until the server stops (or a test says so): the table is `all`.
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('a 4xx SCIM request is there with its detail and scimType, its actor and client, and no token or body', async () => {
      const [conflict] = (await admin(`/requests?requestId=${ids.conflict}`)).body.items;
      assert.equal(conflict.status, 409);
      assert.equal(conflict.method, 'POST');
      assert.equal(conflict.path, '/scim/v2/Users');
      assert.equal(conflict.errorType, 'uniqueness');
      assert.equal(conflict.detail, ids.conflictDetail, 'the detail the client was answered with');
      assert.equal(conflict.actor, 'token:entra-prod');
      assert.match(conflict.client, /127\.0\.0\.1/);
      assert.ok(conflict.ms >= 0);
      const [refused] = (await admin(`/requests?requestId=${ids.badToken}`)).body.items;
      assert.deepEqual([refused.status, refused.actor, refused.detail], [401, null, 'the bearer token is not valid']);
      const filtered = all.find((r) => r.params?.includes('filter') && r.status === 200);
      assert.equal(filtered.params, 'filter,count,?', 'names only, and a name the server does not use is ?');
      assert.equal(filtered.path, '/scim/v2/Users');
      assert.ok(!all.some((r) => r.path === '/healthz'), 'probes are not recorded');
      assert.equal(all.find((r) => r.path.startsWith('/admin/v1/teams')).actor, 'admin:env-admin', 'the admin API names its actor as the audit does');
      // Nothing a client sent as a secret or as data is stored: not the tokens, the password, a filter value.
      const dump = JSON.stringify(await sql('request_log').select());
      for (const secret of [entraToken, server.token, server.adminToken, 'Secret-', 'userName eq', 'wrong_']) assert.ok(!dump.includes(secret), secret);
      // The JSON access line says the same, with the scimType.
      const line = server.output().split('\n').map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.requestId === ids.conflict && l.message === 'request');
      assert.deepEqual([line.status, line.scimType, line.actor, line.detail], [409, 'uniqueness', 'token:entra-prod', conflict.detail]);
    });

    test('filters: status class and code, method, actor (exact and prefix), path prefix, request id, time range', async () => {
      const expect = async (query: string, keep: (r: any) => boolean) => {
        const r = await admin(`/requests?limit=1000&${query}`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.items.map((i: any) => i.id), all.filter(keep).map((i) => i.id), query);
        return r.body.items;
      };
      assert.ok((await expect('status=4xx', (r) => r.status >= 400 && r.status < 500)).length >= 3);
      assert.equal((await expect('status=409', (r) => r.status === 409)).length, 1);
      await expect('status=2xx', (r) => r.status < 300);
      assert.equal((await expect('status=5xx', () => false)).length, 0);
      assert.equal((await expect('method=post', (r) => r.method === 'POST')).length, 6);
      await expect('actor=token:entra-prod', (r) => r.actor === 'token:entra-prod');
      await expect('actor=admin:*', (r) => r.actor?.startsWith('admin:'));
      await expect('actor=token:entra', () => false);
      assert.equal((await expect(`path=${encodeURIComponent(`/scim/v2/Users/${ids.created}`)}`, (r) => r.path === `/scim/v2/Users/${ids.created}`)).length, 1);
      await expect('path=/admin/', (r) => r.path.startsWith('/admin/'));
      await expect('status=4xx&method=GET', (r) => r.status >= 400 && r.status < 500 && r.method === 'GET');
      const pivot = all[Math.floor(all.length / 2)];
      await expect(`since=${encodeURIComponent(pivot.at)}`, (r) => Date.parse(r.at) >= Date.parse(pivot.at));
      await expect(`until=${encodeURIComponent(pivot.at)}`, (r) => Date.parse(r.at) < Date.parse(pivot.at));
      await expect('until=2000-01-01', () => false);
    });

    test('newest first; pages of 3 walk every row once, in order', async () => {
      const at = all.map((r) => Date.parse(r.at));
      assert.deepEqual(at, [...at].sort((x, y) => y - x), 'newest first');
      const seen: number[] = [];
      let next: string | null = null;
      do {
        const r = await admin(`/requests?limit=3${next ? `&after=${next}` : ''}`);
        assert.equal(r.status, 200, r.text);
        seen.push(...r.body.items.map((i: any) => i.id));
        next = r.body.next;
      } while (next);
      assert.deepEqual(seen, all.map((r) => r.id));
    });

    test('unknown or malformed parameters are 400s in the admin shape', async () => {
      for (const q of ['/requests?sinse=2026-01-01', '/requests?status=4x', '/requests?status=600', '/requests?method=G3T',
        '/requests?path=scim', '/requests?after=12', '/requests?limit=0', '/requests?requestId=a%20b', '/requests?since=yesterday',
        '/requests?until=2026-01-01&since=2026-01-02', '/requests?actor=a&actor=b', '/requests?actor=',
        '/requests/summary?bucket=day', '/requests/summary?status=4xx', '/requests/summary?since=2000-01-01',
        '/requests/summary?since=2026-01-02&until=2026-01-01', '/requests/summary?bucket=hour&since=2000-01-01']) {
        const r = await admin(q);
        assert.equal(r.status, 400, `${q}: ${r.text}`);
        assert.equal(r.body.error.code, 'invalid_query', q);
      }
      const scimToken = await client(server).get(`${server.url}/admin/v1/requests`);
      assert.equal(scimToken.status, 403, 'a SCIM token cannot read the request log');
    });

    test('summary: counts per minute and status class, every bucket listed, the same as the rows say', async () => {
      const first = Date.parse(all.at(-1).at);
      const r = await admin(`/requests/summary?since=${encodeURIComponent(new Date(first).toISOString())}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.bucket, 'minute');
      const starts = r.body.buckets.map((b: any) => Date.parse(b.start));
      assert.ok(starts.every((t: number, i: number) => t % 60_000 === 0 && (i === 0 || t - starts[i - 1] === 60_000)), 'whole, consecutive minutes');
      assert.ok(Date.parse(r.body.since) <= first && Date.parse(r.body.until) >= Date.parse(all[0].at));
      const rows = all;
      const byClass = (c: string) => rows.filter((x: any) => `${Math.floor(x.status / 100)}xx` === c).length;
      const sum = (k: string) => r.body.buckets.reduce((n: number, b: any) => n + b[k], 0);
      assert.equal(sum('total'), rows.length);
      for (const c of ['2xx', '4xx', '5xx']) assert.equal(sum(c), byClass(c), c);
      for (const b of r.body.buckets) assert.equal(b.total, b['2xx'] + b['3xx'] + b['4xx'] + b['5xx']);
      const hours = await admin('/requests/summary?bucket=hour');
      assert.ok(hours.body.buckets.length >= 24 && hours.body.buckets.length <= 25, 'by default the last day of hours');
      assert.equal(hours.body.buckets.reduce((n: number, b: any) => n + b.total, 0), sum('total'));
    });

    test('cli requests: a table by default, --json as the API, --since as a time ago; requests summary', async () => {
      const table = await runCli(server.dbUrl, ['requests', '--status', '4xx', '--since', '1h']);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0]!, /^AT\s+STATUS\s+METHOD\s+PATH\s+MS\s+ACTOR\s+CLIENT\s+ERROR\s+REQUESTID$/);
      assert.ok(lines.some((l) => l.includes(ids.conflict) && l.includes('uniqueness: ')), table.stdout);
      const json = await runCli(server.dbUrl, ['requests', '--status', '409', '--json']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), (await admin('/requests?status=409')).body.items);
      const paged = await runCli(server.dbUrl, ['requests', '--limit', '2']);
      const after = /more: --after (\S+)/.exec(paged.stderr)?.[1];
      assert.ok(after, paged.stderr);
      const second = await runCli(server.dbUrl, ['requests', '--limit', '2', '--after', after!, '--json']);
      const expected = (await admin(`/requests?limit=2&after=${after}`)).body.items;
      assert.deepEqual(JSON.parse(second.stdout), expected);
      assert.deepEqual(JSON.parse((await runCli(server.dbUrl, ['requests', '--until', '1d', '--json'])).stdout), [], 'nothing is a day old');
      const summary = await runCli(server.dbUrl, ['requests', 'summary', '--since', '2h', '--json']);
      assert.equal(summary.code, 0, summary.stderr);
      const s = JSON.parse(summary.stdout);
      assert.equal(s.bucket, 'minute');
      assert.ok(s.buckets.length >= 120 && s.buckets.length <= 122, String(s.buckets.length));
      assert.equal(s.buckets.reduce((n: number, b: any) => n + b['4xx'], 0), (await admin('/requests?status=4xx&limit=1000')).body.items.length);
      const summaryTable = await runCli(server.dbUrl, ['requests', 'summary', '--bucket', 'hour']);
      assert.match(summaryTable.stdout.split('\n')[0]!, /^START\s+TOTAL\s+2XX\s+3XX\s+4XX\s+5XX$/);
      for (const bad of [['requests', '--status', 'bad'], ['requests', '--since', 'soon'], ['requests', 'sumary'], ['requests', 'summary', '--status', '4xx'],
        ['requests', 'summary', '--since', '90d'], ['requests', '--bucket', 'hour'], ['requests', '--after', 'x']]) {
        const r = await runCli(server.dbUrl, bad);
        assert.equal(r.code, 1, bad.join(' '));
        assert.match(r.stderr, /^error: /);
        assert.equal(r.stdout, '');
      }
    });

    test('pruning keeps the row cap and the age limit, in batches, keeping the newest rows', async () => {
      const fresh = await createDatabase(store);
      const capped = await startServer(store, fresh, { env: { ...QUIET, REQUEST_LOG_DAYS: '1', REQUEST_LOG_MAX_ROWS: '40' } });
      const k = connect(capped.dbUrl);
      try {
        const now = Date.now();
        await insertRequests(k, Array.from({ length: 30 }, (_, i) => row(now - 2 * DAY - i)));
        const recent = Array.from({ length: 70 }, (_, i) => row(now - 1000 + i));
        await insertRequests(k, recent);
        assert.equal(await countRequests(k), 100);
        await capped.running!.requestLog!.prune();
        const left = await k('request_log').orderBy('id').select('request_id', 'at');
        assert.equal(left.length, 40, 'at most REQUEST_LOG_MAX_ROWS rows');
        assert.deepEqual(left.map((r: any) => r.request_id), recent.slice(-40).map((r) => r.requestId), 'the newest rows are the ones kept');
      } finally {
        await k.destroy();
        await capped.stop();
        await fresh.drop();
      }
    });

    test('the summaries count from per-minute counts the writer keeps with the rows; a prune by age drops old minutes', async () => {
      const fresh = await createDatabase(store);
      const s2 = await startServer(store, fresh, { env: { ...QUIET } });
      const k = connect(s2.dbUrl);
      try {
        const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
        const at = (i: number) => minute + (i % 50) * 1000;
        // Two batches in one minute: the second adds to the first's counts.
        await insertRequests(k, Array.from({ length: 30 }, (_, i) => ({ ...row(at(i)), actor: 'token:entra', status: i < 6 ? 409 : 200, path: '/scim/v2/Users' })));
        await insertRequests(k, Array.from({ length: 10 }, (_, i) => ({ ...row(at(i)), actor: null, status: 401, path: '/scim/v2/Users' })));
        await insertRequests(k, Array.from({ length: 5 }, (_, i) => ({ ...row(at(i)), actor: 'token:entra', status: 200, path: '/admin/v1/teams' })));
        await insertRequests(k, Array.from({ length: 3 }, (_, i) => ({ ...row(minute - 3 * DAY + i), actor: 'token:entra', status: 200, path: '/scim/v2/Users' })));
        const minutes = await k('request_log_minutes').where('minute', minute).orderBy(['actor', 'status_class', 'scim']).select('actor', 'status_class', 'scim', 'n');
        assert.deepEqual(minutes.map((m: any) => [m.actor, Number(m.status_class), Number(m.scim), Number(m.n)]), [
          ['', 4, 1, 10], ['token:entra', 2, 0, 5], ['token:entra', 2, 1, 24], ['token:entra', 4, 1, 6],
        ]);
        const admin = client(s2, s2.adminToken!);
        const since = new Date(minute).toISOString();
        const summary = await admin.get(`${s2.url}/admin/v1/requests/summary?since=${since}&until=${new Date(minute + 60_000).toISOString()}`);
        assert.deepEqual(summary.body.buckets, [{ start: since, total: 45, '2xx': 29, '3xx': 0, '4xx': 16, '5xx': 0 }]);
        const overview = await admin.get(`${s2.url}/admin/v1/overview`);
        assert.deepEqual(overview.body.clients.map((c: any) => [c.actor, c.total24h, c.failed24h]), [['token:entra', 30, 6], [null, 10, 10]]);
        assert.equal(await pruneRequests(k, { before: Date.now() - DAY }), 3);
        assert.equal(Number((await k('request_log_minutes').where('minute', '<', Date.now() - DAY).count({ n: '*' }))[0]!.n), 0);
        assert.equal(Number((await k('request_log_minutes').where('minute', minute).sum({ n: 'n' }))[0]!.n), 45, 'recent counts stay');
      } finally {
        await k.destroy();
        await s2.stop();
        await fresh.drop();
      }
    });

    test('a prune in batches smaller than its work: each DELETE is short, and it goes on until done', async () => {
      const before = await countRequests(sql);
      await insertRequests(sql, Array.from({ length: 25 }, (_, i) => row(Date.now() - 3 * DAY + i)));
      assert.equal(await pruneRequests(sql, { before: Date.now() - DAY, batch: 4 }), 25);
      assert.equal(await countRequests(sql), before);
    });

    test('REQUEST_LOG_DAYS=0: no writer, no rows, even after shutdown', async () => {
      const fresh = await createDatabase(store);
      const off = await startServer(store, fresh, { env: { REQUEST_LOG_DAYS: '0', LOG_LEVEL: 'http' } });
      try {
        assert.equal(off.running!.requestLog, undefined);
        assert.equal((await client(off).post('/Users', newUser())).status, 201);
        assert.equal((await client(off).get('/Users/nope')).status, 404);
        const r = await client(off, off.adminToken).get(`${off.url}/admin/v1/requests`);
        assert.deepEqual([r.status, r.body.items], [200, []]);
      } finally {
        await off.stop();
      }
      const k = connect(fresh.url);
      try {
        assert.equal(await countRequests(k), 0);
        const line = off.output().split('\n').find((l) => l.includes('"status":404'));
        assert.ok(line, 'the JSON access log still has every request');
      } finally {
        await k.destroy();
        await fresh.drop();
      }
    });

    test('a full buffer drops rows and counts them in scim_request_log_dropped_total', async () => {
      const writer = new RequestLog(sql, { days: 7, maxRows: 1000, flushMs: 60_000 }, quietLog(), { bufferMax: 3, pruneMs: 3_600_000 });
      const metrics = createMetrics(sql, undefined, writer);
      try {
        const before = await countRequests(sql);
        const marker = `drop-${randomUUID()}`;
        for (let i = 0; i < 5; i++) writer.add(row(Date.now(), { requestId: `${marker}-${i}` }));
        assert.equal(writer.buffered, 3);
        assert.match(await metrics.registry.metrics(), /^scim_request_log_dropped_total 2$/m);
        assert.match(await metrics.registry.metrics(), /^scim_request_log_buffered 3$/m);
        await writer.close();
        assert.equal(await countRequests(sql), before + 3);
        assert.deepEqual((await sql('request_log').whereLike('request_id', `${marker}%`).orderBy('id').pluck('request_id')), [0, 1, 2].map((i) => `${marker}-${i}`));
        writer.add(row(Date.now()));
        assert.equal(writer.buffered, 0, 'nothing is taken once closed');
      } finally {
        metrics.close();
      }
    });

    if (store === 'sqlite') {
      test('each filter reads an index, newest first without a sort', async () => {
        const plan = async (q: Parameters<typeof requestSearch>[1]) => {
          const { sql: text, bindings } = requestSearch(sql, { limit: 100, ...q }).toSQL();
          return (await sql.raw(`EXPLAIN QUERY PLAN ${text}`, bindings as any[])).map((r: any) => r.detail).join(' | ');
        };
        assert.match(await plan({}), /request_log_at_idx/);
        assert.match(await plan({ since: 1 }), /request_log_at_idx \(at>/);
        assert.match(await plan({ statusClass: 4, since: 1 }), /request_log_class_idx \(status_class=\? AND at>/);
        assert.match(await plan({ status: 409 }), /request_log_class_idx/);
        // An actor is a filter over the newest-first scan (no index of its own: each costs every insert).
        assert.match(await plan({ actor: 'token:entra-prod' }), /request_log_at_idx/);
        assert.match(await plan({ requestId: 'r' }), /request_log_request_idx/);
        // A person's requests: two index lookups (their path, the requests that wrote their audit rows), never a scan.
        const about = await plan({ resourceId: 'u1' });
        assert.match(about, /MULTI-INDEX OR/);
        assert.match(about, /request_log_resource_idx \(resource_id=\?\)/);
        assert.match(about, /request_log_request_idx \(request_id=\?\)/);
        assert.doesNotMatch(about, /SCAN request_log\b/);
        for (const q of [{}, { statusClass: 5 }, { actor: 'a' }, { since: 1, cursor: { at: 2, id: 3 } }, { method: 'GET', pathPrefix: '/scim' }]) {
          assert.doesNotMatch(await plan(q), /TEMP B-TREE/, `${JSON.stringify(q)} sorts in the index, not after`);
        }
      });
    }
  });

  describe(`request log across a shutdown and across instances [${store}]`, () => {
    test('SIGTERM writes the last requests before the process exits', async () => {
      const fresh = await createDatabase(store);
      // The flush timer is far off: only the shutdown can write these rows.
      const child = await spawnServer(store, fresh, { env: QUIET });
      const ids = [0, 1, 2].map((i) => `sigterm-${i}-${randomUUID()}`);
      try {
        const api = client(child);
        assert.equal((await api.post('/Users', newUser(), { 'X-Request-Id': ids[0]! })).status, 201);
        assert.equal((await api.get('/Users/nope', { 'X-Request-Id': ids[1]! })).status, 404);
        assert.equal((await api.get('/Users?count=1', { 'X-Request-Id': ids[2]! })).status, 200);
      } finally {
        assert.equal(await child.stop('SIGTERM'), 0, child.output());
      }
      const k = connect(fresh.url);
      try {
        const rows = await k('request_log').whereIn('request_id', ids).orderBy('id').select('request_id', 'status', 'detail');
        assert.deepEqual(rows.map((r: any) => [r.request_id, Number(r.status)]), [[ids[0], 201], [ids[1], 404], [ids[2], 200]]);
        assert.match(rows[1].detail, /not found/);
      } finally {
        await k.destroy();
        await fresh.drop();
      }
    });

    test('two instances on one PostgreSQL database write and prune the same table', { skip: store !== 'pg' }, async () => {
      const fresh = await createDatabase(store);
      const env = { ...QUIET, REQUEST_LOG_MAX_ROWS: '30' };
      const [a, b] = await Promise.all([startServer(store, fresh, { env }), startServer(store, fresh, { env })]);
      const k = connect(fresh.url);
      try {
        const marks = { a: `a-${randomUUID()}`, b: `b-${randomUUID()}` };
        await client(a).get('/Users?count=1', { 'X-Request-Id': marks.a });
        await client(b).get('/Users?count=1', { 'X-Request-Id': marks.b });
        await Promise.all([a.running!.requestLog!.flush(), b.running!.requestLog!.flush()]);
        const seen = (await client(a, a.adminToken).get(`${a.url}/admin/v1/requests?limit=1000`)).body.items.map((i: any) => i.requestId);
        assert.ok(seen.includes(marks.a) && seen.includes(marks.b), 'each instance reads what both wrote');
        await insertRequests(k, Array.from({ length: 200 }, (_, i) => row(Date.now() + i)));
        await Promise.all([a.running!.requestLog!.prune(), b.running!.requestLog!.prune()]);
        assert.ok((await countRequests(k)) <= 30, 'both pruning at once still keep the cap, and neither fails');
      } finally {
        await k.destroy();
        await a.stop();
        await b.stop();
        await fresh.drop();
      }
    });
  });
}
