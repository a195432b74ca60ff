/**
 * Guests in group sync (issue 15 §4), over HTTP: a guest joins only through links with allowGuests (a channel link's
 * flag also for the team it brings in), never joins default channels (Mattermost app/team.go `JoinUserToTeam`) and is
 * never made admin by a scheme_admin link (app/teams/teams.go `joinUserToTeam`); becoming a guest keeps every
 * membership and clears the admin flags (sqlstore/user_store.go `DemoteUserToGuest`); a promoted guest gets what the
 * links give and the default channels of their teams (app/user.go `PromoteGuestToUser`). The role change goes through
 * the engine hook the SCIM user lifecycle calls (`SyncEngine.userRoleChanged`), in one transaction with the column;
 * the last suite makes it through the lifecycle itself (an Entra app role mapped by ROLE_MAPPING).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { connect, GROUP_SCHEMA, PATCH_OP, rand, stores, useServer } from '../helpers/server.ts';
import { teamName, workspace, type MembershipView } from '../helpers/workspace-http.ts';
import { runCli } from '../helpers/cli.ts';
import { setSystemRole } from '../../src/store/users.ts';
import { SyncEngine } from '../../src/sync/engine.ts';
import type { SystemRole } from '../../src/config/roles.ts';

const NOTHING = { teamMembersAdded: 0, teamMembersRemoved: 0, channelMembersAdded: 0, channelMembersRemoved: 0, readded: 0, adminsPromoted: 0, adminsDemoted: 0 };

/** Memberships as sorted [name, active, schemeAdmin, addedBy] rows, so a test states the whole set. */
const rowsOf = (m: MembershipView['teams']) => [...m.entries()].map(([k, v]) => [k, v.active, v.schemeAdmin, v.addedBy]).sort();

const MEMBERSHIP_OPS = /^(team|channel)_(add|remove|promote|demote)$/;

/** The role change as the user lifecycle makes it: the column, then the engine hook, in one transaction. */
function roles(dbUrl: string) {
  const db: Knex = connect(dbUrl);
  const engine = new SyncEngine({ defaultChannels: ['town-square', 'off-topic'] });
  return {
    async set(userId: string, role: SystemRole, opts: { hook?: boolean } = {}): Promise<void> {
      await db.transaction(async (tx) => {
        const before = (await tx('users').where({ id: userId }).first('system_role')).system_role as SystemRole;
        await setSystemRole(tx, userId, role);
        if (opts.hook !== false) await engine.userRoleChanged(tx, userId, before, role, { actor: 'test:roles', requestId: `role-${userId}` });
      });
    },
    close: () => db.destroy(),
  };
}

for (const store of stores()) {
  describe(`group sync: guests [${store}]`, () => {
    const env = useServer(store);
    let ws: ReturnType<typeof workspace>;
    let role: ReturnType<typeof roles>;
    before(() => {
      ws = workspace(env.server);
      role = roles(env.server.dbUrl);
    });
    after(async () => { await role.close(); });

    const guest = async (): Promise<string> => {
      const u = await ws.user();
      await role.set(u, 'guest');
      return u;
    };
    const membershipAudit = async (userId: string) => (await ws.audit(`resourceId=${userId}`)).filter((r) => MEMBERSHIP_OPS.test(r.operation));

    test('a guest in a group linked without allowGuests gets nothing: no team, no channel, not the team a channel link brings in', async () => {
      const [tn, tn2] = [teamName('closed'), teamName('via')];
      const t = await ws.team(tn);
      const plans = await ws.channel(t.id, 'plans');
      const t2 = await ws.team(tn2);
      const lobby = await ws.channel(t2.id, 'lobby');
      const g = await ws.group();
      await ws.linkTeam(g, t.id);
      await ws.linkChannel(g, plans);
      await ws.linkChannel(g, lobby);
      const [gu, member] = [await guest(), await ws.user()];
      await ws.addMembers(g, [gu, member]);
      const gm = await ws.memberships(gu);
      assert.deepEqual([rowsOf(gm.teams), rowsOf(gm.channels)], [[], []]);
      assert.deepEqual(await membershipAudit(gu), []);
      // The member beside them gets everything, so the links do work.
      const mm = await ws.memberships(member);
      assert.deepEqual(rowsOf(mm.teams), [[tn, true, false, `group:${g}`], [tn2, true, false, `group:${g}`]].sort());
      assert.equal(mm.channels.size, 6);
      // Nor does any reconcile add them, even one re-adding removed members.
      for (const teamId of [t.id, t2.id]) assert.deepEqual(await ws.reconcile({ teamId, readdRemoved: true }), NOTHING);
      assert.equal((await ws.memberships(gu)).teams.size, 0);
    });

    test('with allowGuests a guest gets the team and the channel, never the default channels', async () => {
      const [ta, tb, tc] = [teamName('partners'), teamName('chonly'), teamName('mixed')];
      const a = await ws.team(ta);
      const plans = await ws.channel(a.id, 'plans');
      const other = await ws.channel(a.id, 'other');
      const b = await ws.team(tb);
      const lobby = await ws.channel(b.id, 'lobby');
      const c = await ws.team(tc);
      const desk = await ws.channel(c.id, 'desk');
      const g = await ws.group();
      await ws.linkTeam(g, a.id, { allowGuests: true });
      await ws.linkChannel(g, plans, { allowGuests: true });
      await ws.linkChannel(g, other); // no allowGuests: not for the guest
      await ws.linkChannel(g, a.channels['off-topic']!, { allowGuests: true }); // a default channel, explicitly opened
      await ws.linkChannel(g, lobby, { allowGuests: true }); // brings team b in for the guest too
      await ws.linkTeam(g, c.id); // the team link does not allow guests...
      await ws.linkChannel(g, desk, { allowGuests: true }); // ...but this channel link does, and it brings its team in
      const gu = await guest();
      await ws.addMembers(g, [gu]);
      const m = await ws.memberships(gu);
      const by = `group:${g}`;
      assert.deepEqual(rowsOf(m.teams), [[ta, true, false, by], [tb, true, false, by], [tc, true, false, by]].sort());
      assert.deepEqual(rowsOf(m.channels), [[`${ta}/off-topic`, true, false, by], [`${ta}/plans`, true, false, by], [`${tb}/lobby`, true, false, by], [`${tc}/desk`, true, false, by]].sort());
      const ops = (await membershipAudit(gu)).map((r) => `${r.operation}:${r.cause}:${r.after.teamId ?? r.after.channelId}`).sort();
      assert.deepEqual(ops, [
        `team_add:${by}:${a.id}`, `team_add:${by}:${b.id}`, `team_add:${by}:${c.id}`,
        `channel_add:${by}:${plans}`, `channel_add:${by}:${a.channels['off-topic']}`, `channel_add:${by}:${lobby}`, `channel_add:${by}:${desk}`,
      ].sort());
      for (const teamId of [a.id, b.id, c.id]) assert.deepEqual(await ws.reconcile({ teamId }), NOTHING, 'reconcile agrees with the event');
      // An admin's manual add of a guest to a team joins no default channel either (JoinUserToTeam skips guests).
      const tm = teamName('manual');
      const manual = await ws.team(tm);
      const added = ws.ok(await ws.admin.post(`${ws.A}/teams/${manual.id}/members`, { userId: gu }), 201).body;
      assert.deepEqual(added.defaultChannels, NOTHING);
      const after = await ws.memberships(gu);
      assert.equal(after.teams.get(tm)?.active, true);
      assert.deepEqual([...after.channels.keys()].filter((k) => k.startsWith(`${tm}/`)), []);
    });

    test('a scheme_admin link never makes a guest an admin; on a constrained team a guest admin is demoted', async () => {
      const [to, tk] = [teamName('adm-open'), teamName('adm-closed')];
      const o = await ws.team(to);
      const ops = await ws.channel(o.id, 'ops');
      const k = await ws.team(tk, { groupConstrained: true });
      const g = await ws.group();
      for (const teamId of [o.id, k.id]) await ws.linkTeam(g, teamId, { schemeAdmin: true, allowGuests: true });
      await ws.linkChannel(g, ops, { schemeAdmin: true, allowGuests: true });
      const [gu, member] = [await guest(), await ws.user()];
      await ws.addMembers(g, [gu, member]);
      const gm = await ws.memberships(gu);
      assert.deepEqual(rowsOf(gm.teams), [[tk, true, false, `group:${g}`], [to, true, false, `group:${g}`]].sort());
      assert.deepEqual(rowsOf(gm.channels), [[`${to}/ops`, true, false, `group:${g}`]]);
      assert.deepEqual((await membershipAudit(gu)).filter((r) => /promote/.test(r.operation)), []);
      const mm = await ws.memberships(member);
      assert.deepEqual([mm.teams.get(to)?.schemeAdmin, mm.teams.get(tk)?.schemeAdmin, mm.channels.get(`${to}/ops`)?.schemeAdmin], [true, true, true]);
      // A reconcile does not promote the guest either.
      for (const teamId of [o.id, k.id]) assert.deepEqual(await ws.reconcile({ teamId }), NOTHING);
      // The admin's role changes to guest by a write that skipped the hook: the constrained team's reconcile demotes
      // them (its links decide roles, and a guest is never an admin), and keeps them as a member.
      await role.set(member, 'guest', { hook: false });
      assert.deepEqual(await ws.reconcile({ teamId: k.id }), { ...NOTHING, adminsDemoted: 1 });
      assert.deepEqual((await ws.memberships(member)).teams.get(tk), { active: true, schemeAdmin: false, addedBy: `group:${g}`, removedBy: null });
      const demote = (await membershipAudit(member)).filter((r) => r.operation === 'team_demote');
      assert.deepEqual(demote.map((r) => [r.cause, r.after]), [['constraint', { teamId: k.id, userId: member, schemeAdmin: false }]]);
      assert.deepEqual(await ws.reconcile({ teamId: k.id }), NOTHING);
    });

    test('becoming a guest keeps every membership and clears every admin flag, audited with cause guest', async () => {
      const [tk, tm] = [teamName('demote'), teamName('manual-adm')];
      const k = await ws.team(tk, { groupConstrained: true });
      const ops = await ws.channel(k.id, 'ops');
      const man = await ws.team(tm);
      const g = await ws.group();
      await ws.linkTeam(g, k.id, { schemeAdmin: true });
      await ws.linkChannel(g, ops, { schemeAdmin: true });
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${man.id}/members`, { userId: u, schemeAdmin: true }), 201);
      const beforeRows = await ws.memberships(u);
      assert.deepEqual([beforeRows.teams.get(tk)?.schemeAdmin, beforeRows.teams.get(tm)?.schemeAdmin, beforeRows.channels.get(`${tk}/ops`)?.schemeAdmin], [true, true, true]);
      await role.set(u, 'guest');
      const m = await ws.memberships(u);
      assert.deepEqual(rowsOf(m.teams), [[tk, true, false, `group:${g}`], [tm, true, false, m.teams.get(tm)!.addedBy]].sort());
      assert.match(m.teams.get(tm)!.addedBy, /^admin:/);
      assert.deepEqual(rowsOf(m.channels), [
        [`${tk}/off-topic`, true, false, 'default_channel'], [`${tk}/ops`, true, false, `group:${g}`], [`${tk}/town-square`, true, false, 'default_channel'],
        [`${tm}/off-topic`, true, false, 'default_channel'], [`${tm}/town-square`, true, false, 'default_channel'],
      ].sort());
      const rows = (await ws.audit(`requestId=role-${u}`)).map((r) => [r.operation, r.cause, r.resourceId, r.before, r.after]);
      assert.deepEqual(rows.sort(), [
        ['channel_demote', 'guest', u, { schemeAdmin: true }, { channelId: ops, userId: u, schemeAdmin: false }],
        ['team_demote', 'guest', u, { schemeAdmin: true }, { teamId: k.id, userId: u, schemeAdmin: false }],
        ['team_demote', 'guest', u, { schemeAdmin: true }, { teamId: man.id, userId: u, schemeAdmin: false }],
      ].sort());
      // The constrained team keeps the guest (a link still permits them) and does not make them admin again.
      for (const teamId of [k.id, man.id]) assert.deepEqual(await ws.reconcile({ teamId }), NOTHING);
      // Joining the group again as a guest changes nothing either.
      await ws.removeMembers(g, [u]);
      assert.deepEqual([(await ws.memberships(u)).teams.get(tk)?.removedBy], [`group:${g}`], 'leaving the group still removes them from the constrained team');
      await ws.addMembers(g, [u]);
      const back = (await ws.memberships(u)).teams.get(tk);
      assert.deepEqual([back?.active, back?.removedBy], [false, `group:${g}`], 'the link does not allow guests: a tombstone the sync left stays for a guest');
    });

    test('a guest promoted to member gets the links\' memberships, admin roles and the default channels of their teams', async () => {
      const [ta, tb] = [teamName('promo'), teamName('promo-guests')];
      const a = await ws.team(ta);
      const eng = await ws.channel(a.id, 'eng');
      const b = await ws.team(tb);
      const g = await ws.group();
      const admins = await ws.group();
      await ws.linkTeam(g, a.id);
      await ws.linkChannel(g, eng);
      await ws.linkTeam(g, b.id, { allowGuests: true });
      await ws.linkTeam(admins, b.id, { schemeAdmin: true });
      const gu = await guest();
      await ws.addMembers(g, [gu]);
      await ws.addMembers(admins, [gu]);
      let m = await ws.memberships(gu);
      assert.deepEqual([rowsOf(m.teams), rowsOf(m.channels)], [[[tb, true, false, `group:${g}`]], []]);
      await role.set(gu, 'member');
      m = await ws.memberships(gu);
      assert.deepEqual(rowsOf(m.teams), [[ta, true, false, `group:${g}`], [tb, true, true, `group:${g}`]].sort());
      assert.deepEqual(rowsOf(m.channels), [
        [`${ta}/eng`, true, false, `group:${g}`], [`${ta}/off-topic`, true, false, 'default_channel'], [`${ta}/town-square`, true, false, 'default_channel'],
        [`${tb}/off-topic`, true, false, 'default_channel'], [`${tb}/town-square`, true, false, 'default_channel'],
      ].sort());
      const rows = (await ws.audit(`requestId=role-${gu}`)).map((r) => `${r.operation}:${r.cause}:${r.after.teamId ?? r.after.channelId}`);
      assert.deepEqual(rows.sort(), [
        `channel_add:default_channel:${b.channels['town-square']}`, `channel_add:default_channel:${b.channels['off-topic']}`,
        `team_add:group:${g}:${a.id}`, `channel_add:default_channel:${a.channels['town-square']}`, `channel_add:default_channel:${a.channels['off-topic']}`,
        `channel_add:group:${g}:${eng}`, `team_promote:promoted:${b.id}`,
      ].sort());
      for (const teamId of [a.id, b.id]) assert.deepEqual(await ws.reconcile({ teamId }), NOTHING);
      // Promoting again (member to admin) changes no membership.
      await role.set(gu, 'admin');
      assert.deepEqual(await ws.memberships(gu), m);
    });

    test('a guest re-added to a team skips its default channels; promotion brings back the ones the sync took', async () => {
      const tn = teamName('rejoin');
      const k = await ws.team(tn, { groupConstrained: true });
      const g = await ws.group();
      await ws.linkTeam(g, k.id, { allowGuests: true });
      const u = await ws.user();
      await ws.addMembers(g, [u]);
      await role.set(u, 'guest');
      await ws.removeMembers(g, [u]); // constrained: out of the team, its channels left with it (team:<id>)
      await ws.addMembers(g, [u]); // the link allows guests: the team comes back, its default channels do not
      let m = await ws.memberships(u);
      assert.deepEqual(rowsOf(m.teams), [[tn, true, false, `group:${g}`]]);
      assert.deepEqual([...m.channels.values()].map((c) => [c.active, c.removedBy]), [[false, `team:${k.id}`], [false, `team:${k.id}`]]);
      await role.set(u, 'member');
      m = await ws.memberships(u);
      assert.deepEqual(rowsOf(m.channels), [[`${tn}/off-topic`, true, false, 'default_channel'], [`${tn}/town-square`, true, false, 'default_channel']]);
      const back = (await ws.audit(`requestId=role-${u}`)).filter((r) => r.operation === 'channel_add').map((r) => [r.cause, r.after.readded, r.after.channelId]);
      assert.deepEqual(back.sort(), [['default_channel', true, k.channels['off-topic']], ['default_channel', true, k.channels['town-square']]].sort());
      assert.deepEqual(await ws.reconcile({ teamId: k.id }), NOTHING);
    });

    test('a promoted guest does not get back what they left themselves', async () => {
      const tn = teamName('promo-left');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id, { allowGuests: true });
      const gu = await guest();
      await ws.addMembers(g, [gu]);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${t.id}/members/${gu}?by=self`), 200);
      await role.set(gu, 'member');
      const m = await ws.memberships(gu);
      assert.deepEqual([rowsOf(m.teams), rowsOf(m.channels)], [[[tn, false, false, `group:${g}`]], []]);
    });

    test('after all of it a full reconcile changes nothing, with or without readdRemoved', async () => {
      assert.deepEqual(await ws.reconcile(), NOTHING);
      assert.deepEqual(await ws.reconcile({ readdRemoved: false }), NOTHING);
    });

    test('admin API: allowGuests round trip on team and channel links, in listings and audit rows; a non-boolean is a 400', async () => {
      const t = await ws.team(teamName('flag'));
      const ch = await ws.channel(t.id, 'flagged');
      const g = await ws.group();
      const put = (path: string, body: unknown) => ws.admin.put(`${ws.A}/groups/${g}/${path}`, body);
      let r = ws.ok(await put(`teams/${t.id}`, { allowGuests: true }), 201);
      assert.deepEqual([r.body.created, r.body.changed, r.body.link.autoAdd, r.body.link.schemeAdmin, r.body.link.allowGuests], [true, true, true, false, true]);
      r = ws.ok(await put(`teams/${t.id}`, { allowGuests: true }), 200);
      assert.deepEqual([r.body.created, r.body.changed], [false, false]);
      r = ws.ok(await put(`teams/${t.id}`, {}), 200);
      assert.deepEqual([r.body.changed, r.body.link.allowGuests], [true, false], 'PUT states the link: an absent flag is its default');
      r = ws.ok(await put(`channels/${ch}`, { allowGuests: true, autoAdd: false }), 201);
      assert.equal(r.body.link.allowGuests, true);
      for (const [path, body] of [[`teams/${t.id}`, { allowGuests: 'yes' }], [`teams/${t.id}`, { allowGuests: 1 }], [`channels/${ch}`, { allowGuests: null }]] as const) {
        const bad = await put(path, body);
        assert.equal(bad.status, 400, bad.text);
        assert.match(bad.headers.get('content-type') ?? '', /^application\/json/);
        assert.deepEqual(bad.body, { error: { status: 400, code: 'invalid_value', message: 'allowGuests must be a boolean' } });
      }
      const listed = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body;
      assert.deepEqual(listed.teams.map((l: any) => [l.teamId, l.allowGuests]), [[t.id, false]]);
      assert.deepEqual(listed.channels.map((l: any) => [l.channelId, l.autoAdd, l.allowGuests]), [[ch, false, true]]);
      const page = ws.ok(await ws.admin.get(`${ws.A}/groups?limit=1000`), 200).body;
      assert.equal(page.items.find((x: any) => x.id === g).channels[0].allowGuests, true);
      const audit = (await ws.audit(`resourceType=Link&resourceId=${g}`)).map((x) => [x.operation, x.before?.allowGuests ?? null, x.after?.allowGuests ?? null]);
      assert.deepEqual(audit, [['link_team', null, true], ['update_team_link', true, false], ['link_channel', null, true]]);
    });

    test('CLI: link --allow-guests sets the flag and adds the group\'s guests; link without it clears it', async () => {
      const tn = teamName('cli');
      await ws.team(tn);
      const gu = await guest();
      const g = await ws.group([gu]);
      let out = await runCli(env.db.url, ['link', g, tn, '--allow-guests']);
      assert.equal(out.code, 0, out.stderr);
      let body = JSON.parse(out.stdout);
      assert.deepEqual([body.created, body.link.allowGuests, body.reconcile.teamMembersAdded, body.reconcile.channelMembersAdded], [true, true, 1, 0]);
      assert.deepEqual(rowsOf((await ws.memberships(gu)).teams), [[tn, true, false, `group:${g}`]]);
      out = await runCli(env.db.url, ['link', g, tn]);
      assert.equal(out.code, 0, out.stderr);
      body = JSON.parse(out.stdout);
      assert.deepEqual([body.changed, body.link.allowGuests], [true, false]);
      assert.equal((await ws.memberships(gu)).teams.get(tn)?.active, true, 'clearing the flag adds no more guests and removes none');
      const help = await runCli(env.db.url, ['link', '--help']);
      assert.match(help.stdout, /--allow-guests/);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'scim-guests-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

for (const store of stores()) {
  const r = rand();
  const mapping = join(dir, `mapping-${store}.json`);
  writeFileSync(mapping, JSON.stringify({ links: [
    { group: { displayName: `Partners ${r}` }, team: `partners-${r}`, allowGuests: true, createTeam: { displayName: 'Partners' } },
    { group: { displayName: `Partners ${r}` }, team: `staff-${r}`, createTeam: { displayName: 'Staff' } },
  ] }));
  describe(`group sync: guests and the mapping file [${store}]`, () => {
    const env = useServer(store, { env: { GROUP_MAPPING_FILE: mapping } });

    test('a rule\'s allowGuests lets the group\'s guests into its team (no default channels); a rule without it does not', async () => {
      const ws = workspace(env.server);
      const role = roles(env.server.dbUrl);
      try {
        const gu = await ws.user();
        await role.set(gu, 'guest');
        const member = await ws.user();
        const g = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Partners ${r}`, members: [{ value: gu }, { value: member }] }), 201).body.id;
        const links = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body.teams.map((l: any) => [l.teamName, l.allowGuests]);
        assert.deepEqual(links, [[`partners-${r}`, true], [`staff-${r}`, false]]);
        const m = await ws.memberships(gu);
        assert.deepEqual([rowsOf(m.teams), rowsOf(m.channels)], [[[`partners-${r}`, true, false, `group:${g}`]], []]);
        assert.equal((await ws.memberships(member)).teams.size, 2);
        const audit = (await ws.audit(`resourceType=Link&resourceId=${g}`)).map((x) => [x.operation, x.cause, x.after.allowGuests]);
        assert.deepEqual(audit, [['link_team', 'mapping', true], ['link_team', 'mapping', false]]);
      } finally {
        await role.close();
      }
    });
  });
}

for (const store of stores()) {
  describe(`group sync: guests through the SCIM roles [${store}]`, () => {
    const env = useServer(store, { env: { ROLE_MAPPING: 'Guest=guest,User=member' } });

    test('an Entra Guest app role contains the person; replacing it with User promotes them, through the user lifecycle', async () => {
      const ws = workspace(env.server);
      const role = (value: string) => ({ primary: false, type: 'WindowsAzureActiveDirectoryRole', display: value, value });
      const tn = teamName('scim-role');
      const t = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, t.id, { schemeAdmin: true });
      const u = await ws.user({ roles: [role('User')] });
      await ws.addMembers(g, [u]);
      assert.deepEqual(rowsOf((await ws.memberships(u)).teams), [[tn, true, true, `group:${g}`]]);
      const setRoles = async (value: unknown[]) => ws.ok(await ws.scim.patch(`/Users/${u}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'roles', value }] }), 200, 204);
      await setRoles([role('Guest')]);
      let m = await ws.memberships(u);
      assert.deepEqual(rowsOf(m.teams), [[tn, true, false, `group:${g}`]], 'kept, no longer admin');
      assert.deepEqual((await membershipOps(ws, u)).slice(-1), [['team_demote', 'guest']]);
      // A second team linked without allowGuests gives the guest nothing.
      const other = teamName('scim-closed');
      const o = await ws.team(other);
      await ws.linkTeam(g, o.id);
      assert.equal((await ws.memberships(u)).teams.has(other), false);
      await setRoles([role('User')]);
      m = await ws.memberships(u);
      assert.deepEqual(rowsOf(m.teams), [[other, true, false, `group:${g}`], [tn, true, true, `group:${g}`]].sort());
      assert.deepEqual(rowsOf(m.channels).map((r) => r[0]).sort(), [`${other}/off-topic`, `${other}/town-square`, `${tn}/off-topic`, `${tn}/town-square`].sort());
      assert.ok((await membershipOps(ws, u)).some(([op, cause]) => op === 'team_promote' && cause === 'promoted'));
    });
  });
}

async function membershipOps(ws: ReturnType<typeof workspace>, userId: string): Promise<[string, string][]> {
  return (await ws.audit(`resourceId=${userId}`)).filter((r) => MEMBERSHIP_OPS.test(r.operation)).map((r) => [r.operation, r.cause]);
}
