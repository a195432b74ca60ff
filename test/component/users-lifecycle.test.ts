/**
 * The user lifecycle (issue 2 §6, clients.md E7-E8, O6-O7): deactivation revokes every session and keeps the data,
 * reactivation, DELETE keeps the record and its history, a POST with the same externalId brings back the same person,
 * and a changed externalId is a rebind to an unused value only.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, startServer, stores, type TestDatabase, type TestServer,
} from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const store of stores()) {
  describe(`user lifecycle [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    let sql: Knex;
    async function make(extra: Record<string, unknown> = {}) {
      const res = await api.post('/Users', newUser(extra));
      assert.equal(res.status, 201, res.text);
      return res.body;
    }
    /** Insert workspace sessions for a user, as the chat application would; `revokedAt` for already-ended ones. */
    async function addSessions(userId: string, n: number, revokedAt: number | null = null): Promise<string[]> {
      const ids = Array.from({ length: n }, () => randomUUID());
      const now = Date.now();
      await sql('sessions').insert(ids.map((id) => ({
        id, user_id: userId, token_hash: randomBytes(32).toString('hex'), created_at: now - 1000, expires_at: now + 86_400_000, revoked_at: revokedAt,
      })));
      return ids;
    }
    const sessions = (userId: string) => sql('sessions').where({ user_id: userId }).orderBy('id');
    const auditOps = async (id: string) => (await sql('audit_log').where({ resource_type: 'User', resource_id: id }).orderBy('id')).map((r: any) => r.operation);

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

    test('PATCH active:false revokes every live session of that user only, and keeps the data', async () => {
      const u = await make({ title: 'Keeps', nickName: 'Data' });
      const other = await make();
      await addSessions(u.id, 3);
      const earlier = Date.now() - 60_000;
      await addSessions(u.id, 1, earlier);
      await addSessions(other.id, 2);
      const before = Date.now();

      const res = await api.patch(`/Users/${u.id}`, ops({ op: 'Replace', path: 'active', value: 'False' }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.active, false);
      assert.equal(res.body.title, 'Keeps');
      assert.equal(res.body.nickName, 'Data');
      assert.deepEqual(res.body.emails, u.emails);

      const mine = await sessions(u.id);
      assert.equal(mine.length, 4, 'sessions are revoked, not deleted');
      const revokedNow = mine.filter((s: any) => Number(s.revoked_at) >= before);
      assert.equal(revokedNow.length, 3);
      assert.equal(mine.filter((s: any) => Number(s.revoked_at) === earlier).length, 1, 'an already revoked session keeps its time');
      assert.ok((await sessions(other.id)).every((s: any) => s.revoked_at === null), "another user's sessions are untouched");

      // Still visible to SCIM, by id and by filter (MS-TUT E7: only a hard delete hides a user).
      const got = await api.get(`/Users/${u.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.active, false);
      const listed = await api.get(`/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`);
      assert.equal(listed.body.totalResults, 1);
      assert.equal(listed.body.Resources[0].active, false);

      const row = await sql('users').where({ id: u.id }).first();
      assert.ok(Number(row.deactivated_at) >= before, 'deactivated_at is set');
      assert.deepEqual((await auditOps(u.id)).slice(-2), ['update_user', 'deactivate_user']);
      const deact = await sql('audit_log').where({ resource_id: u.id, operation: 'deactivate_user' }).first();
      assert.deepEqual(JSON.parse(deact.after), { sessionsRevoked: 3 });
    });

    test('active:true reactivates; revoked sessions stay revoked; a second active:false revokes the new ones', async () => {
      const u = await make();
      await addSessions(u.id, 2);
      assert.equal((await api.patch(`/Users/${u.id}`, ops({ op: 'replace', value: { active: false } }))).body.active, false);
      const re = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', value: { active: true } }));
      assert.equal(re.status, 200, re.text);
      assert.equal(re.body.active, true);
      assert.ok((await sessions(u.id)).every((s: any) => s.revoked_at !== null), 'every session is revoked');
      assert.equal((await sql('users').where({ id: u.id }).first()).deactivated_at, null);
      assert.deepEqual((await auditOps(u.id)).filter((o) => o.endsWith('activate_user')), ['deactivate_user', 'reactivate_user']);

      const [fresh] = await addSessions(u.id, 1);
      await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'active', value: false }));
      assert.notEqual((await sql('sessions').where({ id: fresh }).first()).revoked_at, null);
    });

    test('PUT with active:false deactivates too (Okta AIW, clients.md O6)', async () => {
      const u = await make();
      await addSessions(u.id, 1);
      const res = await api.put(`/Users/${u.id}`, { ...u, active: false });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.active, false);
      assert.ok((await sessions(u.id)).every((s: any) => s.revoked_at !== null), 'every session is revoked');
    });

    test('creating a user inactive is allowed and needs no session work', async () => {
      const u = await make({ active: false });
      assert.equal(u.active, false);
      assert.ok(Number((await sql('users').where({ id: u.id }).first()).deactivated_at) > 0, 'deactivated_at is set');
    });

    test('DELETE: 204, then 404 and gone from filters, but the row, its sessions and its history stay', async () => {
      const u = await make({ title: 'Remembered' });
      await addSessions(u.id, 2);
      const del = await api.del(`/Users/${u.id}`);
      assert.equal(del.status, 204);
      assert.equal((await api.get(`/Users/${u.id}`)).status, 404);
      for (const f of [`userName eq "${u.userName}"`, `externalId eq "${u.externalId}"`, `id eq "${u.id}"`]) {
        const listed = await api.get(`/Users?filter=${encodeURIComponent(f)}`);
        assert.equal(listed.status, 200);
        assert.equal(listed.body.totalResults, 0, f);
      }
      const row = await sql('users').where({ id: u.id }).first();
      assert.ok(row, 'the record is kept');
      assert.ok(Number(row.deleted_at) > 0, 'deleted_at is set');
      assert.equal(row.position, 'Remembered');
      assert.ok(row.active === false || row.active === 0, 'a deleted user is inactive');
      const s = await sessions(u.id);
      assert.equal(s.length, 2);
      assert.ok(s.every((x: any) => x.revoked_at !== null), 'deleting ends every session');
      assert.deepEqual(await auditOps(u.id), ['create_user', 'delete_user']);
    });

    test('a POST with the externalId of a deleted user brings back the same id, with history (clients.md E8)', async () => {
      const u = await make({ title: 'Before' });
      assert.equal((await api.del(`/Users/${u.id}`)).status, 204);
      const back = await api.post('/Users', { ...newUser(), externalId: u.externalId, userName: u.userName, title: 'After' });
      assert.equal(back.status, 201, back.text);
      assert.equal(back.body.id, u.id, 'the same person, not a stranger');
      assert.equal(back.body.title, 'After');
      assert.equal(back.body.active, true);
      assert.equal(back.body.meta.created, u.meta.created);
      assert.equal(back.headers.get('location'), `${server.base}/Users/${u.id}`);
      assert.equal((await api.get(`/Users/${u.id}`)).body.title, 'After');
      assert.deepEqual(await auditOps(u.id), ['create_user', 'delete_user', 'restore_user']);
      const row = await sql('users').where({ id: u.id }).first();
      assert.equal(row.deleted_at, null);
      assert.equal(row.deactivated_at, null);
    });

    test('the restored person keeps their workspace username even under a new userName', async () => {
      const u = await make();
      const before = (await sql('users').where({ id: u.id }).first()).username;
      await api.del(`/Users/${u.id}`);
      const back = await api.post('/Users', newUser({ externalId: u.externalId }));
      assert.equal(back.status, 201, back.text);
      assert.equal(back.body.id, u.id);
      assert.equal((await sql('users').where({ id: u.id }).first()).username, before);
    });

    test("a POST with a live user's externalId is 409 uniqueness and changes nothing", async () => {
      const u = await make();
      const res = await api.post('/Users', newUser({ externalId: u.externalId }));
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.scimType, 'uniqueness');
      assert.equal(res.body.status, '409');
      assert.deepEqual((await api.get(`/Users/${u.id}`)).body, u);
    });

    test("while deleted, the userName is free for someone else; the old person's return then collides", async () => {
      const u = await make();
      await api.del(`/Users/${u.id}`);
      const stranger = await api.post('/Users', newUser({ userName: u.userName }));
      assert.equal(stranger.status, 201, stranger.text);
      assert.notEqual(stranger.body.id, u.id);
      const back = await api.post('/Users', newUser({ externalId: u.externalId, userName: u.userName }));
      assert.equal(back.status, 409, back.text);
      assert.equal(back.body.scimType, 'uniqueness');
      assert.equal((await api.get(`/Users/${u.id}`)).status, 404, 'a failed restore leaves the person deleted');
    });

    test('rebind: changing externalId to an unused value keeps the id and is audited as rebind_user', async () => {
      const u = await make();
      const next = `rebound-${rand()}`;
      const res = await api.patch(`/Users/${u.id}`, ops({ op: 'Replace', path: 'externalId', value: next }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.externalId, next);
      assert.equal(res.body.id, u.id);
      const rebind = await sql('audit_log').where({ resource_id: u.id, operation: 'rebind_user' }).first();
      assert.ok(rebind, 'a rebind_user audit row');
      assert.equal(JSON.parse(rebind.before).externalId, u.externalId);
      assert.equal(JSON.parse(rebind.after).externalId, next);
      // The old value is free again; the new one now finds the user.
      const found = await api.get(`/Users?filter=${encodeURIComponent(`externalId eq "${next}"`)}`);
      assert.equal(found.body.Resources[0].id, u.id);
      const put = await api.put(`/Users/${u.id}`, { ...res.body, externalId: `${next}-put` });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.externalId, `${next}-put`);
    });

    test('rebind to an externalId bound to another user, live or deleted, is 409 uniqueness', async () => {
      const u = await make();
      const live = await make();
      const gone = await make();
      await api.del(`/Users/${gone.id}`);
      for (const taken of [live.externalId, gone.externalId]) {
        for (const res of [
          await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'externalId', value: taken })),
          await api.put(`/Users/${u.id}`, { ...u, externalId: taken }),
        ]) {
          assert.equal(res.status, 409, res.text);
          assert.equal(res.body.scimType, 'uniqueness');
        }
      }
      assert.equal((await api.get(`/Users/${u.id}`)).body.externalId, u.externalId);
      // The deleted person can still come back by their own externalId.
      const back = await api.post('/Users', newUser({ externalId: gone.externalId }));
      assert.equal(back.body.id, gone.id);
    });

    test('PATCH remove externalId is 400 mutability: the binding key is never dropped', async () => {
      const u = await make();
      const res = await api.patch(`/Users/${u.id}`, ops({ op: 'remove', path: 'externalId' }));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.scimType, 'mutability');
      assert.equal((await api.get(`/Users/${u.id}`)).body.externalId, u.externalId);
    });

    test('a user created without externalId can be bound later, and then restored by it', async () => {
      const u = await make({ externalId: undefined });
      assert.equal(u.externalId, undefined);
      const ext = `late-${rand()}`;
      const res = await api.patch(`/Users/${u.id}`, ops({ op: 'add', path: 'externalId', value: ext }));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.externalId, ext);
      await api.del(`/Users/${u.id}`);
      const back = await api.post('/Users', newUser({ externalId: ext }));
      assert.equal(back.body.id, u.id);
    });

    test("deleting a manager clears nobody's data, and the report can still be read", async () => {
      const boss = await make();
      const report = await make({ 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: boss.id } });
      assert.equal((await api.del(`/Users/${boss.id}`)).status, 204);
      const got = await api.get(`/Users/${report.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.userName, report.userName);
    });

    test('DELETE leaves each group as a PATCH remove would: new version, no member, a remove_group_member audit row', async () => {
      const x = await make();
      const y = await make();
      const group = async (members: string[]) => {
        const res = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `del-${rand()}`, members: members.map((value) => ({ value })) });
        assert.equal(res.status, 201, res.text);
        return res.body;
      };
      const g = await group([x.id, y.id]);
      const h = await group([x.id]);
      const other = await group([y.id]);
      await new Promise((r) => setTimeout(r, 5)); // lastModified has millisecond precision
      const del = await api.del(`/Users/${x.id}`);
      assert.equal(del.status, 204);

      for (const before of [g, h]) {
        const after = await api.get(`/Groups/${before.id}`);
        assert.equal(after.status, 200);
        assert.notEqual(after.body.meta.version, before.meta.version, 'the version changes');
        assert.equal(after.headers.get('etag'), after.body.meta.version);
        assert.ok(Date.parse(after.body.meta.lastModified) > Date.parse(before.meta.lastModified), 'lastModified moves');
        assert.deepEqual((after.body.members ?? []).map((m: any) => m.value), before.id === g.id ? [y.id] : []);
      }
      const untouched = await api.get(`/Groups/${other.id}`);
      assert.equal(untouched.body.meta.version, other.meta.version, 'a group the person was not in keeps its version');

      const admin = client(server, server.adminToken);
      const audit = await admin.get(`${server.url}/admin/v1/audit?resourceType=Group&resourceId=${g.id}`);
      assert.equal(audit.status, 200, audit.text);
      const removed = audit.body.items.filter((e: any) => e.operation === 'remove_group_member');
      assert.equal(removed.length, 1);
      const deleted = (await sql('audit_log').where({ operation: 'delete_user', resource_id: x.id }).first());
      assert.deepEqual(
        { before: removed[0].before, cause: removed[0].cause, requestId: removed[0].requestId },
        { before: { userId: x.id }, cause: 'delete_user', requestId: deleted.request_id },
      );
    });
  });
}
