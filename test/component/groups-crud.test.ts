/**
 * /Groups create, read, replace and delete (RFC 7644 §3.3-§3.6) on each store: the representation (RFC 7643 §4.2),
 * 404s, PUT's keep-what-is-omitted rules, a deleted group brought back by its externalId, externalId uniqueness
 * (displayName is not unique), unknown members refused with nothing created, and versions with If-Match (§3.14).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { client, connect, GROUP_SCHEMA, newUser, rand, stores, useServer, type Reply } from '../helpers/server.ts';
import { assertScimError } from '../reliability/util.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const values = (g: any): string[] => (g.members ?? []).map((m: any) => m.value).sort();

for (const store of stores()) {
  describe(`/Groups CRUD [${store}]`, () => {
    const env = useServer(store);
    const api = () => client(env.server);
    async function users(n: number): Promise<{ id: string; userName: string; displayName?: string }[]> {
      const out = [];
      for (let i = 0; i < n; i++) {
        const r = await api().post('/Users', newUser({ displayName: `Member ${rand()}` }));
        assert.equal(r.status, 201, r.text);
        out.push(r.body);
      }
      return out;
    }
    const group = (extra: Record<string, unknown> = {}) => ({ schemas: [GROUP_SCHEMA], displayName: `Group ${rand()}`, externalId: `g-${rand()}`, ...extra });
    async function created(body: Record<string, unknown>): Promise<Reply> {
      const r = await api().post('/Groups', body);
      assert.equal(r.status, 201, r.text);
      return r;
    }

    test('POST answers 201 with the group, its members, Location = meta.location and ETag = meta.version W/"1"', async () => {
      const [a, b] = await users(2);
      const body = group({ members: [{ value: a!.id }, { value: b!.id }] });
      const r = await created(body);
      assert.match(String(r.headers.get('content-type')), /^application\/scim\+json/);
      assert.deepEqual(r.body.schemas, [GROUP_SCHEMA]);
      assert.match(r.body.id, UUID);
      assert.equal(r.body.displayName, body.displayName);
      assert.equal(r.body.externalId, body.externalId);
      assert.equal(r.body.meta.resourceType, 'Group');
      assert.equal(r.body.meta.version, 'W/"1"');
      assert.equal(r.headers.get('etag'), 'W/"1"');
      assert.equal(r.body.meta.location, `${env.server.base}/Groups/${r.body.id}`);
      assert.equal(r.headers.get('location'), r.body.meta.location);
      assert.equal(r.body.meta.created, r.body.meta.lastModified);
      assert.deepEqual(values(r.body), [a!.id, b!.id].sort());
      const ma = r.body.members.find((m: any) => m.value === a!.id);
      assert.deepEqual(ma, { value: a!.id, display: a!.displayName, $ref: `${env.server.base}/Users/${a!.id}`, type: 'User' });
    });

    test('GET by id returns what POST answered, with its ETag; a group without members has an empty list', async () => {
      const [a] = await users(1);
      const post = await created(group({ members: [{ value: a!.id }] }));
      const got = await api().get(`/Groups/${post.body.id}`);
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.body, post.body);
      assert.equal(got.headers.get('etag'), post.body.meta.version);
      const empty = await created(group());
      const e = await api().get(`/Groups/${empty.body.id}`);
      assert.deepEqual(e.body.members, []);
      assert.equal(e.body.externalId, empty.body.externalId);
      // Without externalId, the attribute is absent (not null).
      const bare = await created({ schemas: [GROUP_SCHEMA], displayName: `Bare ${rand()}` });
      assert.equal('externalId' in (await api().get(`/Groups/${bare.body.id}`)).body, false);
    });

    test('a group that does not exist is 404 for GET, PUT, PATCH and DELETE; a malformed id too', async () => {
      for (const id of [randomUUID(), 'not-a-uuid', '123']) {
        assertScimError((await api().get(`/Groups/${id}`)).body, 404);
        assertScimError((await api().put(`/Groups/${id}`, group())).body, 404);
        assertScimError((await api().patch(`/Groups/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] })).body, 404);
        assertScimError((await api().del(`/Groups/${id}`)).body, 404);
      }
    });

    test('PUT replaces displayName and members, keeps an omitted externalId and omitted members, empties on members: []', async () => {
      const [a, b, c] = await users(3);
      const post = await created(group({ members: [{ value: a!.id }, { value: b!.id }] }));
      const id = post.body.id;
      const put = await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Renamed', members: [{ value: c!.id }] });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.displayName, 'Renamed');
      assert.equal(put.body.externalId, post.body.externalId, 'an omitted externalId keeps the binding');
      assert.deepEqual(values(put.body), [c!.id]);
      assert.equal(put.body.meta.version, 'W/"2"');
      assert.equal(put.headers.get('etag'), 'W/"2"');
      assert.equal(put.body.meta.created, post.body.meta.created);
      // A PUT built from a GET with excludedAttributes=members (no members key) must not empty the group.
      const kept = await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Renamed again' });
      assert.equal(kept.status, 200, kept.text);
      assert.deepEqual(values((await api().get(`/Groups/${id}`)).body), [c!.id]);
      const emptied = await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Renamed again', members: [] });
      assert.equal(emptied.status, 200, emptied.text);
      assert.deepEqual((await api().get(`/Groups/${id}`)).body.members, []);
      // The same body twice changes nothing: the version stays.
      const v = (await api().get(`/Groups/${id}`)).body.meta.version;
      const same = await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'Renamed again', members: [] });
      assert.equal(same.body.meta.version, v);
    });

    test('DELETE answers 204; the group is gone from GET and lists, and its members lose the membership', async () => {
      const [a] = await users(1);
      const post = await created(group({ members: [{ value: a!.id }] }));
      const del = await api().del(`/Groups/${post.body.id}`);
      assert.equal(del.status, 204);
      assert.equal(del.text, '');
      assertScimError((await api().get(`/Groups/${post.body.id}`)).body, 404);
      const listed = await api().get(`/Groups?filter=${encodeURIComponent(`externalId eq "${post.body.externalId}"`)}`);
      assert.equal(listed.body.totalResults, 0);
      assert.deepEqual((await api().get(`/Users/${a!.id}`)).body.groups ?? [], []);
      assertScimError((await api().del(`/Groups/${post.body.id}`)).body, 404);
    });

    test('POST with the externalId of a deleted group brings that group back: same id and created, new name, no members', async () => {
      const [a] = await users(1);
      const post = await created(group({ members: [{ value: a!.id }] }));
      assert.equal((await api().del(`/Groups/${post.body.id}`)).status, 204);
      const again = await created({ schemas: [GROUP_SCHEMA], displayName: 'Back again', externalId: post.body.externalId });
      assert.equal(again.body.id, post.body.id);
      assert.equal(again.body.meta.created, post.body.meta.created);
      assert.equal(again.body.displayName, 'Back again');
      assert.deepEqual(again.body.members, []);
      assert.equal(again.body.meta.version, 'W/"3"', 'create, delete, restore: one version each');
      assert.equal((await api().get(`/Groups/${post.body.id}`)).status, 200);
      const sql = connect(env.server.dbUrl);
      try {
        const ops = await sql('audit_log').where({ resource_id: post.body.id }).orderBy('id').pluck('operation');
        assert.deepEqual(ops.filter((o: string) => /_group$/.test(o)), ['create_group', 'delete_group', 'restore_group']);
      } finally {
        await sql.destroy();
      }
    });

    test('externalId is unique among live groups (409 uniqueness); displayName is not (RFC 7643 §4.2)', async () => {
      const first = await created(group());
      const dup = await api().post('/Groups', group({ externalId: first.body.externalId }));
      assertScimError(dup.body, 409);
      assert.equal(dup.body.scimType, 'uniqueness');
      const other = await created(group());
      const rebind = await api().put(`/Groups/${other.body.id}`, { schemas: [GROUP_SCHEMA], displayName: other.body.displayName, externalId: first.body.externalId });
      assertScimError(rebind.body, 409);
      assert.equal(rebind.body.scimType, 'uniqueness');
      assert.equal((await api().get(`/Groups/${other.body.id}`)).body.externalId, other.body.externalId, 'the refused PUT changed nothing');
      const name = `Same name ${rand()}`;
      const x = await created(group({ displayName: name }));
      const y = await created(group({ displayName: name }));
      assert.notEqual(x.body.id, y.body.id);
    });

    test('a POST naming an unknown or deleted user is 400 invalidValue and creates nothing', async () => {
      const [a, gone] = await users(2);
      assert.equal((await api().del(`/Users/${gone!.id}`)).status, 204);
      for (const bad of [randomUUID(), gone!.id, 'not-a-user']) {
        const body = group({ members: [{ value: a!.id }, { value: bad }] });
        const r = await api().post('/Groups', body);
        assertScimError(r.body, 400);
        assert.equal(r.body.scimType, 'invalidValue');
        const found = await api().get(`/Groups?filter=${encodeURIComponent(`externalId eq "${body.externalId}"`)}`);
        assert.equal(found.body.totalResults, 0, `no group was created for member ${bad}`);
      }
    });

    test('bodies that are not a Group are 400: no displayName, wrong schemas, members not a list or without values', async () => {
      const cases: [unknown, string][] = [
        [{ schemas: [GROUP_SCHEMA] }, 'invalidValue'],
        [{ schemas: [GROUP_SCHEMA], displayName: '' }, 'invalidValue'],
        [{ schemas: [GROUP_SCHEMA], displayName: 42 }, 'invalidValue'],
        [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], displayName: 'x' }, 'invalidSyntax'],
        [{ schemas: [GROUP_SCHEMA], displayName: 'x', members: 'nope' }, 'invalidValue'],
        [{ schemas: [GROUP_SCHEMA], displayName: 'x', members: [{ display: 'no value' }] }, 'invalidValue'],
        [[{ displayName: 'x' }], 'invalidSyntax'],
      ];
      for (const [body, scimType] of cases) {
        const r = await api().post('/Groups', body);
        assertScimError(r.body, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.body.scimType, scimType, `${JSON.stringify(body)}: ${r.text}`);
      }
    });

    test('If-Match: a stale version is 412 for PUT, PATCH and DELETE and changes nothing; the current one or * succeeds', async () => {
      const post = await created(group());
      const id = post.body.id;
      const renamed = await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'v2' });
      assert.equal(renamed.headers.get('etag'), 'W/"2"');
      const stale = { 'If-Match': 'W/"1"' };
      const patch = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'stale' }] };
      assertScimError((await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'stale' }, stale)).body, 412);
      assertScimError((await api().patch(`/Groups/${id}`, patch, stale)).body, 412);
      assertScimError((await api().del(`/Groups/${id}`, stale)).body, 412);
      const now = await api().get(`/Groups/${id}`);
      assert.equal(now.body.displayName, 'v2');
      assert.equal(now.body.meta.version, 'W/"2"');
      const ok = await api().patch(`/Groups/${id}`, patch, { 'If-Match': 'W/"2"' });
      assert.equal(ok.status, 204, ok.text);
      assert.equal(ok.headers.get('etag'), 'W/"3"');
      assert.equal((await api().put(`/Groups/${id}`, { schemas: [GROUP_SCHEMA], displayName: 'v4' }, { 'If-Match': '*' })).status, 200);
      assert.equal((await api().del(`/Groups/${id}`, { 'If-Match': 'W/"4"' })).status, 204);
    });
  });
}
