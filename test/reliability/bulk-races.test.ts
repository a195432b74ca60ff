/**
 * /Bulk jobs racing each other and single requests (RFC 7644 §3.7: each operation is its own change): on PostgreSQL
 * two instances on one database, as behind a load balancer; on SQLite one process. The database settles every race:
 * uniqueness holds, every 201 is stored, audit rows match the changes, and no member added is lost.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, spawnServer, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const bulk = (Operations: unknown[]) => ({ schemas: [BULK_REQUEST], Operations });
const idOf = (location: string) => location.split('/').pop()!;

for (const store of stores()) {
  describe(`bulk races [${store}]`, { timeout: 300_000 }, () => {
    let db: TestDatabase;
    let servers: TestServer[] = [];
    before(async () => {
      db = await createDatabase(store);
      const env = { RATE_LIMIT_PER_SECOND: '0' };
      servers = [await startServer(store, db, { env })];
      if (store === 'pg') servers.push(await spawnServer(store, db, { env }));
    });
    after(async () => {
      for (const s of servers) await s.stop();
      await db?.drop();
    });
    const api = (i: number) => client(servers[i % servers.length]!);

    async function runBulk(i: number, ops: unknown[]): Promise<any[]> {
      const r = await api(i).post('/Bulk', bulk(ops));
      assert.equal(r.status, 200, r.text.slice(0, 500));
      return r.body.Operations;
    }

    test('5 concurrent bulks creating overlapping userNames and externalIds: one user per name, every 201 stored and audited', async () => {
      for (let round = 0; round < 3; round++) {
        const tag = rand();
        // 40 userNames and 40 externalIds; each bulk creates 60 users drawn from them in its own order and casing.
        const jobs = Array.from({ length: 5 }, (_, j) => Array.from({ length: 60 }, (_, i) => {
          const n = (i * (j + 3) + j) % 40;
          const x = (i * (j + 7) + 2 * j) % 40;
          const userName = `race.${tag}.${n}@example.com`;
          return { method: 'POST', path: '/Users', bulkId: `u${i}`, data: newUser({ userName: j % 2 ? userName.toUpperCase() : userName, externalId: `ext-${tag}-${x}` }) };
        }));
        const results = await Promise.all(jobs.map((ops, j) => runBulk(j, ops)));
        const created: string[] = [];
        for (const out of results) {
          for (const o of out) {
            assert.ok(o.status === '201' || (o.status === '409' && o.response.scimType === 'uniqueness'), JSON.stringify(o));
            if (o.status === '201') created.push(idOf(o.location));
          }
        }
        const k = connect(servers[0]!.dbUrl);
        try {
          const rows = await k('users').whereRaw('lower(user_name) like ?', [`race.${tag}.%`]).select('id', 'user_name', 'external_id');
          assert.deepEqual(new Set(rows.map((r: any) => r.id)), new Set(created), `round ${round}: every 201 is stored, nothing else is`);
          assert.equal(new Set(rows.map((r: any) => r.user_name.toLowerCase())).size, rows.length, 'one user per userName');
          assert.equal(new Set(rows.map((r: any) => r.external_id)).size, rows.length, 'one user per externalId');
          const audited = await k('audit_log').whereIn('resource_id', created).where({ operation: 'create_user' }).pluck('resource_id');
          assert.deepEqual(audited.sort(), [...created].sort(), 'one create_user row per 201');
        } finally {
          await k.destroy();
        }
      }
    });

    test('a bulk PATCHing one group races single PATCHes of it: no member added is lost, one audit row each', async () => {
      for (let round = 0; round < 3; round++) {
        const users = await Promise.all(Array.from({ length: 60 }, () => api(0).post('/Users', newUser()).then((r) => r.body.id as string)));
        const g = (await api(0).post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `race ${rand()}` })).body.id as string;
        const add = (id: string) => ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] });
        const [viaBulk, viaSingle] = [users.slice(0, 30), users.slice(30)];
        const [out, singles] = await Promise.all([
          runBulk(0, viaBulk.map((id) => ({ method: 'PATCH', path: `/Groups/${g}`, data: add(id) }))),
          Promise.all(viaSingle.map((id, i) => api(i + 1).patch(`/Groups/${g}`, add(id)))),
        ]);
        assert.ok(out.every((o) => o.status === '204'), JSON.stringify(out.find((o) => o.status !== '204')));
        assert.ok(singles.every((r) => r.status === 204), singles.map((r) => r.status).join(','));
        const members = (await api(0).get(`/Groups/${g}`)).body.members.map((m: any) => m.value);
        assert.deepEqual([...members].sort(), [...users].sort(), `round ${round}`);
        const k = connect(servers[0]!.dbUrl);
        try {
          const rows = await k('audit_log').where({ resource_id: g, operation: 'add_group_member' }).count({ n: '*' });
          assert.equal(Number(rows[0]!.n), 60);
        } finally {
          await k.destroy();
        }
      }
    });

    test('a bulk DELETE racing a bulk PUT of the same users: all end deleted, each audited once per change that answered', async () => {
      for (let round = 0; round < 3; round++) {
        const users = await Promise.all(Array.from({ length: 40 }, () => api(0).post('/Users', newUser()).then((r) => r.body)));
        const [deletes, puts] = await Promise.all([
          runBulk(0, users.map((u) => ({ method: 'DELETE', path: `/Users/${u.id}` }))),
          runBulk(1, users.map((u) => ({ method: 'PUT', path: `/Users/${u.id}`, data: { ...u, displayName: 'replaced' } }))),
        ]);
        assert.ok(deletes.every((o) => o.status === '204'), JSON.stringify(deletes.find((o) => o.status !== '204')));
        assert.ok(puts.every((o) => o.status === '200' || o.status === '404'), JSON.stringify(puts.find((o) => o.status !== '200' && o.status !== '404')));
        for (const u of users) assert.equal((await api(0).get(`/Users/${u.id}`)).status, 404);
        const k = connect(servers[0]!.dbUrl);
        try {
          const ids = users.map((u) => u.id);
          const deleted = await k('audit_log').whereIn('resource_id', ids).where({ operation: 'delete_user' }).pluck('resource_id');
          assert.deepEqual(deleted.sort(), [...ids].sort(), `round ${round}: one delete_user per user`);
          const updated = await k('audit_log').whereIn('resource_id', ids).where({ operation: 'update_user' }).count({ n: '*' });
          assert.equal(Number(updated[0]!.n), puts.filter((o) => o.status === '200').length, 'one update_user per PUT that answered 200');
        } finally {
          await k.destroy();
        }
      }
    });
  });
}
