/**
 * The sync engine against real databases (SQLite and PostgreSQL), one scenario per rule of issue 3 §4 plus the
 * engine-only concerns: chunking, cost independent of group size, idempotent reconcile.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stores } from '../helpers/server.ts';
import { A, fixture, type Fixture } from '../helpers/workspace-db.ts';
import { statsChanged } from '../../src/sync/engine.ts';

for (const store of stores()) {
  describe(`sync engine [${store}]`, () => {
    let f: Fixture;
    let seq = 0;
    const name = (p: string) => `${p}${++seq}`;
    before(async () => { f = await fixture(store); });
    after(async () => { await f.close(); });

    test('joining a group: linked team, then its default channels, then linked channels (team first)', async () => {
      const g = await f.group();
      const team = await f.team(name('join'));
      const other = await f.team(name('other')); // reached only through a channel link
      const ch = await f.channel(other, 'backend');
      await f.linkTeam(g, team);
      await f.linkChannel(g, ch);
      const u = await f.user();
      await f.join(g, [u]);
      assert.equal((await f.teamMember(team, u))?.active, true);
      assert.equal((await f.teamMember(other, u))?.addedBy, `group:${g}`, 'channel link joins its team first');
      for (const t of [team, other]) {
        for (const c of ['town-square', 'off-topic']) assert.equal((await f.channelMember(await f.channelIdByName(t, c), u))?.addedBy, 'default_channel');
      }
      assert.equal((await f.channelMember(ch, u))?.addedBy, `group:${g}`);
      const ops = (await f.db('audit_log').where({ resource_id: u }).orderBy('id').select('operation', 'cause', 'after'))
        .map((r: any) => `${r.operation}:${r.cause === 'default_channel' ? 'default' : 'group'}`);
      assert.deepEqual(ops, ['team_add:group', 'channel_add:default', 'channel_add:default', 'team_add:group', 'channel_add:default', 'channel_add:default', 'channel_add:group']);
    });

    test('auto_add=false links add nobody but still permit membership of constrained teams', async () => {
      const g = await f.group();
      const team = await f.team(name('noauto'), { constrained: true });
      await f.linkTeam(g, team, { autoAdd: false });
      const u = await f.user();
      await f.join(g, [u]);
      assert.equal(await f.teamMember(team, u), null);
      await f.tx((tx) => tx('team_members').insert({ team_id: team, user_id: u, scheme_admin: false, created_at: 1, updated_at: 1, added_by: 'admin:x' }));
      const stats = await f.reconcile({ teamId: team });
      assert.equal(stats.teamMembersRemoved, 0);
    });

    test('scheme_admin links make team and channel admins; leaving the admin group demotes on constrained only', async () => {
      const admins = await f.group();
      const everyone = await f.group();
      const open = await f.team(name('adm'));
      const closed = await f.team(name('admc'), { constrained: true });
      const ch = await f.channel(open, 'ops', { type: 'P' });
      for (const t of [open, closed]) {
        await f.linkTeam(everyone, t);
        await f.linkTeam(admins, t, { schemeAdmin: true });
      }
      await f.linkChannel(admins, ch, { schemeAdmin: true });
      const u = await f.user();
      await f.join(everyone, [u]);
      assert.equal((await f.teamMember(open, u))?.schemeAdmin, false);
      await f.join(admins, [u]);
      assert.equal((await f.teamMember(open, u))?.schemeAdmin, true, 'joining an admin group promotes an existing member');
      assert.equal((await f.teamMember(closed, u))?.schemeAdmin, true);
      assert.equal((await f.channelMember(ch, u))?.schemeAdmin, true);
      await f.leave(admins, [u]);
      assert.equal((await f.teamMember(closed, u))?.schemeAdmin, false, 'SyncSyncableRoles demotes on a constrained team');
      assert.equal((await f.teamMember(closed, u))?.active, true, 'still permitted by the other group');
      assert.equal((await f.teamMember(open, u))?.schemeAdmin, true, 'unconstrained team: nobody is demoted');
    });

    test('leaving a group: removed only from constrained teams/channels no other group grants, channels first', async () => {
      const g1 = await f.group();
      const g2 = await f.group();
      const constrained = await f.team(name('lc'), { constrained: true });
      const open = await f.team(name('lo'));
      const privateCh = await f.channel(open, 'secret', { type: 'P', constrained: true });
      const openCh = await f.channel(open, 'chat');
      const twice = await f.team(name('l2'), { constrained: true });
      await f.linkTeam(g1, constrained);
      await f.linkTeam(g1, open);
      await f.linkChannel(g1, privateCh);
      await f.linkChannel(g1, openCh);
      await f.linkTeam(g1, twice);
      await f.linkTeam(g2, twice, { autoAdd: false });
      const [u, stay] = await f.users(2);
      await f.join(g1, [u!, stay!]);
      await f.join(g2, [u!]);
      await f.leave(g1, [u!]);
      assert.equal((await f.teamMember(constrained, u!))?.active, false);
      assert.equal((await f.teamMember(constrained, u!))?.removedBy, `group:${g1}`);
      const ts = await f.channelIdByName(constrained, 'town-square');
      assert.equal((await f.channelMember(ts, u!))?.removedBy, `team:${constrained}`, 'leaving a team leaves its channels');
      assert.equal((await f.teamMember(open, u!))?.active, true, 'unconstrained team keeps its members');
      assert.equal((await f.channelMember(openCh, u!))?.active, true, 'unconstrained channel keeps its members');
      assert.equal((await f.channelMember(privateCh, u!))?.active, false, 'constrained channel loses them');
      assert.equal((await f.teamMember(twice, u!))?.active, true, 'another linked group (auto_add=false) still grants access');
      assert.equal((await f.teamMember(constrained, stay!))?.active, true);
      const ops = (await f.db('audit_log').where({ resource_id: u }).whereIn('operation', ['team_remove', 'channel_remove']).orderBy('id').select('operation', 'before'))
        .map((r: any) => r.operation);
      assert.equal(ops[0], 'channel_remove', 'channels before teams');
      assert.ok(ops.includes('team_remove'));
    });

    test('a tombstoned membership is not re-added automatically, only by reconcile with readdRemoved', async () => {
      const g = await f.group();
      const team = await f.team(name('tomb'));
      const ch = await f.channel(team, 'news');
      await f.linkTeam(g, team);
      await f.linkChannel(g, ch);
      const u = await f.user();
      await f.join(g, [u]);
      await f.tx((tx) => tx('channel_members').where({ channel_id: ch, user_id: u }).update({ removed_at: Date.now(), removed_by: 'self' }));
      await f.leave(g, [u]);
      await f.join(g, [u]);
      assert.equal((await f.channelMember(ch, u))?.active, false, 'rejoining the group does not re-add a left channel');
      assert.equal((await f.reconcile()).channelMembersAdded, 0);
      const stats = await f.reconcile({}, true);
      assert.equal(stats.channelMembersAdded, 1);
      assert.equal(stats.readded, 1);
      assert.equal((await f.channelMember(ch, u))?.active, true);
      assert.equal((await f.channelMember(ch, u))?.addedBy, `group:${g}`);
    });

    test('a plain reconcile revives the tombstones the sync caused that a live linked group grants, never self or admin ones', async () => {
      const g = await f.group();
      const team = await f.team(name('cause'));
      await f.linkTeam(g, team);
      const causes = ['constraint', `group:${g}`, 'team:x', 'self', 'admin:ops', 'admin:cli:root'];
      const us = await f.users(causes.length);
      await f.join(g, us);
      await f.tx(async (tx) => {
        for (const [i, cause] of causes.entries()) {
          await tx('team_members').where({ team_id: team, user_id: us[i]! }).update({ removed_at: Date.now(), removed_by: cause });
        }
      });
      const stats = await f.reconcile();
      assert.deepEqual([stats.teamMembersAdded, stats.readded >= 3], [3, true]);
      const after = await Promise.all(us.map((u) => f.teamMember(team, u)));
      assert.deepEqual(after.map((m) => m?.active), [true, true, true, false, false, false]);
      assert.deepEqual(after.slice(3).map((m) => m?.removedBy), ['self', 'admin:ops', 'admin:cli:root']);
      assert.equal(after[0]?.addedBy, `group:${g}`);
      assert.equal(statsChanged(await f.reconcile()), 0, 'a second run changes nothing');
    });

    test('a revival costs the people named: the statements of a re-add are the same with 10 or 3,000 tombstones around', async () => {
      const small = await f.group();
      const big = await f.group();
      for (const g of [small, big]) {
        const team = await f.team(name('rcost'), { constrained: true });
        await f.linkTeam(g, team);
        await f.linkChannel(g, await f.channel(team, 'c', { constrained: true }));
      }
      const few = await f.users(10);
      const many = await f.users(3000);
      await f.join(small, few);
      await f.join(big, many);
      await f.leave(small, few);
      await f.leave(big, many);
      const count = async (fn: () => Promise<void>) => {
        const sqls: string[] = [];
        const on = (q: { sql: string }) => sqls.push(q.sql);
        f.db.on('query', on);
        try { await fn(); } finally { f.db.off('query', on); }
        return sqls;
      };
      const addSmall = await count(() => f.join(small, [few[0]!]));
      const addBig = await count(() => f.join(big, [many[0]!]));
      assert.deepEqual(addBig, addSmall, 'same statements');
      assert.ok(addBig.some((sql) => /^\s*UPDATE team_members SET removed_at = NULL/.test(sql)), 'the re-add revives');
      // Every revival names the people (the user_id index), never the whole table's tombstones.
      for (const sql of addBig.filter((x) => /SET removed_at = NULL/.test(x))) assert.match(sql, /_members\.user_id IN \(/);
      assert.equal((await f.teamMember((await f.db('group_teams').where({ group_id: big }).first()).team_id, many[0]!))?.active, true);
    });

    test('a left team blocks channel links in it (Mattermost "already left the team"), readdRemoved brings both back', async () => {
      const g = await f.group();
      const team = await f.team(name('left'));
      const ch = await f.channel(team, 'dev');
      await f.linkTeam(g, team);
      const u = await f.user();
      await f.join(g, [u]);
      await f.tx((tx) => tx('team_members').where({ team_id: team, user_id: u }).update({ removed_at: Date.now(), removed_by: 'self' }));
      await f.linkChannel(g, ch);
      assert.equal(await f.channelMember(ch, u), null);
      await f.reconcile({}, true);
      assert.equal((await f.teamMember(team, u))?.active, true);
      assert.equal((await f.channelMember(ch, u))?.active, true);
      assert.equal((await f.channelMember(await f.channelIdByName(team, 'town-square'), u))?.active, true);
    });

    test('deactivated people are never added; reactivation keeps memberships and fills in skipped auto-adds', async () => {
      const g = await f.group();
      const team = await f.team(name('deact'), { constrained: true });
      const later = await f.team(name('later'));
      await f.linkTeam(g, team);
      const [active] = await f.users(1);
      const inactive = await f.user({ active: false });
      await f.join(g, [active!, inactive]);
      assert.equal(await f.teamMember(team, inactive), null);
      assert.equal((await f.reconcile({}, true)).teamMembersAdded, 0, 'not even by reconcile');
      // Deactivation touches no membership (SCIM layer only flips users.active).
      await f.tx((tx) => tx('users').where({ id: active }).update({ active: false }));
      await f.linkTeam(g, later);
      assert.equal(await f.teamMember(later, active!), null);
      assert.equal((await f.teamMember(team, active!))?.active, true, 'deactivated members stay (they are still in the group)');
      assert.equal((await f.reconcile()).teamMembersRemoved, 0);
      await f.tx(async (tx) => {
        await tx('users').where({ id: active }).update({ active: true });
        await f.sync.userReactivated(tx, active!, A);
      });
      assert.equal((await f.teamMember(team, active!))?.active, true);
      assert.equal((await f.teamMember(later, active!))?.active, true, 'auto-add skipped while deactivated happens on reactivation');
    });

    test('reconcile removes members of a constrained team no linked group holds (cause constraint) and is idempotent', async () => {
      const g = await f.group();
      const team = await f.team(name('rc'));
      await f.linkTeam(g, team);
      const [m, outsider] = await f.users(2);
      await f.join(g, [m!]);
      await f.tx((tx) => tx('team_members').insert({ team_id: team, user_id: outsider, scheme_admin: true, created_at: 1, updated_at: 1, added_by: 'admin:x' }));
      await f.tx((tx) => tx('team_members').where({ team_id: team, user_id: m }).update({ scheme_admin: true }));
      await f.tx((tx) => tx('teams').where({ id: team }).update({ group_constrained: true }));
      const first = await f.reconcile();
      assert.equal(first.teamMembersRemoved, 1);
      assert.equal(first.adminsDemoted, 1, 'manual admin demoted on a constrained team');
      assert.equal((await f.teamMember(team, outsider!))?.removedBy, 'constraint');
      const second = await f.reconcile();
      assert.deepEqual(second, { teamMembersAdded: 0, teamMembersRemoved: 0, channelMembersAdded: 0, channelMembersRemoved: 0, readded: 0, adminsPromoted: 0, adminsDemoted: 0 });
      const audit = await f.db('audit_log').where({ resource_id: outsider, operation: 'team_remove' }).first();
      assert.equal(audit.cause, 'constraint');
    });

    test('a channel link in a constrained team adds nobody the team does not permit (no add-then-prune)', async () => {
      const teamGroup = await f.group();
      const chGroup = await f.group();
      const team = await f.team(name('cct'), { constrained: true });
      const ch = await f.channel(team, 'x');
      await f.linkTeam(teamGroup, team);
      await f.linkChannel(chGroup, ch);
      const [both, chOnly] = await f.users(2);
      await f.join(teamGroup, [both!]);
      await f.join(chGroup, [both!, chOnly!]);
      assert.equal((await f.channelMember(ch, both!))?.active, true);
      assert.equal(await f.teamMember(team, chOnly!), null);
      assert.equal(await f.channelMember(ch, chOnly!), null);
      assert.equal(statsChanged(await f.reconcile()), 0);
    });

    test('deleting a group removes what it alone granted; its links stay', async () => {
      const g = await f.group();
      const team = await f.team(name('del'), { constrained: true });
      await f.linkTeam(g, team);
      const us = await f.users(3);
      await f.join(g, us);
      await f.tx(async (tx) => {
        await tx('groups').where({ id: g }).update({ deleted_at: Date.now() });
        await tx('group_members').where({ group_id: g }).delete();
        await f.sync.groupDeleted(tx, g, us, A);
      });
      for (const u of us) assert.equal((await f.teamMember(team, u))?.removedBy, `group:${g}`);
      assert.equal((await f.db('group_teams').where({ group_id: g })).length, 1);
    });

    test('deleting a user leaves their groups and their constrained teams', async () => {
      const g1 = await f.group();
      const g2 = await f.group();
      const t1 = await f.team(name('ud'), { constrained: true });
      const t2 = await f.team(name('udo'));
      await f.linkTeam(g1, t1);
      await f.linkTeam(g2, t1);
      await f.linkTeam(g2, t2);
      const u = await f.user();
      await f.join(g1, [u]);
      await f.join(g2, [u]);
      await f.tx(async (tx) => {
        await tx('users').where({ id: u }).update({ active: false, deleted_at: Date.now() });
        await f.sync.userDeleted(tx, u, A);
      });
      assert.equal((await f.db('group_members').where({ user_id: u })).length, 0);
      assert.equal((await f.teamMember(t1, u))?.active, false);
      assert.equal((await f.teamMember(t2, u))?.active, true, 'unconstrained team keeps the membership (Mattermost keeps it on deactivation)');
    });

    test('archived teams and channels are skipped', async () => {
      const g = await f.group();
      const team = await f.team(name('arch'), { constrained: true });
      const ch = await f.channel(await f.team(name('archc')), 'gone');
      await f.linkTeam(g, team);
      await f.linkChannel(g, ch);
      await f.tx((tx) => tx('teams').where({ id: team }).update({ archived_at: Date.now() }));
      await f.tx((tx) => tx('channels').where({ id: ch }).update({ archived_at: Date.now() }));
      const u = await f.user();
      await f.join(g, [u]);
      assert.equal(await f.teamMember(team, u), null);
      assert.equal(await f.channelMember(ch, u), null);
    });

    test('large id lists are chunked (1,200 people in one call)', async () => {
      const g = await f.group();
      const team = await f.team(name('big'), { constrained: true });
      await f.linkTeam(g, team);
      const us = await f.users(1200);
      await f.join(g, us);
      assert.equal(Number((await f.db('team_members').where({ team_id: team }).whereNull('removed_at').count('* as n'))[0]!.n), 1200);
      await f.leave(g, us);
      assert.equal(Number((await f.db('team_members').where({ team_id: team }).whereNull('removed_at').count('* as n'))[0]!.n), 0);
    });

    test('reconcile pages through people (several pages) with the same result as one pass', async () => {
      const g = await f.group();
      const team = await f.team(name('pages'), { constrained: true });
      const members = await f.users(4500);
      await f.tx(async (tx) => {
        for (let i = 0; i < members.length; i += 500) await tx('group_members').insert(members.slice(i, i + 500).map((user_id) => ({ group_id: g, user_id, created_at: 1 })));
      });
      const outsiders = await f.users(3);
      await f.tx((tx) => tx('team_members').insert(outsiders.map((user_id) => ({ team_id: team, user_id, scheme_admin: false, created_at: 1, updated_at: 1, added_by: 'admin:x' }))));
      const stats = await f.linkTeam(g, team); // linking reconciles the team
      assert.equal(stats.teamMembersAdded, 4500);
      assert.equal(stats.channelMembersAdded, 9000, 'two default channels each');
      assert.equal(stats.teamMembersRemoved, 3);
      assert.equal(stats.channelMembersRemoved, 0, 'outsiders were never in the channels');
      assert.equal(statsChanged(await f.reconcile({ teamId: team })), 0);
      assert.equal(statsChanged(await f.reconcile()), 0);
    });

    test('a one-member change costs the same statements in a 3,000-member group as in a 10-member group', async () => {
      const small = await f.group();
      const big = await f.group();
      for (const g of [small, big]) {
        const team = await f.team(name('cost'), { constrained: true });
        await f.linkTeam(g, team, { schemeAdmin: true });
        await f.linkChannel(g, await f.channel(team, 'c'));
      }
      await f.join(small, await f.users(10));
      await f.join(big, await f.users(3000));
      const count = async (fn: () => Promise<void>) => {
        const sqls: string[] = [];
        const on = (q: { sql: string }) => sqls.push(q.sql);
        f.db.on('query', on);
        try { await fn(); } finally { f.db.off('query', on); }
        return sqls;
      };
      const [a, b] = await f.users(2);
      const addSmall = await count(() => f.join(small, [a!]));
      const addBig = await count(() => f.join(big, [b!]));
      assert.deepEqual(addBig, addSmall, 'same statements');
      const rmSmall = await count(() => f.leave(small, [a!]));
      const rmBig = await count(() => f.leave(big, [b!]));
      assert.deepEqual(rmBig, rmSmall);
      // No statement selects a group's members without naming the users (it would read the whole group).
      for (const sql of [...addBig, ...rmBig]) assert.ok(!/FROM group_members WHERE group_id = \?\s*$/i.test(sql), sql);
    });
  });
}
