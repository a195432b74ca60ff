/**
 * The workspace CLI commands (src/cli/workspace.ts) as a child process against the server's database: they run the
 * admin API's use-cases, so a link made on the command line syncs people the IdP pushed over SCIM.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, rand, ROOT, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { runCli } from '../helpers/cli.ts';

interface Run { code: number | null; stdout: string; stderr: string }

function cli(dbUrl: string, ...args: string[]): Promise<Run> {
  return runCli(dbUrl, args);
}

async function ok(r: Promise<Run>): Promise<any> {
  const out = await r;
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().startsWith('{') || out.stdout.trim().startsWith('[') ? JSON.parse(out.stdout) : out.stdout;
}

for (const store of stores()) {
  describe(`workspace CLI [${store}]`, () => {
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

    test('team, channel, link by displayName, reconcile, memberships and audit from the command line', async () => {
      const r = rand();
      const u = await ws.user();
      await ws.group([u], `Ops ${r}`);
      const created = await ok(cli(db.url, 'team', 'create', `ops-${r}`, '--display-name', 'Operations', '--constrained'));
      assert.deepEqual(created.channels.map((c: any) => c.name).sort(), ['off-topic', 'town-square']);
      await ok(cli(db.url, 'channel', 'create', `ops-${r}`, 'pager', '--private'));
      const listed = await ok(cli(db.url, 'channel', 'list', `ops-${r}`));
      assert.match(listed, /pager\s+pager\s+P/);
      const linked = await ok(cli(db.url, 'link', `Ops ${r}`, `ops-${r}`, '--scheme-admin'));
      assert.equal(linked.reconcile.teamMembersAdded, 1);
      await ok(cli(db.url, 'link', `Ops ${r}`, `ops-${r}`, 'pager'));
      const m = await ws.memberships(u);
      assert.deepEqual([m.teams.get(`ops-${r}`)?.schemeAdmin, m.channels.get(`ops-${r}/pager`)?.active], [true, true]);
      const again = await ok(cli(db.url, 'reconcile', '--team', `ops-${r}`));
      assert.equal(Object.values(again).reduce((a: number, b) => a + Number(b), 0), 0, 'idempotent');
      const mine = await ok(cli(db.url, 'memberships', u));
      assert.equal(mine.teams[0].teamName, `ops-${r}`);
      const audit = await ok(cli(db.url, 'audit', '--resource-id', u, '--json'));
      assert.ok(audit.some((row: any) => row.operation === 'team_add' && row.actor.startsWith('admin:cli:')));
      const unlinked = await ok(cli(db.url, 'unlink', `Ops ${r}`, `ops-${r}`));
      assert.equal(unlinked.reconcile.teamMembersRemoved, 1, 'constrained team: unlinking removes');
    });

    test('reconcile --dry-run prints what it would change and changes nothing', async () => {
      const r = rand();
      const u = await ws.user();
      await ws.group([u], `Dry ${r}`);
      const team = await ok(cli(db.url, 'team', 'create', `dry-${r}`));
      await ok(cli(db.url, 'link', `Dry ${r}`, `dry-${r}`));
      // An admin removes the member; only a reconcile with --readd-removed brings them back.
      const removed = await fetch(`${server.url}/admin/v1/teams/${team.team.id}/members/${u}`, { method: 'DELETE', headers: { Authorization: `Bearer ${server.adminToken}` } });
      assert.equal(removed.status, 200);
      const auditBefore = await ok(cli(db.url, 'audit', '--resource-id', u, '--json'));
      const preview = await ok(cli(db.url, 'reconcile', '--team', `dry-${r}`, '--readd-removed', '--dry-run'));
      assert.equal(preview.dryRun, true);
      assert.equal(preview.stats.teamMembersAdded, 1);
      assert.ok(preview.changes.some((c: any) => c.operation === 'team_add' && c.resourceId === u), JSON.stringify(preview.changes));
      assert.equal((await ws.memberships(u)).teams.get(`dry-${r}`)?.active ?? false, false, 'nothing changed');
      assert.deepEqual(await ok(cli(db.url, 'audit', '--resource-id', u, '--json')), auditBefore, 'no audit row committed');
      const real = await ok(cli(db.url, 'reconcile', '--team', `dry-${r}`, '--readd-removed'));
      assert.equal(real.teamMembersAdded, 1);
    });

    test('errors are one line on stderr with exit code 1', async () => {
      for (const args of [['team', 'create', 'Bad Name'], ['link', 'no-such-group', 'no-such-team'], ['team', 'archive', 'nope'], ['audit', '--limit', '0']]) {
        const out = await cli(db.url, ...args);
        assert.equal(out.code, 1, args.join(' '));
        assert.equal(out.stdout, '');
        assert.match(out.stderr.trim(), /^error: [^\n]+$/);
      }
    });

    test('link by a displayName two groups share is refused, listing their ids; by id it links', async () => {
      const name = `Sales ${rand()}`;
      const u = await ws.user();
      const g1 = await ws.group([u], name);
      const g2 = await ws.group([], name);
      const team = `sales-${rand()}`;
      await ok(cli(db.url, 'team', 'create', team));
      const out = await cli(db.url, 'link', name, team);
      assert.equal(out.code, 1, out.stdout);
      assert.equal(out.stdout, '');
      assert.match(out.stderr.trim(), /^error: [^\n]+$/);
      assert.match(out.stderr, /is the displayName of 2 groups/);
      assert.ok(out.stderr.includes(g1) && out.stderr.includes(g2), out.stderr);
      await ok(cli(db.url, 'link', g1, team));
      assert.equal((await ws.memberships(u)).teams.get(team)?.addedBy, `group:${g1}`);
    });
  });
}
