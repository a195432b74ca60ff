import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, newUser, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';

for (const store of stores()) {
  describe(`server start-up [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
    });
    after(async () => {
      await server.stop();
      await db.drop();
    });

    test('health and readiness answer without a token', async () => {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal((await ready.json()).database, 'up');
    });

    test('a created user can be read back', async () => {
      const api = client(server);
      const created = await api.post('/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const got = await api.get(`/Users/${created.body.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.userName, created.body.userName);
    });
  });
}
