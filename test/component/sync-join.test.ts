/**
 * Group sync, joining (issue 3 §4, Mattermost rules in domain.md §2.1 and §2.3), driven over HTTP as an IdP:
 * teams first, then their default channels, then linked channels (their team first); scheme_admin; deactivated
 * people never added; audit rows with causes.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { stores, useServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

for (const store of stores()) {
  describe(`group sync: joining [${store}]`, () => {
    const env = useServer(store);
    let ws: ReturnType<typeof workspace>;
    before(() => {
      ws = workspace(env.server);
    });

    test('joining adds the linked team, then its default channels, then linked channels', async () => {
      const tn = teamName('join');
      const team = await ws.team(tn);
      const backend = await ws.channel(team.id, 'backend', { type: 'P' });
      const g = await ws.group();
      await ws.linkTeam(g, team.id);
      await ws.linkChannel(g, backend);
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      const m = await ws.memberships(u);
      assert.equal(m.teams.get(tn)?.addedBy, `group:${g}`);
      assert.equal(m.channels.get(`${tn}/town-square`)?.addedBy, 'default_channel');
      assert.equal(m.channels.get(`${tn}/off-topic`)?.addedBy, 'default_channel');
      assert.equal(m.channels.get(`${tn}/backend`)?.addedBy, `group:${g}`);
      // The audit trail records the order: team, default channels, then the linked channel.
      const rows = (await ws.audit(`resourceId=${u}`)).filter((r) => /^(team|channel)_add$/.test(r.operation));
      assert.deepEqual(rows.map((r) => [r.operation, r.cause]), [
        ['team_add', `group:${g}`], ['channel_add', 'default_channel'], ['channel_add', 'default_channel'], ['channel_add', `group:${g}`],
      ]);
      assert.equal(rows[0].after.teamId, team.id);
      assert.equal(rows[3].after.channelId, backend);
    });

    test('a channel-only link joins the channel\'s team first (no team link created)', async () => {
      const tn = teamName('chonly');
      const team = await ws.team(tn);
      const ch = await ws.channel(team.id, 'design');
      const u = await ws.user();
      const g = await ws.group([u]);
      const out = await ws.linkChannel(g, ch);
      assert.equal(out.reconcile.teamMembersAdded, 1);
      const m = await ws.memberships(u);
      assert.equal(m.teams.get(tn)?.active, true);
      assert.equal(m.channels.get(`${tn}/town-square`)?.active, true);
      assert.equal(m.channels.get(`${tn}/design`)?.active, true);
      const groups = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body;
      assert.equal(groups.teams.length, 0);
      assert.equal(groups.channels.length, 1);
    });

    test('auto_add=false links add nobody', async () => {
      const tn = teamName('noauto');
      const team = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, team.id, { autoAdd: false });
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      assert.equal((await ws.memberships(u)).teams.has(tn), false);
    });

    test('scheme_admin links make the person team and channel admin', async () => {
      const tn = teamName('leads');
      const team = await ws.team(tn);
      const ops = await ws.channel(team.id, 'ops');
      const admins = await ws.group();
      const everyone = await ws.group();
      await ws.linkTeam(everyone, team.id);
      await ws.linkTeam(admins, team.id, { schemeAdmin: true });
      await ws.linkChannel(admins, ops, { schemeAdmin: true });
      const [boss, worker] = [await ws.user(), await ws.user()];
      await ws.addMembers(everyone, [boss, worker]);
      await ws.addMembers(admins, [boss]);
      const b = await ws.memberships(boss);
      assert.equal(b.teams.get(tn)?.schemeAdmin, true);
      assert.equal(b.channels.get(`${tn}/ops`)?.schemeAdmin, true);
      assert.equal(b.channels.get(`${tn}/town-square`)?.schemeAdmin, false, 'default channels have no admin link');
      assert.equal((await ws.memberships(worker)).teams.get(tn)?.schemeAdmin, false);
      const promote = (await ws.audit(`resourceId=${boss}`)).find((r) => r.operation === 'team_promote');
      assert.equal(promote?.cause, `group:${admins}`);
    });

    test('deactivated people are never added, by membership changes or by reconcile', async () => {
      const tn = teamName('deact');
      const team = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, team.id);
      const born = await ws.user({ active: false });
      const later = await ws.user();
      await ws.setActive(later, false);
      await ws.addMembers(g, [born, later]);
      await ws.reconcile({ readdRemoved: true });
      for (const u of [born, later]) assert.equal((await ws.memberships(u)).teams.size, 0);
    });

    test('every membership added writes an audit row with its cause and the request id', async () => {
      const tn = teamName('audit');
      const team = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, team.id);
      const u = await ws.user();
      const res = await ws.scim.patch(`/Groups/${g}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: u }] }] }, { 'X-Request-Id': `req-${u}` });
      ws.ok(res, 200, 204);
      const rows = await ws.audit(`requestId=req-${u}`);
      const ops = rows.map((r) => `${r.operation}:${r.cause ?? ''}`);
      assert.ok(ops.includes(`team_add:group:${g}`), ops.join());
      assert.equal(ops.filter((o) => o === 'channel_add:default_channel').length, 2);
      assert.ok(rows.every((r) => r.actor === 'token:env-scim'));
    });
  });
}
