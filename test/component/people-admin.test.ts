/**
 * The admin's people questions (issue 16): GET /admin/v1/users ("who is in this team?") filters by state, team,
 * channel, group and a search term and pages by userName with a keyset that neither skips nor repeats;
 * GET /admin/v1/users/<key> ("show me this person") resolves an id, externalId or userName, refuses a key that names
 * two people, and answers their memberships with role and cause and their last 20 audit rows; the team and channel
 * member lists say who each member is, their role and why they are there. On SQLite the planner is asked which index
 * serves the team filter and the pages.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, startServer, stores, type Reply, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { peopleSearch } from '../../src/store/people.ts';
import { memberSearch } from '../../src/store/workspace.ts';

function isError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.body.error.status, status);
  assert.equal(r.body.error.code, code, r.text);
  assert.equal(typeof r.body.error.message, 'string');
}

for (const store of stores()) {
  describe(`people: admin API [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    let ws: ReturnType<typeof workspace>;
    const r = rand();
    const id: Record<string, string> = {};
    let team: { id: string; name: string; channels: Record<string, string> };
    let group: { id: string; externalId: string };

    const get = (path: string) => ws.admin.get(`${ws.A}${path}`);
    const names = async (query: string): Promise<string[]> => {
      const res = await get(`/users${query}`);
      assert.equal(res.status, 200, `${query}: ${res.text}`);
      return res.body.items.map((p: any) => p.userName.split('@')[0]);
    };
    const person = async (userName: string, extra: Record<string, unknown> = {}) => {
      const res = await ws.scim.post('/Users', newUser({
        userName: `${userName}@${r}.test`, externalId: `ext-${userName}-${r}`, emails: [{ value: `${userName}.mail@${r}.example`, primary: true }], ...extra,
      }));
      assert.equal(res.status, 201, res.text);
      return res.body.id as string;
    };

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      sql = connect(server.dbUrl);
      ws = workspace(server);
      id.alice = await person('alice', { displayName: 'Alice Anders' });
      id.bob = await person('bob', { displayName: 'Bob Builder' });
      id.carol = await person('carol', { displayName: 'Carol Anders' });
      id.frank = await person('frank', { displayName: 'Frank 100% Real' });
      id.dave = await person('dave');
      const g = await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `eng-${r}`, externalId: `gx-${r}`, members: [id.alice, id.bob, id.carol].map((value) => ({ value })) });
      assert.equal(g.status, 201, g.text);
      group = { id: g.body.id, externalId: `gx-${r}` };
      const name = `eng-${r}`;
      team = { ...(await ws.team(name)), name };
      await ws.linkTeam(group.id, team.id);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${team.id}/members`, { userId: id.frank, schemeAdmin: true }), 201);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${team.id}/members/${id.bob}`), 200);
      await ws.setActive(id.carol, false);
      assert.equal((await ws.scim.del(`/Users/${id.dave}`)).status, 204);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('each filter: state, team (id or name), channel (id or team/name), group (id or externalId), search', async () => {
      assert.deepEqual(await names(''), ['alice', 'bob', 'carol', 'frank'], 'by userName; deleted people left out');
      assert.deepEqual(await names('?active=true'), ['alice', 'bob', 'frank']);
      assert.deepEqual(await names('?active=false'), ['carol'], 'deactivated, not deleted');
      assert.deepEqual(await names('?deleted=true'), ['dave']);
      assert.deepEqual(await names('?deleted=false'), await names(''));
      assert.deepEqual(await names(`?team=${team.id}`), ['alice', 'carol', 'frank'], 'live members: bob was removed');
      assert.deepEqual(await names(`?team=${team.name}`), ['alice', 'carol', 'frank']);
      assert.deepEqual(await names(`?team=${team.name}&active=true`), ['alice', 'frank']);
      const ts = team.channels['town-square']!;
      assert.deepEqual(await names(`?channel=${ts}`), ['alice', 'carol', 'frank'], 'joined the default channel with the team');
      assert.deepEqual(await names(`?channel=${encodeURIComponent(`${team.name}/town-square`)}`), ['alice', 'carol', 'frank']);
      assert.deepEqual(await names(`?group=${group.id}`), ['alice', 'bob', 'carol']);
      assert.deepEqual(await names(`?group=${group.externalId}&team=${team.id}`), ['alice', 'carol']);
      assert.deepEqual(await names('?q=ANDERS'), ['alice', 'carol'], 'displayName, case-insensitively');
      assert.deepEqual(await names('?q=lic'), ['alice'], 'a substring of the userName');
      assert.deepEqual(await names('?q=ali*'), ['alice'], 'a prefix');
      assert.deepEqual(await names('?q=lic*'), [], 'a prefix is the start only');
      assert.deepEqual(await names(`?q=${r}.TEST`), ['alice', 'bob', 'carol', 'frank'], 'the userName');
      assert.deepEqual(await names(`?q=.MAIL@${r}`), ['alice', 'bob', 'carol', 'frank'], 'the email');
      assert.deepEqual(await names(`?q=bob.mail`), ['bob']);
      assert.deepEqual(await names(`?q=${encodeURIComponent('100%')}`), ['frank'], '% is a character, not a wildcard');
      assert.deepEqual(await names(`?q=${encodeURIComponent('0% R')}`), ['frank']);
      assert.deepEqual(await names(`?q=${encodeURIComponent('%')}&team=${team.id}`), ['frank']);
      assert.deepEqual(await names('?q=_'), [], '_ too');
      const [alice] = (await get(`/users?q=alice`)).body.items;
      assert.deepEqual(Object.keys(alice).sort(), ['active', 'created', 'deleted', 'deletedAt', 'displayName', 'email', 'externalId', 'id', 'lastModified', 'systemRole', 'userName', 'username'].sort());
      assert.equal(alice.id, id.alice);
      assert.equal(alice.email, `alice.mail@${r}.example`);
      assert.equal(alice.deletedAt, null);
      const [dave] = (await get('/users?deleted=true')).body.items;
      assert.equal(dave.deleted, true);
      assert.equal(dave.active, false);
      assert.ok(Date.parse(dave.deletedAt) >= Date.parse(dave.created));
    });

    test('pages of 2 walk everyone with no gap or repeat, deleted people who share a userName included', async () => {
      for (let i = 0; i < 7; i++) await person(`page${i}`);
      // Two deleted people with one userName: the keyset continues on the id when the names tie.
      for (let i = 0; i < 2; i++) {
        const twin = await person('twin', { externalId: `twin-${i}-${r}` });
        assert.equal((await ws.scim.del(`/Users/${twin}`)).status, 204);
      }
      for (const query of ['', '?deleted=true', `?q=${r}`]) {
        const all = (await get(`/users${query}${query ? '&' : '?'}limit=1000`)).body;
        assert.equal(all.next, null);
        const seen: string[] = [];
        let next: string | null = null;
        let pages = 0;
        do {
          const page: Reply = await get(`/users${query}${query ? '&' : '?'}limit=2${next ? `&after=${encodeURIComponent(next)}` : ''}`);
          assert.equal(page.status, 200, page.text);
          assert.ok(page.body.items.length <= 2);
          seen.push(...page.body.items.map((p: any) => p.id));
          next = page.body.next;
          pages++;
        } while (next);
        assert.deepEqual(seen, all.items.map((p: any) => p.id), query);
        assert.equal(new Set(seen).size, seen.length, 'no repeat');
        assert.ok(pages >= Math.ceil(seen.length / 2));
      }
      const deleted = (await get('/users?deleted=true&limit=1000')).body.items.map((p: any) => p.userName);
      assert.deepEqual(deleted, [`dave@${r}.test`, `twin@${r}.test`, `twin@${r}.test`]);
    });

    test('unknown or malformed parameters are JSON 400s, never ignored', async () => {
      for (const q of ['?colour=red', '?activ=true', '?active=yes', '?deleted=1', '?limit=0', '?limit=1001', '?after=garbage!', `?after=${Buffer.from('[1,2]').toString('base64url')}`,
        '?q=', '?q=*', `?q=${'x'.repeat(101)}`, '?team=nope', '?channel=nope', `?channel=${team.name}%2Fnope`, '?group=nope', `?team=${'t'.repeat(600)}`,
        '?active=true&active=false']) {
        isError(await get(`/users${q}`), 400, 'invalid_query');
      }
      assert.match((await get('/users?team=nope')).body.error.message, /team=nope: no team/);
      isError(await get(`/users/${id.alice}?expand=all`), 400, 'invalid_query');
      isError(await get(`/teams/${team.id}/members?activ=true`), 400, 'invalid_query');
    });

    test('show: by id, externalId or userName (any case), with memberships, role, cause and groups', async () => {
      const byId = await get(`/users/${id.alice}`);
      assert.equal(byId.status, 200, byId.text);
      for (const key of [`ext-alice-${r}`, `alice@${r}.test`, `ALICE@${r.toUpperCase()}.TEST`, `id:${id.alice}`, `externalId:ext-alice-${r}`, `userName:Alice@${r}.test`]) {
        const v = await get(`/users/${encodeURIComponent(key)}`);
        assert.equal(v.status, 200, `${key}: ${v.text}`);
        assert.deepEqual(v.body, byId.body, key);
      }
      const { user, memberships } = byId.body;
      assert.equal(user.id, id.alice);
      assert.equal(user.externalId, `ext-alice-${r}`);
      assert.deepEqual(memberships.teams.map((t: any) => [t.teamName, t.role, t.cause, t.active]), [[team.name, 'member', 'group', true]]);
      assert.equal(memberships.teams[0].addedBy, `group:${group.id}`);
      assert.deepEqual(memberships.channels.map((c: any) => [c.channelName, c.cause]).sort(), [['off-topic', 'default_channel'], ['town-square', 'default_channel']]);
      assert.deepEqual(memberships.groups.map((g: any) => [g.groupId, g.externalId, g.displayName]), [[group.id, group.externalId, `eng-${r}`]]);
      const frank = (await get(`/users/${id.frank}`)).body.memberships.teams;
      assert.deepEqual(frank.map((t: any) => [t.role, t.cause, t.addedBy]), [['admin', 'manual', 'admin:env-admin']]);
      const bob = (await get(`/users/${id.bob}`)).body.memberships.teams;
      assert.deepEqual(bob.map((t: any) => [t.active, t.cause, t.removedBy]), [[false, 'group', 'admin:env-admin']], 'a removed membership stays, marked');
      // A deleted person is found too: their history stays.
      const dave = await get(`/users/dave@${r}.test`);
      assert.equal(dave.status, 200, dave.text);
      assert.equal(dave.body.user.id, id.dave);
      assert.equal(dave.body.user.deleted, true);
    });

    test('show: the last 20 audit rows about the person, newest first', async () => {
      for (let i = 0; i < 22; i++) {
        const p = await ws.scim.patch(`/Users/${id.alice}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'nickName', value: `al${i}` }] });
        assert.equal(p.status, 200, p.text);
      }
      const { audit } = (await get(`/users/${id.alice}`)).body;
      const newest = (await get(`/audit?resourceId=${id.alice}&limit=20`)).body.items;
      assert.equal(audit.length, 20);
      assert.deepEqual(audit, newest);
      assert.ok(audit.every((e: any) => e.resourceId === id.alice));
      assert.ok(audit.every((e: any, i: number) => i === 0 || e.id < audit[i - 1].id), 'newest first');
      const frank = (await get(`/users/${id.frank}`)).body.audit;
      assert.deepEqual(new Set(frank.map((e: any) => e.operation)), new Set(['create_user', 'team_add', 'channel_add']), 'their memberships\' changes too');
    });

    test('show: a key that names two people is refused with how to name each; nobody is a 404 in the admin shape', async () => {
      // One person's externalId is another's userName.
      const holder = await person('holder', { externalId: `shared-${r}` });
      const named = (await ws.scim.post('/Users', newUser({ userName: `shared-${r}` }))).body.id as string;
      const res = await get(`/users/shared-${r}`);
      isError(res, 409, 'ambiguous');
      assert.match(res.body.error.message, new RegExp(`id:${holder} \\(externalId`));
      assert.match(res.body.error.message, new RegExp(`id:${named} \\(userName`));
      assert.match(res.body.error.message, /externalId:<externalId> or userName:<userName>/);
      assert.equal((await get(`/users/externalId:shared-${r}`)).body.user.id, holder);
      assert.equal((await get(`/users/userName:shared-${r}`)).body.user.id, named);
      // Deleted people who held one userName: ambiguous, until a live person holds it.
      const twins = await get(`/users/twin@${r}.test`);
      isError(twins, 409, 'ambiguous');
      assert.match(twins.body.error.message, /names 2 people/);
      const live = await person('twin', { externalId: `twin-live-${r}` });
      assert.equal((await get(`/users/twin@${r}.test`)).body.user.id, live, 'the live holder of a userName is meant');
      for (const key of ['nobody', `id:ext-alice-${r}`, `externalId:alice@${r}.test`, `userName:${id.alice}`]) {
        const nobody = await get(`/users/${encodeURIComponent(key)}`);
        isError(nobody, 404, 'not_found');
      }
      isError(await get(`/users/${'k'.repeat(1100)}`), 400, 'invalid_path');
    });

    test('team and channel members: userName, role, cause and active, keyset-paged by user id', async () => {
      const list = (await get(`/teams/${team.name}/members?limit=1000`)).body;
      assert.equal(list.next, null);
      const rows = new Map(list.items.map((m: any) => [m.userId, m]));
      assert.deepEqual([...rows.keys()], [...rows.keys()].sort(), 'by user id');
      const pick = (m: any) => [m.userName.split('@')[0], m.role, m.cause, m.active, m.userActive, m.userDeleted];
      assert.deepEqual(pick(rows.get(id.alice)), ['alice', 'member', 'group', true, true, false]);
      assert.deepEqual(pick(rows.get(id.bob)), ['bob', 'member', 'group', false, true, false], 'removed: active is the membership');
      assert.deepEqual(pick(rows.get(id.carol)), ['carol', 'member', 'group', true, false, false], 'a deactivated person keeps the membership');
      assert.deepEqual(pick(rows.get(id.frank)), ['frank', 'admin', 'manual', true, true, false]);
      assert.deepEqual((await get(`/teams/${team.id}/members?limit=1000`)).body, list, 'by id or by name');
      const seen: string[] = [];
      let next: string | null = null;
      do {
        const page: Reply = await get(`/teams/${team.id}/members?limit=1${next ? `&after=${next}` : ''}`);
        assert.equal(page.status, 200, page.text);
        seen.push(...page.body.items.map((m: any) => m.userId));
        next = page.body.next;
      } while (next);
      assert.deepEqual(seen, list.items.map((m: any) => m.userId), 'no gap, no repeat');
      assert.deepEqual((await get(`/teams/${team.id}/members?active=true`)).body.items.map((m: any) => m.userId).sort(), [id.alice, id.carol, id.frank].sort());
      const channel = (await get(`/channels/${encodeURIComponent(`${team.name}/town-square`)}/members`)).body.items;
      assert.deepEqual(channel, (await get(`/channels/${team.channels['town-square']}/members`)).body.items);
      assert.ok(channel.filter((m: any) => m.active).every((m: any) => m.cause === 'default_channel'));
      assert.equal(channel.find((m: any) => m.userId === id.bob).removedBy, `team:${team.id}`, 'left with the team');
      isError(await get('/teams/nope/members'), 404, 'not_found');
      isError(await get(`/channels/${team.name}%2Fnope/members`), 404, 'not_found');
    });

    if (store === 'sqlite') {
      test('the team filter starts from the team\'s members by its primary key; unfiltered pages read the userName index', async () => {
        const plan = async (builder: Knex.QueryBuilder) => {
          const { sql: text, bindings } = builder.toSQL();
          return (await sql.raw(`EXPLAIN QUERY PLAN ${text}`, bindings as any[])).map((row: any) => row.detail).join(' | ');
        };
        const byTeam = await plan(peopleSearch(sql, { limit: 100, teamId: team.id, after: { userName: 'a', id: 'b' } }));
        assert.match(byTeam, /SEARCH tm USING (COVERING )?INDEX sqlite_autoindex_team_members_1 \(team_id=\?\)/, byTeam);
        assert.doesNotMatch(byTeam, /SCAN (users|tm)\b/, byTeam);
        const byChannel = await plan(peopleSearch(sql, { limit: 100, channelId: 'c' }));
        assert.match(byChannel, /SEARCH cm USING (COVERING )?INDEX sqlite_autoindex_channel_members_1 \(channel_id=\?\)/, byChannel);
        const byGroup = await plan(peopleSearch(sql, { limit: 100, groupId: 'g' }));
        assert.match(byGroup, /SEARCH gm USING (COVERING )?INDEX sqlite_autoindex_group_members_1 \(group_id=\?\)/, byGroup);
        for (const q of [{}, { deleted: true }, { active: false }]) {
          const p = await plan(peopleSearch(sql, { limit: 100, ...q, after: { userName: 'a', id: 'b' } }));
          assert.match(p, /users_people_order/, `${JSON.stringify(q)}: ${p}`);
          assert.doesNotMatch(p, /TEMP B-TREE/, `${JSON.stringify(q)} sorts in the index, not after: ${p}`);
        }
        const members = await plan(memberSearch(sql, 'team', team.id, { limit: 100, after: 'x' }));
        assert.match(members, /SEARCH m USING INDEX sqlite_autoindex_team_members_1 \(team_id=\? AND user_id>\?\)/, members);
        assert.doesNotMatch(members, /TEMP B-TREE/, members);
      });
    }
  });
}
