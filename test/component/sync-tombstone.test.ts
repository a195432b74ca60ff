/**
 * Group sync, tombstones and lifecycle (issue 3 §4; domain.md §2.2 "No automatic re-add", §2.4, §2.5), over HTTP:
 * a removed or left membership is not re-added unless the admin asks for readdRemoved; deactivation and
 * reactivation keep memberships; constraint pruning on reconcile; a second reconcile changes nothing.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { stores, useServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

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
  });
}
