/**
 * The concurrent member-add race, shared by races.test.ts (a burst every run) and load/races.test.ts (1,000 adds,
 * `npm run test:reliability`): `members` PATCHes, one member each, to one group linked to a team with auto_add,
 * spread over the given servers. Exactly that many members, audit rows, team and default-channel memberships.
 */
import assert from 'node:assert/strict';
import { client, connect, GROUP_SCHEMA, PATCH_OP, rand, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { seedUsers } from './util.ts';

export async function memberAddRace(servers: TestServer[], db: TestDatabase, members: number, label: string): Promise<void> {
  const k = connect(db.url);
  try {
    const ids = await seedUsers(k, members, `m${rand()}`);
    const api = client(servers[0]!);
    const group = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `race-${rand()}` });
    assert.equal(group.status, 201, group.text);
    const groupId: string = group.body.id;

    // A team linked with auto_add: every member added to the group joins the team and its default channels. The
    // admin API must answer: without it this race would check the SCIM side only and still pass.
    const admin = client(servers[0]!, servers[0]!.adminToken);
    const team = await admin.post(`${servers[0]!.url}/admin/v1/teams`, { name: `race-${rand()}`, displayName: 'Race team' });
    assert.equal(team.status, 201, `the admin API creates the team: ${team.status} ${team.text}`);
    const teamId: string = team.body.team?.id ?? team.body.id;
    assert.ok(teamId, team.text);
    const link = await admin.put(`${servers[0]!.url}/admin/v1/groups/${groupId}/teams/${teamId}`, { autoAdd: true });
    assert.ok(link.status === 200 || link.status === 201 || link.status === 204, `the admin API links the group: ${link.status} ${link.text}`);

    const started = Date.now();
    // A 503 with Retry-After (the pool queue timed out on an overloaded machine) is retried as an IdP would; any
    // other answer but 2xx fails the test. On an unloaded machine nothing is retried.
    let retried = 0;
    const replies = await Promise.all(ids.map(async (id, i) => {
      const c = client(servers[i % servers.length]!);
      const body = { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] };
      let r = await c.patch(`/Groups/${groupId}`, body);
      for (let n = 0; r.status === 503 && r.headers.get('retry-after') && n < 3; n++, retried++) r = await c.patch(`/Groups/${groupId}`, body);
      return r;
    }));
    const ms = Date.now() - started;
    const bad = replies.filter((r) => r.status !== 204 && r.status !== 200);
    assert.equal(bad.length, 0, `${bad.length} failed, e.g. ${bad.slice(0, 3).map((r) => `${r.status} ${r.text}`).join(' | ')}`);
    console.log(`# ${members} concurrent member adds on ${servers.length} process(es) [${label}]: ${ms} ms, ${retried} retried after 503`);

    const [{ n }] = await k('group_members').where({ group_id: groupId }).count({ n: '*' });
    assert.equal(Number(n), members);
    const got = await api.get(`/Groups/${groupId}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.members.length, members);
    assert.deepEqual(new Set(got.body.members.map((m: any) => m.value)), new Set(ids));
    const audits = await k('audit_log').where({ resource_id: groupId, operation: 'add_group_member' }).count({ n: '*' });
    assert.equal(Number(audits[0].n), members, 'one audit row per member added');

    const [{ t }] = await k('team_members').where({ team_id: teamId }).whereNull('removed_at').whereIn('user_id', ids).count({ t: '*' });
    assert.equal(Number(t), members, 'team members');
    const channels = await k('channels').where({ team_id: teamId }).where('is_default', true).select('id');
    assert.ok(channels.length > 0, 'the team has default channels');
    for (const c of channels) {
      const [{ m }] = await k('channel_members').where({ channel_id: c.id }).whereNull('removed_at').whereIn('user_id', ids).count({ m: '*' });
      assert.equal(Number(m), members, `members of default channel ${c.id}`);
    }
  } finally {
    await k.destroy();
  }
}
