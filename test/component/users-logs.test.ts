/**
 * Logs (issue 2 §11): winston JSON lines, one per request, with requestId, method, path, status and ms; never a
 * token, a password, a query string (filters carry personal data) or a request body.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { client, createDatabase, newUser, PATCH_OP, rand, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const store of stores()) {
  describe(`request logs [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    /** Every line the server printed, parsed; a line that is not JSON fails the test. */
    function lines(): any[] {
      return server.output().split('\n').filter((l) => l.trim()).map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          assert.fail(`not a JSON log line: ${l}`);
        }
      });
    }
    async function linesFor(requestId: string): Promise<any[]> {
      for (let i = 0; i < 50; i++) {
        const found = lines().filter((l) => l.requestId === requestId && l.message === 'request');
        if (found.length) return found;
        await sleep(20);
      }
      return [];
    }
    before(async () => {
      db = await createDatabase(store);
      // LOG_LEVEL unset: the default must already log every request.
      server = await startServer(store, db, { env: { LOG_LEVEL: '' } });
      api = client(server);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('one JSON line per request with requestId, method, path, status and ms', async () => {
      const cases: [string, () => Promise<unknown>, string, string, number][] = [];
      const u = (await api.post('/Users', newUser())).body;
      const rid = () => `log-${randomUUID()}`;
      const ids = [rid(), rid(), rid(), rid(), rid()];
      cases.push([ids[0]!, () => api.post('/Users', newUser(), { 'X-Request-Id': ids[0]! }), 'POST', '/scim/v2/Users', 201]);
      cases.push([ids[1]!, () => api.get(`/Users/${u.id}?attributes=userName`, { 'X-Request-Id': ids[1]! }), 'GET', `/scim/v2/Users/${u.id}`, 200]);
      cases.push([ids[2]!, () => api.patch(`/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, { 'X-Request-Id': ids[2]! }), 'PATCH', `/scim/v2/Users/${u.id}`, 200]);
      cases.push([ids[3]!, () => api.get('/Nope', { 'X-Request-Id': ids[3]! }), 'GET', '/scim/v2/Nope', 404]);
      cases.push([ids[4]!, () => api.call('DELETE', `/Users/${u.id}`, undefined, { 'X-Request-Id': ids[4]! }), 'DELETE', `/scim/v2/Users/${u.id}`, 204]);
      for (const [, call] of cases) await call();
      for (const [requestId, , method, path, status] of cases) {
        const found = await linesFor(requestId);
        assert.equal(found.length, 1, `exactly one line for ${method} ${path}:\n${server.output().slice(-3000)}`);
        const line = found[0];
        assert.equal(line.method, method);
        assert.equal(line.path, path);
        assert.equal(line.status, status);
        assert.equal(typeof line.ms, 'number');
        assert.ok(line.ms >= 0 && line.ms < 30_000, 'ms is a plausible duration');
        assert.equal(typeof line.timestamp, 'string');
        assert.ok(line.level, 'the line has a level');
      }
    });

    test('an unauthenticated request is logged too, without its token', async () => {
      const wrong = `scim_wrong_${rand()}${rand()}`;
      const requestId = `log-${randomUUID()}`;
      const res = await fetch(`${server.base}/Users`, { headers: { Authorization: `Bearer ${wrong}`, 'X-Request-Id': requestId } });
      assert.equal(res.status, 401);
      const [line] = await linesFor(requestId);
      assert.equal(line?.status, 401);
      assert.ok(!server.output().includes(wrong), 'a refused token is not logged');
    });

    test('never a token, a password, a query string or a body', async () => {
      const secret = `Secret-${rand()}-pw`;
      const marker = `display-${rand()}`;
      const filterValue = `private.person.${rand()}@example.com`;
      const created = await api.post('/Users', newUser({ password: secret, displayName: marker }));
      assert.equal(created.status, 201, created.text);
      await api.put(`/Users/${created.body.id}`, { ...created.body, password: secret });
      await api.patch(`/Users/${created.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { password: secret } }] });
      await api.get(`/Users?filter=${encodeURIComponent(`userName eq "${filterValue}"`)}`);
      await api.post('/Users', `{"userName": "${marker}", "password": "${secret}"`); // malformed: the parser error must not echo the body
      await api.post('/Users', newUser({ userName: created.body.userName, password: secret })); // 409
      await sleep(100);
      const out = server.output();
      for (const [what, value] of [['SCIM token', server.token], ['admin token', server.adminToken], ['password', secret], ['body value', marker], ['filter value', filterValue]]) {
        assert.ok(!out.includes(value!), `${what} appears in the logs`);
      }
      assert.ok(!/"(authorization|password|body|query)"/i.test(out), 'no field of that name is ever logged');
      lines(); // every line is JSON
    });
  });
}
