/**
 * A person's system role carried to Mattermost, on each store, against the contract fake: created as admin, guest or
 * member; member -> admin -> member -> guest -> member with the team and channel memberships following (a guest's are
 * scheme_guest alone, and team admin comes back after promotion); a replayed delivery changes nothing; what Mattermost
 * cannot give (no license, guests switched off, the last admin, the token's own account) is parked with its reason
 * and goes through once fixed; 5xx and 429 are retried; reconcile puts hand edits back. Every check reads the fake's
 * state and the store's rows, not the connector's reports.
 * Roles come from the IdP as Entra sends app roles (SCIM `roles`, mapped by ROLE_MAPPING: helpers/connector.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rand, stores, type Store } from '../helpers/server.ts';
import { workspace, teamName } from '../helpers/workspace-http.ts';
import { appRole, assertMirrors, drained, parked, ROLE_MAPPING_ENV, setRole, startRig, type ConnectorRig, sleep, until } from '../helpers/connector.ts';
import { enqueueKeys } from '../../src/store/outbox.ts';


/** Helpers over one rig: the Mattermost account and memberships of one of ours, as the fake holds them. */
function on(rig: ConnectorRig) {
  const ws = workspace(rig.server);
  const binding = async (kind: string, id: string) => {
    const b = await rig.sql('mattermost_bindings').where({ kind, local_id: id }).first();
    assert.ok(b, `${kind} ${id} is bound`);
    return b.mm_id as string;
  };
  const h = {
    ws,
    binding,
    account: async (id: string) => rig.mm.state.users.get(await binding('user', id))!,
    roles: async (id: string) => (await h.account(id)).roles,
    /** "admin=.. user=.. guest=.." of a team or channel membership there, or null when there is none (or it was removed). */
    flags: async (kind: 'team' | 'channel', localId: string, userId: string) => {
      const key = `${await binding(kind, localId)}:${await binding('user', userId)}`;
      const m: any = kind === 'team' ? rig.mm.state.teamMembers.get(key) : rig.mm.state.channelMembers.get(key);
      if (!m || m.delete_at) return null;
      return `admin=${!!m.scheme_admin} user=${!!m.scheme_user} guest=${!!m.scheme_guest}`;
    },
    settle: async (opts: { rolesNotSent?: Set<string> } = {}) => {
      await drained(rig.sql);
      assert.deepEqual(await parked(rig.sql), [], 'nothing parked');
      await assertMirrors(rig.sql, rig.mm, opts);
    },
    /** The connector's delivery audit rows of a person, oldest first. */
    deliveries: async (id: string) => (await ws.audit(`resourceType=User&resourceId=${id}`)).filter((r) => r.operation === 'connector_deliver'),
    /** The parked delivery of a person, once it is parked (with a reason other than `not`, after a retry). */
    parkedOf: async (id: string, not?: string) => until(`a parked delivery of ${id}`, async () => {
      const row = await rig.sql('outbox').where({ state: 'parked', entity_key: `user:${id}` }).first();
      return row && row.last_error !== not ? row : null;
    }),
    retryParked: async () => ws.ok(await ws.admin.post(`${ws.A}/connector/deliveries/retry-parked`, {}), 200),
    addMember: async (kind: 'team' | 'channel', id: string, userId: string, schemeAdmin = false) =>
      ws.ok(await ws.admin.post(`${ws.A}/${kind}s/${id}/members`, { userId, schemeAdmin }), 200, 201),
  };
  return h;
}

const MEMBER = 'admin=false user=true guest=false';
const ADMIN = 'admin=true user=true guest=false';
const GUEST = 'admin=false user=false guest=true';

for (const store of stores()) {
  describe(`connector: system roles and guests into a licensed Mattermost (${store})`, { timeout: 120_000 }, () => {
    let rig: ConnectorRig;
    let h: ReturnType<typeof on>;
    before(async () => {
      rig = await startRig(store, ROLE_MAPPING_ENV, { license: { GuestAccounts: true }, guestAccounts: true });
      h = on(rig);
      // Every real server has the admin who set it up; Mattermost never lets its last system admin go (the count
      // leaves out bots, and the fake's connector account is a bot).
      rig.mm.seedUser({ username: `installer-${rand()}`, email: `installer.${rand()}@example.com`, roles: 'system_user system_admin' });
    });
    after(async () => rig?.stop());

    test('created as admin, guest and member: the first delivery creates the account and gives it its role', async () => {
      const admin = await h.ws.user({ roles: [appRole('admin')] });
      const guest = await h.ws.user({ roles: [appRole('guest')] });
      const member = await h.ws.user({ roles: [appRole('member')] });
      await h.settle();
      assert.equal(await h.roles(admin), 'system_user system_admin');
      assert.equal(await h.roles(guest), 'system_guest');
      assert.equal(await h.roles(member), 'system_user');
      const d = (await h.deliveries(admin)).find((r) => r.after.changes.some((c: string) => c.startsWith('created as')));
      assert.ok(d, 'a delivery created the admin');
      assert.ok(d.after.changes.includes('made a system admin'), JSON.stringify(d.after.changes));
      const g = (await h.deliveries(guest)).find((r) => r.after.changes.some((c: string) => c.startsWith('created as')));
      assert.ok(g?.after.changes.includes('made a guest'), JSON.stringify(g?.after.changes));
    });

    let person: string;
    let team: { id: string; channels: Record<string, string> };
    let channel: string;

    test('member -> admin -> member: the account\'s roles, nothing else', async () => {
      person = await h.ws.user();
      team = (await h.ws.team(teamName('roles')));
      channel = await h.ws.channel(team.id, 'design', { type: 'P' });
      await h.addMember('team', team.id, person, true);
      await h.addMember('channel', channel, person);
      await h.settle();
      assert.equal(await h.flags('team', team.id, person), ADMIN);
      assert.equal(await h.flags('channel', channel, person), MEMBER);
      await setRole(rig, person, 'admin');
      await h.settle();
      assert.equal(await h.roles(person), 'system_user system_admin');
      await setRole(rig, person, 'member');
      await h.settle();
      assert.equal(await h.roles(person), 'system_user');
      assert.equal(await h.flags('team', team.id, person), ADMIN, 'team admin untouched');
    });

    test('member -> guest: demoted; every membership kept, with the guest flags and no admin', async () => {
      await setRole(rig, person, 'guest');
      await h.settle();
      assert.equal(await h.roles(person), 'system_guest');
      assert.equal(await h.flags('team', team.id, person), GUEST);
      assert.equal(await h.flags('channel', channel, person), GUEST);
      assert.equal(await h.flags('channel', team.channels['town-square']!, person), GUEST);
    });

    test('guest -> member: promoted; memberships are member ones, the team admin the demotion ended stays ended', async () => {
      await setRole(rig, person, 'member');
      await h.settle();
      assert.equal(await h.roles(person), 'system_user');
      // Becoming a guest ended the team admin in the store as in Mattermost (DemoteUserToGuest clears SchemeAdmin);
      // neither promotion gives it back: a scheme_admin link or an admin does.
      const row = await rig.sql('team_members').where({ team_id: team.id, user_id: person }).first();
      assert.equal(row.scheme_admin === true || row.scheme_admin === 1, false);
      assert.equal(await h.flags('team', team.id, person), MEMBER, 'Mattermost mirrors the store');
      assert.equal(await h.flags('channel', channel, person), MEMBER);
      assert.equal(await h.flags('channel', team.channels['town-square']!, person), MEMBER);
    });

    test('roles Mattermost\'s admin gave that are not ours are kept through every change', async () => {
      const acct = await h.account(person);
      acct.roles = 'system_user system_user_access_token';
      await setRole(rig, person, 'admin');
      await h.settle();
      assert.equal(await h.roles(person), 'system_user system_admin system_user_access_token');
      await setRole(rig, person, 'guest');
      await h.settle();
      assert.equal(await h.roles(person), 'system_guest system_user_access_token');
      await setRole(rig, person, 'member');
      await h.settle();
      assert.equal(await h.roles(person), 'system_user system_user_access_token');
    });

    test('a replayed delivery changes nothing in Mattermost', async () => {
      await setRole(rig, person, 'guest');
      await h.settle();
      const acct = await h.account(person);
      const stamp = { roles: acct.roles, update_at: acct.update_at, team: await h.flags('team', team.id, person), channel: await h.flags('channel', channel, person) };
      const all = async () => (await h.ws.audit(`resourceId=${person}`)).filter((r) => r.operation === 'connector_deliver');
      const before = (await all()).length;
      await enqueueKeys(rig.server.running!.connector!.ctx.db, 'mattermost', [{ kind: 'user', id: person }, { kind: 'team_member', teamId: team.id, userId: person }, { kind: 'channel_member', channelId: channel, userId: person }], 'change_role');
      await until('the replay delivered', async () => (await all()).length >= before + 3);
      await h.settle();
      // A membership's POST is answered 201 whether or not the member was there (api4/team.go addTeamMember,
      // api4/channel.go addChannelMember), so it reads "joined"; nothing else is sent.
      const replay = (await all()).slice(before).map((r) => [r.resourceType, r.after.changes.filter((c: string) => !c.startsWith('joined '))]);
      assert.deepEqual(replay.sort(), [['ChannelMember', []], ['TeamMember', []], ['User', []]], 'the replay found nothing to do');
      const now = await h.account(person);
      assert.deepEqual({ roles: now.roles, update_at: now.update_at, team: await h.flags('team', team.id, person), channel: await h.flags('channel', channel, person) }, stamp);
    });

    test('a guest added to a team and a channel joins as a guest, never as admin', async () => {
      const g = await h.ws.user();
      await setRole(rig, g, 'guest');
      await h.settle();
      const t = await h.ws.team(teamName('guests'));
      const c = await h.ws.channel(t.id, 'visitors');
      // The admin API refuses to make a guest an admin (409 guest_cannot_be_admin, roles-entra.test.ts); a row that
      // says so anyway (an older version, a hand edit) still never makes one there: the connector sends guest flags.
      await h.addMember('team', t.id, g);
      await h.addMember('channel', c, g);
      await rig.sql('team_members').where({ team_id: t.id, user_id: g }).update({ scheme_admin: true });
      await rig.sql('channel_members').where({ channel_id: c, user_id: g }).update({ scheme_admin: true });
      await enqueueKeys(rig.server.running!.connector!.ctx.db, 'mattermost', [{ kind: 'team_member', teamId: t.id, userId: g }, { kind: 'channel_member', channelId: c, userId: g }], 'team_promote');
      await h.settle();
      assert.equal(await h.flags('team', t.id, g), GUEST, 'admin in the store, but a guest is not made team admin there');
      assert.equal(await h.flags('channel', c, g), GUEST);
    });

    test('503 and 429 on demote, promote and roles are retried, not parked', async () => {
      const p = await h.ws.user();
      await h.settle();
      rig.mm.faults.failNext(2, 503, /\/demote$/);
      await setRole(rig, p, 'guest');
      await h.settle();
      assert.equal(await h.roles(p), 'system_guest');
      rig.mm.faults.failNext(2, 500, /\/promote$/);
      rig.mm.faults.failNext(1, 429, /\/roles$/);
      await setRole(rig, p, 'admin');
      await h.settle();
      assert.equal(await h.roles(p), 'system_user system_admin');
      const mmId = await h.binding('user', p);
      const answered = (suffix: string) => rig.mm.requests.filter((r) => r.path === `/api/v4/users/${mmId}/${suffix}`).map((r) => r.status);
      assert.deepEqual(answered('demote'), [503, 503, 200]);
      assert.deepEqual(answered('promote'), [500, 500, 200]);
      assert.deepEqual(answered('roles'), [429, 200]);
    });

    test('reconcile puts hand edits back: an account\'s roles and a guest\'s membership flags', async () => {
      const [a, g, m] = [await h.ws.user(), await h.ws.user(), await h.ws.user()];
      await setRole(rig, a, 'admin');
      await setRole(rig, g, 'guest');
      await h.addMember('team', team.id, g);
      await h.addMember('team', team.id, m);
      await h.settle();
      (await h.account(a)).roles = 'system_user';
      const tm: any = rig.mm.state.teamMembers.get(`${await h.binding('team', team.id)}:${await h.binding('user', g)}`);
      Object.assign(tm, { scheme_user: true, scheme_guest: false });
      (await h.account(m)).roles = 'system_user system_admin';
      const teamRow = await rig.sql('teams').where({ id: team.id }).first();
      const report = h.ws.ok(await h.ws.admin.post(`${h.ws.A}/connector/reconcile`, {}), 200).body;
      assert.equal(report.failed, 0, JSON.stringify(report.errors));
      const fixed = new Map(report.differences.map((d: any) => [d.entity, d.changes]));
      assert.deepEqual(fixed.get(`user:${a}`), ['made a system admin']);
      assert.deepEqual(fixed.get(`user:${m}`), ['no longer a system admin']);
      assert.deepEqual(fixed.get(`team_member:${teamRow.name}/${g}`), ['joined team', 'team member as a guest']);
      assert.equal(await h.roles(a), 'system_user system_admin');
      assert.equal(await h.roles(m), 'system_user');
      assert.equal(await h.flags('team', team.id, g), GUEST);
      await h.settle();
    });

    test('connector status: guest accounts usable', async () => {
      const s = h.ws.ok(await h.ws.admin.get(`${h.ws.A}/connector`), 200).body;
      assert.equal(s.mattermost.guestAccounts, true);
      assert.equal(s.mattermost.licensed, true);
    });

    test('the connector\'s own account keeps its admin role: parked with the reason', async () => {
      // A person here with the email of the account MATTERMOST_TOKEN belongs to is bound to it (adoption by email).
      const bot = [...rig.mm.state.users.values()].find((u) => u.username === 'connector')!;
      const id = await h.ws.user({ userName: `bot.${rand()}`, emails: [{ value: bot.email, primary: true }] });
      const row = await h.parkedOf(id);
      assert.match(row.last_error, /is the account MATTERMOST_TOKEN belongs to/);
      assert.equal(bot.roles, 'system_user system_admin', 'still an admin');
      assert.equal(await h.binding('user', id), bot.id);
      h.ws.ok(await h.ws.admin.post(`${h.ws.A}/connector/deliveries/${row.id}/discard`, {}), 200);
    });
  });

  describe(`connector: roles Mattermost cannot give (${store})`, { timeout: 120_000 }, () => {
    let rig: ConnectorRig;
    let h: ReturnType<typeof on>;
    before(async () => {
      rig = await startRig(store as Store, ROLE_MAPPING_ENV);
      h = on(rig);
    });
    after(async () => rig?.stop());

    test('a guest without the license, with guests off, or licensed without guests: parked with the reason each time; delivered once it can be', async () => {
      const s = h.ws.ok(await h.ws.admin.get(`${h.ws.A}/connector`), 200).body;
      assert.equal(s.mattermost.guestAccounts, false, 'status says guests are not usable');
      const g = await h.ws.user();
      await h.settle();
      await setRole(rig, g, 'guest');
      const reasons: string[] = [];
      const park = async (previous?: string) => {
        const row = await h.parkedOf(g, previous);
        reasons.push(row.last_error);
        await sleep(200); // parked stays parked: no retry loop
        assert.equal((await rig.sql('outbox').where({ id: row.id }).first()).attempts, row.attempts);
        assert.equal(await h.roles(g), 'system_user', 'still a member there');
      };
      await park();
      rig.mm.settings.license = { GuestAccounts: false };
      await h.retryParked();
      await park(reasons[0]);
      rig.mm.settings.guestAccounts = true;
      await h.retryParked();
      await park(reasons[1]);
      assert.match(reasons[0]!, /guest accounts need a Mattermost license/);
      assert.match(reasons[1]!, /guest accounts are off/);
      assert.match(reasons[2]!, /license does not include guest accounts/);
      rig.mm.settings.license = { GuestAccounts: true };
      await h.retryParked();
      await h.settle();
      assert.equal(await h.roles(g), 'system_guest');
      const now = h.ws.ok(await h.ws.admin.get(`${h.ws.A}/connector`), 200).body;
      assert.equal(now.mattermost.guestAccounts, true);
    });

    test('a guest cannot be reactivated while guest accounts are off: parked with the reason', async () => {
      const g = await h.ws.user();
      await setRole(rig, g, 'guest');
      await h.settle();
      await h.ws.setActive(g, false);
      await h.settle();
      rig.mm.settings.guestAccounts = false;
      await h.ws.setActive(g, true);
      const row = await h.parkedOf(g);
      assert.match(row.last_error, /cannot reactivate this guest while guest accounts are off/);
      assert.ok((await h.account(g)).delete_at > 0, 'still deactivated there');
      // As for the last admin below: another queued row of this person may still be in flight, deciding on guest
      // accounts off, and would park after the retry. Wait until none is pending.
      await until(`every delivery of ${g} parked`, async () => !(await rig.sql('outbox').where({ entity_key: `user:${g}` }).whereNot({ state: 'parked' }).first()));
      rig.mm.settings.guestAccounts = true;
      await h.retryParked();
      await h.settle();
      assert.equal((await h.account(g)).delete_at, 0);
    });

    test('the last system admin stays one: Mattermost refuses, parked with the reason', async () => {
      const a = await h.ws.user();
      await setRole(rig, a, 'admin');
      await h.settle();
      await setRole(rig, a, 'member');
      const row = await h.parkedOf(a);
      assert.match(row.last_error, /it is the last one there/);
      assert.equal(await h.roles(a), 'system_user system_admin');
      // The person's other queued row (update_user and change_role are two) may still be in flight, deciding on the
      // Mattermost of before the second admin: wait until every row of theirs is parked, or a retry finds one to miss.
      await until(`every delivery of ${a} parked`, async () => !(await rig.sql('outbox').where({ entity_key: `user:${a}` }).whereNot({ state: 'parked' }).first()));
      rig.mm.seedUser({ username: `second-${rand()}`, email: `second.${rand()}@example.com`, roles: 'system_user system_admin' });
      await h.retryParked();
      await h.settle();
      assert.equal(await h.roles(a), 'system_user');
    });
  });
}
