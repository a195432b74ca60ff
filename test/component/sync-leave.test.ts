/**
 * Group sync, leaving (issue 3 §4, Mattermost rules in domain.md §2.2), driven over HTTP as an IdP: removal only
 * from group-constrained teams and channels that no other linked group still grants, channels before teams,
 * unconstrained ones keep their members; group and user deletion; causes in the audit log.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { stores, useServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

for (const store of stores()) {
  describe(`group sync: leaving [${store}]`, () => {
    const env = useServer(store);
    let ws: ReturnType<typeof workspace>;
    before(() => {
      ws = workspace(env.server);
    });

    test('leaving removes from constrained teams and channels only; unconstrained ones keep the member', async () => {
      const closed = teamName('closed');
      const open = teamName('open');
      const tc = await ws.team(closed, { groupConstrained: true });
      const to = await ws.team(open);
      const secret = await ws.channel(to.id, 'secret', { type: 'P', groupConstrained: true });
      const chat = await ws.channel(to.id, 'chat');
      const u = await ws.user();
      const g = await ws.group([u]);
      for (const t of [tc.id, to.id]) await ws.linkTeam(g, t);
      for (const c of [secret, chat]) await ws.linkChannel(g, c);
      assert.equal((await ws.memberships(u)).teams.get(closed)?.active, true);
      await ws.removeMembers(g, [u]);
      const m = await ws.memberships(u);
      assert.deepEqual(m.teams.get(closed), { active: false, schemeAdmin: false, addedBy: `group:${g}`, removedBy: `group:${g}` });
      assert.equal(m.channels.get(`${closed}/town-square`)?.removedBy, `team:${tc.id}`, 'leaving a team leaves its channels');
      assert.equal(m.teams.get(open)?.active, true, 'unconstrained team keeps the member');
      assert.equal(m.channels.get(`${open}/chat`)?.active, true, 'unconstrained channel keeps the member');
      assert.equal(m.channels.get(`${open}/secret`)?.removedBy, `group:${g}`, 'constrained channel removes the member');
      const removals = (await ws.audit(`resourceId=${u}`)).filter((r) => /_remove$/.test(r.operation));
      assert.equal(removals[0].operation, 'channel_remove', 'channels before teams');
      assert.ok(removals.some((r) => r.operation === 'team_remove' && r.cause === `group:${g}`));
    });

    test('another linked group (even with auto_add=false) still grants access', async () => {
      const tn = teamName('shared');
      const t = await ws.team(tn, { groupConstrained: true });
      const u = await ws.user();
      const g1 = await ws.group([u]);
      const g2 = await ws.group([u]);
      await ws.linkTeam(g1, t.id);
      await ws.linkTeam(g2, t.id, { autoAdd: false });
      await ws.removeMembers(g1, [u]);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.active, true);
      await ws.removeMembers(g2, [u]);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.active, false);
    });

    test("Entra's Remove with a value list removes only those listed; the others keep their access", async () => {
      const tn = teamName('entra');
      const t = await ws.team(tn, { groupConstrained: true });
      const [a, b, c] = [await ws.user(), await ws.user(), await ws.user()];
      const g = await ws.group([a, b, c]);
      await ws.linkTeam(g, t.id);
      await ws.removeMembers(g, [a, c]);
      assert.equal((await ws.memberships(a)).teams.get(tn)?.active, false);
      assert.equal((await ws.memberships(b)).teams.get(tn)?.active, true);
      assert.equal((await ws.memberships(c)).teams.get(tn)?.active, false);
    });

    test('leaving the admin group demotes on a constrained team (SyncSyncableRoles), not on an open one', async () => {
      const closed = teamName('rolec');
      const open = teamName('roleo');
      const tc = await ws.team(closed, { groupConstrained: true });
      const to = await ws.team(open);
      const u = await ws.user();
      const everyone = await ws.group([u]);
      const leads = await ws.group([u]);
      for (const t of [tc.id, to.id]) {
        await ws.linkTeam(everyone, t);
        await ws.linkTeam(leads, t, { schemeAdmin: true });
      }
      await ws.removeMembers(leads, [u]);
      const m = await ws.memberships(u);
      assert.deepEqual([m.teams.get(closed)?.active, m.teams.get(closed)?.schemeAdmin], [true, false]);
      assert.equal(m.teams.get(open)?.schemeAdmin, true);
    });

    test('DELETE /Groups removes what the group alone granted; re-creating it restores the links', async () => {
      const tn = teamName('gdel');
      const t = await ws.team(tn, { groupConstrained: true });
      const u = await ws.user();
      const ext = `ext-del-${tn}`;
      const created = ws.ok(await ws.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: tn, externalId: ext, members: [{ value: u }] }), 201).body;
      await ws.linkTeam(created.id, t.id);
      ws.ok(await ws.scim.del(`/Groups/${created.id}`), 204);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.removedBy, `group:${created.id}`);
      // Same externalId: the same group comes back with its links, and what it grants comes back (issue 10 §6).
      const again = ws.ok(await ws.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: tn, externalId: ext, members: [{ value: u }] }), 201).body;
      assert.equal(again.id, created.id);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.active, true);
      const v = await ws.user();
      await ws.addMembers(created.id, [v]);
      assert.equal((await ws.memberships(v)).teams.get(tn)?.active, true, 'the restored group still syncs');
    });

    test('DELETE /Users leaves the groups and the constrained teams; open teams keep the row', async () => {
      const closed = teamName('udc');
      const open = teamName('udo');
      const tc = await ws.team(closed, { groupConstrained: true });
      const to = await ws.team(open);
      const u = await ws.user();
      const g = await ws.group([u]);
      await ws.linkTeam(g, tc.id);
      await ws.linkTeam(g, to.id);
      ws.ok(await ws.scim.del(`/Users/${u}`), 204);
      const m = await ws.memberships(u);
      assert.equal(m.teams.get(closed)?.active, false);
      assert.equal(m.teams.get(open)?.active, true);
      const group = ws.ok(await ws.scim.get(`/Groups/${g}`), 200).body;
      assert.equal((group.members ?? []).length, 0);
    });
  });
}
