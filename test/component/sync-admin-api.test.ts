/**
 * The admin API's contract (issue 3 §5): admin-scope token required (no token 401, SCIM token 403), JSON errors
 * with stable codes and proper 400/404/409 (never HTML or 5xx for bad input), Mattermost name rules, manual
 * memberships under the sync rules, paging, archive.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, startServer, stores, type Reply, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

function isError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.body?.error?.status, status, r.text);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.equal(typeof r.body.error.message, 'string');
}

for (const store of stores()) {
  describe(`admin API [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let ws: ReturnType<typeof workspace>;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      ws = workspace(server);
    });
    after(async () => {
      await server.stop();
      await db.drop();
    });

    test('no token is 401, a SCIM token is 403, both as JSON errors', async () => {
      isError(await client(server, '').get(`${ws.A}/teams`), 401, 'unauthorized');
      isError(await client(server, 'not-a-token').post(`${ws.A}/teams`, { name: 'x' }), 401, 'unauthorized');
      isError(await ws.scim.get(`${ws.A}/teams`), 403, 'forbidden');
      isError(await ws.scim.post(`${ws.A}/reconcile`, {}), 403, 'forbidden');
      assert.equal((await ws.admin.get(`${ws.A}/teams`)).status, 200);
    });

    test('team names follow Mattermost: 2-64 lower-case characters, no reserved prefix; taken names are 409', async () => {
      for (const name of ['A', 'Eng', 'eng team', '-eng', 'eng-', 'x'.repeat(65), 'é-team', 'a']) {
        isError(await ws.admin.post(`${ws.A}/teams`, { name, displayName: 'x' }), 400, 'invalid_name');
      }
      for (const name of ['admin', 'apis', 'playbooks-x', 'signup2', 'postmortems']) {
        const r = await ws.admin.post(`${ws.A}/teams`, { name, displayName: 'x' });
        isError(r, 400, 'invalid_name');
        assert.match(r.body.error.message, /reserved/);
      }
      isError(await ws.admin.post(`${ws.A}/teams`, { name: teamName('ok'), displayName: '' }), 400, 'invalid_display_name');
      isError(await ws.admin.post(`${ws.A}/teams`, { name: teamName('ok'), displayName: 'x', type: 'X' }), 400, 'invalid_type');
      const name = teamName('dup');
      ws.ok(await ws.admin.post(`${ws.A}/teams`, { name, displayName: 'Dup', type: 'I' }), 201);
      isError(await ws.admin.post(`${ws.A}/teams`, { name, displayName: 'Dup again' }), 409, 'name_taken');
      assert.equal(ws.ok(await ws.admin.post(`${ws.A}/teams`, { name: 'a__b', displayName: 'double underscore' }), 201).body.team.name, 'a__b');
    });

    test('channel names are unique per team; the same name in another team is fine', async () => {
      const t1 = await ws.team(teamName('ch1'));
      const t2 = await ws.team(teamName('ch2'));
      await ws.channel(t1.id, 'general_chat');
      isError(await ws.admin.post(`${ws.A}/teams/${t1.id}/channels`, { name: 'general_chat', displayName: 'x' }), 409, 'name_taken');
      isError(await ws.admin.post(`${ws.A}/teams/${t1.id}/channels`, { name: 'town-square', displayName: 'x' }), 409, 'name_taken');
      await ws.channel(t2.id, 'general_chat');
      isError(await ws.admin.post(`${ws.A}/teams/${t1.id}/channels`, { name: 'Bad Name', displayName: 'x' }), 400, 'invalid_name');
      isError(await ws.admin.post(`${ws.A}/teams/${t1.id}/channels`, { name: 'p', displayName: 'x', type: 'P', isDefault: true }), 400, 'invalid_value');
      isError(await ws.admin.post(`${ws.A}/teams/nope/channels`, { name: 'ok', displayName: 'x' }), 404, 'not_found');
      const list = ws.ok(await ws.admin.get(`${ws.A}/teams/${t1.id}/channels?limit=2`), 200).body;
      assert.deepEqual(list.items.map((c: any) => c.name), ['general_chat', 'off-topic']);
      const rest = ws.ok(await ws.admin.get(`${ws.A}/teams/${t1.id}/channels?limit=2&after=${list.next}`), 200).body;
      assert.deepEqual(rest.items.map((c: any) => [c.name, c.isDefault, c.type]), [['town-square', true, 'O']]);
    });

    test('bad input is a JSON 400, unknown things are a JSON 404', async () => {
      isError(await ws.admin.post(`${ws.A}/teams`, '{not json'), 400, 'invalid_json');
      isError(await ws.admin.post(`${ws.A}/teams`, [1, 2]), 400, 'invalid_body');
      isError(await ws.admin.post(`${ws.A}/teams`, { name: 'x1', displayName: 'x', colour: 'red' }), 400, 'unknown_field');
      isError(await ws.admin.get(`${ws.A}/teams?limit=0`), 400, 'invalid_query');
      isError(await ws.admin.get(`${ws.A}/teams?limit=abc`), 400, 'invalid_query');
      isError(await ws.admin.get(`${ws.A}/audit?after=x`), 400, 'invalid_query');
      isError(await ws.admin.get(`${ws.A}/teams/${'x'.repeat(500)}`), 404, 'not_found');
      isError(await ws.admin.get(`${ws.A}/users/nobody/memberships`), 404, 'not_found');
      isError(await ws.admin.put(`${ws.A}/groups/nogroup/teams/noteam`, {}), 404, 'not_found');
      isError(await ws.admin.get(`${ws.A}/no/such/thing`), 404, 'not_found');
      const t = await ws.team(teamName('bad'));
      const g = await ws.group();
      isError(await ws.admin.put(`${ws.A}/groups/${g}/teams/${t.id}`, { autoAdd: 'yes' }), 400, 'invalid_value');
      isError(await ws.admin.del(`${ws.A}/groups/${g}/teams/${t.id}`), 404, 'not_found');
      isError(await ws.admin.patch(`${ws.A}/teams/${t.id}`, { groupConstrained: 'true' }), 400, 'invalid_value');
      isError(await ws.admin.post(`${ws.A}/reconcile`, { teamId: t.id, channelId: t.channels['town-square'] }), 400, 'invalid_scope');
      isError(await ws.admin.post(`${ws.A}/reconcile`, { readdRemoved: 1 }), 400, 'invalid_value');
      isError(await ws.admin.del(`${ws.A}/teams/${t.id}/members/someone?by=boss`), 400, 'invalid_query');
      isError(await ws.admin.del(`${ws.A}/teams/${t.id}/members/someone`), 404, 'not_found');
    });

    test('manual members: constrained teams admit only linked-group members; channels need the team; deactivated refused', async () => {
      const tn = teamName('manual');
      const t = await ws.team(tn, { groupConstrained: true });
      const [inGroup, outsider, sleeper] = [await ws.user(), await ws.user(), await ws.user()];
      const g = await ws.group([inGroup]);
      await ws.linkTeam(g, t.id, { autoAdd: false });
      isError(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: outsider }), 409, 'group_constrained');
      isError(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: inGroup, schemeAdmin: true }), 409, 'role_managed_by_groups');
      const added = ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: inGroup }), 201).body;
      assert.equal(added.member.addedBy, 'admin:env-admin');
      assert.equal(added.defaultChannels.channelMembersAdded, 2, 'a team join joins the default channels');
      assert.equal(ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: inGroup }), 200).body.created, false);
      const openName = teamName('manualo');
      const open = await ws.team(openName);
      const ch = await ws.channel(open.id, 'side');
      isError(await ws.admin.post(`${ws.A}/channels/${ch}/members`, { userId: outsider }), 409, 'not_team_member');
      await ws.setActive(sleeper, false);
      isError(await ws.admin.post(`${ws.A}/teams/${open.id}/members`, { userId: sleeper }), 409, 'user_inactive');
      isError(await ws.admin.post(`${ws.A}/teams/${open.id}/members`, { userId: 'ghost' }), 404, 'not_found');
      ws.ok(await ws.admin.post(`${ws.A}/teams/${open.id}/members`, { userId: outsider, schemeAdmin: true }), 201);
      ws.ok(await ws.admin.post(`${ws.A}/channels/${ch}/members`, { userId: outsider }), 201);
      const m = await ws.memberships(outsider);
      assert.equal(m.teams.get(openName)?.schemeAdmin, true, 'an open team takes the role the admin gives');
      assert.equal(m.channels.get(`${openName}/side`)?.addedBy, 'admin:env-admin');
    });

    test('member lists show active and removed members, paged', async () => {
      const t = await ws.team(teamName('list'));
      const users = [await ws.user(), await ws.user(), await ws.user()].sort();
      for (const u of users) ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: u }), 201);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${t.id}/members/${users[1]}?by=self`), 200);
      const p1 = ws.ok(await ws.admin.get(`${ws.A}/teams/${t.id}/members?limit=2`), 200).body;
      const p2 = ws.ok(await ws.admin.get(`${ws.A}/teams/${t.id}/members?limit=2&after=${p1.next}`), 200).body;
      const all = [...p1.items, ...p2.items];
      assert.deepEqual(all.map((m: any) => [m.userId, m.active, m.removedBy]), [[users[0], true, null], [users[1], false, 'self'], [users[2], true, null]]);
      assert.equal(p2.next, null);
      assert.equal(ws.ok(await ws.admin.get(`${ws.A}/teams/${t.id}/members?active=false`), 200).body.items.length, 1);
      const ts = ws.ok(await ws.admin.get(`${ws.A}/channels/${t.channels['town-square']}/members`), 200).body.items;
      assert.equal(ts.find((m: any) => m.userId === users[1]).removedBy, `team:${t.id}`);
    });

    test('archived teams refuse changes and are skipped by sync', async () => {
      const tn = teamName('arch');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      const archived = ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/archive`, {}), 200).body;
      assert.ok(archived.archivedAt);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${t.id}/archive`, undefined), 200);
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      assert.equal((await ws.memberships(u)).teams.size, 0);
      isError(await ws.admin.post(`${ws.A}/teams/${t.id}/members`, { userId: u }), 409, 'archived');
      isError(await ws.admin.put(`${ws.A}/groups/${g}/teams/${t.id}`, {}), 409, 'archived');
      isError(await ws.admin.patch(`${ws.A}/teams/${t.id}`, { displayName: 'New' }), 409, 'archived');
      const names = ws.ok(await ws.admin.get(`${ws.A}/teams?limit=1000`), 200).body.items.map((x: any) => x.name);
      assert.ok(!names.includes(tn));
      const withArchived = ws.ok(await ws.admin.get(`${ws.A}/teams?limit=1000&includeArchived=true`), 200).body.items.map((x: any) => x.name);
      assert.ok(withArchived.includes(tn));
    });

    test('GET /groups lists SCIM groups with their links; changes are audited with the admin actor and request id', async () => {
      const t = await ws.team(teamName('glist'));
      const ch = await ws.channel(t.id, 'x');
      const g = await ws.group([], `Listed ${t.id}`);
      const r = await ws.admin.put(`${ws.A}/groups/${g}/teams/${t.id}`, { schemeAdmin: true }, { 'X-Request-Id': `link-${g}` });
      assert.equal(r.status, 201);
      assert.equal((await ws.admin.put(`${ws.A}/groups/${g}/teams/${t.id}`, { schemeAdmin: true })).status, 200);
      await ws.linkChannel(g, ch, { autoAdd: false });
      const one = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body;
      assert.equal(one.displayName, `Listed ${t.id}`);
      assert.deepEqual(one.teams.map((l: any) => [l.teamId, l.autoAdd, l.schemeAdmin]), [[t.id, true, true]]);
      assert.deepEqual(one.channels.map((l: any) => [l.channelId, l.autoAdd, l.schemeAdmin, l.teamId]), [[ch, false, false, t.id]]);
      let seen = false;
      for (let after: string | null = ''; after !== null;) {
        const page: any = ws.ok(await ws.admin.get(`${ws.A}/groups?limit=2${after ? `&after=${after}` : ''}`), 200).body;
        seen ||= page.items.some((x: any) => x.id === g);
        after = page.next;
      }
      assert.ok(seen);
      const rows = await ws.audit(`requestId=link-${g}`);
      assert.deepEqual(rows.map((x) => [x.operation, x.actor, x.resourceType]), [['link_team', 'admin:env-admin', 'Link']]);
    });
  });
}
