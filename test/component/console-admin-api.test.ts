/**
 * The admin API operations the console reads (issue 17): GET /overview (counts, each IdP credential's SCIM failure
 * rate against Entra's quarantine rule), GET /requests/summary?by=actor (bounded to the busiest actors), GET
 * /requests?resourceId (the requests about one person, the POST that created them included), and POST /reconcile
 * with dryRun (what it would change, nothing committed).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { client, connect, createDatabase, newUser, rand, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';
import { createToken } from '../../src/store/tokens.ts';
import { insertRequests, type RequestLogRow } from '../../src/store/request-log.ts';
import { quarantineWarning } from '../../src/workspace/overview.ts';

const count = async (sql: Knex, table: string) => Number(((await sql(table).count({ n: '*' }).first()) as any).n);

for (const store of stores()) {
  describe(`console admin API [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    let admin: ReturnType<typeof client>;
    const A = () => `${server.url}/admin/v1`;
    const flush = () => server.running!.requestLog!.flush();

    before(async () => {
      db = await createDatabase(store);
      // Rows are written when a test flushes, never behind its back.
      server = await startServer(store, db, { env: { REQUEST_LOG_FLUSH_INTERVAL: '60s' } });
      sql = connect(server.dbUrl);
      admin = client(server, server.adminToken);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('the warning rule: above 40% failures is a quarantine risk, above 20% approaching', () => {
      assert.deepEqual([0, 0.2, 0.2001, 0.4, 0.4001, 1].map(quarantineWarning), ['ok', 'ok', 'approaching', 'approaching', 'quarantine_risk', 'quarantine_risk']);
    });

    test('overview: people by state, groups, teams and channels, counted', async () => {
      const before = (await admin.get(`${A()}/overview`)).body;
      const w = workspace(server);
      await w.user();
      await w.user();
      const [c, d] = [await w.user(), await w.user()];
      await w.setActive(c, false);
      assert.equal((await w.scim.del(`/Users/${d}`)).status, 204);
      await w.group();
      await w.group();
      const gone = await w.group();
      assert.equal((await w.scim.del(`/Groups/${gone}`)).status, 204);
      const kept = await w.team(teamName('kept'));
      await w.channel(kept.id, `c-${rand()}`);
      const archivedChannel = await w.channel(kept.id, `d-${rand()}`);
      w.ok(await admin.post(`${A()}/channels/${archivedChannel}/archive`, {}), 200);
      const archived = await w.team(teamName('gone'));
      w.ok(await admin.post(`${A()}/teams/${archived.id}/archive`, {}), 200);
      const r = await admin.get(`${A()}/overview`);
      assert.equal(r.status, 200, r.text);
      const after = r.body;
      assert.deepEqual({
        active: after.people.active - before.people.active, deactivated: after.people.deactivated - before.people.deactivated,
        deleted: after.people.deleted - before.people.deleted, groups: after.groups - before.groups, teams: after.teams - before.teams,
        channels: after.channels - before.channels,
      }, { active: 2, deactivated: 1, deleted: 1, groups: 2, teams: 1, channels: 3 }, 'the kept team\'s two default channels and one more; nothing of the archived team');
      assert.deepEqual(after.connector, { enabled: false });
      assert.equal((await admin.get(`${A()}/overview?since=2026-01-01`)).status, 400);
    });

    test('overview: each SCIM credential\'s last 24 hours, its failure rate and its warning; admin requests are not counted', async () => {
      const entra = client(server, (await createToken(sql, `entra-${rand()}`, 'scim', 'test'))!.token);
      const okta = client(server, (await createToken(sql, `okta-${rand()}`, 'scim', 'test'))!.token);
      const calm = client(server, (await createToken(sql, `calm-${rand()}`, 'scim', 'test'))!.token);
      const user = newUser();
      for (let i = 0; i < 3; i++) assert.equal((await entra.post('/Users', i === 0 ? user : newUser())).status, 201);
      assert.equal((await entra.post('/Users', { ...user, externalId: `x-${rand()}` })).status, 409);
      assert.equal((await entra.get('/Users?filter=userName%20zz%20%22x%22')).status, 400);
      assert.equal((await okta.get('/Users?count=1')).status, 200);
      assert.equal((await okta.get('/Users/nobody')).status, 404);
      for (let i = 0; i < 5; i++) assert.equal((await calm.get('/Users?count=1')).status, 200);
      assert.equal((await calm.get('/Users/nobody')).status, 404);
      assert.equal((await fetch(`${server.base}/Users`, { headers: { Authorization: `Bearer wrong_${randomUUID()}` } })).status, 401);
      for (let i = 0; i < 3; i++) await admin.get(`${A()}/teams/nope`);
      await flush();
      const { clients } = (await admin.get(`${A()}/overview`)).body;
      const byPrefix = (p: string) => clients.find((c: any) => c.actor?.startsWith(p));
      assert.deepEqual(byPrefix('token:entra-'), { actor: byPrefix('token:entra-').actor, total24h: 5, failed24h: 2, failureRate: 0.4, warning: 'approaching' });
      assert.deepEqual(byPrefix('token:okta-'), { actor: byPrefix('token:okta-').actor, total24h: 2, failed24h: 1, failureRate: 0.5, warning: 'quarantine_risk' });
      assert.equal(byPrefix('token:calm-').warning, 'ok');
      assert.equal(byPrefix('token:calm-').failureRate, 0.1667);
      const anonymous = clients.find((c: any) => c.actor === null);
      assert.ok(anonymous && anonymous.failed24h === anonymous.total24h && anonymous.warning === 'quarantine_risk', JSON.stringify(anonymous));
      assert.ok(!clients.some((c: any) => c.actor?.startsWith('admin:')), 'SCIM requests only');
      const totals = clients.map((c: any) => c.total24h);
      assert.deepEqual(totals, [...totals].sort((x: number, y: number) => y - x), 'busiest first');
    });

    test('summary by actor: one series per actor, the busiest 20, the rest added up as other; without by, as before', async () => {
      const since = Date.parse('2026-01-05T10:00:00Z');
      const rows: RequestLogRow[] = [];
      for (let i = 0; i < 25; i++) {
        for (let k = 0; k <= i; k++) {
          rows.push({ at: since + k * 60_000, method: 'GET', path: '/scim/v2/Users', params: null, status: k % 5 === 0 ? 500 : 200, ms: 1, client: '127.0.0.1', actor: `token:bulk-${String(i).padStart(2, '0')}`, requestId: `r-${randomUUID()}`, detail: null, errorType: null });
        }
      }
      rows.push({ at: since, method: 'GET', path: '/scim/v2/Users', params: null, status: 401, ms: 1, client: '127.0.0.1', actor: null, requestId: `r-${randomUUID()}`, detail: null, errorType: null });
      await insertRequests(sql, rows);
      const q = `since=${encodeURIComponent(new Date(since).toISOString())}&until=${encodeURIComponent(new Date(since + 3_600_000).toISOString())}`;
      const r = await admin.get(`${A()}/requests/summary?${q}&by=actor`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.body).sort(), ['bucket', 'series', 'since', 'until']);
      assert.equal(r.body.series.length, 21);
      assert.deepEqual(r.body.series.slice(0, 20).map((s: any) => s.actor), Array.from({ length: 20 }, (_, i) => `token:bulk-${String(24 - i).padStart(2, '0')}`));
      const other = r.body.series[20];
      assert.equal(other.actor, 'other');
      const sum = (s: any) => s.buckets.reduce((n: number, b: any) => n + b.total, 0);
      assert.equal(sum(other), 1 + 2 + 3 + 4 + 5 + 1, 'bulk-00..04 and the unauthenticated one');
      const top = r.body.series[0];
      assert.equal(top.buckets.length, 60, 'every minute of the hour, zeros included');
      assert.equal(sum(top), 25);
      assert.equal(top.buckets.reduce((n: number, b: any) => n + b['5xx'], 0), 5);
      assert.equal(top.buckets[0].start, new Date(since).toISOString());
      const together = await admin.get(`${A()}/requests/summary?${q}`);
      assert.deepEqual(Object.keys(together.body).sort(), ['bucket', 'buckets', 'since', 'until'], 'the shape without by is unchanged');
      assert.equal(together.body.buckets.reduce((n: number, b: any) => n + b.total, 0), rows.length);
      assert.equal((await admin.get(`${A()}/requests/summary?by=client`)).status, 400);
    });

    test('requests by resourceId: the POST that created a person (found by its audit rows) and the requests naming their id', async () => {
      const scim = client(server);
      const created = `create-${randomUUID()}`;
      const made = await scim.post('/Users', newUser(), { 'X-Request-Id': created });
      assert.equal(made.status, 201);
      const id = made.body.id as string;
      const otherPost = `other-${randomUUID()}`;
      assert.equal((await scim.post('/Users', newUser(), { 'X-Request-Id': otherPost })).status, 201);
      assert.equal((await scim.get(`/Users/${id}`)).status, 200);
      assert.equal((await admin.get(`${A()}/users/${id}/memberships`)).status, 200);
      await flush();
      const r = await admin.get(`${A()}/requests?resourceId=${id}`);
      assert.equal(r.status, 200, r.text);
      const items = r.body.items as any[];
      const post = items.find((i) => i.requestId === created);
      assert.ok(post, 'the POST /Users that created them');
      assert.deepEqual([post.method, post.path, post.status], ['POST', '/scim/v2/Users', 201]);
      assert.ok(items.some((i) => i.path === `/scim/v2/Users/${id}` && i.method === 'GET'));
      assert.ok(items.some((i) => i.path === `/admin/v1/users/${id}/memberships`));
      assert.ok(!items.some((i) => i.requestId === otherPost), 'not another person\'s POST');
      assert.ok(items.every((i) => i.requestId === created || i.path.split('/').includes(id)), JSON.stringify(items.map((i) => i.path)));
      // A whole segment, not a substring; combined with the other filters.
      assert.equal((await admin.get(`${A()}/requests?resourceId=${id.slice(0, 8)}`)).body.items.length, 0);
      assert.deepEqual((await admin.get(`${A()}/requests?resourceId=${id}&method=POST`)).body.items.map((i: any) => i.requestId), [created]);
      for (const bad of ['a%2Fb', '', 'x'.repeat(101), 'a%20b']) assert.equal((await admin.get(`${A()}/requests?resourceId=${bad}`)).status, 400, bad);
    });

    test('reconcile dryRun lists what it would change and commits nothing; the real run then does it', async () => {
      const w = workspace(server);
      const [u1, u2] = [await w.user(), await w.user()];
      const group = await w.group([u1, u2]);
      const team = await w.team(teamName('dry'));
      await w.linkTeam(group, team.id, { autoAdd: true });
      w.ok(await admin.del(`${A()}/teams/${team.id}/members/${u1}`), 200, 204);
      const name = [...(await w.memberships(u1)).teams.keys()][0]!;
      assert.equal((await w.memberships(u1)).teams.get(name)!.active, false);
      const audit = await count(sql, 'audit_log');
      const outbox = await count(sql, 'outbox');
      const metric = async () => {
        const text = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${server.adminToken}` } })).text();
        return Number(/scim_provisioning_operations_total\{operation="team_add"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      const added = await metric();
      assert.ok(added > 0, "the link's own team_add was counted: the metric is there to compare");

      const dry = w.ok(await admin.post(`${A()}/reconcile`, { teamId: team.id, readdRemoved: true, dryRun: true }), 200).body;
      assert.equal(dry.dryRun, true);
      assert.equal(dry.truncated, false);
      assert.ok(dry.stats.teamMembersAdded >= 1 && dry.stats.readded >= 1, JSON.stringify(dry.stats));
      assert.ok(dry.changes.some((c: any) => c.operation === 'team_add' && JSON.stringify(c).includes(u1)), JSON.stringify(dry.changes));
      assert.ok(!dry.changes.some((c: any) => c.operation === 'reconcile'), 'the run\'s own row is not a change');
      assert.ok(dry.changes.every((c: any) => c.actor === 'admin:env-admin' && typeof c.id === 'number' && c.at));
      // Nothing was committed: no membership, no audit row, no outbox row, no metric.
      assert.equal(await count(sql, 'audit_log'), audit);
      assert.equal(await count(sql, 'outbox'), outbox);
      assert.equal((await w.memberships(u1)).teams.get(name)!.active, false);
      assert.equal(await metric(), added);

      const real = w.ok(await admin.post(`${A()}/reconcile`, { teamId: team.id, readdRemoved: true }), 200).body;
      assert.deepEqual(real, dry.stats, 'without dryRun the answer is the stats, as before, and they are what the preview said');
      assert.equal((await w.memberships(u1)).teams.get(name)!.active, true);
      assert.ok(await count(sql, 'audit_log') > audit);
      const again = w.ok(await admin.post(`${A()}/reconcile`, { teamId: team.id, dryRun: true }), 200).body;
      assert.deepEqual(again.changes, [], 'nothing left to change');
      assert.equal((await admin.post(`${A()}/reconcile`, { dryRun: 1 })).status, 400);
    });
  });
}
