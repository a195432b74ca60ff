/**
 * SCIM /Bulk (RFC 7644 §3.7) against an adversary holding a valid token and a sloppy client: bodies within the limits
 * that used to cost the process far more than their size (a 500 from a long list, a quadratic answer for a cycle),
 * operations of odd types, the rate limit per operation, refusals before the body is read, and a client that goes
 * away mid-job. Speed is not measured here (npm run bench); these tests count operations and statuses.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { request } from 'node:http';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], ...extra, Operations });
const post = (bulkId: string, path: '/Users' | '/Groups', data: unknown) => ({ method: 'POST', path, bulkId, data });
const replaceName = (value: string) => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value }] });

/** Nothing a client is shown may carry internals: no 5xx, no stack, no driver or SQL text. */
function assertClean(entries: any[]) {
  for (const e of entries) {
    assert.equal(typeof e.status, 'string', JSON.stringify(e));
    assert.ok(Number(e.status) < 500, JSON.stringify(e).slice(0, 500));
    const text = JSON.stringify(e.response ?? {});
    assert.doesNotMatch(text, /\bat [\w.<>]+ \(|\.ts:\d+|TypeError|RangeError|knex|sqlite|postgres|SELECT |INSERT |<html/i, text.slice(0, 500));
  }
}

for (const store of stores()) {
  describe(`SCIM /Bulk hardening [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let api: ReturnType<typeof client>;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db, { env: { RATE_LIMIT_PER_SECOND: '0' } });
      api = client(s);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    async function run(body: unknown) {
      const r = await api.post('/Bulk', body);
      assert.equal(r.status, 200, r.text.slice(0, 500));
      assertClean(r.body.Operations);
      return { ops: r.body.Operations as any[], bytes: r.text.length };
    }

    test('a list of 300,000 elements in one operation is that operation\'s 400, not a 500 (no spread into push)', async () => {
      const { ops } = await run(bulk([
        post('g', '/Groups', { schemas: [GROUP_SCHEMA], displayName: `long ${rand()}`, members: Array.from({ length: 300_000 }, () => 0) }),
        post('u', '/Users', newUser()),
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['400', '201']);
    });

    test('an unbreakable cycle of 1,000 POSTs: every entry 409, each naming a few of the others, not all 999', async () => {
      // A reference inside a list under an extension attribute cannot be split off (bulk-references.ts).
      const id = (i: number) => `${i}`.padStart(60, 'c');
      const ops = Array.from({ length: 1000 }, (_, i) => post(id(i), '/Users', {
        schemas: [USER_SCHEMA, 'urn:example:ext'], userName: `ring.${rand()}@example.com`,
        'urn:example:ext': { list: [{ value: `bulkId:${id((i + 1) % 1000)}` }] },
      }));
      const { ops: out, bytes } = await run(bulk(ops));
      assert.equal(out.length, 1000);
      assert.ok(out.every((o) => o.status === '409'));
      assert.match(out[0].response.detail, /circular bulkId references \(with (".{60}", ){4}".{60}" and 994 more\)/);
      // Naming all 999 others in each of 1,000 entries was 64 MB; five of them are a few hundred bytes an entry.
      assert.ok(bytes < 1_000_000, `answer of ${bytes} characters`);
    });

    test('version must be a string: a number or an object is that operation\'s 400, and nothing is changed', async () => {
      const u = await api.post('/Users', newUser({ displayName: 'before' }));
      const g = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `v ${rand()}` });
      const { ops } = await run(bulk([
        { method: 'PATCH', path: `/Users/${u.body.id}`, version: 1, data: replaceName('number') },
        { method: 'PUT', path: `/Users/${u.body.id}`, version: { etag: 'W/"1"' }, data: { ...u.body, displayName: 'object' } },
        { method: 'DELETE', path: `/Groups/${g.body.id}`, version: [] },
        { method: 'PATCH', path: `/Users/${u.body.id}`, version: true, data: replaceName('boolean') },
        { method: 'PATCH', path: `/Users/${u.body.id}`, version: null, data: replaceName('null is no version') },
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['400', '400', '400', '400', '200']);
      for (const o of ops.slice(0, 4)) assert.match(o.response.detail, /version must be a string/);
      assert.equal((await api.get(`/Users/${u.body.id}`)).body.displayName, 'null is no version');
      assert.equal((await api.get(`/Groups/${g.body.id}`)).status, 200);
    });

    test('odd methods, paths, data, bulkIds and prototype keys: each is its operation\'s 4xx, nothing leaks', async () => {
      const u = (await api.post('/Users', newUser())).body;
      const odd = [null, 1, true, [], {}, '', 'x'.repeat(10_000)];
      const ops: unknown[] = [];
      for (const v of odd) ops.push({ method: v, path: '/Users', bulkId: `m${ops.length}`, data: newUser() });
      for (const v of odd) ops.push({ method: 'POST', path: v, bulkId: `p${ops.length}`, data: newUser() });
      for (const v of odd) ops.push({ method: 'PATCH', path: `/Users/${u.id}`, data: v });
      for (const v of odd) ops.push({ method: 'PATCH', path: `/Users/${u.id}`, data: { schemas: [PATCH_OP], Operations: [{ op: v, path: v, value: v }] } });
      for (const p of ['/Users/..', '/Users/../Groups', '/Users/not-a-uuid', '/Users/bulkId:', `/Groups/${u.id}`, '/Users/%2e%2e', '/Users/__proto__', '/Users/bulkId:constructor']) {
        ops.push({ method: 'PATCH', path: p, data: replaceName('x') }, { method: 'DELETE', path: p });
      }
      ops.push(post('__proto__', '/Users', JSON.parse(`{"__proto__":{"userName":"proto.${rand()}"},"schemas":["${USER_SCHEMA}"]}`)));
      ops.push(post('toString', '/Groups', { schemas: [GROUP_SCHEMA], displayName: `p ${rand()}`, members: [{ value: 'bulkId:hasOwnProperty' }] }));
      const { ops: out } = await run(bulk(ops));
      assert.equal(out.length, ops.length);
      assert.ok(out.every((o) => o.status.startsWith('4')), JSON.stringify(out.filter((o) => !o.status.startsWith('4'))).slice(0, 500));
      assert.equal((await api.get(`/Users/${u.id}`)).status, 200, 'no path reached the user by traversal or by a bulkId of a prototype name');
    });

    test('a client that goes away mid-job: no further operation runs, and every one that ran is stored and audited', async () => {
      const tag = rand();
      const ops = Array.from({ length: 1000 }, (_, i) => post(`u${i}`, '/Users', newUser({ userName: `gone.${tag}.${i}@example.com` })));
      const k = connect(s.dbUrl);
      try {
        const stored = async () => k('users').where('user_name', 'like', `gone.${tag}.%`).pluck('id');
        // Its own connection (no pool: fetch may open a spare one that would hold the server's close open).
        let answered = false;
        const req = request(`${s.base}/Bulk`, { method: 'POST', agent: false, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' } }, () => { answered = true; });
        req.on('error', () => undefined);
        req.end(JSON.stringify(bulk(ops)));
        // This test shares the server's event loop: that it sees the first row at all means the job lets others run.
        while ((await stored()).length === 0) await new Promise((r) => setTimeout(r, 5));
        req.destroy();
        assert.equal(answered, false);
        let before = -1;
        let ids = await stored();
        while (ids.length !== before) { // settled: the operation in flight when the client went finishes, then none
          before = ids.length;
          await new Promise((r) => setTimeout(r, 300));
          ids = await stored();
        }
        assert.ok(ids.length < 1000, `${ids.length} of 1,000 ran after the client had gone`);
        const audited = await k('audit_log').whereIn('resource_id', ids).where({ operation: 'create_user' }).count({ n: '*' });
        assert.equal(Number(audited[0]!.n), ids.length, 'every stored create has its audit row');
      } finally {
        await k.destroy();
      }
    });
  });

  describe(`SCIM /Bulk and the rate limit [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      // One token a second: a job of a few milliseconds meets a bucket of exactly the burst.
      s = await startServer(store, db, { env: { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '6' } });
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('each operation after the first takes a token; the rest are 429, and then the request itself is refused unread', async () => {
      const api = client(s);
      const tag = rand();
      const ops = Array.from({ length: 12 }, (_, i) => post(`u${i}`, '/Users', newUser({ userName: `rl.${tag}.${i}@example.com` })));
      const r = await api.post('/Bulk', bulk(ops));
      assert.equal(r.status, 200, r.text);
      // The request took one token and its first operation rides on it; operations 2-6 take the other five.
      assert.deepEqual(r.body.Operations.map((o: any) => o.status), [...Array(6).fill('201'), ...Array(6).fill('429')]);
      assert.match(r.body.Operations[6].response.detail, /rate limit/);
      const k = connect(s.dbUrl);
      try {
        assert.equal((await k('users').where('user_name', 'like', `rl.${tag}.%`).pluck('id')).length, 6);
      } finally {
        await k.destroy();
      }
      // Bucket empty: a malformed body is a 429, never a 400, so it was not parsed.
      const again = await api.call('POST', '/Bulk', '{"schemas":', { 'Content-Type': 'application/scim+json' });
      assert.equal(again.status, 429, again.text);
    });
  });

  describe(`SCIM /Bulk: a refused operation stops the ones after it [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      // A bucket of 2 and a token every 200 ms: the job's own token and operation 2's empty it, so it is dry from
      // operation 3 on however fast or loaded the machine is. (That a later refill lets nothing through is checked
      // with scripted tokens in test/unit/bulk-run-rate-limit.test.ts, independent of timing.)
      s = await startServer(store, db, { env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '2' } });
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('after the first 429 every later operation is 429 too, so a retry of the tail keeps the request order', async () => {
      const api = client(s);
      const u = (await api.post('/Users', newUser())).body;
      await new Promise((r) => setTimeout(r, 500)); // the bucket full again
      const ops = Array.from({ length: 150 }, (_, i) => ({ method: 'PATCH', path: `/Users/${u.id}`, data: replaceName(`n${i}`) }));
      const r = await api.post('/Bulk', bulk(ops));
      assert.equal(r.status, 200, r.text.slice(0, 300));
      const statuses: string[] = r.body.Operations.map((o: any) => o.status);
      const first429 = statuses.indexOf('429');
      assert.ok(first429 >= 2, statuses.join(','));
      assert.ok(statuses.slice(first429).every((x) => x === '429'), statuses.join(','));
      assert.ok(statuses.slice(0, first429).every((x) => x === '200'), statuses.join(','));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await api.get(`/Users/${u.id}`)).body.displayName, `n${first429 - 1}`, 'the last operation that ran is the state');
    });
  });

  describe(`SCIM /Bulk: refusals come before the body [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    test('no token or a scim:read token: a malformed or gzip-garbage body is never parsed', async () => {
      const t = await runCli(s.dbUrl, ['token', 'create', '--name', `reader-${rand()}`, '--scope', 'scim:read']);
      for (const [who, token, status] of [['anonymous', '', 401], ['reader', t.stdout.trim(), 403]] as const) {
        const c = client(s, token);
        const bad = await c.call('POST', '/Bulk', '{"schemas":', { 'Content-Type': 'application/scim+json' });
        assert.equal(bad.status, status, `${who}: ${bad.text}`);
        const res = await fetch(`${s.base}/Bulk`, {
          method: 'POST', body: Buffer.from('not gzip at all'),
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' },
        });
        assert.equal(res.status, status, who);
        await res.text();
      }
    });
  });
}
