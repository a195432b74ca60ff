/**
 * The audit log (issue 2 §8): every change writes rows in the same transaction, with the actor token (its name, never
 * its value), the request id the client sent, the operation, the resource and before/after without secrets.
 * The table is append-only, enforced by the database.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  client, connect, createDatabase, newUser, PATCH_OP, startServer, stores, type TestDatabase, type TestServer,
} from '../helpers/server.ts';
import { createToken } from '../../src/store/tokens.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const PASSWORD = 'Pa55word-never-logged-7f3c';

for (const store of stores()) {
  describe(`audit log [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    let sql: Knex;
    const rowsFor = (requestId: string) => sql('audit_log').where({ request_id: requestId }).orderBy('id');
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

    test('create, update, patch, deactivate and delete each write rows with actor, request id, before and after', async () => {
      const rid = () => `req-${randomUUID()}`;
      const ids = { create: rid(), put: rid(), patch: rid(), deactivate: rid(), del: rid() };
      const created = await api.post('/Users', newUser({ password: PASSWORD }), { 'X-Request-Id': ids.create });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.get('x-request-id'), ids.create);
      const u = created.body;
      await api.put(`/Users/${u.id}`, { ...u, title: 'Put', password: PASSWORD }, { 'X-Request-Id': ids.put });
      await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'Patched' }), { 'X-Request-Id': ids.patch });
      await api.patch(`/Users/${u.id}`, ops({ op: 'replace', value: { active: false, password: PASSWORD } }), { 'X-Request-Id': ids.deactivate });
      assert.equal((await api.del(`/Users/${u.id}`, { 'X-Request-Id': ids.del })).status, 204);

      const c = await rowsFor(ids.create);
      assert.deepEqual(c.map((r: any) => r.operation), ['create_user']);
      assert.equal(c[0].actor, 'token:env-scim');
      assert.equal(c[0].resource_type, 'User');
      assert.equal(c[0].resource_id, u.id);
      assert.equal(c[0].before, null);
      const afterCreate = JSON.parse(c[0].after);
      assert.equal(afterCreate.userName, u.userName);
      assert.equal(afterCreate.externalId, u.externalId);
      assert.equal(typeof afterCreate.username, 'string');
      assert.ok(Math.abs(Number(c[0].at) - Date.parse(u.meta.created)) < 5000, 'Math.abs(Number(c[0].at) - Date.parse(u.meta.created)) < 5000');

      const p = await rowsFor(ids.put);
      assert.deepEqual(p.map((r: any) => r.operation), ['update_user']);
      assert.equal(JSON.parse(p[0].before).title, undefined);
      assert.equal(JSON.parse(p[0].after).title, 'Put');

      const pa = await rowsFor(ids.patch);
      assert.deepEqual(pa.map((r: any) => r.operation), ['update_user']);
      assert.equal(JSON.parse(pa[0].before).title, 'Put');
      assert.equal(JSON.parse(pa[0].after).title, 'Patched');

      const d = await rowsFor(ids.deactivate);
      assert.deepEqual(d.map((r: any) => r.operation), ['update_user', 'deactivate_user']);
      assert.equal(JSON.parse(d[0].before).active, true);
      assert.equal(JSON.parse(d[0].after).active, false);

      const del = await rowsFor(ids.del);
      assert.deepEqual(del.map((r: any) => r.operation), ['delete_user']);
      assert.equal(JSON.parse(del[0].before).externalId, u.externalId);

      // No secret anywhere in the log.
      const all = await sql('audit_log').where({ resource_id: u.id });
      assert.equal(all.length, 6);
      const text = JSON.stringify(all);
      assert.ok(!text.includes(PASSWORD), 'a password never reaches the audit log');
      assert.ok(!text.includes(server.token), 'the token never reaches the audit log');
      assert.ok(!/"password"/i.test(text), '!/"password"/i.test(text)');
    });

    test('the actor is the managed token by name, never its value', async () => {
      const k = connect(server.dbUrl);
      try {
        const t = await createToken(k, 'entra-audit', 'scim', 'test');
        assert.ok(t, 'token created');
        const rid = `req-${randomUUID()}`;
        const res = await client(server, t.token).post('/Users', newUser(), { 'X-Request-Id': rid });
        assert.equal(res.status, 201, res.text);
        const [row] = await rowsFor(rid);
        assert.equal(row.actor, 'token:entra-audit');
        assert.ok(!JSON.stringify(row).includes(t.token), 'the token value never reaches the audit log');
      } finally {
        await k.destroy();
      }
    });

    test('a request without a usable X-Request-Id gets a generated one, echoed and recorded', async () => {
      const res = await api.post('/Users', newUser(), { 'X-Request-Id': 'has spaces and "quotes"' });
      assert.equal(res.status, 201, res.text);
      const rid = res.headers.get('x-request-id')!;
      assert.match(rid, /^[0-9a-f-]{36}$/);
      const [row] = await rowsFor(rid);
      assert.equal(row.resource_id, res.body.id);
    });

    test('a rejected change writes no audit row (same transaction)', async () => {
      const u = (await api.post('/Users', newUser({ title: 'Same' }))).body;
      const rid = `req-${randomUUID()}`;
      assert.equal((await api.post('/Users', newUser({ userName: u.userName }), { 'X-Request-Id': rid })).status, 409);
      const rid2 = `req-${randomUUID()}`;
      assert.equal((await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'x' }), { 'X-Request-Id': rid2, 'If-Match': 'W/"99"' })).status, 412);
      const rid3 = `req-${randomUUID()}`;
      assert.equal((await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: u.title }), { 'X-Request-Id': rid3 })).status, 200);
      assert.deepEqual(await rowsFor(rid), []);
      assert.deepEqual(await rowsFor(rid2), []);
      assert.deepEqual(await rowsFor(rid3), [], 'a PATCH that changes nothing records nothing');
    });

    test('restore and rebind are recorded', async () => {
      const u = (await api.post('/Users', newUser())).body;
      await api.del(`/Users/${u.id}`);
      const rid = `req-${randomUUID()}`;
      const back = await api.post('/Users', newUser({ externalId: u.externalId }), { 'X-Request-Id': rid });
      assert.equal(back.body.id, u.id);
      assert.deepEqual((await rowsFor(rid)).map((r: any) => [r.operation, r.resource_id]), [['restore_user', u.id]]);
      const rid2 = `req-${randomUUID()}`;
      await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'externalId', value: `${u.externalId}-new` }), { 'X-Request-Id': rid2 });
      assert.deepEqual((await rowsFor(rid2)).map((r: any) => r.operation), ['rebind_user']);
    });

    test('audit_log rejects UPDATE and DELETE', async () => {
      const [row] = await sql('audit_log').orderBy('id').limit(1);
      assert.ok(row, 'there is an audit row');
      await assert.rejects(sql('audit_log').where({ id: row.id }).update({ operation: 'tampered' }), /append-only/);
      await assert.rejects(sql('audit_log').where({ id: row.id }).delete(), /append-only/);
      await assert.rejects(sql('audit_log').delete(), /append-only/);
      const again = await sql('audit_log').where({ id: row.id }).first();
      assert.equal(again.operation, row.operation);
    });
  });
}
