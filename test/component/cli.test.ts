/**
 * The operator CLI (src/cli) run as a child process against the server's database: managed tokens (created, used,
 * listed without secrets, revoked and refused within ~1.5 s) and the hard purge of a user.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  client, connect, createDatabase, ENTERPRISE, newUser, ROOT, startServer, stores, type TestDatabase, type TestServer,
} from '../helpers/server.ts';
import { ensureBuilt } from '../helpers/build.ts';

interface Run { code: number | null; stdout: string; stderr: string }

/** Run a command with DATABASE_URL set (and no token settings inherited). */
function run(cmd: string, args: string[], dbUrl: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: dbUrl };
    for (const k of ['SCIM_TOKEN', 'ADMIN_TOKEN', 'PORT', 'LOG_LEVEL', 'PUBLIC_URL']) delete env[k];
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const cli = (dbUrl: string, ...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], dbUrl);
const TOKEN = /^(scim|admin)_[A-Za-z0-9_-]{43}\n$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const store of stores()) {
  describe(`CLI [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    let created: Run;
    before(async () => {
      db = await createDatabase(store);
      // The CLI comes first on a fresh database: it must migrate it itself.
      created = await cli(db.url, 'token', 'create', '--name', 'entra');
      server = await startServer(store, db);
      sql = connect(db.url);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('token create prints the token alone on stdout; notes go to stderr; only a hash is stored', async () => {
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, TOKEN);
      assert.match(created.stderr, /entra/);
      const token = created.stdout.trim();
      assert.ok(!created.stderr.includes(token), 'the token is only on stdout');
      const rows = await sql('api_tokens').where({ name: 'entra' });
      assert.equal(rows.length, 1);
      assert.equal(rows[0].scope, 'scim');
      assert.match(rows[0].token_hash, /^[0-9a-f]{64}$/);
      assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is not stored');
    });

    test('a created token works, list never shows secrets, revoke makes the server refuse it within 1.5 s', async () => {
      const token = created.stdout.trim();
      const api = client(server, token);
      const ok = await api.get('/Users');
      assert.equal(ok.status, 200, ok.text);
      const post = await api.post('/Users', newUser());
      assert.equal(post.status, 201, post.text);
      assert.equal((await sql('audit_log').where({ resource_id: post.body.id }).first()).actor, 'token:entra');

      const list = await cli(db.url, 'token', 'list');
      assert.equal(list.code, 0, list.stderr);
      const [row] = await sql('api_tokens').where({ name: 'entra' });
      assert.match(list.stdout, /ID\s+NAME\s+SCOPE\s+CREATED\s+REVOKED/);
      assert.match(list.stdout, new RegExp(`${row.id}\\s+entra\\s+scim\\s+\\d{4}-\\d\\d-\\d\\dT[^\\s]+Z\\s+-`));
      for (const out of [list.stdout, list.stderr]) {
        assert.ok(!out.includes(token), 'the token is never listed');
        assert.ok(!out.includes(row.token_hash), 'nor its hash');
      }

      const revoke = await cli(db.url, 'token', 'revoke', 'entra');
      assert.equal(revoke.code, 0, revoke.stderr);
      assert.equal(revoke.stdout, '');
      const revokedAt = Date.now();
      let status = 200;
      while (Date.now() - revokedAt < 1500) {
        status = (await api.get('/Users')).status;
        if (status === 401) break;
        await sleep(50);
      }
      assert.equal(status, 401, 'a revoked token is refused within 1.5 s');
      const refused = await api.get('/Users');
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/);

      const json = await cli(db.url, 'token', 'list', '--json');
      assert.equal(json.code, 0, json.stderr);
      const listed = JSON.parse(json.stdout);
      const entry = listed.find((t: any) => t.name === 'entra');
      assert.deepEqual(Object.keys(entry).sort(), ['created', 'id', 'name', 'revoked', 'scope']);
      assert.ok(Date.parse(entry.revoked) >= Date.parse(entry.created), 'revoked after created');

      const again = await cli(db.url, 'token', 'revoke', 'entra');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no live token/);

      const ops = (await sql('audit_log').where({ resource_type: 'Token', resource_id: row.id }).orderBy('id')).map((r: any) => [r.operation, r.actor]);
      assert.deepEqual(ops.map((o: string[]) => o[0]), ['create_token', 'revoke_token']);
      for (const [, actor] of ops) assert.match(actor, /^cli:/);
    });

    test('an admin-scope token drives SCIM too; revoke by id', async () => {
      const res = await cli(db.url, 'token', 'create', '--name', 'ops-admin', '--scope', 'admin');
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^admin_/);
      const api = client(server, res.stdout.trim());
      assert.equal((await api.get('/Users')).status, 200);
      const [row] = await sql('api_tokens').where({ name: 'ops-admin' });
      assert.equal(row.scope, 'admin');
      assert.equal((await cli(db.url, 'token', 'revoke', row.id)).code, 0);
      assert.notEqual((await sql('api_tokens').where({ id: row.id }).first()).revoked_at, null);
    });

    test('bad token commands fail with nothing on stdout', async () => {
      const live = await cli(db.url, 'token', 'create', '--name', 'okta');
      assert.equal(live.code, 0, live.stderr);
      const cases = [['token', 'create'], ['token', 'create', '--name', ''], ['token', 'create', '--name', 'x', '--scope', 'root'], ['token', 'create', '--name', 'okta'], ['token', 'revoke'], ['token', 'frobnicate'], ['nothing']];
      const results = await Promise.all(cases.map((args) => cli(db.url, ...args)));
      for (const [i, args] of cases.entries()) {
        const res = results[i]!;
        assert.notEqual(res.code, 0, `${args.join(' ')}: ${res.stdout}`);
        assert.equal(res.stdout, '', args.join(' '));
        assert.ok(res.stderr.length > 0, 'the failure is explained on stderr');
      }
      assert.equal((await sql('api_tokens').where({ name: 'okta' })).length, 1, 'no second live token with one name');
    });

    test('a bad DATABASE_URL is a one-line configuration error', async () => {
      const res = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'token', 'list'], 'mysql://nope');
      assert.equal(res.code, 1);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, /^error: configuration error: DATABASE_URL/);
      assert.equal(res.stderr.trim().split('\n').length, 1);
    });

    test('npm run -s cli -- token create prints the token alone (the production build)', async () => {
      await ensureBuilt();
      const res = await run('npm', ['run', '-s', 'cli', '--', 'token', 'create', '--name', `npm-${randomBytes(3).toString('hex')}`], db.url);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, TOKEN);
    });

    test('user purge refuses without --yes, then removes the row and all that hangs off it, with an audit row', async () => {
      const api = client(server);
      const u = (await api.post('/Users', newUser({ phoneNumbers: [{ value: '+1 555 0100', type: 'work' }] }))).body;
      const report = (await api.post('/Users', newUser({ [ENTERPRISE]: { manager: u.id } }))).body;
      await sql('sessions').insert({ id: randomUUID(), user_id: u.id, token_hash: randomBytes(32).toString('hex'), created_at: Date.now(), expires_at: Date.now() + 60_000, revoked_at: null });
      assert.equal((await api.del(`/Users/${u.id}`)).status, 204);

      const refused = await cli(db.url, 'user', 'purge', u.id);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /--yes/);
      assert.ok(await sql('users').where({ id: u.id }).first(), 'nothing purged without --yes');

      const purged = await cli(db.url, 'user', 'purge', u.id, '--yes');
      assert.equal(purged.code, 0, purged.stderr);
      assert.equal(purged.stdout, '');
      assert.equal(await sql('users').where({ id: u.id }).first(), undefined);
      for (const t of ['user_values', 'sessions']) assert.deepEqual(await sql(t).where({ user_id: u.id }), [], t);
      const history = (await sql('audit_log').where({ resource_type: 'User', resource_id: u.id }).orderBy('id')).map((r: any) => r.operation);
      assert.deepEqual(history, ['create_user', 'delete_user', 'purge_user'], 'history stays, purge is recorded');
      const row = await sql('audit_log').where({ resource_id: u.id, operation: 'purge_user' }).first();
      assert.match(row.actor, /^cli:/);
      assert.equal(JSON.parse(row.before).externalId, u.externalId);

      // The report loses the dangling manager; the same externalId now makes a new person.
      const got = (await api.get(`/Users/${report.id}`)).body;
      assert.equal(got[ENTERPRISE]?.manager, undefined);
      const fresh = await api.post('/Users', newUser({ externalId: u.externalId }));
      assert.equal(fresh.status, 201, fresh.text);
      assert.notEqual(fresh.body.id, u.id);

      const unknown = await cli(db.url, 'user', 'purge', u.id, '--yes');
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no user/);
    });

    test('user purge --deleted --before: every person SCIM deleted before the date, nobody else; a dry run counts', async () => {
      const api = client(server);
      const [old1, old2, recent, live] = await Promise.all([0, 1, 2, 3].map(async () => (await api.post('/Users', newUser())).body));
      for (const u of [old1, old2, recent]) assert.equal((await api.del(`/Users/${u.id}`)).status, 204);
      const cut = Date.now() - 1000;
      // Two of them were deleted long ago (as after an old conformance run), one just now.
      await sql('users').whereIn('id', [old1.id, old2.id]).update({ deleted_at: cut - 86_400_000 });
      await sql('users').where({ id: recent.id }).update({ deleted_at: Date.now() });
      const before = new Date(cut).toISOString();
      // Deleted people from other tests in this file may be older too: count them in, the four here are what matters.
      const dry = await cli(db.url, 'user', 'purge', '--deleted', '--before', before, '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      const planned = JSON.parse(dry.stdout);
      assert.equal(planned.dryRun, true);
      assert.ok(planned.matched >= 2);
      assert.ok(await sql('users').where({ id: old1.id }).first(), 'a dry run purges nobody');
      assert.match((await cli(db.url, 'user', 'purge', '--deleted', '--before', before)).stderr, /--yes/);
      assert.match((await cli(db.url, 'user', 'purge', '--deleted')).stderr, /--before/);
      assert.match((await cli(db.url, 'user', 'purge', '--deleted', '--before', 'yesterday', '--yes')).stderr, /ISO 8601/);
      assert.match((await cli(db.url, 'user', 'purge', '--deleted', '--before', '2999-01-01', '--yes')).stderr, /future/);
      const done = await cli(db.url, 'user', 'purge', '--deleted', '--before', before, '--yes');
      assert.equal(done.code, 0, done.stderr);
      assert.equal(JSON.parse(done.stdout).purged, planned.matched);
      for (const u of [old1, old2]) assert.equal(await sql('users').where({ id: u.id }).first(), undefined);
      for (const u of [recent, live]) assert.ok(await sql('users').where({ id: u.id }).first(), `${u.userName} kept`);
      const audit = await sql('audit_log').whereIn('resource_id', [old1.id, old2.id]).where({ operation: 'purge_user' });
      assert.equal(audit.length, 2);
      assert.match(audit[0].cause, /^deleted before /);
    });
  });
}
