/**
 * Two servers in one process, as the in-process test harness runs them (and as a host embedding the app would): what
 * one server is configured with or counts must not show through the other. SCIMMY keeps its configuration and
 * resource base paths in module state, and the audit log tells committed operations to process-wide listeners.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, newUser, startServer, type TestDatabase, type TestServer } from '../helpers/server.ts';

describe('two servers in one process [sqlite]', () => {
  const dbs: TestDatabase[] = [];
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    dbs.push(await createDatabase('sqlite'), await createDatabase('sqlite'));
    a = await startServer('sqlite', dbs[0]!, { env: { FILTER_MAX_RESULTS: '250' } });
    // Started second: SCIMMY's configuration is whatever the last app set at construction.
    b = await startServer('sqlite', dbs[1]!, { env: { FILTER_MAX_RESULTS: '40' } });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const d of dbs) await d.drop();
  });

  test('each advertises its own filter.maxResults and locations, also under interleaved requests', async () => {
    const paths = ['/ServiceProviderConfig', '/ResourceTypes/User', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User'];
    const rounds = await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const s = i % 2 ? b : a;
      const path = paths[Math.floor(i / 2) % paths.length]!;
      return client(s).get(path).then((r) => ({ s, path, r }));
    }));
    for (const { s, path, r } of rounds) {
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.equal(r.body.meta.location.startsWith(`${s.base}/`), true, `${path} on ${s.base}: location ${r.body.meta.location}`);
      if (path !== '/ServiceProviderConfig') continue;
      assert.equal(r.body.filter.maxResults, s === a ? 250 : 40, `maxResults of ${s.base}`);
      assert.equal(r.body.authenticationSchemes.length, 1, JSON.stringify(r.body.authenticationSchemes));
    }
  });

  test('each enforces its own maxResults', async () => {
    for (const [s, max] of [[a, 250], [b, 40]] as const) {
      const api = client(s);
      const r = await api.get('/Users?count=100000');
      assert.equal(r.status, 200, r.text);
      assert.ok(r.body.itemsPerPage <= max);
    }
    const api = client(b);
    for (let i = 0; i < 45; i++) assert.equal((await api.post('/Users', newUser())).status, 201);
    const page = await api.get('/Users?count=1000');
    assert.equal(page.body.totalResults, 45);
    assert.equal(page.body.Resources.length, 40);
  });

  test('metrics count the provisioning operations of their own server only', async () => {
    const metric = async (s: TestServer) => {
      const text = await (await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${s.adminToken}` } })).text();
      const line = text.split('\n').find((l) => l.startsWith('scim_provisioning_operations_total{operation="create_user"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = { a: await metric(a), b: await metric(b) };
    for (let i = 0; i < 3; i++) assert.equal((await client(a).post('/Users', newUser())).status, 201);
    assert.equal(await metric(a), before.a + 3);
    assert.equal(await metric(b), before.b, 'creates on the other server are not counted here');
  });
});
