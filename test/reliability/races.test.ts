/**
 * Races (issue 6 §1): what an IdP that retries and runs requests in parallel does to one userName, one group and one
 * user, on real servers (on PostgreSQL two, in two processes). The database settles every race; nothing is lost and
 * nothing is doubled.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, spawnServer, startServer, stores,
  type TestDatabase, type TestServer,
} from '../helpers/server.ts';
import { assertScimError, seedUsers } from './util.ts';
import { memberAddRace } from './member-race.ts';

for (const store of stores()) {
  describe(`races [${store}]`, { timeout: 180_000 }, () => {
    let db: TestDatabase;
    let servers: TestServer[] = [];
    before(async () => {
      db = await createDatabase(store);
      // PostgreSQL: two instances on one database, as in production behind a load balancer. SQLite: one process.
      // Rate limiting off: these are bursts from one token on purpose.
      const env = { RATE_LIMIT_PER_SECOND: '0' };
      servers = [await startServer(store, db, { env })];
      if (store === 'pg') servers.push(await spawnServer(store, db, { env }));
    });
    after(async () => {
      for (const s of servers) await s.stop();
      await db?.drop();
    });

    test('50 concurrent POSTs of one userName: exactly one 201, 49 × 409 uniqueness, one row', async () => {
      const userName = `Race.${rand()}@Example.com`;
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => {
        // Same userName (in varying case: it is caseExact=false), distinct externalId and email.
        const body = newUser({ userName: i % 2 ? userName : userName.toLowerCase() });
        return client(servers[i % servers.length]!).post('/Users', body);
      }));
      const created = replies.filter((r) => r.status === 201);
      const conflicts = replies.filter((r) => r.status === 409);
      assert.equal(created.length, 1, replies.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
      assert.equal(conflicts.length, 49, replies.filter((r) => r.status !== 409 && r.status !== 201).map((r) => r.text).join('\n'));
      for (const c of conflicts) {
        assertScimError(c.body, 409, c.text);
        assert.equal(c.body.scimType, 'uniqueness');
      }
      const k = connect(db.url);
      try {
        const rows = await k('users').whereRaw('lower(user_name) = ?', [userName.toLowerCase()]);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].id, created[0]!.body.id);
      } finally {
        await k.destroy();
      }
    });

    // A burst every run; 1,000 adds (the two-process PostgreSQL run is the one that matters) are in
    // load/races.test.ts, `npm run test:reliability`.
    test(`100 concurrent member adds to one group over ${store === 'pg' ? 'two processes' : 'one process'}: exactly 100 members (and team/channel memberships)`, async () => {
      await memberAddRace(servers, db, 100, store);
    });

    test('overlapping multi-member PATCHes in opposite orders: no deadlock surfaces, every request succeeds', async () => {
      const k = connect(db.url);
      try {
        const ids = await seedUsers(k, 40, `o${rand()}`);
        const group = await client(servers[0]!).post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `overlap-${rand()}` });
        assert.equal(group.status, 201, group.text);
        const shuffled = (i: number) => [...ids].sort((a, b) => ((a.charCodeAt(i % 8) * 31 + i) % 7) - ((b.charCodeAt(i % 8) * 31 + i) % 7) || (i % 2 ? a.localeCompare(b) : b.localeCompare(a)));
        const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => client(servers[i % servers.length]!).patch(`/Groups/${group.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: i % 3 === 2 ? 'remove' : 'add', path: 'members', value: shuffled(i).map((value) => ({ value })) }],
        })));
        assert.deepEqual(replies.filter((r) => r.status >= 300).map((r) => `${r.status} ${r.text.slice(0, 200)}`), []);
      } finally {
        await k.destroy();
      }
    });

    test('concurrent PATCHes with If-Match never lose an update: one winner per version, losers get 412', async () => {
      const api = client(servers[0]!);
      const created = await api.post('/Users', newUser());
      assert.equal(created.status, 201, created.text);
      const id = created.body.id;
      const WORKERS = 10;
      const addRole = (i: number) => ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'roles', value: [{ value: `role-${i}` }] }] });

      // Round one: every worker read the same version; exactly one PATCH may win.
      const etag = created.headers.get('etag')!;
      const first = await Promise.all(Array.from({ length: WORKERS }, (_, i) =>
        client(servers[i % servers.length]!).patch(`/Users/${id}`, addRole(i), { 'If-Match': etag })));
      assert.equal(first.filter((r) => r.status === 200).length, 1, first.map((r) => `${r.status} ${r.text.slice(0, 200)}`).join('\n'));
      for (const r of first.filter((x) => x.status !== 200)) {
        assertScimError(r.body, 412, r.text);
      }
      const winners = new Set(first.flatMap((r, i) => (r.status === 200 ? [i] : [])));

      // Then every loser re-reads and retries until it wins: each 200 must survive in the final state.
      let conflicts = 0;
      await Promise.all(Array.from({ length: WORKERS }, async (_, i) => {
        if (winners.has(i)) return;
        const c = client(servers[i % servers.length]!);
        for (let attempt = 0; attempt < 200; attempt++) {
          const cur = await c.get(`/Users/${id}`);
          const r = await c.patch(`/Users/${id}`, addRole(i), { 'If-Match': cur.headers.get('etag')! });
          if (r.status === 200) return void winners.add(i);
          assertScimError(r.body, 412, r.text);
          conflicts++;
        }
      }));
      assert.equal(winners.size, WORKERS);
      const final = await api.get(`/Users/${id}`);
      const roles = new Set((final.body.roles ?? []).map((r: any) => r.value));
      for (let i = 0; i < WORKERS; i++) assert.ok(roles.has(`role-${i}`), `update of worker ${i} was lost: ${[...roles]}`);
      assert.equal(final.body.meta.version, `W/"${1 + WORKERS}"`, 'one version per successful PATCH');
      console.log(`# If-Match race [${store}]: ${WORKERS} winners, ${WORKERS - 1 + conflicts} × 412`);

      // Without If-Match, concurrent PATCHes are re-applied to the current version: all succeed, none is lost.
      const more = await Promise.all(Array.from({ length: WORKERS }, (_, i) =>
        client(servers[i % servers.length]!).patch(`/Users/${id}`, addRole(100 + i))));
      assert.deepEqual(more.map((r) => r.status), more.map(() => 200), more.map((r) => r.text.slice(0, 200)).join('\n'));
      const after2 = await api.get(`/Users/${id}`);
      const roles2 = new Set((after2.body.roles ?? []).map((r: any) => r.value));
      for (let i = 0; i < WORKERS; i++) assert.ok(roles2.has(`role-${100 + i}`), `unconditional update ${i} was lost`);
      assert.equal(roles2.size, 2 * WORKERS);
    });
  });
}
