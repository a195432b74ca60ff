/**
 * GROUP_MAPPING_FILE (issue 3 §5): links declared in a file, applied at start to the groups that exist, and when
 * a group appears or is renamed; matched by exact externalId or exact displayName. A bad file stops start-up with
 * one line.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, GROUP_SCHEMA, PATCH_OP, rand, spawnServer, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';

const dir = mkdtempSync(join(tmpdir(), 'scim-mapping-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function mappingFile(content: unknown): string {
  const path = join(dir, `mapping-${rand()}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('a bad mapping file stops start-up with one line', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{"links": [', /not valid JSON/],
    ['bad team name', { links: [{ group: { externalId: 'x' }, team: 'Bad Team' }] }, /links\[0\]\.team: team name "Bad Team"/],
    ['reserved team name', { links: [{ group: { externalId: 'x' }, team: 'admins' }] }, /links\[0\]\.team: .*reserved word "admin"/],
    ['unknown key', { links: [{ group: { externalId: 'x' }, team: 'ok', autoadd: true }] }, /links\[0\]: unknown key "autoadd"/],
    ['two group keys', { links: [{ group: { externalId: 'x', displayName: 'y' }, team: 'ok' }] }, /exactly one of externalId or displayName/],
    ['bad flag', { links: [{ group: { displayName: 'y' }, team: 'ok', schemeAdmin: 'yes' }] }, /links\[0\]\.schemeAdmin must be true or false/],
    ['duplicate', { links: [{ group: { displayName: 'y' }, team: 'ok' }, { group: { displayName: 'y' }, team: 'ok' }] }, /links\[1\] repeats links\[0\]/],
  ];
  // In this process: what start-up refuses and the line it gives; one case as `npm start` runs it, for the exit code.
  for (const [name, content, message] of cases) {
    test(name, async () => {
      const db = await createDatabase('sqlite');
      try {
        await assert.rejects(startServer('sqlite', db, { env: { GROUP_MAPPING_FILE: mappingFile(content) } }), (err: Error) => {
          assert.match(err.message, /start-up refused, exit 78/);
          const line = err.message.split('\n').find((l) => l.startsWith('configuration error:'));
          assert.ok(line, err.message);
          assert.match(line, /^configuration error: GROUP_MAPPING_FILE \S+: /);
          assert.match(line, message);
          return true;
        });
      } finally {
        await db.drop();
      }
    });
  }
  test('the server process exits 78 with that line on stderr', async () => {
    const db = await createDatabase('sqlite');
    try {
      await assert.rejects(spawnServer('sqlite', db, { env: { GROUP_MAPPING_FILE: mappingFile(cases[1]![1]) } }), (err: Error) => {
        assert.match(err.message, /server exited with 78/);
        assert.match(err.message.split('\n').find((l) => l.startsWith('configuration error:')) ?? err.message, /^configuration error: GROUP_MAPPING_FILE \S+: .*links\[0\]\.team: team name "Bad Team"/);
        return true;
      });
    } finally {
      await db.drop();
    }
  });
});

for (const store of stores()) {
  describe(`group mapping file [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let ws: ReturnType<typeof workspace>;
    let path: string;
    const r = rand();
    const ext = `eng-${r}`;
    before(async () => {
      db = await createDatabase(store);
      // First run without a mapping: the IdP has already pushed a group and its members.
      const first = await startServer(store, db);
      const w = workspace(first);
      const u = await w.user();
      const g = w.ok(await w.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Sales ${r}`, members: [{ value: u }] }), 201).body.id;
      await first.stop();
      path = mappingFile({
        links: [
          { group: { displayName: `Sales ${r}` }, team: `sales-${r}`, schemeAdmin: true, createTeam: { displayName: 'Sales', groupConstrained: true } },
          { group: { externalId: ext }, team: `sales-${r}`, channel: 'deals', createChannel: { displayName: 'Deals', type: 'P' } },
          { group: { externalId: ext }, team: `eng-${r}`, createTeam: { displayName: 'Engineering' } },
          { group: { displayName: `Renamed ${r}` }, team: `eng-${r}`, autoAdd: false },
          { group: { externalId: `orphan-${r}` }, team: `missing-${r}` },
        ],
      });
      server = await startServer(store, db, { env: { GROUP_MAPPING_FILE: path } });
      ws = workspace(server);
      Object.assign(ws, { firstUser: u, salesGroup: g });
    });
    after(async () => {
      await server.stop();
      await db.drop();
    });

    test('at start, rules apply to existing groups: the team is created, linked and synced', async () => {
      const { firstUser, salesGroup } = ws as unknown as { firstUser: string; salesGroup: string };
      assert.match(server.output(), /"message":"group mapping applied"/);
      const m = await ws.memberships(firstUser);
      assert.deepEqual(m.teams.get(`sales-${r}`), { active: true, schemeAdmin: true, addedBy: `group:${salesGroup}`, removedBy: null });
      const team = ws.ok(await ws.admin.get(`${ws.A}/teams?limit=1000`), 200).body.items.find((t: any) => t.name === `sales-${r}`);
      assert.equal(team.groupConstrained, true);
      const link = (await ws.audit(`resourceId=${salesGroup}`)).find((x) => x.operation === 'link_team');
      assert.deepEqual([link.actor, link.cause], ['system:mapping', 'mapping']);
    });

    test('a group that appears later is linked in the same request that creates it', async () => {
      const u = await ws.user();
      const g = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Engineering ${r}`, externalId: ext, members: [{ value: u }] }), 201).body.id;
      const m = await ws.memberships(u);
      assert.equal(m.teams.get(`eng-${r}`)?.addedBy, `group:${g}`);
      assert.equal(m.channels.get(`sales-${r}/deals`)?.active, undefined, 'the sales team is constrained to its own links: a channel link does not bring outsiders in');
      const group = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body;
      assert.deepEqual(group.teams.map((l: any) => l.teamName), [`eng-${r}`]);
      assert.deepEqual(group.channels.map((l: any) => [l.teamName, l.channelName]), [[`sales-${r}`, 'deals']]);
    });

    test('a rename that matches a displayName rule links the group', async () => {
      const g = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Before ${r}` }), 201).body.id;
      assert.equal(ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body.teams.length, 0);
      ws.ok(await ws.scim.patch(`/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { displayName: `Renamed ${r}` } }] }), 200, 204);
      const links = ws.ok(await ws.admin.get(`${ws.A}/groups/${g}`), 200).body.teams;
      assert.deepEqual(links.map((l: any) => [l.teamName, l.autoAdd]), [[`eng-${r}`, false]]);
    });

    test('a rule whose team does not exist is skipped and recorded; the SCIM request still succeeds', async () => {
      const g = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Orphan ${r}`, externalId: `orphan-${r}` }), 201).body.id;
      const skipped = (await ws.audit(`resourceId=${g}`)).find((x) => x.operation === 'mapping_skipped');
      assert.match(skipped.after.reason, /no team named/);
    });

    test('restarting with the same file changes nothing', async () => {
      const before = (await ws.audit('resourceType=Link')).length;
      await server.stop();
      server = await startServer(store, db, { env: { GROUP_MAPPING_FILE: path } });
      Object.assign(ws, workspace(server));
      const rows = await ws.audit('resourceType=Link');
      assert.equal(rows.length, before, rows.slice(before).map((x) => x.operation).join());
    });
  });
}

for (const store of stores()) {
  describe(`two groups with one displayName and a displayName rule [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('displayName is not unique (RFC 7643 §4.2); the rule applies to every group of that name, at start and later', async () => {
      const r = rand();
      db = await createDatabase(store);
      const first = await startServer(store, db);
      const w = workspace(first);
      const [u1, u2, u3] = [await w.user(), await w.user(), await w.user()];
      // Entra allows two groups named "Sales": both are created.
      const g1 = w.ok(await w.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Twin ${r}`, externalId: `t1-${r}`, members: [{ value: u1 }] }), 201).body.id;
      const g2 = w.ok(await w.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `twin ${r}`.replace('twin', 'Twin'), externalId: `t2-${r}`, members: [{ value: u2 }] }), 201).body.id;
      const other = w.ok(await w.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Other ${r}` }), 201).body.id;
      // A rename onto a taken name is accepted too.
      w.ok(await w.scim.patch(`/Groups/${other}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { displayName: `TWIN ${r}` } }] }), 200, 204);
      const found = w.ok(await w.scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "Twin ${r}"`)}&excludedAttributes=members`), 200).body;
      assert.equal(found.totalResults, 3, 'displayName eq is case-insensitive and finds every group of the name');
      await first.stop();

      const path = mappingFile({ links: [{ group: { displayName: `Twin ${r}` }, team: `twin-${r}`, createTeam: { displayName: 'Twins' } }] });
      server = await startServer(store, db, { env: { GROUP_MAPPING_FILE: path } });
      const ws = workspace(server);
      assert.equal((await ws.memberships(u1)).teams.get(`twin-${r}`)?.addedBy, `group:${g1}`);
      assert.equal((await ws.memberships(u2)).teams.get(`twin-${r}`)?.addedBy, `group:${g2}`);
      assert.deepEqual(ws.ok(await ws.admin.get(`${ws.A}/groups/${other}`), 200).body.teams, [], 'the rule matches the exact displayName, as before');
      const g3 = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `Twin ${r}`, externalId: `t3-${r}`, members: [{ value: u3 }] }), 201).body.id;
      assert.equal((await ws.memberships(u3)).teams.get(`twin-${r}`)?.addedBy, `group:${g3}`);
    });
  });
}
