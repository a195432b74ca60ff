/**
 * Group sync, tombstones and lifecycle (issue 3 §4; domain.md §2.2 "No automatic re-add", §2.4, §2.5), over HTTP:
 * a membership the person left or an admin removed is not re-added unless the admin asks for readdRemoved, one the
 * sync removed comes back when the IdP grants it again (issue 10 §6); deactivation and reactivation keep
 * memberships; constraint pruning on reconcile; a second reconcile changes nothing.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, GROUP_SCHEMA, stores, useServer } from '../helpers/server.ts';
import { teamName, workspace, type MembershipView } from '../helpers/workspace-http.ts';

const NOTHING = { teamMembersAdded: 0, teamMembersRemoved: 0, channelMembersAdded: 0, channelMembersRemoved: 0, readded: 0, adminsPromoted: 0, adminsDemoted: 0 };

for (const store of stores()) {
  describe(`group sync: tombstones and lifecycle [${store}]`, () => {
    const env = useServer(store);
    let ws: ReturnType<typeof workspace>;
    before(() => {
      ws = workspace(env.server);
    });

    test('a member who left is not re-added by rejoining the group, only by reconcile with readdRemoved', async () => {
      const tn = teamName('tomb');
      const t = await ws.team(tn);
      const news = await ws.channel(t.id, 'news');
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      await ws.linkChannel(g, news);
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      ws.ok(await ws.admin.del(`${ws.A}/channels/${news}/members/${u}?by=self`), 200);
      await ws.removeMembers(g, [u]);
      await ws.addMembers(g, [u]);
      let m = await ws.memberships(u);
      assert.deepEqual([m.channels.get(`${tn}/news`)?.active, m.channels.get(`${tn}/news`)?.removedBy], [false, 'self']);
      assert.equal((await ws.reconcile()).channelMembersAdded, 0, 'a plain reconcile respects the tombstone');
      const stats = await ws.reconcile({ readdRemoved: true, teamId: t.id });
      assert.equal(stats.readded, 1);
      m = await ws.memberships(u);
      assert.deepEqual([m.channels.get(`${tn}/news`)?.active, m.channels.get(`${tn}/news`)?.addedBy], [true, `group:${g}`]);
    });

    test('a member an admin removed from a team is not re-added automatically', async () => {
      const tn = teamName('kicked');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      const out = ws.ok(await ws.admin.del(`${ws.A}/teams/${t.id}/members/${u}`), 200).body;
      assert.equal(out.member.removedBy, 'admin:env-admin');
      assert.equal(out.channelsLeft.length, 2, 'leaving a team leaves its channels');
      const other = await ws.group([u]);
      await ws.linkTeam(other, t.id);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.active, false, 'a new link does not re-add either');
      await ws.reconcile({ readdRemoved: true });
      const m = await ws.memberships(u);
      assert.equal(m.teams.get(tn)?.active, true);
      assert.equal(m.channels.get(`${tn}/town-square`)?.active, true, 'rejoining the team rejoins its default channels');
    });

    test('deactivation and reactivation keep group and team/channel memberships', async () => {
      const closed = teamName('keepc');
      const open = teamName('keepo');
      const tc = await ws.team(closed, { groupConstrained: true });
      const to = await ws.team(open);
      const u = await ws.user();
      const g = await ws.group([u]);
      await ws.linkTeam(g, tc.id);
      await ws.linkTeam(g, to.id);
      const before = await ws.memberships(u);
      await ws.setActive(u, false);
      assert.deepEqual(await ws.memberships(u), before, 'deactivation changes no membership');
      await ws.reconcile();
      assert.deepEqual(await ws.memberships(u), before, 'nor does a reconcile while deactivated');
      await ws.setActive(u, true);
      assert.deepEqual(await ws.memberships(u), before, 'reactivated: access is back at once, unchanged');
      const group = ws.ok(await ws.scim.get(`/Groups/${g}`), 200).body;
      assert.deepEqual(group.members.map((x: any) => x.value), [u]);
    });

    test('a person added to a group while deactivated gets its teams on reactivation', async () => {
      const tn = teamName('react');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      const u = await ws.user();
      await ws.setActive(u, false);
      await ws.addMembers(g, [u]);
      assert.equal((await ws.memberships(u)).teams.size, 0);
      await ws.setActive(u, true);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.active, true);
    });

    test('constraining a team removes members no linked group holds (cause constraint); reconcile is idempotent', async () => {
      const tn = teamName('prune');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      const [inside, outsider] = [await ws.user(), await ws.user()];
      await ws.addMembers(g, [inside]);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: outsider, schemeAdmin: true }), 201);
      const patched = ws.ok(await ws.admin.patch(`${ws.A}/teams/${t.id}`, { groupConstrained: true }), 200).body;
      assert.equal(patched.reconcile.teamMembersRemoved, 1);
      const m = await ws.memberships(outsider);
      assert.deepEqual([m.teams.get(tn)?.active, m.teams.get(tn)?.removedBy], [false, 'constraint']);
      assert.equal(m.channels.get(`${tn}/town-square`)?.removedBy, `team:${t.id}`);
      const audit = (await ws.audit(`resourceId=${outsider}`)).find((r) => r.operation === 'team_remove');
      assert.equal(audit.cause, 'constraint');
      await ws.reconcile();
      assert.deepEqual(await ws.reconcile(), NOTHING, 'a second run changes nothing');
      assert.deepEqual(await ws.reconcile({ readdRemoved: true }), NOTHING, 'readdRemoved never brings back people no link adds');
    });

    test('unlinking reconciles: a constrained team loses the members only that group permitted', async () => {
      const tn = teamName('unlink');
      const t = await ws.team(tn, { groupConstrained: true });
      const u = await ws.user();
      const g = await ws.group([u]);
      await ws.linkTeam(g, t.id);
      const out = ws.ok(await ws.admin.del(`${ws.A}/groups/${g}/teams/${t.id}`), 200).body;
      assert.equal(out.reconcile.teamMembersRemoved, 1);
      assert.equal((await ws.memberships(u)).teams.get(tn)?.removedBy, 'constraint');
    });

    // ---- issue 10 §6: access the IdP gives back comes back -------------------------------------------------------

    /** A constrained team linked to one group (auto_add) and a constrained channel in it linked the same way. */
    async function constrainedSetup(p: string, members: string[] = []) {
      const tn = teamName(p);
      const t = await ws.team(tn, { groupConstrained: true });
      const ops = await ws.channel(t.id, 'ops', { groupConstrained: true });
      const g = await ws.group(members);
      await ws.linkTeam(g, t.id);
      await ws.linkChannel(g, ops);
      return { tn, t, ops, g };
    }

    const live = (m: MembershipView, tn: string) => [m.teams.get(tn)?.active, m.channels.get(`${tn}/town-square`)?.active, m.channels.get(`${tn}/off-topic`)?.active, m.channels.get(`${tn}/ops`)?.active];

    test('removed by the sync (left the only linked group of a constrained team), back in the group: back in the team, its default channels and linked channel', async () => {
      const u = await ws.user();
      const { tn, t, ops, g } = await constrainedSetup('back', [u]);
      assert.deepEqual(live(await ws.memberships(u), tn), [true, true, true, true]);
      await ws.removeMembers(g, [u]);
      let m = await ws.memberships(u);
      assert.deepEqual(live(m, tn), [false, false, false, false]);
      assert.deepEqual([m.teams.get(tn)?.removedBy, m.channels.get(`${tn}/ops`)?.removedBy, m.channels.get(`${tn}/town-square`)?.removedBy], [`group:${g}`, `group:${g}`, `team:${t.id}`]);
      await ws.addMembers(g, [u]);
      m = await ws.memberships(u);
      assert.deepEqual(live(m, tn), [true, true, true, true], 'the IdP gave the access back');
      assert.deepEqual([m.teams.get(tn)?.addedBy, m.channels.get(`${tn}/ops`)?.addedBy], [`group:${g}`, `group:${g}`]);
      const adds = (await ws.audit(`resourceId=${u}`)).filter((r) => r.operation === 'team_add' || r.operation === 'channel_add');
      const teamAdds = adds.filter((r) => r.operation === 'team_add');
      assert.equal(teamAdds.length, 2, 'the join and the revival');
      const revival = teamAdds.find((r) => r.after?.readded === true);
      assert.equal(revival?.cause, `group:${g}`, 'the revival is audited as readded, caused by the group');
      assert.ok(adds.some((r) => r.operation === 'channel_add' && r.after?.channelId === ops && r.after?.readded === true && r.cause === `group:${g}`));
      assert.deepEqual(await ws.reconcile(), NOTHING, 'a reconcile after the revival changes nothing');
      assert.deepEqual(await ws.reconcile(), NOTHING, 'nor does a second one');
    });

    test('removed with cause constraint (the link was removed), the link comes back: reconcile without readdRemoved revives them', async () => {
      const u = await ws.user();
      const { tn, t, ops, g } = await constrainedSetup('relink', [u]);
      ws.ok(await ws.admin.del(`${ws.A}/groups/${g}/teams/${t.id}`), 200);
      ws.ok(await ws.admin.del(`${ws.A}/groups/${g}/channels/${ops}`), 200);
      let m = await ws.memberships(u);
      assert.deepEqual([m.teams.get(tn)?.removedBy, m.teams.get(tn)?.active], ['constraint', false]);
      const relinked = await ws.linkTeam(g, t.id);
      assert.deepEqual([relinked.reconcile.teamMembersAdded, relinked.reconcile.readded], [1, 3], 'the link reconcile brings the person back (team and default channels)');
      await ws.linkChannel(g, ops);
      m = await ws.memberships(u);
      assert.deepEqual(live(m, tn), [true, true, true, true]);
      assert.deepEqual(await ws.reconcile(), NOTHING);
      assert.deepEqual(await ws.reconcile(), NOTHING, 'a second run changes nothing');
    });

    test('removed because the IdP took an Okta entitlement back (cause entitlement): back as soon as a linked group grants it', async () => {
      const tn = teamName('entl');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      const u = await ws.user();
      // The tombstone the entitlement assignment leaves (written by the SCIM user lifecycle): the row, as it stores it.
      const db = connect(env.server.dbUrl);
      try {
        await db('team_members').insert({ team_id: t.id, user_id: u, scheme_admin: false, created_at: 1, updated_at: 2, added_by: 'entitlement', removed_at: 2, removed_by: 'entitlement' });
      } finally {
        await db.destroy();
      }
      await ws.addMembers(g, [u]);
      const m = await ws.memberships(u);
      assert.deepEqual(m.teams.get(tn), { active: true, schemeAdmin: false, addedBy: `group:${g}`, removedBy: null });
      assert.deepEqual([m.channels.get(`${tn}/town-square`)?.active, m.channels.get(`${tn}/off-topic`)?.active], [true, true]);
      const add = (await ws.audit(`resourceId=${u}`)).find((r) => r.operation === 'team_add');
      assert.deepEqual([add?.cause, add?.after], [`group:${g}`, { teamId: t.id, userId: u, schemeAdmin: false, readded: true }]);
      assert.deepEqual(await ws.reconcile({ teamId: t.id }), NOTHING);
    });

    test('DELETE /Groups then POST with the same externalId and members: the memberships come back', async () => {
      const tn = teamName('recreate');
      const t = await ws.team(tn, { groupConstrained: true });
      const ops = await ws.channel(t.id, 'ops', { groupConstrained: true });
      const [u, v] = [await ws.user(), await ws.user()];
      const body = { schemas: [GROUP_SCHEMA], displayName: tn, externalId: `ext-re-${tn}`, members: [{ value: u }, { value: v }] };
      const g = ws.ok(await ws.scim.post('/Groups', body), 201).body.id;
      await ws.linkTeam(g, t.id);
      await ws.linkChannel(g, ops);
      ws.ok(await ws.scim.del(`/Groups/${g}`), 204);
      for (const x of [u, v]) assert.deepEqual(live(await ws.memberships(x), tn), [false, false, false, false]);
      const again = ws.ok(await ws.scim.post('/Groups', body), 201).body;
      assert.equal(again.id, g, 'the same group, links kept');
      for (const x of [u, v]) assert.deepEqual(live(await ws.memberships(x), tn), [true, true, true, true]);
      assert.deepEqual(await ws.reconcile(), NOTHING);
    });

    test('removed by an admin through the admin API, then added to the group again: stays out', async () => {
      const u = await ws.user();
      const { tn, t, g } = await constrainedSetup('kickout', [u]);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${t.id}/members/${u}`), 200);
      await ws.removeMembers(g, [u]);
      await ws.addMembers(g, [u]);
      const m = await ws.memberships(u);
      assert.deepEqual(live(m, tn), [false, false, false, false]);
      assert.equal(m.teams.get(tn)?.removedBy, 'admin:env-admin');
      assert.deepEqual(await ws.reconcile(), NOTHING, 'a plain reconcile keeps the admin removal');
      assert.equal((await ws.reconcile({ readdRemoved: true, teamId: t.id })).readded >= 1, true, 'only readdRemoved brings them back');
      assert.deepEqual(live(await ws.memberships(u), tn), [true, true, true, true]);
    });

    test('left by themselves (?by=self), then re-added to the group: stays out; a channel left by self stays out of a revived team', async () => {
      const u = await ws.user();
      const { tn, t, g } = await constrainedSetup('selfout', [u]);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${t.id}/members/${u}?by=self`), 200);
      await ws.removeMembers(g, [u]);
      await ws.addMembers(g, [u]);
      let m = await ws.memberships(u);
      assert.deepEqual(live(m, tn), [false, false, false, false]);
      assert.equal(m.teams.get(tn)?.removedBy, 'self');
      assert.deepEqual(await ws.reconcile(), NOTHING);

      const w = await ws.user();
      const s2 = await constrainedSetup('selfch', [w]);
      const offTopic = s2.t.channels['off-topic']!;
      ws.ok(await ws.admin.del(`${ws.A}/channels/${offTopic}/members/${w}?by=self`), 200);
      await ws.removeMembers(s2.g, [w]);
      await ws.addMembers(s2.g, [w]);
      m = await ws.memberships(w);
      assert.deepEqual(live(m, s2.tn), [true, true, false, true], 'the team comes back, the channel they left does not');
      assert.equal(m.channels.get(`${s2.tn}/off-topic`)?.removedBy, 'self');
      assert.deepEqual(await ws.reconcile(), NOTHING);
    });
  });
}
