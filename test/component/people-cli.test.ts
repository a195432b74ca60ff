/**
 * The admin's people questions from the command line (issue 16): `user list` (each filter, one page with a note
 * where the next starts, or every page with --all), `user show <key>` and `team members` / `channel members` print
 * tables, and with --json exactly what the admin API answers: both call the same use-cases (src/workspace/people.ts,
 * src/workspace/members.ts). Refusals (nobody, ambiguous, an unknown team) are one line on stderr and exit 1.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, GROUP_SCHEMA, newUser, rand, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';

for (const store of stores()) {
  describe(`people: CLI [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let ws: ReturnType<typeof workspace>;
    const r = rand();
    const id: Record<string, string> = {};
    const teamName = `ops-${r}`;
    let teamId: string;
    let groupExt: string;

    const cli = (...args: string[]): Promise<CliRun> => runCli(server.dbUrl, args);
    const json = async (...args: string[]): Promise<any> => {
      const out = await cli(...args, '--json');
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout);
    };
    const api = async (path: string) => ws.ok(await ws.admin.get(`${ws.A}${path}`), 200).body;
    const short = (items: any[]) => items.map((p) => p.userName.split('@')[0]);
    const person = async (userName: string, extra: Record<string, unknown> = {}) =>
      ws.ok(await ws.scim.post('/Users', newUser({ userName: `${userName}@${r}.test`, externalId: `ext-${userName}-${r}`, ...extra })), 201).body.id as string;

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      ws = workspace(server);
      id.alice = await person('alice', { displayName: 'Alice Anders' });
      id.bob = await person('bob');
      id.carol = await person('carol');
      id.frank = await person('frank');
      id.dave = await person('dave');
      groupExt = `gx-${r}`;
      const g = ws.ok(await ws.scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `ops-${r}`, externalId: groupExt, members: [{ value: id.alice }, { value: id.bob }] }), 201).body.id;
      teamId = (await ws.team(teamName)).id;
      await ws.linkTeam(g, teamId);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${teamId}/members`, { userId: id.frank, schemeAdmin: true }), 201);
      ws.ok(await ws.admin.post(`${ws.A}/teams/${teamId}/members`, { userId: id.carol }), 201);
      ws.ok(await ws.admin.del(`${ws.A}/teams/${teamId}/members/${id.bob}`), 200);
      await ws.setActive(id.carol, false);
      assert.equal((await ws.scim.del(`/Users/${id.dave}`)).status, 204);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('user list: a table by default; each filter as the admin API answers it', async () => {
      const table = await cli('user', 'list');
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0]!, /^USERNAME\s+DISPLAYNAME\s+EMAIL\s+ACTIVE\s+DELETED\s+ROLE\s+ID$/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]!.split('@')[0]), ['alice', 'bob', 'carol', 'frank']);
      assert.equal(table.stderr, '', 'one page held everyone: no note');
      const cases: [string[], string, string[]][] = [
        [['--active'], '?active=true', ['alice', 'bob', 'frank']],
        [['--inactive'], '?active=false', ['carol']],
        [['--deleted'], '?deleted=true', ['dave']],
        [['--team', teamName], `?team=${teamName}`, ['alice', 'carol', 'frank']],
        [['--channel', `${teamName}/town-square`, '--active'], `?channel=${encodeURIComponent(`${teamName}/town-square`)}&active=true`, ['alice', 'frank']],
        [['--group', groupExt], `?group=${groupExt}`, ['alice', 'bob']],
        [['--search', 'anders'], '?q=anders', ['alice']],
      ];
      for (const [args, query, want] of cases) {
        const got = await json('user', 'list', ...args);
        assert.deepEqual(short(got), want, args.join(' '));
        assert.deepEqual(got, (await api(`/users${query}`)).items, `${args.join(' ')} is what GET /users${query} answers`);
      }
    });

    test('user list pages: --limit prints one page and where the next starts, --after continues, --all follows every page', async () => {
      const first = await cli('user', 'list', '--limit', '3', '--json');
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(short(JSON.parse(first.stdout)), ['alice', 'bob', 'carol']);
      const cursor = /^more: --after (\S+) \(or --all\)$/m.exec(first.stderr)?.[1];
      assert.ok(cursor, first.stderr);
      assert.deepEqual(short(await json('user', 'list', '--limit', '3', '--after', cursor)), ['frank']);
      const all = await cli('user', 'list', '--limit', '1', '--all', '--json');
      assert.deepEqual(short(JSON.parse(all.stdout)), ['alice', 'bob', 'carol', 'frank']);
      assert.equal(all.stderr, '', 'the last page was read: nothing more');
      for (const bad of [['--active', '--inactive'], ['--team', 'nope'], ['--limit', '0'], ['--after', 'not-a-cursor!'], ['--search', '']]) {
        const out = await cli('user', 'list', ...bad);
        assert.equal(out.code, 1, bad.join(' '));
        assert.match(out.stderr, /^error: /, bad.join(' '));
        assert.equal(out.stdout, '');
      }
    });

    test('user show: the API\'s answer with --json; sections as text; nobody and ambiguous keys exit 1', async () => {
      const view = await json('user', 'show', `ALICE@${r}.test`);
      assert.deepEqual(view, await api(`/users/${id.alice}`));
      const text = await cli('user', 'show', `ext-frank-${r}`);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^id\\s+${id.frank}$`, 'm'));
      assert.match(text.stdout, /^userName\s+frank@/m);
      assert.match(text.stdout, /^teams\nTEAMNAME\s+ROLE\s+CAUSE\s+ACTIVE\s+ADDEDBY\s+SINCE\s+REMOVEDAT\s+REMOVEDBY$/m);
      assert.match(text.stdout, new RegExp(`^${teamName}\\s+admin\\s+manual\\s+true\\s+admin:env-admin`, 'm'));
      assert.match(text.stdout, new RegExp(`^${teamName}/town-square\\s+member\\s+default_channel\\s+true`, 'm'));
      assert.match(text.stdout, /^last changes \(newest first, at most 20\)\nID\s+AT\s+ACTOR\s+OPERATION/m);
      assert.match(text.stdout, /\bteam_add\b/);
      const nobody = await cli('user', 'show', 'nobody');
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /^error: nobody has the id, externalId or userName "nobody"/);
      await person('other', { externalId: `alice@${r}.test` });
      const ambiguous = await cli('user', 'show', `alice@${r}.test`);
      assert.equal(ambiguous.code, 1);
      assert.match(ambiguous.stderr, /^error: .* names 2 people: .*Name one with id:<id>, externalId:<externalId> or userName:<userName>/);
      assert.equal((await json('user', 'show', `userName:alice@${r}.test`)).user.id, id.alice);
    });

    test('team members and channel members: userName, role, cause, active; --json is the API\'s page', async () => {
      const table = await cli('team', 'members', teamName);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0]!, /^USERNAME\s+ROLE\s+CAUSE\s+MEMBER\s+USERACTIVE\s+ADDEDBY\s+SINCE\s+REMOVEDBY\s+USERID$/);
      const row = (who: string) => lines.find((l) => l.startsWith(`${who}@`))?.split(/\s+/).slice(1, 5);
      assert.deepEqual(row('alice'), ['member', 'group', 'yes', 'true']);
      assert.deepEqual(row('bob'), ['member', 'group', 'removed', 'true']);
      assert.deepEqual(row('carol'), ['member', 'manual', 'yes', 'false']);
      assert.deepEqual(row('frank'), ['admin', 'manual', 'yes', 'true']);
      assert.deepEqual(await json('team', 'members', teamName, '--limit', '1000'), (await api(`/teams/${teamId}/members?limit=1000`)).items);
      assert.deepEqual((await json('team', 'members', teamId, '--active', '--limit', '1', '--all')).map((m: any) => m.userId), [id.alice, id.carol, id.frank].sort());
      const channel = await json('channel', 'members', teamName, 'town-square', '--active');
      assert.deepEqual(await json('channel', 'members', `${teamName}/town-square`, '--active'), channel);
      assert.deepEqual(channel.map((m: any) => [m.userId, m.cause]), [id.alice, id.carol, id.frank].sort().map((u) => [u, 'default_channel']));
      const missing = await cli('team', 'members', 'nope');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^error: team nope not found/);
    });
  });
}
