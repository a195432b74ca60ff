/**
 * Okta entitlements assigned to people become team and channel memberships (issue 15): Okta Identity Governance sends
 * the ids /Entitlements lists in `entitlements[].value` (Okta's "Build a SCIM 2.0 server with entitlements"), on
 * POST, PUT and PATCH. Memberships are caused `entitlement`, audited, taken away with the entitlement, and the
 * group-constrained rules still hold.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { newUser, PATCH_OP, rand, stores, useServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

const ent = (value: string, type = 'Team') => ({ value, display: value, type });

for (const store of stores()) {
  describe(`Okta entitlements -> memberships [${store}]`, () => {
    const env = useServer(store, { env: { ROLE_ADMIN_ENTITLEMENTS: 'true' } });
    let ws: ReturnType<typeof workspace>;
    before(() => { ws = workspace(env.server); });

    const patch = async (id: string, Operations: unknown[]) => ws.ok(await ws.scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations }), 200, 204);
    const memberRows = async (id: string) => (await ws.audit(`resourceId=${id}`)).filter((r) => /^(team|channel)_(add|remove|promote|demote)$/.test(r.operation));

    test('POST with a team entitlement: member of the team and its default channels, audited with cause entitlement', async () => {
      const tn = teamName('ent');
      const team = await ws.team(tn);
      const id = await ws.user({ entitlements: [ent(`team:${tn}`)] });
      const m = await ws.memberships(id);
      assert.deepEqual(m.teams.get(tn), { active: true, schemeAdmin: false, addedBy: 'entitlement', removedBy: null });
      assert.equal(m.channels.get(`${tn}/town-square`)?.addedBy, 'default_channel');
      assert.equal(m.channels.get(`${tn}/off-topic`)?.active, true);
      const rows = await memberRows(id);
      assert.deepEqual(rows.map((r) => [r.operation, r.cause]), [['team_add', 'entitlement'], ['channel_add', 'default_channel'], ['channel_add', 'default_channel']]);
      assert.equal(rows[0].after.teamId, team.id);
      assert.equal(rows[0].after.entitlement, `team:${tn}`);
      // SCIM returns the entitlement as sent; the admin API shows it behind the membership.
      assert.deepEqual((await ws.scim.get(`/Users/${id}`)).body.entitlements, [{ ...ent(`team:${tn}`), primary: false }]);
      const access = ws.ok(await ws.admin.get(`${ws.A}/users/${id}/memberships`), 200).body;
      assert.deepEqual(access.entitlements, [`team:${tn}`]);
    });

    test('PATCH add of a channel entitlement brings its team first; remove by filter takes both away again', async () => {
      const tn = teamName('entch');
      const team = await ws.team(tn);
      const backend = await ws.channel(team.id, 'backend', { type: 'P' });
      const id = await ws.user();
      await patch(id, [{ op: 'add', path: 'entitlements', value: [ent(`channel:${tn}:backend`, 'Channel')] }]);
      let m = await ws.memberships(id);
      assert.equal(m.teams.get(tn)?.addedBy, 'entitlement');
      assert.equal(m.channels.get(`${tn}/backend`)?.addedBy, 'entitlement');
      assert.equal(m.channels.get(`${tn}/town-square`)?.active, true);

      await patch(id, [{ op: 'remove', path: `entitlements[value eq "channel:${tn}:backend"]` }]);
      m = await ws.memberships(id);
      assert.deepEqual(m.channels.get(`${tn}/backend`), { active: false, schemeAdmin: false, addedBy: 'entitlement', removedBy: 'entitlement' });
      assert.deepEqual(m.teams.get(tn), { active: false, schemeAdmin: false, addedBy: 'entitlement', removedBy: 'entitlement' });
      // Leaving the team left its default channels too, as Mattermost's LeaveTeam does.
      assert.equal(m.channels.get(`${tn}/town-square`)?.removedBy, `team:${team.id}`);
      const removed = (await memberRows(id)).filter((r) => r.operation.endsWith('_remove'));
      assert.deepEqual(removed.map((r) => r.cause).sort(), ['entitlement', 'entitlement', `team:${team.id}`, `team:${team.id}`].sort());
      assert.equal(removed.find((r) => r.operation === 'channel_remove' && r.cause === 'entitlement').before.channelId, backend);
    });

    test('removing an entitlement leaves memberships a group or an admin gave', async () => {
      const tn = teamName('entkeep');
      const team = await ws.team(tn);
      const id = await ws.user();
      const g = await ws.group([id]);
      await ws.linkTeam(g, team.id);
      await patch(id, [{ op: 'add', path: 'entitlements', value: [ent(`team:${tn}`)] }]);
      await patch(id, [{ op: 'remove', path: 'entitlements' }]);
      assert.deepEqual((await ws.memberships(id)).teams.get(tn), { active: true, schemeAdmin: false, addedBy: `group:${g}`, removedBy: null });
    });

    test('a group-constrained team admits nobody through an entitlement that no linked group holds', async () => {
      const tn = teamName('entcon');
      await ws.team(tn, { groupConstrained: true });
      const id = await ws.user({ entitlements: [ent(`team:${tn}`)] });
      assert.equal((await ws.memberships(id)).teams.get(tn), undefined);
      assert.deepEqual((await ws.scim.get(`/Users/${id}`)).body.entitlements.map((e: any) => e.value), [`team:${tn}`]);
    });

    test('admin flavours make a team or channel admin, and demote when taken away', async () => {
      const tn = teamName('entadm');
      const team = await ws.team(tn);
      await ws.channel(team.id, 'ops');
      const id = await ws.user({ entitlements: [ent(`team:${tn}:admin`, 'Team admin'), ent(`channel:${tn}:ops:admin`, 'Channel admin')] });
      let m = await ws.memberships(id);
      assert.equal(m.teams.get(tn)?.schemeAdmin, true);
      assert.equal(m.channels.get(`${tn}/ops`)?.schemeAdmin, true);
      // Keep membership, drop the admin flavour: a demotion, not a removal.
      await patch(id, [{ op: 'replace', path: 'entitlements', value: [ent(`team:${tn}`), ent(`channel:${tn}:ops`, 'Channel')] }]);
      m = await ws.memberships(id);
      assert.deepEqual(m.teams.get(tn), { active: true, schemeAdmin: false, addedBy: 'entitlement', removedBy: null });
      assert.equal(m.channels.get(`${tn}/ops`)?.schemeAdmin, false);
      const roles = (await memberRows(id)).filter((r) => /_(promote|demote)$/.test(r.operation)).map((r) => [r.operation, r.cause]).sort();
      assert.deepEqual(roles, [['channel_demote', 'entitlement'], ['team_demote', 'entitlement']]);
    });

    test('a newly granted entitlement brings back a membership an admin removed; an unchanged one does not', async () => {
      const tn = teamName('entback');
      const team = await ws.team(tn);
      const id = await ws.user({ entitlements: [ent(`team:${tn}`)] });
      ws.ok(await ws.admin.del(`${ws.A}/teams/${team.id}/members/${id}`), 200, 204);
      // Okta PUTs the user again with the same entitlement: the admin's removal stands.
      const got = (await ws.scim.get(`/Users/${id}`)).body;
      const { meta, ...body } = got;
      ws.ok(await ws.scim.put(`/Users/${id}`, { ...body, title: 'changed' }), 200);
      assert.equal((await ws.memberships(id)).teams.get(tn)?.active, false);
      // Taken away and granted again: the grant is new, and it is the IdP admin's explicit decision.
      await patch(id, [{ op: 'remove', path: 'entitlements' }]);
      await patch(id, [{ op: 'add', path: 'entitlements', value: [ent(`team:${tn}`)] }]);
      const m = await ws.memberships(id);
      assert.deepEqual(m.teams.get(tn), { active: true, schemeAdmin: false, addedBy: 'entitlement', removedBy: null });
      assert.equal((await memberRows(id)).filter((r) => r.operation === 'team_add').at(-1).after.readded, true);
    });

    test('a deactivated person is given nothing until reactivated', async () => {
      const tn = teamName('entoff');
      await ws.team(tn);
      const id = await ws.user({ active: false, entitlements: [ent(`team:${tn}`)] });
      assert.equal((await ws.memberships(id)).teams.get(tn), undefined);
      await ws.setActive(id, true);
      assert.equal((await ws.memberships(id)).teams.get(tn)?.addedBy, 'entitlement');
    });

    test('values that name no entitlement of ours are kept and ignored', async () => {
      const tn = teamName('entnone');
      const values = [ent('License-Pro', 'License'), ent(`team:${tn}`), ent(`channel:${tn}:missing`, 'Channel')];
      const created = ws.ok(await ws.scim.post('/Users', newUser({ entitlements: values })), 201).body;
      assert.deepEqual(created.entitlements.map((e: any) => e.value), values.map((v) => v.value));
      const m = await ws.memberships(created.id);
      assert.equal(m.teams.size + m.channels.size, 0);
    });

    test('admin flavours are ignored when the mapping does not offer them', async () => {
      // The same server offers them; a value with a flavour on a team that is not live names nothing either way.
      const id = await ws.user({ entitlements: [ent(`team:nosuch-${rand()}:admin`)] });
      assert.equal((await ws.memberships(id)).teams.size, 0);
    });
  });

  describe(`Okta entitlements without admin flavours [${store}]`, () => {
    const env = useServer(store);
    let ws: ReturnType<typeof workspace>;
    before(() => { ws = workspace(env.server); });

    test('team:<name>:admin grants nothing, not even membership, when adminEntitlements is off', async () => {
      const tn = teamName('entoffer');
      await ws.team(tn);
      const id = await ws.user({ entitlements: [ent(`team:${tn}:admin`, 'Team admin')] });
      assert.equal((await ws.memberships(id)).teams.get(tn), undefined);
    });
  });
}
