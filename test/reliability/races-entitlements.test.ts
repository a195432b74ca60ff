/**
 * Entitlement races on PostgreSQL (issue 15): an Okta entitlement change on a person and a group change that grants
 * the same team run truly concurrently (two requests in flight, on two server processes sharing one database,
 * READ COMMITTED), repeated with a fresh person, group and team each time. Afterwards, whatever the interleaving:
 *   - the person holds every live team their entitlements or an auto-add linked group name, exactly once;
 *   - a membership an entitlement made is held only while an entitlement or a linked group still grants it;
 *   - no membership was audited as added twice.
 * SQLite serialises every transaction, so the races cannot happen there: PostgreSQL only.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { client, connect, createDatabase, PATCH_OP, spawnServer, startServer, type Reply, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';
import { mapLimit } from './util.ts';

const REPS = 20;

async function violations(k: Knex, userId: string): Promise<string[]> {
  const out: string[] = [];
  const rows = (r: any) => (r.rows ?? r) as any[];
  // Teams the person should hold: named by an entitlement (team:<name>) or by an auto-add linked group.
  const should = rows(await k.raw(`
    SELECT t.id FROM teams t JOIN user_values v ON v.user_id = ? AND v.attr = 'entitlements' AND lower(v.value) = 'team:' || t.name
    WHERE t.archived_at IS NULL AND NOT t.group_constrained
    UNION
    SELECT gt.team_id FROM group_members gm JOIN group_teams gt ON gt.group_id = gm.group_id AND gt.auto_add
    JOIN groups g ON g.id = gm.group_id AND g.deleted_at IS NULL WHERE gm.user_id = ?`, [userId, userId]));
  for (const r of should) {
    const live = await k('team_members').where({ team_id: r.id, user_id: userId }).whereNull('removed_at');
    if (live.length !== 1) out.push(`should hold team ${r.id}, holds it ${live.length} times`);
  }
  // Memberships an entitlement made, no longer granted by one or by a linked group.
  const stale = rows(await k.raw(`
    SELECT m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id
    WHERE m.user_id = ? AND m.removed_at IS NULL AND m.added_by = 'entitlement'
      AND NOT EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = m.user_id AND v.attr = 'entitlements' AND lower(v.value) = 'team:' || t.name)
      AND NOT EXISTS (SELECT 1 FROM group_teams gt JOIN group_members gm ON gm.group_id = gt.group_id AND gm.user_id = m.user_id
        JOIN groups g ON g.id = gt.group_id AND g.deleted_at IS NULL WHERE gt.team_id = m.team_id)`, [userId]));
  for (const r of stale) out.push(`holds team ${r.team_id} that no entitlement or group grants any more`);
  const twice = rows(await k.raw(`
    SELECT operation, after FROM audit_log WHERE resource_id = ? AND operation IN ('team_add', 'channel_add')`, [userId]));
  const seen = new Set<string>();
  for (const r of twice) {
    const a = JSON.parse(r.after);
    const key = `${r.operation}:${a.teamId ?? a.channelId}:${a.readded ? 'again' : 'first'}`;
    if (a.readded) continue; // a membership may come back any number of times; it is first added once
    if (seen.has(key)) out.push(`${r.operation} of ${a.teamId ?? a.channelId} audited twice`);
    seen.add(key);
  }
  return out;
}

describe('entitlement races [pg]', { skip: !process.env.TEST_DATABASE_URL, timeout: 480_000 }, () => {
  let db: TestDatabase;
  let servers: TestServer[] = [];
  let k: Knex;
  let ws: ReturnType<typeof workspace>;

  before(async () => {
    db = await createDatabase('pg');
    const env = { RATE_LIMIT_PER_SECOND: '0' };
    servers = [await startServer('pg', db, { env }), await spawnServer('pg', db, { env })];
    k = connect(db.url);
    ws = workspace(servers[0]!);
  });
  after(async () => {
    await k?.destroy();
    for (const s of servers) await s.stop();
    await db?.drop();
  });

  const scim = (i: number) => client(servers[i % servers.length]!);
  const userPatch = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
  const groupAdd = (ids: string[]) => ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] });
  type Send = (c: ReturnType<typeof client>) => Promise<Reply>;

  async function run(name: string, setup: () => Promise<{ userId: string; requests: [Send, Send] }>): Promise<void> {
    const bad: string[] = [];
    const prepared = await mapLimit(Array.from({ length: REPS }, (_, i) => i), 4, () => setup());
    for (let rep = 0; rep < REPS; rep++) {
      const { userId, requests } = prepared[rep]!;
      const replies = await Promise.all(requests.map((send, i) => send(scim(rep + i))));
      replies.forEach((r, i) => { if (r.status !== 200 && r.status !== 204) bad.push(`rep ${rep} request ${i}: ${r.status} ${r.text.slice(0, 200)}`); });
      const v = await violations(k, userId);
      if (v.length && bad.length < 6) bad.push(`rep ${rep}: ${v.join('; ')}`);
    }
    console.log(`# ${name}: ${bad.length} problems in ${REPS} repetitions`);
    assert.deepEqual(bad, []);
  }

  test('an entitlement to a team granted while a linked group adds the person to it: one membership, audited once', async () => {
    await run('PATCH entitlements add ‖ PATCH group add', async () => {
      const tn = teamName('erace');
      const team = await ws.team(tn);
      const u = await ws.user();
      const g = await ws.group();
      await ws.linkTeam(g, team.id, { autoAdd: true });
      return {
        userId: u,
        requests: [
          (c) => c.patch(`/Users/${u}`, userPatch([{ op: 'add', path: 'entitlements', value: [{ value: `team:${tn}` }] }])),
          (c) => c.patch(`/Groups/${g}`, groupAdd([u])),
        ],
      };
    });
  });

  test('an entitlement taken away while a linked group adds the person: the group keeps them on the team', async () => {
    await run('PATCH entitlements remove ‖ PATCH group add', async () => {
      const tn = teamName('erace');
      const team = await ws.team(tn);
      const u = await ws.user({ entitlements: [{ value: `team:${tn}` }] });
      const g = await ws.group();
      await ws.linkTeam(g, team.id, { autoAdd: true });
      return {
        userId: u,
        requests: [
          (c) => c.patch(`/Users/${u}`, userPatch([{ op: 'remove', path: 'entitlements' }])),
          (c) => c.patch(`/Groups/${g}`, groupAdd([u])),
        ],
      };
    });
  });

  test('two entitlements granted at once by two PATCHes of the same person: both held', async () => {
    await run('PATCH add team A ‖ PATCH add team B', async () => {
      const [a, b] = [teamName('erace-a'), teamName('erace-b')];
      await ws.team(a);
      await ws.team(b);
      const u = await ws.user();
      return {
        userId: u,
        requests: [
          (c) => c.patch(`/Users/${u}`, userPatch([{ op: 'add', path: 'entitlements', value: [{ value: `team:${a}` }] }])),
          (c) => c.patch(`/Users/${u}`, userPatch([{ op: 'add', path: 'entitlements', value: [{ value: `team:${b}` }] }])),
        ],
      };
    });
  });
});
