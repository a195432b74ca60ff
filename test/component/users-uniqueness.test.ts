/**
 * Uniqueness is enforced by the database (issue 2 §3): userName case-insensitively, externalId, email; a violation is
 * 409 uniqueness, also under races. Workspace usernames are derived by Mattermost's sanitising rules and get a
 * numeric suffix on collision, so two different userNames that sanitise alike both succeed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import {
  client, connect, createDatabase, newUser, PATCH_OP, rand, startServer, stores, type Reply, type TestDatabase, type TestServer,
} from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

function conflict(res: Reply, attr: RegExp) {
  assert.equal(res.status, 409, res.text);
  assert.equal(res.body.scimType, 'uniqueness');
  assert.equal(res.body.status, '409');
  assert.match(res.body.detail, attr);
}

for (const store of stores()) {
  describe(`uniqueness [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    let sql: Knex;
    const usernameOf = async (id: string) => (await sql('users').where({ id }).first()).username as string;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      api = client(server);
      sql = connect(server.dbUrl);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('userName is unique case-insensitively: POST, PUT and PATCH', async () => {
      const r = rand();
      const a = (await api.post('/Users', newUser({ userName: `Alice.${r}@Example.com` }))).body;
      conflict(await api.post('/Users', newUser({ userName: `alice.${r}@example.COM` })), /userName/);
      const b = (await api.post('/Users', newUser())).body;
      conflict(await api.put(`/Users/${b.id}`, { ...b, userName: `ALICE.${r}@EXAMPLE.COM` }), /userName/);
      conflict(await api.patch(`/Users/${b.id}`, ops({ op: 'replace', path: 'userName', value: a.userName.toLowerCase() })), /userName/);
      assert.equal((await api.get(`/Users/${b.id}`)).body.userName, b.userName);
      // Changing only the case of one's own userName is allowed.
      const self = await api.patch(`/Users/${a.id}`, ops({ op: 'replace', path: 'userName', value: `ALICE.${r}@example.com` }));
      assert.equal(self.status, 200, self.text);
      assert.equal(self.body.userName, `ALICE.${r}@example.com`);
    });

    test('externalId is unique (caseExact: a different case is a different binding)', async () => {
      const a = (await api.post('/Users', newUser())).body;
      conflict(await api.post('/Users', newUser({ externalId: a.externalId })), /externalId/);
      const other = await api.post('/Users', newUser({ externalId: a.externalId.toUpperCase() }));
      assert.equal(other.status, 201, other.text);
    });

    test('email is unique case-insensitively among users SCIM can see', async () => {
      const r = rand();
      const a = (await api.post('/Users', newUser({ emails: [{ value: `Shared.${r}@Example.com`, type: 'work', primary: true }] }))).body;
      conflict(await api.post('/Users', newUser({ emails: [{ value: `shared.${r}@example.com`, type: 'work', primary: true }] })), /email/);
      const b = (await api.post('/Users', newUser())).body;
      conflict(await api.patch(`/Users/${b.id}`, ops({ op: 'replace', path: 'emails[type eq "work"].value', value: `SHARED.${r}@example.com` })), /email/);
      // Once the holder is deleted the address is free.
      assert.equal((await api.del(`/Users/${a.id}`)).status, 204);
      const c = await api.post('/Users', newUser({ emails: [{ value: `shared.${r}@example.com`, type: 'work', primary: true }] }));
      assert.equal(c.status, 201, c.text);
    });

    test('20 concurrent POSTs of one userName: exactly one 201, nineteen 409 uniqueness', async () => {
      const userName = `race.${rand()}@example.com`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post('/Users', newUser({ userName: i % 2 ? userName : userName.toUpperCase() }))));
      const created = results.filter((r) => r.status === 201);
      assert.equal(created.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
      for (const r of results.filter((x) => x.status !== 201)) conflict(r, /userName/);
      const listed = await api.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      assert.equal(listed.body.totalResults, 1);
      assert.equal(Number((await sql('users').whereRaw('lower(user_name) = ?', [userName]).count({ n: '*' }))[0]!.n), 1);
    });

    test('20 concurrent POSTs of one externalId: exactly one 201', async () => {
      const externalId = `race-ext-${rand()}`;
      const results = await Promise.all(Array.from({ length: 20 }, () => api.post('/Users', newUser({ externalId }))));
      assert.equal(results.filter((r) => r.status === 201).length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
      for (const r of results.filter((x) => x.status !== 201)) conflict(r, /externalId/);
    });

    test('two different userNames that sanitise to the same username both succeed; the later one gets a suffix', async () => {
      const r = rand();
      const first = await api.post('/Users', newUser({ userName: `john+doe.${r}@example.com` }));
      const second = await api.post('/Users', newUser({ userName: `John Doe.${r}@example.com` }));
      assert.equal(first.status, 201, first.text);
      assert.equal(second.status, 201, second.text);
      assert.equal(second.body.userName, `John Doe.${r}@example.com`, 'SCIM keeps the userName as sent');
      assert.equal(await usernameOf(first.body.id), `john-doe.${r}-example.com`);
      assert.equal(await usernameOf(second.body.id), `john-doe.${r}-example.com1`);
    });

    test('concurrent POSTs of userNames that sanitise alike all succeed with distinct usernames', async () => {
      const r = rand();
      const variants = ['a b', 'a+b', 'a/b', 'a(b', 'a)b', 'a=b', 'a!b', 'a#b', 'a$b', 'a%b'].map((v) => `${v}.${r}`);
      const results = await Promise.all(variants.map((userName) => api.post('/Users', newUser({ userName }))));
      for (const res of results) assert.equal(res.status, 201, res.text);
      const names = await Promise.all(results.map((res) => usernameOf(res.body.id)));
      assert.equal(new Set(names).size, variants.length, names.join());
      const base = `a-b.${r}`;
      assert.deepEqual([...names].sort(), [base, ...Array.from({ length: 9 }, (_, i) => `${base}${i + 1}`)].sort());
    });

    test('a deleted user keeps their username: a newcomer with the same userName gets a suffix', async () => {
      const r = rand();
      const gone = (await api.post('/Users', newUser({ userName: `kept.${r}` }))).body;
      await api.del(`/Users/${gone.id}`);
      const next = await api.post('/Users', newUser({ userName: `kept.${r}` }));
      assert.equal(next.status, 201, next.text);
      assert.equal(await usernameOf(gone.id), `kept.${r}`);
      assert.equal(await usernameOf(next.body.id), `kept.${r}1`);
    });

    test('renaming a userName re-derives the username, with a suffix if taken', async () => {
      const r = rand();
      const a = (await api.post('/Users', newUser({ userName: `taken.${r}` }))).body;
      const b = (await api.post('/Users', newUser({ userName: `other.${r}` }))).body;
      const res = await api.patch(`/Users/${b.id}`, ops({ op: 'replace', path: 'userName', value: `Taken ${r}` }));
      assert.equal(res.status, 200, res.text);
      assert.equal(await usernameOf(a.id), `taken.${r}`);
      assert.equal(await usernameOf(b.id), `taken-${r}`);
      const c = (await api.post('/Users', newUser({ userName: `c.${r}` }))).body;
      await api.patch(`/Users/${c.id}`, ops({ op: 'replace', path: 'userName', value: `TAKEN-${r}` }));
      assert.equal(await usernameOf(c.id), `taken-${r}1`);
    });

    test('reserved and unusable userNames still get a valid username', async () => {
      for (const userName of ['admin', 'all', '@@@', '日本語']) {
        const res = await api.post('/Users', newUser({ userName }));
        assert.equal(res.status, 201, `${userName}: ${res.text}`);
        const username = await usernameOf(res.body.id);
        assert.match(username, /^[a-z0-9._-]{1,64}$/, `${userName} → ${username}`);
        assert.ok(!['admin', 'all'].includes(username), username);
      }
    });
  });
}
