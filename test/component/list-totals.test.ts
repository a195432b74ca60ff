/**
 * totalResults of unfiltered lists (RFC 7644 §3.4.2) comes from counts kept by triggers (migration 006), not from
 * count(*): it must stay equal to the live rows through every way a row appears or goes, including concurrent
 * creates and a purge that bypasses the SCIM layer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, GROUP_SCHEMA, newUser, rand, stores, useServer } from '../helpers/server.ts';
import { purgeUser } from '../../src/store/users.ts';

for (const store of stores()) {
  describe(`unfiltered list totals [${store}]`, () => {
    const env = useServer(store);

    async function assertTotals(when: string): Promise<void> {
      const api = client(env.server);
      const db = connect(env.db.url);
      try {
        for (const [path, table] of [['/Users?count=1', 'users'], ['/Groups?count=1&excludedAttributes=members', 'groups']] as const) {
          const res = await api.get(path);
          assert.equal(res.status, 200, res.text);
          const [{ n }] = await db(table).whereNull('deleted_at').count({ n: '*' });
          assert.equal(res.body.totalResults, Number(n), `${table} ${when}`);
        }
      } finally {
        await db.destroy();
      }
    }

    test('creates, deletes, restores, purges and concurrent creates keep the total exact', async () => {
      const api = client(env.server);
      await assertTotals('on an empty database');
      const users: any[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await api.post('/Users', newUser());
        assert.equal(res.status, 201, res.text);
        users.push(res.body);
      }
      const groups: any[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `totals-${rand()}` });
        assert.equal(res.status, 201, res.text);
        groups.push(res.body);
      }
      await assertTotals('after creates');

      // Unfiltered pages carry each user's multi-valued attributes, first page and continued page alike.
      const first = await api.get('/Users?startIndex=1&count=2');
      const next = await api.get('/Users?startIndex=3&count=2');
      const listed = [...first.body.Resources, ...next.body.Resources];
      assert.deepEqual(listed.map((u: any) => u.id), users.map((u) => u.id));
      for (const [i, u] of listed.entries()) assert.deepEqual(u.emails, users[i].emails);

      assert.equal((await api.del(`/Users/${users[0].id}`)).status, 204);
      assert.equal((await api.del(`/Groups/${groups[0].id}`)).status, 204);
      await assertTotals('after deletes');

      // Entra re-creating a deleted person with the same externalId restores the same account.
      const { id, meta, ...again } = users[0];
      const restored = await api.post('/Users', again);
      assert.equal(restored.status, 201, restored.text);
      assert.equal(restored.body.id, users[0].id);
      await assertTotals('after a restore');

      // Deactivation is not deletion: the user still counts.
      const off = await api.patch(`/Users/${users[1].id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
      assert.equal(off.status, 200, off.text);
      await assertTotals('after a deactivation');

      const db = connect(env.db.url);
      try {
        assert.equal((await api.del(`/Users/${users[2].id}`)).status, 204);
        await db.transaction((tx) => purgeUser(tx, users[2].id)); // the CLI's hard delete of a deleted user
        await db.transaction((tx) => purgeUser(tx, users[1].id)); // and of a live one
      } finally {
        await db.destroy();
      }
      await assertTotals('after purges');

      const burst = await Promise.all(Array.from({ length: 24 }, () => api.post('/Users', newUser())));
      assert.deepEqual(burst.map((r) => r.status), burst.map(() => 201));
      await assertTotals('after 24 concurrent creates');
    });
  });
}
