/**
 * Mattermost bulk-import files (src/workspace/bulk-file/, `cli export mattermost` / `cli import mattermost`), on both
 * stores: an export of a seeded workspace checked line by line by the importer's rules (format.ts) and for order and
 * fields; export then import into a fresh database gives the same teams, channels, people and memberships; a file in
 * Mattermost's own export format imports (the lines it does not keep skipped and counted); malformed lines fail with
 * their line numbers and nothing applied; a dry run applies nothing; imported people are bound by the IdP's POST.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Knex } from 'knex';
import { client, connect, createDatabase, newUser, PATCH_OP, rand, ROOT, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { LineOrder, parseLine } from '../../src/workspace/bulk-file/format.ts';

const FIXTURE = join(ROOT, 'test/fixtures/mattermost-export.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'scim-bulkfile-'));
const tmp = (name: string) => join(dir, `${rand()}-${name}`);

/** Teams, channels, people and live memberships as sets of strings, read straight from a database. */
async function snapshot(sql: Knex) {
  const b = (v: unknown) => v === true || v === 1;
  const teams = (await sql('teams').whereNull('archived_at').select('name', 'display_name', 'type')).map((t) => `${t.name}|${t.display_name}|${t.type}`);
  const channels = (await sql('channels as c').join('teams as t', 't.id', 'c.team_id').whereNull('t.archived_at')
    .select('t.name as team', 'c.name', 'c.type', 'c.archived_at')).map((c) => `${c.team}/${c.name}|${c.type}|${c.archived_at == null ? 'live' : 'archived'}`);
  const people = (await sql('users').whereNull('deleted_at').select('email', 'username', 'first_name', 'last_name', 'active', 'system_role'))
    .map((u) => `${u.email}|${u.username}|${u.first_name}|${u.last_name}|${b(u.active)}|${u.system_role}`);
  const teamMembers = (await sql('team_members as m').join('teams as t', 't.id', 'm.team_id').join('users as u', 'u.id', 'm.user_id')
    .whereNull('m.removed_at').whereNull('t.archived_at').whereNull('u.deleted_at').select('t.name', 'u.email', 'm.scheme_admin'))
    .map((m) => `${m.name}|${m.email}|${b(m.scheme_admin)}`);
  const channelMembers = (await sql('channel_members as m').join('channels as c', 'c.id', 'm.channel_id').join('teams as t', 't.id', 'c.team_id').join('users as u', 'u.id', 'm.user_id')
    .whereNull('m.removed_at').whereNull('c.archived_at').whereNull('t.archived_at').whereNull('u.deleted_at').select('t.name as team', 'c.name', 'u.email', 'm.scheme_admin'))
    .map((m) => `${m.team}/${m.name}|${m.email}|${b(m.scheme_admin)}`);
  const sorted = (xs: string[]) => [...xs].sort();
  return { teams: sorted(teams), channels: sorted(channels), people: sorted(people), teamMembers: sorted(teamMembers), channelMembers: sorted(channelMembers) };
}

const count = async (sql: Knex, table: string) => Number((await sql(table).count({ n: '*' }))[0]!.n);
const jsonlOf = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

for (const store of stores()) {
  describe(`Mattermost bulk-import files [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    const ids: Record<string, string> = {};
    const emails: Record<string, string> = {};
    let archivedTeam = '';
    const extras: TestDatabase[] = [];
    const fresh = async () => { const d = await createDatabase(store); extras.push(d); return d; };

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      sql = connect(db.url);
      const w = workspace(server);
      // People: an admin of one team (and of the workspace), two members (one a guest), one deactivated, one the IdP deleted.
      const systemRoles: Record<string, string> = { ada: 'system_admin', cyd: 'system_guest' };
      for (const name of ['ada', 'bob', 'cyd', 'dee', 'eve']) {
        const r = rand();
        emails[name] = `${name}.${r}@example.com`;
        const roles = systemRoles[name] ? { roles: [{ value: systemRoles[name] }] } : {};
        ids[name] = await w.user({ userName: emails[name], externalId: `ext-${name}-${r}`, emails: [{ value: emails[name], primary: true }], name: { givenName: name.toUpperCase(), familyName: `Family ${r}` }, nickName: `${name}-nick`, title: 'Engineer', locale: 'en', ...roles });
      }
      const eng = await w.team(`eng-${rand()}`);
      const ops = await w.team(`ops-${rand()}`);
      const gone = await w.team(`gone-${rand()}`);
      archivedTeam = (await sql('teams').where({ id: gone.id }).first()).name;
      const backend = await w.channel(eng.id, 'backend', { type: 'P' });
      const legacy = await w.channel(eng.id, 'legacy');
      const add = async (kind: 'team' | 'channel', id: string, user: string, schemeAdmin = false) =>
        w.ok(await w.admin.post(`${w.A}/${kind}s/${id}/members`, { userId: ids[user], schemeAdmin }), 201);
      await add('team', eng.id, 'ada', true);
      for (const u of ['bob', 'cyd', 'dee', 'eve']) await add('team', eng.id, u);
      await add('team', ops.id, 'bob');
      await add('team', gone.id, 'ada');
      await add('channel', backend, 'ada', true);
      await add('channel', backend, 'bob');
      await add('channel', legacy, 'cyd');
      // A membership removed, an archived channel and team, a deactivated and a deleted person.
      w.ok(await w.admin.del(`${w.A}/teams/${ops.id}/members/${ids.bob}`), 200);
      await add('team', ops.id, 'cyd');
      w.ok(await w.admin.post(`${w.A}/channels/${legacy}/archive`, {}), 200);
      w.ok(await w.admin.post(`${w.A}/teams/${gone.id}/archive`, {}), 200);
      await w.setActive(ids.dee!, false);
      w.ok(await w.scim.del(`/Users/${ids.eve}`), 204);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
      for (const d of extras) await d.drop();
    });

    test('export: every line passes the importer checks, in order, with the fields of each kind', async () => {
      const out = tmp('ws.jsonl');
      const r = await runCli(db.url, ['export', 'mattermost', '--out', out, '--auth-service', 'saml']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).users, 4, r.stdout);
      const lines = jsonlOf(out);
      const order = new LineOrder();
      for (const [i, text] of lines.entries()) {
        const p = parseLine(text);
        assert.ok(p.ok, `line ${i + 1}: ${!p.ok && p.error}`);
        assert.equal(order.next(JSON.parse(text).type), null, `line ${i + 1} out of order`);
      }
      const parsed = lines.map((l) => JSON.parse(l));
      assert.deepEqual(parsed[0], { type: 'version', version: 1, info: parsed[0].info });
      const types = parsed.map((l) => l.type);
      assert.deepEqual(types, [...types].sort((a, b) => ['version', 'team', 'channel', 'user'].indexOf(a) - ['version', 'team', 'channel', 'user'].indexOf(b)));
      // The archived team, its channels and memberships are not written; the archived channel is, with deleted_at.
      assert.ok(!lines.some((l) => l.includes(archivedTeam)));
      const legacy = parsed.find((l) => l.type === 'channel' && l.channel.name === 'legacy');
      assert.ok(legacy.channel.deleted_at > 0);
      const backend = parsed.find((l) => l.type === 'channel' && l.channel.name === 'backend');
      assert.equal(backend.channel.type, 'P');
      const users = new Map(parsed.filter((l) => l.type === 'user').map((l) => [l.user.email, l.user]));
      assert.ok(!users.has(emails.eve), 'a person the IdP deleted is not exported');
      const ada = users.get(emails.ada)!;
      const adaRow = await sql('users').where({ id: ids.ada }).first();
      assert.equal(ada.username, adaRow.username);
      assert.equal(ada.auth_service, 'saml');
      assert.equal(ada.auth_data, adaRow.external_id);
      assert.equal(ada.roles, 'system_user system_admin', 'a workspace admin is exported as one (IsValidUserRoles wants system_user too)');
      const guest = users.get(emails.cyd)!;
      assert.equal(guest.roles, 'system_guest');
      assert.ok(guest.teams!.length > 0 && guest.teams!.every((t: any) => t.roles === 'team_guest'), 'a guest is a guest on every team');
      assert.equal(users.get(emails.bob)!.roles, 'system_user');
      assert.equal(ada.first_name, 'ADA');
      assert.equal(ada.nickname, 'ada-nick');
      assert.equal(ada.position, 'Engineer');
      assert.equal(ada.locale, 'en');
      assert.equal(ada.delete_at, undefined);
      const eng = ada.teams.find((t: any) => t.name.startsWith('eng-'));
      assert.equal(eng.roles, 'team_user team_admin');
      assert.deepEqual(eng.channels.find((c: any) => c.name === 'backend'), { name: 'backend', roles: 'channel_user channel_admin' });
      assert.ok(eng.channels.some((c: any) => c.name === 'town-square'), 'default channels joined with the team are memberships too');
      assert.equal(ada.teams.length, 1, 'no membership of the archived team');
      const cyd = users.get(emails.cyd)!;
      assert.ok(!cyd.teams.flatMap((t: any) => t.channels).some((c: any) => c.name === 'legacy'), 'no membership of an archived channel');
      const bob = users.get(emails.bob)!;
      assert.ok(!bob.teams.some((t: any) => t.name.startsWith('ops-')), 'a removed membership is not exported');
      const dee = users.get(emails.dee)!;
      const deeRow = await sql('users').where({ id: ids.dee }).first();
      assert.equal(dee.delete_at, Number(deeRow.deactivated_at), 'deactivated as Mattermost marks it: delete_at');
      // Without an auth service, email accounts: neither field.
      const plain = tmp('plain.jsonl');
      assert.equal((await runCli(db.url, ['export', 'mattermost', '--out', plain])).code, 0);
      assert.ok(jsonlOf(plain).every((l) => !l.includes('auth_service')));
    });

    test('export to a zip, import into a fresh database: the same teams, channels, people and memberships', async () => {
      const out = tmp('ws.zip');
      const e = await runCli(db.url, ['export', 'mattermost', '--out', out]);
      assert.equal(e.code, 0, e.stderr);
      const listing = execFileSync('unzip', ['-l', out]).toString();
      assert.match(listing, /\.jsonl/);
      const target = await fresh();
      const i = await runCli(target.url, ['import', 'mattermost', out]);
      assert.equal(i.code, 0, i.stderr);
      const report = JSON.parse(i.stdout);
      assert.equal(report.people.created, 4);
      const other = connect(target.url);
      try {
        assert.deepEqual(await snapshot(other), await snapshot(sql));
        // Imported people wait for an IdP; their memberships and they themselves are audited with cause import.
        const people = await other('users').select('pending_binding_since', 'external_id');
        assert.ok(people.every((u) => u.pending_binding_since != null && u.external_id == null));
        const ops = (await other('audit_log').where({ cause: 'import' }).select('operation')).map((r) => r.operation);
        for (const op of ['import_team', 'import_channel', 'import_user', 'team_add', 'channel_add']) assert.ok(ops.includes(op), op);
        // Again: everything matches, nothing is added twice.
        const again = await runCli(target.url, ['import', 'mattermost', out]);
        assert.equal(again.code, 0, again.stderr);
        const r2 = JSON.parse(again.stdout);
        assert.deepEqual([r2.people.created, r2.people.matched, r2.teamMemberships.added, r2.channelMemberships.added], [0, 4, 0, 0]);
        assert.deepEqual(await snapshot(other), await snapshot(sql));
      } finally {
        await other.destroy();
      }
    });

    test("a file in Mattermost's export format imports; the lines it does not keep are skipped and counted", async () => {
      const target = await fresh();
      const r = await runCli(target.url, ['import', 'mattermost', FIXTURE], { MATTERMOST_URL: 'http://127.0.0.1:9', MATTERMOST_TOKEN: 'a'.repeat(26) });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(r.stderr.split('\n').filter(Boolean).length, 1, `stderr is not a terminal: one summary line\n${r.stderr}`);
      assert.match(r.stderr, /^import: 18 lines; people created 3/);
      assert.deepEqual(report.skippedLines, { role: 1, scheme: 1, emoji: 1, bot: 1, post: 1, direct_channel: 1, direct_post: 1 });
      assert.deepEqual(report.people, { created: 3, matched: 0, skipped: 0 });
      assert.deepEqual(report.teams, { created: 2, matched: 0, skipped: 0 });
      const other = connect(target.url);
      try {
        const s = await snapshot(other);
        assert.ok(s.teams.includes('contoso|Contoso Ltd.|O') && s.teams.includes('leadership|Leadership|I'), String(s.teams));
        assert.ok(s.channels.includes('contoso/backend|P|live') && s.channels.includes('contoso/old-project|O|archived'));
        assert.ok(s.people.includes('jdoe@contoso.com|jdoe|Jane|Doe|true|member'), 'email lower-cased, username kept');
        assert.ok(s.people.includes('old.timer@contoso.com|old.timer|Old|Timer|false|member'), 'delete_at: deactivated');
        assert.ok(s.teamMembers.includes('contoso|jdoe@contoso.com|true') && s.teamMembers.includes('leadership|jdoe@contoso.com|false'));
        assert.ok(s.channelMembers.includes('contoso/backend|jdoe@contoso.com|true') && s.channelMembers.includes('contoso/backend|bsmith@contoso.com|false'));
        const old = await other('users').where({ username: 'old.timer' }).first();
        assert.equal(Number(old.deactivated_at), 1763000000000);
        // The connector's outbox got the people, teams, channels and memberships in the import's transaction.
        const keys = (await other('outbox').select('entity_key')).map((o) => o.entity_key.split(':')[0]);
        for (const k of ['user', 'team', 'channel', 'team_member', 'channel_member']) assert.ok(keys.includes(k), k);
        assert.equal(keys.filter((k) => k === 'user').length, 3);
      } finally {
        await other.destroy();
      }
    });

    test('malformed lines fail with their line numbers and nothing is applied', async () => {
      const target = await fresh();
      const lines = readFileSync(FIXTURE, 'utf8').split('\n');
      lines[5] = '{"type":"team","team":{"name":"x","display_name":"X","type":"Z"}}'; // line 6
      lines[12] = '{"type":"user","user":{"username":"bad name!","email":"b@example.com"}}'; // line 13
      lines[13] = '{not json'; // line 14
      const file = tmp('bad.jsonl');
      writeFileSync(file, lines.join('\n'));
      const r = await runCli(target.url, ['import', 'mattermost', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^line 6: team: .*$/m);
      assert.match(r.stderr, /^line 13: user: username "bad name!"/m);
      assert.match(r.stderr, /^line 14: not valid JSON$/m);
      assert.match(r.stderr, /nothing was applied/);
      assert.equal(r.stdout, '');
      const other = connect(target.url);
      try {
        for (const t of ['users', 'teams', 'channels', 'team_members', 'audit_log']) assert.equal(await count(other, t), 0, t);
      } finally {
        await other.destroy();
      }
      // Order: a team after a user.
      const misplaced = tmp('order.jsonl');
      writeFileSync(misplaced, [lines[0], lines[11], lines[4]].join('\n'));
      const o = await runCli(target.url, ['import', 'mattermost', misplaced]);
      assert.equal(o.code, 1);
      assert.match(o.stderr, /^line 3: a team line cannot come after a user line$/m);
    });

    test('--dry-run reports what would be created, matched and skipped, and applies nothing', async () => {
      const target = await fresh();
      const r = await runCli(target.url, ['import', 'mattermost', FIXTURE, '--dry-run']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.dryRun, true);
      assert.deepEqual(report.people, { created: 3, matched: 0, skipped: 0 });
      assert.ok(report.sample.created.some((s: string) => s.includes('jdoe@contoso.com')));
      assert.ok(report.sample.matched.some((s: string) => s.includes('contoso/town-square')), 'default channels of a new team are matched');
      assert.match(r.stderr, /^import \(dry run\): .*nothing applied/m);
      const other = connect(target.url);
      try {
        for (const t of ['users', 'teams', 'channels', 'team_members', 'channel_members', 'audit_log', 'outbox']) assert.equal(await count(other, t), 0, t);
      } finally {
        await other.destroy();
      }
    });

    test('a username held by someone with another email is a conflict: the import fails, nothing applied', async () => {
      const target = await fresh();
      const first = tmp('one.jsonl');
      writeFileSync(first, [
        '{"type":"version","version":1}',
        '{"type":"user","user":{"username":"jdoe","email":"someone.else@example.com"}}',
      ].join('\n'));
      assert.equal((await runCli(target.url, ['import', 'mattermost', first])).code, 0);
      const r = await runCli(target.url, ['import', 'mattermost', FIXTURE]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^line 12: username "jdoe" belongs to another person here \(someone\.else@example\.com\)/m);
      const other = connect(target.url);
      try {
        assert.equal(await count(other, 'users'), 1);
        assert.equal(await count(other, 'teams'), 0);
      } finally {
        await other.destroy();
      }
    });

    test('imported people are bound by the IdP: a POST with their email binds, another email creates, a PATCH of externalId clears the mark', async () => {
      const target = await fresh();
      assert.equal((await runCli(target.url, ['import', 'mattermost', FIXTURE])).code, 0);
      const srv = await startServer(store, target);
      const other = connect(target.url);
      try {
        const scim = client(srv);
        const jdoe = await other('users').where({ username: 'jdoe' }).first();
        const bound = await scim.post('/Users', newUser({ userName: 'jane.doe@contoso.com', externalId: 'entra-jdoe', emails: [{ value: 'JDOE@contoso.com', primary: true, type: 'work' }], name: { givenName: 'Jane', familyName: 'Doe-Smith' } }));
        assert.equal(bound.status, 201, bound.text);
        assert.equal(bound.body.id, jdoe.id, 'the imported person, not a new one');
        assert.equal(bound.body.externalId, 'entra-jdoe');
        assert.equal(bound.body.userName, 'jane.doe@contoso.com');
        const row = await other('users').where({ id: jdoe.id }).first();
        assert.equal(row.pending_binding_since, null);
        assert.equal(row.username, 'jdoe', 'the workspace username stays');
        assert.equal(row.last_name, 'Doe-Smith', "the IdP's attributes");
        const auditRow = await other('audit_log').where({ resource_id: jdoe.id, operation: 'bind_user' }).first();
        assert.ok(auditRow, 'bind_user audited');
        assert.equal(await count(other, 'users'), 3);
        // Memberships from the file are kept.
        assert.equal(await other('team_members').where({ user_id: jdoe.id }).whereNull('removed_at').count({ n: '*' }).then((r) => Number(r[0]!.n)), 2);
        // The externalId is now bound: the same POST again is the usual 409.
        assert.equal((await scim.post('/Users', newUser({ externalId: 'entra-jdoe' }))).status, 409);

        const created = await scim.post('/Users', newUser({ externalId: 'entra-new', emails: [{ value: 'new.person@contoso.com', primary: true }] }));
        assert.equal(created.status, 201, created.text);
        assert.notEqual(created.body.id, jdoe.id);
        assert.equal(await count(other, 'users'), 4);

        // Without an externalId, a POST with a pending person's email is not a binding: the email is taken.
        assert.equal((await scim.post('/Users', { ...newUser({ emails: [{ value: 'bsmith@contoso.com', primary: true }] }), externalId: undefined })).status, 409);
        const bsmith = await other('users').where({ username: 'bsmith' }).first();
        assert.notEqual(bsmith.pending_binding_since, null);
        const patched = await scim.patch(`/Users/${bsmith.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'externalId', value: 'entra-bsmith' }] });
        assert.ok([200, 204].includes(patched.status), patched.text);
        const after = await other('users').where({ id: bsmith.id }).first();
        assert.equal(after.pending_binding_since, null);
        assert.equal(after.external_id, 'entra-bsmith');
      } finally {
        await other.destroy();
        await srv.stop();
      }
    });
  });
}
