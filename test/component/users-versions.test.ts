/**
 * Versions (RFC 7644 §3.14, RFC 7232): meta.version W/"n" and an ETag header on every response with a resource,
 * If-Match with a stale version is 412, meta.created never changes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, newUser, PATCH_OP, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const store of stores()) {
  describe(`versions and ETags [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    async function make() {
      const res = await api.post('/Users', newUser());
      assert.equal(res.status, 201, res.text);
      return res.body;
    }
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      api = client(server);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('every write moves W/"n" by one; ETag always equals meta.version; created stays, lastModified moves', async () => {
      const created = await api.post('/Users', newUser());
      const u = created.body;
      assert.equal(u.meta.version, 'W/"1"');
      assert.equal(created.headers.get('etag'), 'W/"1"');
      const steps = [
        () => api.put(`/Users/${u.id}`, { ...u, displayName: 'Put' }),
        () => api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'displayName', value: 'Patched' })),
        () => api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'active', value: false })),
        () => api.get(`/Users/${u.id}`),
      ];
      const expected = ['W/"2"', 'W/"3"', 'W/"4"', 'W/"4"'];
      let last = u.meta.lastModified;
      for (const [i, step] of steps.entries()) {
        await sleep(3);
        const res = await step();
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.meta.version, expected[i], `step ${i}`);
        assert.equal(res.headers.get('etag'), expected[i], `step ${i}`);
        assert.equal(res.body.meta.created, u.meta.created, `step ${i}`);
        if (i < 3) assert.ok(res.body.meta.lastModified > last, `step ${i}: lastModified moves`);
        last = res.body.meta.lastModified;
      }
    });

    test('If-Match with the current version (weak or strong form, or *) succeeds', async () => {
      const u = await make();
      let res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'a' }), { 'If-Match': 'W/"1"' });
      assert.equal(res.status, 200, res.text);
      res = await api.put(`/Users/${u.id}`, { ...u, title: 'b' }, { 'If-Match': '"2"' });
      assert.equal(res.status, 200, res.text);
      res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'c' }), { 'If-Match': '*' });
      assert.equal(res.status, 200, res.text);
      res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'd' }), { 'If-Match': 'W/"9", W/"4"' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.title, 'd');
      assert.equal(res.body.meta.version, 'W/"5"');
    });

    test('If-Match with a stale version is 412 for PUT, PATCH and DELETE, with a SCIM body, and changes nothing', async () => {
      const u = await make();
      await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'current' }));
      for (const res of [
        await api.put(`/Users/${u.id}`, { ...u, title: 'stale put' }, { 'If-Match': 'W/"1"' }),
        await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'stale patch' }), { 'If-Match': 'W/"1"' }),
        await api.del(`/Users/${u.id}`, { 'If-Match': 'W/"1"' }),
      ]) {
        assert.equal(res.status, 412, res.text);
        assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.equal(res.body.status, '412');
        assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      }
      const got = await api.get(`/Users/${u.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.title, 'current');
      assert.equal(got.body.meta.version, 'W/"2"');
    });

    test('DELETE with the current If-Match succeeds', async () => {
      const u = await make();
      const res = await api.del(`/Users/${u.id}`, { 'If-Match': u.meta.version });
      assert.equal(res.status, 204, res.text);
    });

    test('a PATCH that changes nothing keeps the version', async () => {
      const u = await make();
      const res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'userName', value: u.userName }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.meta.version, 'W/"1"');
      assert.equal(res.headers.get('etag'), 'W/"1"');
    });

    test('concurrent PATCHes without If-Match are all applied, none lost', async () => {
      const u = await make();
      const n = 8;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => api.patch(`/Users/${u.id}`, ops({ op: 'add', path: 'phoneNumbers', value: [{ value: `+1 555 01${String(i).padStart(2, '0')}`, type: 'work' }] }))));
      for (const r of results) assert.equal(r.status, 200, r.text);
      const got = (await api.get(`/Users/${u.id}`)).body;
      assert.equal(got.phoneNumbers.length, n);
      assert.equal(got.meta.version, `W/"${1 + n}"`);
    });

    test('concurrent PATCHes with the same If-Match: exactly one wins, the rest are 412', async () => {
      const u = await make();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: `t${i}` }), { 'If-Match': 'W/"1"' })));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 412, 412, 412, 412, 412], JSON.stringify(results.map((r) => r.text)));
      const winner = results.find((r) => r.status === 200)!;
      assert.equal((await api.get(`/Users/${u.id}`)).body.title, winner.body.title);
    });

    test('meta.created survives delete and restore', async () => {
      const u = await make();
      await sleep(5);
      await api.del(`/Users/${u.id}`);
      const back = await api.post('/Users', newUser({ externalId: u.externalId }));
      assert.equal(back.status, 201, back.text);
      assert.equal(back.body.meta.created, u.meta.created);
      assert.ok(back.body.meta.lastModified > u.meta.lastModified, 'lastModified moves on restore');
      assert.equal(back.body.meta.version, 'W/"3"');
      assert.equal(back.headers.get('etag'), 'W/"3"');
    });
  });
}
