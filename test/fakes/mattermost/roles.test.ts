// The fake's system roles and guests (routes-roles.ts, model.ts promoteGuest/demoteToGuest), driven with plain fetch
// and the official Client4, so the connector's role tests can trust what it answers.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import clientPackage from '@mattermost/client';
import type { Client4 as Client4Type } from '@mattermost/client';
import { startFakeMattermost, type FakeMattermost } from './index.ts';

const { Client4 } = clientPackage as unknown as { Client4: new () => Client4Type };
let fake: FakeMattermost;
let admin: Client4Type;

async function raw(method: string, path: string, body?: unknown, token = fake.adminToken) {
  const res = await fetch(`${fake.url}/api/v4${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, headers: res.headers };
}

const err = async (method: string, path: string, body?: unknown, token?: string) => {
  const r = await raw(method, path, body, token);
  return `${r.status} ${r.json?.id}`;
};

before(async () => {
  fake = await startFakeMattermost({ license: { GuestAccounts: true }, guestAccounts: true });
  admin = new Client4();
  admin.setUrl(fake.url);
  admin.setToken(fake.adminToken);
});
after(() => fake.close());
beforeEach(() => fake.reset());

/** A person, and a team with its default channels and a private channel. */
function teamWith(username: string) {
  const u = fake.seedUser({ username, email: `${username}@x.io` });
  const t = fake.seedTeam({ name: `t-${username}`, display_name: 'T' });
  const priv = fake.seedChannel({ team_id: t.id, name: 'private', display_name: 'P', type: 'P' });
  return { u, t, priv };
}
/** A membership's scheme flags and roles, as one string. */
const flags = (m: { scheme_admin: boolean; scheme_user: boolean; scheme_guest: boolean; roles: string } | undefined) =>
  m ? `admin=${m.scheme_admin} user=${m.scheme_user} guest=${m.scheme_guest} roles=${m.roles}` : 'none';

describe('PUT /users/{id}/roles', () => {
  test('IsValidUserRoles, the license for delegated roles, the permission, known roles, the last admin', async () => {
    const u = fake.seedUser({ username: 'ann', email: 'ann@x.io' });
    // A lone system_admin is refused on purpose; names are [a-z0-9_], at most 64.
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_admin' }), '400 api.context.invalid_body_param.app_error');
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_user System_Admin' }), '400 api.context.invalid_body_param.app_error');
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: `system_user ${'a'.repeat(65)}` }), '400 api.context.invalid_body_param.app_error');
    // NewSystemRoleIDs need CustomPermissionsSchemes, checked before the caller's permission.
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_user system_manager' }, fake.userToken), '400 api.user.update_user_roles.license.app_error');
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_user system_admin' }, fake.userToken), '403 api.context.permissions.app_error');
    assert.equal(await err('PUT', `/users/${'x'.repeat(26)}/roles`, { roles: 'system_user' }), '400 app.user.missing_account.const');
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_user made_up' }), '400 app.role.check_roles_exist.role_not_found');
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_user', 'nothing refused changed anything');
    await admin.updateUserRoles(u.id, 'system_user system_admin');
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_user system_admin');
    // The only human admin (the connector account is a bot, which the count leaves out) stays one.
    assert.equal(await err('PUT', `/users/${u.id}/roles`, { roles: 'system_user' }), '400 app.user.update.lastAdmin.app_error');
    fake.seedUser({ username: 'bea', email: 'bea@x.io', roles: 'system_user system_admin' });
    assert.equal((await raw('PUT', `/users/${u.id}/roles`, { roles: '  system_user   system_user_access_token ' })).status, 200);
    assert.equal(fake.state.users.get(u.id)!.roles, '  system_user   system_user_access_token ', 'stored as sent');
  });

  test('a roles value that is not a string is read as "" (model.MapFromJSON), which is valid', async () => {
    const u = fake.seedUser({ username: 'cal', email: 'cal@x.io' });
    assert.equal((await raw('PUT', `/users/${u.id}/roles`, { roles: ['system_user'] })).status, 200);
    assert.equal(fake.state.users.get(u.id)!.roles, '');
  });
});

describe('POST /users/{id}/demote and /promote', () => {
  test('demote: license, GuestAccountsSettings.Enable, the GuestAccounts feature, then already a guest', async () => {
    const u = fake.seedUser({ username: 'dan', email: 'dan@x.io' });
    fake.settings.license = null;
    assert.equal(await err('POST', `/users/${u.id}/demote`), '501 api.team.demote_user_to_guest.license.error');
    fake.settings.license = { GuestAccounts: false };
    fake.settings.guestAccounts = false;
    assert.equal(await err('POST', `/users/${u.id}/demote`), '501 api.team.demote_user_to_guest.disabled.error');
    fake.settings.guestAccounts = true;
    assert.equal(await err('POST', `/users/${u.id}/demote`), '403 api.team.invite_guests_to_channels.disabled.error');
    fake.settings.license = { GuestAccounts: true };
    assert.equal(await err('POST', `/users/${u.id}/demote`, undefined, fake.userToken), '403 api.context.permissions.app_error');
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_user');
    await admin.demoteUserToGuest(u.id);
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_guest');
    assert.equal(await err('POST', `/users/${u.id}/demote`), '501 api.user.demote_user_to_guest.already_guest.app_error');
  });

  test('promote: no license check; a non-guest is 501 no_guest', async () => {
    const u = fake.seedUser({ username: 'eve', email: 'eve@x.io', roles: 'system_guest' });
    fake.settings.license = null;
    fake.settings.guestAccounts = false;
    assert.equal(await err('POST', `/users/${u.id}/promote`, undefined, fake.userToken), '403 api.context.permissions.app_error');
    await admin.promoteGuestToUser(u.id);
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_user');
    assert.equal(await err('POST', `/users/${u.id}/promote`), '501 api.user.promote_guest_to_user.no_guest.app_error');
  });

  test('demote rewrites every membership as a guest\'s (admin dropped, removed ones too) and keeps the other roles', async () => {
    const { u, t, priv } = teamWith('fay');
    await admin.addToTeam(t.id, u.id);
    await admin.addToChannel(u.id, priv.id);
    await admin.updateTeamMemberSchemeRoles(t.id, u.id, true, true);
    fake.state.users.get(u.id)!.roles = 'system_user system_admin system_user_access_token';
    const other = fake.seedTeam({ name: 'left', display_name: 'Left' });
    await admin.addToTeam(other.id, u.id);
    await admin.removeFromTeam(other.id, u.id);
    await admin.demoteUserToGuest(u.id);
    const user = fake.state.users.get(u.id)!;
    assert.equal(user.roles, 'system_guest system_user_access_token');
    assert.equal(flags(fake.state.teamMembers.get(`${t.id}:${u.id}`)), 'admin=false user=false guest=true roles=team_guest');
    assert.equal(flags(fake.state.channelMembers.get(`${priv.id}:${u.id}`)), 'admin=false user=false guest=true roles=channel_guest');
    const gone = fake.state.teamMembers.get(`${other.id}:${u.id}`)!;
    assert.ok(gone.delete_at > 0 && gone.scheme_guest && !gone.scheme_user, 'a removed team membership is rewritten too');
  });

  test('promote rewrites the flags back (admin not restored) and joins default channels with the stale guest flags', async () => {
    const { u, t, priv } = teamWith('gus');
    await admin.addToTeam(t.id, u.id);
    await admin.addToChannel(u.id, priv.id);
    await admin.demoteUserToGuest(u.id);
    const offTopic = [...fake.state.channels.values()].find((c) => c.team_id === t.id && c.name === 'off-topic')!;
    await admin.removeFromChannel(u.id, offTopic.id);
    await admin.promoteGuestToUser(u.id);
    assert.equal(fake.state.users.get(u.id)!.roles, 'system_user');
    assert.equal(flags(fake.state.teamMembers.get(`${t.id}:${u.id}`)), 'admin=false user=true guest=false roles=team_user');
    assert.equal(flags(fake.state.channelMembers.get(`${priv.id}:${u.id}`)), 'admin=false user=true guest=false roles=channel_user');
    // app/user.go PromoteGuestToUser hands JoinDefaultChannels the user read before the promotion.
    assert.equal(flags(fake.state.channelMembers.get(`${offTopic.id}:${u.id}`)), 'admin=false user=false guest=true roles=channel_guest');
  });

  test('a guest joining a team gets no default channels and the guest flags; cannot be reactivated while guests are off', async () => {
    const u = fake.seedUser({ username: 'hal', email: 'hal@x.io', roles: 'system_guest' });
    const t = fake.seedTeam({ name: 'visitors', display_name: 'V' });
    const m = await admin.addToTeam(t.id, u.id);
    assert.equal(flags(m as never), 'admin=false user=false guest=true roles=team_guest');
    assert.equal([...fake.state.channelMembers.values()].filter((x) => x.user_id === u.id).length, 0);
    await admin.updateUserActive(u.id, false);
    fake.settings.guestAccounts = false;
    assert.equal(await err('PUT', `/users/${u.id}/active`, { active: true }), '401 api.user.update_active.cannot_enable_guest_when_guest_feature_is_disabled.app_error');
    fake.settings.guestAccounts = true;
    assert.equal((await raw('PUT', `/users/${u.id}/active`, { active: true })).status, 200);
  });
});

describe('scheme roles of members', () => {
  test('scheme_user with scheme_guest is refused; every field is set from the body (a missing one is false)', async () => {
    const { u, t, priv } = teamWith('ivy');
    await admin.addToTeam(t.id, u.id);
    await admin.addToChannel(u.id, priv.id);
    for (const [kind, path] of [['team', `/teams/${t.id}/members/${u.id}/schemeRoles`], ['channel', `/channels/${priv.id}/members/${u.id}/schemeRoles`]] as const) {
      assert.equal(await err('PUT', path, { scheme_admin: false, scheme_user: true, scheme_guest: true }), `400 api.${kind}.update_${kind}_member_roles.guest_and_user.app_error`);
      assert.equal((await raw('PUT', path, { scheme_admin: false, scheme_user: false, scheme_guest: true })).status, 200);
      // Not refused by the API (app UpdateTeamMemberSchemeRoles checks only the pair above).
      assert.equal((await raw('PUT', path, { scheme_admin: true, scheme_guest: true })).status, 200);
    }
    assert.equal(flags(fake.state.teamMembers.get(`${t.id}:${u.id}`)), 'admin=true user=false guest=true roles=team_guest team_admin');
    assert.equal(flags(fake.state.channelMembers.get(`${priv.id}:${u.id}`)), 'admin=true user=false guest=true roles=channel_guest channel_admin');
  });
});

describe('license and config as clients read them', () => {
  test('license/client lists the features; config/client says whether guest accounts are on; X-Version-Id says licensed', async () => {
    const lic = await raw('GET', '/license/client?format=old');
    assert.deepEqual(lic.json, { IsLicensed: 'true', GuestAccounts: 'true' });
    assert.match(lic.headers.get('x-version-id') ?? '', /\.true$/);
    assert.equal((await raw('GET', '/config/client?format=old')).json.EnableGuestAccounts, 'true');
    fake.settings.license = null;
    fake.settings.guestAccounts = false;
    assert.deepEqual((await raw('GET', '/license/client?format=old')).json, { IsLicensed: 'false' });
    assert.equal((await raw('GET', '/config/client?format=old')).json.EnableGuestAccounts, 'false');
    fake.reset();
    assert.deepEqual(fake.settings, { license: { GuestAccounts: true }, guestAccounts: true }, 'reset puts back the started settings');
  });
});
