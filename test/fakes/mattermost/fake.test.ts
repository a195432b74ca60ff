// Drives the fake with the official Client4 and with plain fetch, so the connector's tests can trust what it answers.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import clientPackage from '@mattermost/client';
import type { Client4 as Client4Type } from '@mattermost/client';
import { startFakeMattermost, type FakeMattermost } from './index.ts';

let fake: FakeMattermost;
// The package is CommonJS with getter exports, which Node's ESM loader cannot see as named exports.
const { Client4 } = clientPackage as unknown as { Client4: new () => Client4Type };
type Client4 = Client4Type;
let admin: Client4;
let plain: Client4;

function client(token: string): Client4 {
  const c = new Client4();
  c.setUrl(fake.url);
  c.setToken(token);
  return c;
}

async function raw(method: string, path: string, body?: unknown, token = fake.adminToken, extra: Record<string, string> = {}) {
  const res = await fetch(`${fake.url}/api/v4${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...extra },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function clientError(p: Promise<unknown>): Promise<{ server_error_id?: string; status_code?: number }> {
  try {
    await p;
  } catch (e) {
    return e as { server_error_id?: string; status_code?: number };
  }
  assert.fail('expected the call to fail');
}

before(async () => {
  fake = await startFakeMattermost();
  admin = client(fake.adminToken);
  plain = client(fake.userToken);
});
after(() => fake.close());
beforeEach(() => fake.reset());

describe('system and auth', () => {
  test('ping, client config, license, version and request id headers', async () => {
    assert.deepEqual(await admin.ping(false), { status: 'OK' });
    const cfg = await admin.getClientConfig();
    assert.equal(cfg.Version, '11.9.0');
    assert.equal((await admin.getClientLicenseOld()).IsLicensed, 'false');
    assert.match(admin.getServerVersion(), /^11\.9\.0\./);
    const r = await raw('GET', '/system/ping', undefined, '');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('x-request-id') ?? '', /^[a-z0-9]{26}$/);
  });

  test('me, bearer in any case, missing or unknown token is 401', async () => {
    const me = await admin.getMe();
    assert.equal(me.username, 'connector');
    assert.ok(me.roles.includes('system_admin'));
    assert.equal((await raw('GET', '/users/me', undefined, fake.adminToken, { Authorization: `bearer ${fake.adminToken}` })).status, 200);
    const r = await raw('GET', '/users/me', undefined, 'nope');
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(r.json), ['id', 'message', 'detailed_error', 'request_id', 'status_code']);
    assert.equal(r.json.id, 'api.context.session_expired.app_error');
    assert.equal(r.json.request_id, r.headers.get('x-request-id'));
  });

  test('unknown route 404, malformed JSON 400, bad path id 400, plain user 403', async () => {
    assert.equal((await raw('GET', '/nothing/here')).json.id, 'api.context.404.app_error');
    const bad = await raw('POST', '/users', '{"username":');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.id, 'api.context.invalid_body_param.app_error');
    const badId = await raw('GET', '/users/abc');
    assert.equal(badId.status, 400);
    assert.equal(badId.json.id, 'api.context.invalid_url_param.app_error');
    const e = await clientError(plain.createTeam({ name: 'x1', display_name: 'X', type: 'O' } as never));
    assert.equal(e.status_code, 403);
    assert.equal(e.server_error_id, 'api.context.permissions.app_error');
  });
});

describe('users', () => {
  test('create validates username, email, auth_data and password with the model ids', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ username: 'all', email: 'a@x.io', password: 'secret1' }, 'model.user.is_valid.username.app_error'],
      [{ username: 'a b', email: 'a@x.io', password: 'secret1' }, 'model.user.is_valid.username.app_error'],
      [{ username: 'ann', email: 'not-an-email', password: 'secret1' }, 'model.user.is_valid.email.app_error'],
      [{ username: 'ann', email: 'ann@x.io', auth_data: 'x'.repeat(129), auth_service: 'saml' }, 'model.user.is_valid.auth_data.app_error'],
      [{ username: 'ann', email: 'ann@x.io', auth_data: 'abc' }, 'model.user.is_valid.auth_data_type.app_error'],
      [{ username: 'ann', email: 'ann@x.io', auth_data: 'abc', auth_service: 'saml', password: 'secret1' }, 'model.user.is_valid.auth_data_pwd.app_error'],
      [{ username: 'ann', email: 'ann@x.io', password: 'abc' }, 'model.user.is_valid.pwd_min_length.app_error'],
    ];
    for (const [body, id] of cases) {
      const r = await raw('POST', '/users', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.id, id, JSON.stringify(body));
    }
    assert.equal(fake.state.users.size, 2);
  });

  test('create lower-cases, sanitizes, skips the password for SSO, and enforces uniqueness', async () => {
    const u = await admin.createUser({ username: 'Ann.Lee', email: ' Ann@X.io ', auth_service: 'saml', auth_data: 'obj-1' } as never, '', '');
    assert.equal(u.username, 'ann.lee');
    assert.equal(u.email, 'ann@x.io');
    assert.equal(u.auth_data, '');
    assert.equal('password' in u, false);
    assert.equal(fake.state.users.get(u.id)!.auth_data, 'obj-1');
    const dupes: [Record<string, unknown>, string][] = [
      [{ username: 'ann.lee', email: 'other@x.io', auth_service: 'saml', auth_data: 'obj-2' }, 'app.user.save.username_exists.app_error'],
      [{ username: 'bob', email: 'ANN@x.io', auth_service: 'saml', auth_data: 'obj-3' }, 'app.user.save.email_exists.app_error'],
      [{ username: 'bob', email: 'bob@x.io', auth_service: 'openid', auth_data: 'obj-1' }, 'app.user.save.existing.app_error'],
    ];
    for (const [body, id] of dupes) assert.equal((await raw('POST', '/users', body)).json.id, id);
    // A plain user's auth fields are dropped (SanitizeInput), so a password is needed.
    const r = await raw('POST', '/users', { username: 'carl', email: 'carl@x.io', auth_service: 'saml', auth_data: 'z' }, fake.userToken);
    assert.equal(r.json.id, 'model.user.is_valid.pwd_min_length.app_error');
  });

  test('lookups, paging and patch', async () => {
    for (let i = 0; i < 5; i++) fake.seedUser({ username: `u${i}`, email: `u${i}@x.io` });
    assert.equal((await admin.getUserByUsername('u3')).email, 'u3@x.io');
    assert.equal((await admin.getUserByEmail('u2@x.io')).username, 'u2');
    assert.equal((await clientError(admin.getUserByUsername('nobody'))).status_code, 404);
    const page0 = await admin.getProfiles(0, 3);
    const page1 = await admin.getProfiles(1, 3);
    assert.equal(page0.length, 3);
    const page2 = await admin.getProfiles(2, 3);
    assert.equal(page1.length, 3);
    assert.equal(page2.length, 1); // 7 users: connector, plainuser, u0..u4
    assert.deepEqual(new Set([...page0, ...page1, ...page2].map((u) => u.id)).size, 7);
    const big = await raw('GET', '/users?per_page=5000');
    assert.equal(big.json.length, 7);
    const u0 = [...fake.state.users.values()].find((u) => u.username === 'u0')!;
    assert.equal((await admin.getProfilesByIds([u0.id, 'x'.repeat(26)])).length, 1);
    await admin.patchUser({ id: u0.id, props: { a: '1' }, first_name: 'Zed' } as never);
    const patched = await admin.patchUser({ id: u0.id, props: { b: '2' } } as never);
    assert.equal(patched.first_name, 'Zed');
    assert.deepEqual(patched.props, { b: '2' });
  });

  test('deactivate revokes sessions, active needs a boolean, permanent delete is off', async () => {
    const u = fake.seedUser({ username: 'dee', email: 'dee@x.io' });
    assert.equal([...fake.state.sessions.values()].filter((s) => s.user_id === u.id).length, 1);
    assert.equal((await raw('DELETE', `/users/${u.id}`)).status, 200);
    assert.ok(fake.state.users.get(u.id)!.delete_at > 0);
    assert.equal([...fake.state.sessions.values()].filter((s) => s.user_id === u.id).length, 0);
    assert.equal((await raw('PUT', `/users/${u.id}/active`, { active: 'true' })).json.id, 'api.context.invalid_body_param.app_error');
    await admin.updateUserActive(u.id, true);
    assert.equal(fake.state.users.get(u.id)!.delete_at, 0);
    const perm = await raw('DELETE', `/users/${u.id}?permanent=true`);
    assert.equal(perm.status, 401);
    assert.equal(perm.json.id, 'api.user.delete_user.not_enabled.app_error');
    assert.equal((await raw('PUT', `/users/${u.id}/roles`, { roles: 'system_admin' })).status, 400);
    const auth = await admin.updateUserAuth(u.id, { auth_data: 'ext-9', auth_service: 'saml' } as never);
    assert.equal((auth as { auth_service: string }).auth_service, 'saml');
    assert.equal(fake.state.users.get(u.id)!.password, '');
  });
});

describe('teams and channels', () => {
  test('create team: name rules, uniqueness, default channels, creator joins', async () => {
    assert.equal((await raw('POST', '/teams', { name: 'admins', display_name: 'A', type: 'O' })).json.id, 'model.team.is_valid.reserved.app_error');
    assert.equal((await raw('POST', '/teams', { name: 'Bad Name', display_name: 'A', type: 'O' })).json.id, 'model.team.is_valid.characters.app_error');
    const t = await admin.createTeam({ name: 'eng', display_name: 'Engineering', type: 'O', allow_open_invite: true } as never);
    assert.equal(t.type, 'O');
    assert.equal((await raw('POST', '/teams', { name: 'eng', display_name: 'Again', type: 'O' })).json.id, 'app.team.save.existing.app_error');
    const names = [...fake.state.channels.values()].filter((c) => c.team_id === t.id).map((c) => c.name).sort();
    assert.deepEqual(names, ['off-topic', 'town-square']);
    const me = await admin.getMe();
    assert.equal(fake.state.teamMembers.get(`${t.id}:${me.id}`)?.scheme_admin, true);
    // allow_open_invite left out: model/team.go keeps Type and AllowOpenInvite in step, so the team is "I".
    assert.equal((await admin.createTeam({ name: 'ops', display_name: 'Ops', type: 'O' } as never)).type, 'I');
    assert.equal((await admin.getTeamByName('ENG')).id, t.id);
  });

  test('team membership: idempotent, revives, joins default channels, leaving leaves channels; a deactivated user is let in', async () => {
    const t = fake.seedTeam({ name: 'sales', display_name: 'Sales' });
    const u = fake.seedUser({ username: 'sam', email: 'sam@x.io' });
    const m1 = await admin.addToTeam(t.id, u.id);
    const m2 = await admin.addToTeam(t.id, u.id);
    assert.deepEqual(m2, m1);
    const ts = [...fake.state.channels.values()].find((c) => c.team_id === t.id && c.name === 'town-square')!;
    assert.ok(fake.state.channelMembers.has(`${ts.id}:${u.id}`));
    const priv = fake.seedChannel({ team_id: t.id, name: 'secret', display_name: 'Secret', type: 'P' });
    await admin.addToChannel(u.id, priv.id);
    await admin.removeFromTeam(t.id, u.id);
    assert.ok(fake.state.teamMembers.get(`${t.id}:${u.id}`)!.delete_at > 0);
    assert.equal(fake.state.channelMembers.has(`${priv.id}:${u.id}`), false);
    assert.equal(fake.state.channelMembers.has(`${ts.id}:${u.id}`), false);
    const e = await clientError(admin.addToChannel(u.id, priv.id));
    assert.equal(e.server_error_id, 'api.channel.add_user.to.channel.failed.deleted.app_error');
    const revived = await admin.addToTeam(t.id, u.id);
    assert.equal(revived.delete_at, 0);
    assert.ok(fake.state.channelMembers.has(`${ts.id}:${u.id}`));
    // No check on user.DeleteAt in JoinUserToTeam (app/teams/teams.go): a deactivated user joins a team ...
    const gone = fake.seedUser({ username: 'gone', email: 'gone@x.io' });
    await admin.updateUserActive(gone.id, false);
    assert.equal((await admin.addToTeam(t.id, gone.id)).delete_at, 0);
    // ... but AddChannelMember refuses it.
    assert.equal((await clientError(admin.addToChannel(gone.id, priv.id))).status_code, 403);
    const graceful = await admin.addUsersToTeamGracefully(t.id, [u.id, 'x'.repeat(26)]);
    assert.equal(graceful[1].error.server_error_id ?? (graceful[1].error as unknown as { id: string }).id, 'app.user.missing_account.const');
    const tooMany = Array.from({ length: 257 }, () => ({ team_id: t.id, user_id: u.id }));
    assert.equal((await raw('POST', `/teams/${t.id}/members/batch?graceful=true`, tooMany)).status, 400);
  });

  test('channels: rules, uniqueness within a team, members must be in the team, paging', async () => {
    const t = fake.seedTeam({ name: 'dev', display_name: 'Dev' });
    assert.equal((await raw('POST', '/channels', { team_id: t.id, name: 'Bad!', display_name: 'B', type: 'O' })).json.id,
      'model.channel.is_valid.1_or_more.app_error');
    const c = await admin.createChannel({ team_id: t.id, name: 'general-2', display_name: 'G2', type: 'O' } as never);
    assert.equal((await raw('POST', '/channels', { team_id: t.id, name: 'general-2', display_name: 'Again', type: 'O' })).json.id,
      'store.sql_channel.save_channel.exists.app_error');
    const outsider = fake.seedUser({ username: 'out', email: 'out@x.io' });
    const e = await clientError(admin.addToChannel(outsider.id, c.id));
    assert.equal(e.status_code, 404);
    assert.equal(e.server_error_id, 'app.team.get_member.missing.app_error');
    for (let i = 0; i < 4; i++) fake.seedChannel({ team_id: t.id, name: `c${i}`, display_name: `C${i}` });
    assert.equal((await admin.getChannels(t.id, 0, 3)).length, 3);
    assert.equal((await admin.getChannels(t.id, 2, 3)).length, 1); // town-square, off-topic, general-2, c0..c3
    assert.equal((await clientError(admin.deleteChannel([...fake.state.channels.values()].find((x) => x.team_id === t.id && x.name === 'town-square')!.id))).server_error_id,
      'api.channel.delete_channel.cannot.app_error');
    await admin.deleteChannel(c.id);
    assert.equal((await clientError(admin.getChannelByName(t.id, 'general-2'))).status_code, 404);
    assert.equal((await admin.getChannelByName(t.id, 'general-2', true)).id, c.id);
  });

  test('defaultChannels replaces off-topic', async () => {
    const other = await startFakeMattermost({ defaultChannels: ['lobby'] });
    try {
      const t = other.seedTeam({ name: 'x1', display_name: 'X' });
      const names = [...other.state.channels.values()].filter((c) => c.team_id === t.id).map((c) => c.name).sort();
      assert.deepEqual(names, ['lobby', 'town-square']);
    } finally {
      await other.close();
    }
  });
});

describe('faults', () => {
  test('down resets connections, then recovers', async () => {
    fake.faults.down = true;
    await assert.rejects(fetch(`${fake.url}/api/v4/system/ping`), (e: Error & { cause?: { code?: string } }) => {
      assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code ?? ''), String(e.cause?.code));
      return true;
    });
    fake.faults.down = false;
    assert.equal((await raw('GET', '/system/ping')).status, 200);
  });

  test('failNext answers the status n times for matching requests only', async () => {
    fake.faults.failNext(2, 503, /\/users\/me$/);
    assert.equal((await raw('GET', '/system/ping')).status, 200);
    const first = await raw('GET', '/users/me');
    assert.equal(first.status, 503);
    assert.equal(first.json.id, 'api.context.server_busy.app_error');
    assert.equal((await raw('GET', '/users/me')).status, 503);
    assert.equal((await raw('GET', '/users/me')).status, 200);
    fake.faults.failNext(1);
    assert.equal((await raw('GET', '/system/ping')).status, 500);
  });

  test('rateLimit: 429 text/plain with Retry-After and X-RateLimit-*', async () => {
    fake.faults.rateLimit({ perSec: 1, burst: 2 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof raw>> | undefined;
    for (let i = 0; i < 4; i++) {
      const r = await raw('GET', '/system/ping');
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(limited!.text, 'limit exceeded\n');
    assert.match(limited!.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(limited!.headers.get('x-ratelimit-limit'), '3');
    assert.equal(limited!.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(limited!.headers.get('retry-after'), '1');
    assert.ok(Number(limited!.headers.get('x-ratelimit-reset')) >= 1);
    fake.faults.rateLimit(null);
    assert.equal((await raw('GET', '/system/ping')).status, 200);
  });

  test('crashAfterApply applies the write and loses the reply', async () => {
    fake.faults.crashAfterApply(/^POST \/api\/v4\/users$/);
    await assert.rejects(raw('POST', '/users', { username: 'once', email: 'once@x.io', password: 'secret1' }));
    assert.ok([...fake.state.users.values()].some((u) => u.username === 'once'));
    const again = await raw('POST', '/users', { username: 'once', email: 'once@x.io', password: 'secret1' });
    assert.equal(again.json.id, 'app.user.save.email_exists.app_error');
    assert.deepEqual(fake.requests.map((r) => [r.method, r.path, r.status]), [['POST', '/api/v4/users', 201], ['POST', '/api/v4/users', 400]]);
  });

  test('latency delays each response', async () => {
    fake.faults.latencyMs = 150;
    const t0 = Date.now();
    await raw('GET', '/system/ping');
    assert.ok(Date.now() - t0 >= 140);
  });
});

describe('test-only stats (not Mattermost API)', () => {
  test('GET /__fake/stats counts what clients created, leaves out the fake\'s own accounts, and is neither limited nor logged', async () => {
    const empty = await (await fetch(`${fake.url}/__fake/stats`)).json();
    assert.deepEqual({ users: empty.users, teams: empty.teams, teamMembers: empty.teamMembers, channelMembers: empty.channelMembers, requests: empty.requests }, { users: 0, teams: 0, teamMembers: 0, channelMembers: 0, requests: 0 });
    const u = (await raw('POST', '/users', { username: 'ann', email: 'ann@x.io', password: 'secret12' })).json;
    const t = (await raw('POST', '/teams', { name: 'eng', display_name: 'Eng', type: 'O' })).json;
    assert.equal((await raw('POST', `/teams/${t.id}/members`, { team_id: t.id, user_id: u.id })).status, 201);
    fake.faults.rateLimit({ perSec: 1, burst: 0 });
    await raw('GET', '/users/me');
    assert.equal((await raw('GET', '/users/me')).status, 429);
    const s = await (await fetch(`${fake.url}/__fake/stats`)).json();
    // Joining a team joins its default channels, town-square and off-topic (the bot, as creator, is not counted).
    assert.deepEqual({ users: s.users, activeUsers: s.activeUsers, teams: s.teams, channels: s.channels, teamMembers: s.teamMembers, channelMembers: s.channelMembers },
      { users: 1, activeUsers: 1, teams: 1, channels: 2, teamMembers: 1, channelMembers: 2 });
    assert.equal(s.requests, 5);
    assert.deepEqual(s.byStatus, { 200: 1, 201: 3, 429: 1 });
    assert.ok(s.firstRequestAt <= s.lastRequestAt);
  });
});
