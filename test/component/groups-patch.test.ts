/**
 * PATCH /Groups/{id} (RFC 7644 §3.5.2) over HTTP on each store, in the dialects real clients send: member add (list
 * or bare id), Entra's `Remove` with a value list (removes only those), `members[value eq "..."]` (joined by `or`),
 * Okta's no-path replace of `{id, displayName}`, member replace and clear. 204 by default, 200 with the group when
 * `attributes`/`excludedAttributes` ask for it; a PATCH naming an unknown member is 400 and applies nothing.
 * The plan itself is unit-tested in test/unit/group-patch.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { client, connect, GROUP_SCHEMA, newUser, PATCH_OP, rand, stores, useServer } from '../helpers/server.ts';
import { assertScimError } from '../reliability/util.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const store of stores()) {
  describe(`PATCH /Groups [${store}]`, () => {
    const env = useServer(store);
    const api = () => client(env.server);
    async function users(n: number): Promise<string[]> {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await api().post('/Users', newUser());
        assert.equal(r.status, 201, r.text);
        out.push(r.body.id);
      }
      return out;
    }
    async function group(members: string[] = [], extra: Record<string, unknown> = {}): Promise<string> {
      const r = await api().post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Patch ${rand()}`, externalId: `p-${rand()}`, members: members.map((value) => ({ value })), ...extra });
      assert.equal(r.status, 201, r.text);
      return r.body.id;
    }
    const get = async (id: string) => (await api().get(`/Groups/${id}`)).body;
    const members = async (id: string) => ((await get(id)).members ?? []).map((m: any) => m.value).sort();
    async function patch204(id: string, body: unknown): Promise<string> {
      const r = await api().patch(`/Groups/${id}`, body);
      assert.equal(r.status, 204, r.text);
      assert.equal(r.text, '');
      return r.headers.get('etag')!;
    }

    test('add members (a list, one op per member, a bare id): 204 with the new ETag, one version per PATCH', async () => {
      const [a, b, c, d] = await users(4);
      const id = await group();
      assert.equal(await patch204(id, ops({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] })), 'W/"2"');
      assert.equal(await patch204(id, ops({ op: 'Add', path: 'members', value: [{ value: c }] })), 'W/"3"');
      // A bare string id (Microsoft's reference Postman collection sends it).
      assert.equal(await patch204(id, ops({ op: 'add', path: 'members', value: d })), 'W/"4"');
      assert.deepEqual(await members(id), [a, b, c, d].sort());
      assert.equal((await get(id)).meta.version, 'W/"4"');
    });

    test('Entra: Remove with path members and a value list removes only the listed members', async () => {
      const [a, b, c] = await users(3);
      const id = await group([a!, b!, c!]);
      await patch204(id, ops({ op: 'Remove', path: 'members', value: [{ value: a }, { value: c }] }));
      assert.deepEqual(await members(id), [b]);
    });

    test('members[value eq "id"] removes that member; value eq joined by or removes each', async () => {
      const [a, b, c, d] = await users(4);
      const id = await group([a!, b!, c!, d!]);
      await patch204(id, ops({ op: 'remove', path: `members[value eq "${a}"]` }));
      assert.deepEqual(await members(id), [b, c, d].sort());
      await patch204(id, ops({ op: 'remove', path: `members[value eq "${b}" or value eq "${d}"]` }));
      assert.deepEqual(await members(id), [c]);
      // Another filter on members is not a member selector.
      const r = await api().patch(`/Groups/${id}`, ops({ op: 'remove', path: 'members[display eq "x"]' }));
      assertScimError(r.body, 400);
      assert.equal(r.body.scimType, 'invalidFilter');
      assert.deepEqual(await members(id), [c]);
    });

    test('Okta: replace without a path, value {id, displayName}, renames and leaves members alone', async () => {
      const [a, b] = await users(2);
      const id = await group([a!, b!]);
      const name = `Okta renamed ${rand()}`;
      await patch204(id, ops({ op: 'replace', value: { id, displayName: name } }));
      const g = await get(id);
      assert.equal(g.displayName, name);
      assert.deepEqual(g.members.map((m: any) => m.value).sort(), [a, b].sort());
      // Okta's remove-then-add of the same member in one PATCH is no change at all: the version stays.
      const v = g.meta.version;
      assert.equal(await patch204(id, ops({ op: 'remove', path: 'members', value: [{ value: a }] }, { op: 'add', path: 'members', value: [{ value: a }] })), v);
      assert.deepEqual(await members(id), [a, b].sort());
    });

    test('replace members sets exactly the given members; remove without a value clears them', async () => {
      const [a, b, c] = await users(3);
      const id = await group([a!, b!]);
      await patch204(id, ops({ op: 'replace', path: 'members', value: [{ value: b }, { value: c }] }));
      assert.deepEqual(await members(id), [b, c].sort());
      await patch204(id, ops({ op: 'remove', path: 'members' }));
      assert.deepEqual(await members(id), []);
    });

    test('204 without attributes; 200 with the group when attributes or excludedAttributes ask for it', async () => {
      const [a, b] = await users(2);
      const id = await group([a!]);
      const withMembers = await api().patch(`/Groups/${id}?attributes=members`, ops({ op: 'add', path: 'members', value: [{ value: b }] }));
      assert.equal(withMembers.status, 200, withMembers.text);
      assert.deepEqual(withMembers.body.members.map((m: any) => m.value).sort(), [a, b].sort());
      assert.equal(withMembers.body.displayName, undefined, 'only what attributes asks for (and id, schemas)');
      assert.equal(withMembers.body.id, id);
      assert.equal(withMembers.headers.get('etag'), 'W/"2"');
      const without = await api().patch(`/Groups/${id}?excludedAttributes=members`, ops({ op: 'replace', path: 'displayName', value: 'Renamed' }));
      assert.equal(without.status, 200, without.text);
      assert.equal(without.body.displayName, 'Renamed');
      assert.equal('members' in without.body, false);
      assert.equal(without.body.meta.version, 'W/"3"');
    });

    test('a PATCH naming an unknown or deleted member is 400 invalidValue and applies none of its operations', async () => {
      const [a, b, gone] = await users(3);
      assert.equal((await api().del(`/Users/${gone}`)).status, 204);
      const id = await group([a!]);
      const before = await get(id);
      for (const bad of [randomUUID(), gone!, 'not-a-user']) {
        for (const body of [
          ops({ op: 'add', path: 'members', value: [{ value: b }, { value: bad }] }),
          ops({ op: 'replace', path: 'displayName', value: 'Should not stick' }, { op: 'add', path: 'members', value: [{ value: bad }] }),
          ops({ op: 'replace', path: 'members', value: [{ value: b }, { value: bad }] }),
        ]) {
          const r = await api().patch(`/Groups/${id}`, body);
          assertScimError(r.body, 400, r.text);
          assert.equal(r.body.scimType, 'invalidValue', r.text);
        }
      }
      assert.deepEqual(await get(id), before, 'neither members nor name nor version changed');
      const sql = connect(env.server.dbUrl);
      try {
        const rows = await sql('audit_log').where({ resource_id: id }).pluck('operation');
        assert.deepEqual(rows.sort(), ['add_group_member', 'create_group'], 'no audit row of a refused PATCH');
      } finally {
        await sql.destroy();
      }
    });

    test('a PATCH that changes nothing (adding a member twice, removing a non-member) keeps the version', async () => {
      const [a, b] = await users(2);
      const id = await group([a!]);
      assert.equal(await patch204(id, ops({ op: 'add', path: 'members', value: [{ value: a }] })), 'W/"1"');
      assert.equal(await patch204(id, ops({ op: 'remove', path: 'members', value: [{ value: b }] })), 'W/"1"');
      assert.equal(await patch204(id, ops({ op: 'replace', value: { id } })), 'W/"1"');
    });

    test('refused operations: 400 with the RFC 7644 §3.12 scimType, nothing applied', async () => {
      const [a] = await users(1);
      const id = await group([a!]);
      const before = await get(id);
      const cases: [unknown, string][] = [
        [ops({ op: 'remove', path: 'displayName' }), 'mutability'],
        [ops({ op: 'remove', path: 'externalId' }), 'mutability'],
        [ops({ op: 'replace', path: 'id', value: randomUUID() }), 'mutability'],
        [ops({ op: 'replace', path: 'nickName', value: 'x' }), 'invalidPath'],
        [ops({ op: 'add', path: 'members[value eq "x"]', value: [{ value: a }] }), 'invalidPath'],
        [ops({ op: 'remove' }), 'noTarget'],
        [ops({ op: 'copy', path: 'members', value: [{ value: a }] }), 'invalidSyntax'],
        [ops({ op: 'replace', path: 'displayName', value: '' }), 'invalidValue'],
        [ops({ op: 'add', path: 'members', value: [{ display: 'no value' }] }), 'invalidValue'],
        [{ schemas: [PATCH_OP], Operations: [] }, 'invalidValue'],
        [{ Operations: [{ op: 'add', path: 'members', value: [{ value: a }] }] }, 'invalidSyntax'],
      ];
      for (const [body, scimType] of cases) {
        const r = await api().patch(`/Groups/${id}`, body);
        assertScimError(r.body, 400, `${JSON.stringify(body)}: ${r.text}`);
        assert.equal(r.body.scimType, scimType, `${JSON.stringify(body)}: ${r.text}`);
      }
      assert.deepEqual(await get(id), before);
    });

    test('rename and externalId replace in one PATCH: one version, both applied, both audited', async () => {
      const id = await group();
      const ext = `rebound-${rand()}`;
      assert.equal(await patch204(id, ops({ op: 'replace', path: 'displayName', value: 'Both' }, { op: 'replace', path: 'externalId', value: ext })), 'W/"2"');
      const g = await get(id);
      assert.equal(g.displayName, 'Both');
      assert.equal(g.externalId, ext);
      const sql = connect(env.server.dbUrl);
      try {
        const rows = await sql('audit_log').where({ resource_id: id }).pluck('operation');
        assert.deepEqual(rows.sort(), ['create_group', 'rebind_group', 'rename_group']);
      } finally {
        await sql.destroy();
      }
    });
  });
}
