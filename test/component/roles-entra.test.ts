/**
 * Entra app role assignments become system roles (issue 15), replayed in every shape Entra sends them (Microsoft
 * Learn, "Customize user provisioning attribute-mappings": AppRoleAssignmentsComplex and
 * AssertiveAppRoleAssignmentsComplex): objects on POST, a JSON-encoded string per role on PATCH add and remove,
 * a whole-list replace. GET returns the roles as the POST form; the role itself shows in the admin API and the audit.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { newUser, PATCH_OP, rand, stores, useServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';

const ROLE_TYPE = 'WindowsAzureActiveDirectoryRole';
/** AppRoleAssignmentsComplex's PATCH element: the role as a JSON string (a fresh app role id each, as Entra's are). */
const encoded = (value: string) => ({ value: JSON.stringify({ id: `06b07648-ecfe-589f-9d2f-${value.length.toString().padStart(12, '0')}`, value, displayName: value }) });
const entraRole = (value: string) => ({ primary: false, type: ROLE_TYPE, display: value, value });

for (const store of stores()) {
  describe(`Entra app roles -> system roles [${store}]`, () => {
    const env = useServer(store, { env: { ROLE_MAPPING: 'Admin=admin,Guest=guest,User=member' } });
    let ws: ReturnType<typeof workspace>;
    before(() => { ws = workspace(env.server); });

    const access = async (id: string) => ws.ok(await ws.admin.get(`${ws.A}/users/${id}/memberships`), 200).body;
    const patch = async (id: string, Operations: unknown[]) => ws.ok(await ws.scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations }), 200, 204);
    const roleRows = async (id: string) => (await ws.audit(`resourceId=${id}`)).filter((r) => r.operation === 'change_role');

    test('POST with app role objects: the role is applied, GET returns them as sent, one change_role row', async () => {
      const roles = [entraRole('Admin')];
      const created = ws.ok(await ws.scim.post('/Users', newUser({ roles })), 201).body;
      assert.deepEqual(created.roles, roles);
      assert.deepEqual((await ws.scim.get(`/Users/${created.id}`)).body.roles, roles);
      const a = await access(created.id);
      assert.equal(a.systemRole, 'admin');
      assert.deepEqual(a.roles, ['Admin']);
      const rows = await roleRows(created.id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].before, null);
      assert.deepEqual(rows[0].after, { systemRole: 'admin', roles: ['Admin'] });
      assert.equal(rows[0].actor.startsWith('token:'), true);
    });

    test('a person with no roles is a member, and no change_role row is written', async () => {
      const id = await ws.user();
      assert.equal((await access(id)).systemRole, 'member');
      assert.deepEqual(await roleRows(id), []);
    });

    test('PATCH add in the stringified form promotes; Remove with the stringified value demotes and keeps the other roles', async () => {
      const id = await ws.user({ roles: [entraRole('User')] });
      await patch(id, [{ op: 'Add', path: 'roles', value: [encoded('Admin')] }]);
      let got = (await ws.scim.get(`/Users/${id}`)).body;
      assert.deepEqual(got.roles.map((r: any) => [r.value, r.display]), [['User', 'User'], ['Admin', 'Admin']]);
      assert.equal((await access(id)).systemRole, 'admin');

      await patch(id, [{ op: 'Remove', path: 'roles', value: [encoded('Admin')] }]);
      got = (await ws.scim.get(`/Users/${id}`)).body;
      assert.deepEqual(got.roles, [entraRole('User')]);
      assert.equal((await access(id)).systemRole, 'member');
      assert.deepEqual((await roleRows(id)).map((r) => [r.before.systemRole, r.after.systemRole]), [['member', 'admin'], ['admin', 'member']]);
    });

    test('removing a role the person does not hold changes nothing', async () => {
      const id = await ws.user({ roles: [entraRole('Admin')] });
      const before = (await ws.scim.get(`/Users/${id}`)).body;
      await patch(id, [{ op: 'Remove', path: 'roles', value: [encoded('Guest')] }]);
      const after = (await ws.scim.get(`/Users/${id}`)).body;
      assert.deepEqual(after.roles, before.roles);
      assert.equal(after.meta.version, before.meta.version);
      assert.equal((await access(id)).systemRole, 'admin');
    });

    test('AssertiveAppRoleAssignmentsComplex replaces the whole list: a guest', async () => {
      const id = await ws.user({ roles: [entraRole('Admin')] });
      await patch(id, [{ op: 'replace', path: 'roles', value: [entraRole('Guest')] }]);
      assert.deepEqual((await ws.scim.get(`/Users/${id}`)).body.roles, [entraRole('Guest')]);
      assert.equal((await access(id)).systemRole, 'guest');
    });

    test('a single encoded element (not a list) and a no-path value are understood too', async () => {
      const id = await ws.user();
      await patch(id, [{ op: 'add', path: 'roles', value: encoded('Guest') }]);
      assert.equal((await access(id)).systemRole, 'guest');
      await patch(id, [{ op: 'add', value: { roles: [encoded('Admin')] } }]);
      assert.equal((await access(id)).systemRole, 'admin');
      assert.deepEqual((await access(id)).roles, ['Guest', 'Admin']);
    });

    test('precedence: the highest mapped role wins (admin over member over guest)', async () => {
      const both = await ws.user({ roles: [entraRole('Guest'), entraRole('Admin')] });
      assert.equal((await access(both)).systemRole, 'admin');
      const guestAndUser = await ws.user({ roles: [entraRole('Guest'), entraRole('User')] });
      assert.equal((await access(guestAndUser)).systemRole, 'member');
      const guest = await ws.user({ roles: [entraRole('guest')] }); // role values compare case-insensitively
      assert.equal((await access(guest)).systemRole, 'guest');
    });

    test('an unmapped role is kept as sent, ignored, and logged once however often it comes', async () => {
      // Once per process: this file's stores share one, so each store's run sends a value of its own.
      const role = `Contributor-${store}-${rand()}`;
      const a = await ws.user({ roles: [entraRole(role)] });
      const b = await ws.user({ roles: [entraRole(role), entraRole('Admin')] });
      assert.deepEqual((await ws.scim.get(`/Users/${a}`)).body.roles, [entraRole(role)]);
      assert.equal((await access(a)).systemRole, 'member');
      assert.equal((await access(b)).systemRole, 'admin');
      const lines = env.server.output().split('\n').filter((l) => l.includes(role.toLowerCase()) && l.includes('role mapping'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.equal(JSON.parse(lines[0]!).level, 'warn');
    });

    test("the workspace's own role ids (Okta /Roles) need no mapping; PUT sets roles like POST", async () => {
      const created = ws.ok(await ws.scim.post('/Users', newUser()), 201).body;
      const { id, meta, ...body } = created;
      ws.ok(await ws.scim.put(`/Users/${id}`, { ...body, roles: [{ value: 'system_admin', display: 'System Admin' }] }), 200);
      assert.equal((await access(id)).systemRole, 'admin');
      ws.ok(await ws.scim.put(`/Users/${id}`, { ...body, roles: [{ value: 'system_guest' }] }), 200);
      assert.equal((await access(id)).systemRole, 'guest');
      // A PUT without roles (Okta echoing a GET of someone never given one) makes them a member again.
      ws.ok(await ws.scim.put(`/Users/${id}`, body), 200);
      assert.equal((await access(id)).systemRole, 'member');
    });

    test('remove of the whole roles attribute makes a member', async () => {
      const id = await ws.user({ roles: [entraRole('Admin'), entraRole('Guest')] });
      await patch(id, [{ op: 'remove', path: 'roles' }]);
      assert.equal((await ws.scim.get(`/Users/${id}`)).body.roles, undefined);
      assert.equal((await access(id)).systemRole, 'member');
    });

    test('an admin cannot make a guest a team admin by hand (409 guest_cannot_be_admin); a plain add works', async () => {
      const id = await ws.user({ roles: [entraRole('Guest')] });
      const t = await ws.team(`guestadm-${rand()}`);
      const refused = await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: id, schemeAdmin: true });
      assert.equal(refused.status, 409, refused.text);
      assert.equal(refused.body.error.code, 'guest_cannot_be_admin');
      ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: id }), 201);
      const m = await access(id);
      assert.deepEqual(m.teams.map((x: any) => [x.teamId, x.schemeAdmin]), [[t.id, false]]);
      assert.deepEqual(m.channels, [], 'a guest joins no default channel (JoinUserToTeam skips them for guests)');
    });

    test('a role change is an outbox user change in the same transaction as its audit row', async () => {
      const id = await ws.user();
      await patch(id, [{ op: 'Add', path: 'roles', value: [encoded('Admin')] }]);
      const rows = await roleRows(id);
      assert.equal(rows.length, 1);
      const update = (await ws.audit(`resourceId=${id}`)).find((r) => r.operation === 'update_user');
      assert.equal(update.requestId, rows[0].requestId, 'one request, one transaction');
    });
  });
}
