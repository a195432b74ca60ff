/**
 * An Entra-style run with the connector on, against the Mattermost contract fake, on each store: create people,
 * update them, link a group to a team and a channel, promote through the link, deactivate, reactivate, delete, take
 * people out of the group, archive a channel. After each step the outbox drains and Mattermost mirrors the store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PATCH_OP, stores } from '../helpers/server.ts';
import { workspace, teamName } from '../helpers/workspace-http.ts';
import { assertMirrors, drained, parked, startRig, type ConnectorRig } from '../helpers/connector.ts';

for (const store of stores()) {
  describe(`connector lifecycle into Mattermost (${store})`, () => {
    let rig: ConnectorRig;
    let ws: ReturnType<typeof workspace>;
    before(async () => {
      rig = await startRig(store);
      ws = workspace(rig.server);
    });
    after(async () => rig?.stop());

    const settle = async () => {
      await drained(rig.sql);
      assert.deepEqual(await parked(rig.sql), [], 'nothing parked');
      await assertMirrors(rig.sql, rig.mm);
    };
    const mmUser = async (id: string) => {
      const b = await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first();
      assert.ok(b, `user ${id} is bound`);
      return rig.mm.state.users.get(b.mm_id)!;
    };

    let alice: string, bob: string, carol: string, group: string, team: { id: string; channels: Record<string, string> }, channel: string;

    test('people created by SCIM get Mattermost accounts, verified and without a welcome email', async () => {
      alice = await ws.user({ name: { givenName: 'Alice', familyName: 'Anders' } });
      bob = await ws.user();
      carol = await ws.user();
      await settle();
      const a = await mmUser(alice);
      assert.equal(a.first_name, 'Alice');
      assert.equal((a as { email_verified?: boolean }).email_verified, true);
      assert.equal(a.auth_service, '');
      const audit = await ws.audit(`resourceType=User&resourceId=${alice}`);
      assert.ok(audit.some((r) => r.operation === 'connector_deliver' && r.after.changes.some((c: string) => c.startsWith('created as'))), 'the delivery is audited');
    });

    test('an attribute change reaches Mattermost as a patch', async () => {
      const r = await ws.scim.patch(`/Users/${alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Alicia' }, { op: 'replace', path: 'title', value: 'Engineer' }] });
      assert.ok([200, 204].includes(r.status), r.text);
      await settle();
      const a = await mmUser(alice);
      assert.equal(a.first_name, 'Alicia');
      assert.equal(a.position, 'Engineer');
    });

    test('a group linked to a team and a channel makes its members join both, with admin by the link', async () => {
      team = await ws.team(teamName('eng'), { groupConstrained: true });
      channel = await ws.channel(team.id, 'backend', { type: 'P' });
      group = await ws.group([alice, bob]);
      await ws.linkTeam(group, team.id, { autoAdd: true });
      await ws.linkChannel(group, channel, { autoAdd: true, schemeAdmin: true });
      await settle();
      const tb = await rig.sql('mattermost_bindings').where({ kind: 'team', local_id: team.id }).first();
      const t = rig.mm.state.teams.get(tb.mm_id)!;
      assert.equal(t.type, 'O');
      const channelsThere = [...rig.mm.state.channels.values()].filter((c) => c.team_id === t.id).map((c) => c.name).sort();
      assert.deepEqual(channelsThere, ['backend', 'off-topic', 'town-square'], 'the default channels are Mattermost\'s own, bound by name');
      const cb = await rig.sql('mattermost_bindings').where({ kind: 'channel', local_id: channel }).first();
      const aliceMm = (await mmUser(alice)).id;
      assert.equal(rig.mm.state.channelMembers.get(`${cb.mm_id}:${aliceMm}`)?.scheme_admin, true);
    });

    test('deactivation revokes sessions in Mattermost; reactivation brings the account and its memberships back', async () => {
      await ws.setActive(bob, false);
      await settle();
      const b = await mmUser(bob);
      assert.ok(b.delete_at > 0);
      await ws.addMembers(group, [carol]);
      await settle();
      await ws.setActive(bob, true);
      await settle();
      assert.equal((await mmUser(bob)).delete_at, 0);
    });

    test('leaving the group of a group-constrained team leaves the team and its channels in Mattermost', async () => {
      await ws.removeMembers(group, [carol]);
      await settle();
      const carolMm = (await mmUser(carol)).id;
      const tb = await rig.sql('mattermost_bindings').where({ kind: 'team', local_id: team.id }).first();
      const before = rig.mm.state.teamMembers.get(`${tb.mm_id}:${carolMm}`);
      assert.ok(before, 'carol had joined the team in Mattermost');
      assert.ok(before.delete_at > 0, 'carol\'s team membership is removed there');
    });

    test('SCIM DELETE deactivates (messages kept), an archived channel is archived there', async () => {
      assert.equal((await ws.scim.del(`/Users/${bob}`)).status, 204);
      const r = await ws.admin.post(`${ws.A}/channels/${channel}/archive`, {});
      assert.ok([200, 204].includes(r.status), r.text);
      await settle();
      assert.ok((await mmUser(bob)).delete_at > 0, 'deactivated, not deleted');
      const cb = await rig.sql('mattermost_bindings').where({ kind: 'channel', local_id: channel }).first();
      assert.ok(rig.mm.state.channels.get(cb.mm_id)!.delete_at > 0);
    });

    test('a channel made public here becomes public there', async () => {
      const other = await ws.channel(team.id, 'ops', { type: 'P' });
      await ws.linkChannel(group, other, { autoAdd: true });
      await settle();
      const r = await ws.admin.patch(`${ws.A}/channels/${other}`, { type: 'O' });
      assert.equal(r.status, 200, r.text);
      await settle();
    });

    test('a re-POST of the deleted person brings the same account back', async () => {
      const email = (await rig.sql('users').where({ id: bob }).first()).email;
      const r = await ws.scim.post('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, externalId: (await rig.sql('users').where({ id: bob }).first()).external_id, emails: [{ value: email, primary: true }], active: true });
      assert.equal(r.status, 201, r.text);
      await settle();
      assert.equal((await mmUser(bob)).delete_at, 0);
      assert.equal([...rig.mm.state.users.values()].filter((u) => u.email === email).length, 1, 'one account, not two');
    });
  });
}
