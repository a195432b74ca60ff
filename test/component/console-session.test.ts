/**
 * The admin console's session (issue 17): sign-in with an admin-scope credential at /console/session, a cookie that is
 * HttpOnly, SameSite=Strict and, behind TLS, Secure with the __Host- prefix; the admin API taking that cookie in
 * place of a bearer token, with CSRF protection (X-CSRF-Token and Origin) on every change; idle and absolute expiry;
 * a revoked credential ending its sessions; sign-out; and what an attacker can do with cookies (nothing): a value we
 * did not issue, garbage, an oversized value, the cookie on SCIM.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { connect, createDatabase, newUser, rand, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { clientCredentials, registerClient } from '../helpers/oauth.ts';
import { createToken, revokeToken } from '../../src/store/tokens.ts';

interface Answer { status: number; body: any; text: string; headers: Headers }

async function call(server: TestServer, method: string, path: string, opts: { body?: unknown; form?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = opts.form;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const r = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await r.text();
  let parsed: any;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

/** The first `name=value` of Set-Cookie, and its attributes (lower-cased names). */
function cookieOf(r: Answer): { name: string; value: string; attrs: Map<string, string> } {
  const raw = r.headers.get('set-cookie');
  assert.ok(raw, `no Set-Cookie: ${r.status} ${r.text}`);
  const [pair, ...rest] = raw.split(';').map((s) => s.trim());
  const eq = pair!.indexOf('=');
  const attrs = new Map(rest.map((a) => { const i = a.indexOf('='); return i < 0 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)]; }));
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs };
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Past the one second a session row (like a bearer token) is trusted without reading the database again. */
const PAST_CACHE = 1100;

interface Session { cookie: string; header: string; csrf: string; body: any }

async function signIn(server: TestServer, token: string, headers: Record<string, string> = {}): Promise<Session> {
  const r = await call(server, 'POST', '/console/session', { body: { token }, headers });
  assert.equal(r.status, 200, r.text);
  const c = cookieOf(r);
  return { cookie: c.value, header: `${c.name}=${c.value}`, csrf: r.body.csrfToken, body: r.body };
}

for (const store of stores()) {
  describe(`console session [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { REQUEST_LOG_FLUSH_INTERVAL: '60s' } });
      sql = connect(server.dbUrl);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('signing in with ADMIN_TOKEN sets an HttpOnly, SameSite=Strict cookie on / and answers the session', async () => {
      const before = Date.now();
      const r = await call(server, 'POST', '/console/session', { body: { token: server.adminToken } });
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type')!, /^application\/json/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const c = cookieOf(r);
      assert.equal(c.name, 'scim_console', 'plain http: no __Host- prefix');
      assert.match(c.value, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(c.attrs.has('httponly'));
      assert.equal(c.attrs.get('samesite'), 'Strict');
      assert.equal(c.attrs.get('path'), '/');
      assert.ok(!c.attrs.has('secure'), 'not Secure over plain http');
      assert.ok(!c.attrs.has('domain'));
      assert.deepEqual(Object.keys(r.body).sort(), ['actor', 'csrfToken', 'expiresAt', 'idleMinutes']);
      assert.equal(r.body.actor, 'admin:env-admin');
      assert.equal(r.body.idleMinutes, 15);
      assert.match(r.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
      const expires = Date.parse(r.body.expiresAt);
      assert.ok(expires >= before + 12 * 3_600_000 && expires <= Date.now() + 12 * 3_600_000, r.body.expiresAt);
      // The table holds the cookie's digest, never the cookie.
      const rows = await sql('console_sessions').select();
      assert.ok(rows.some((row: any) => row.id === sha256(c.value)));
      assert.ok(!JSON.stringify(rows).includes(c.value));
      assert.ok(!JSON.stringify(rows).includes(server.adminToken), 'nor the token');
    });

    test('a form-encoded sign-in with a managed admin token acts as admin:<token name>', async () => {
      const made = (await createToken(sql, `console-${rand()}`, 'admin', 'test'))!;
      const r = await call(server, 'POST', '/console/session', { form: `token=${encodeURIComponent(made.token)}` });
      assert.equal(r.status, 200, r.text);
      const name = (await sql('api_tokens').where({ id: made.id }).first()).name;
      assert.equal(r.body.actor, `admin:${name}`);
    });

    test('a wrong token is 401 invalid_credentials, a SCIM token 403 insufficient_scope, a bad body 400 or 415', async () => {
      const wrong = await call(server, 'POST', '/console/session', { body: { token: `admin_${randomBytes(16).toString('hex')}` } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'invalid_credentials');
      assert.equal(wrong.body.error.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);
      const scim = await call(server, 'POST', '/console/session', { body: { token: server.token } });
      assert.equal(scim.status, 403);
      assert.equal(scim.body.error.code, 'insufficient_scope');
      assert.equal(scim.headers.get('set-cookie'), null);
      const readOnly = (await createToken(sql, `read-${rand()}`, 'scim:read', 'test'))!;
      assert.equal((await call(server, 'POST', '/console/session', { body: { token: readOnly.token } })).status, 403);
      for (const body of [{}, { token: 7 }, { token: server.adminToken, remember: true }, []]) {
        const r = await call(server, 'POST', '/console/session', { body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.ok(r.body.error.code, r.text);
      }
      const notJson = await call(server, 'POST', '/console/session', { headers: { 'Content-Type': 'application/json' } });
      assert.equal(notJson.status, 400);
      const xml = await fetch(`${server.url}/console/session`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body: '<token/>' });
      assert.equal(xml.status, 415);
      const put = await call(server, 'PUT', '/console/session', { body: {} });
      assert.equal(put.status, 405);
      assert.match(put.headers.get('allow')!, /POST/);
    });

    test('GET /console/session answers the session with its cookie, 401 no_session without', async () => {
      const s = await signIn(server, server.adminToken);
      const r = await call(server, 'GET', '/console/session', { headers: { Cookie: s.header } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, s.body, 'the same session, the same CSRF token');
      const none = await call(server, 'GET', '/console/session');
      assert.equal(none.status, 401);
      assert.deepEqual(Object.keys(none.body.error).sort(), ['code', 'message', 'status']);
      assert.equal(none.body.error.code, 'no_session');
    });

    test('the admin API takes the cookie as the token it came from: same actor, audit rows and request log', async () => {
      const s = await signIn(server, server.adminToken);
      const read = await call(server, 'GET', '/admin/v1/teams?limit=1', { headers: { Cookie: s.header } });
      assert.equal(read.status, 200, read.text);
      const requestId = `console-${rand()}`;
      const name = `t-${rand()}`;
      const made = await call(server, 'POST', '/admin/v1/teams', { body: { name, displayName: 'Console team' }, headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf, Origin: server.url, 'X-Request-Id': requestId } });
      assert.equal(made.status, 201, made.text);
      const audit = await call(server, 'GET', `/admin/v1/audit?requestId=${requestId}`, { headers: { Cookie: s.header } });
      assert.ok(audit.body.items.length >= 1);
      assert.ok(audit.body.items.every((a: any) => a.actor === 'admin:env-admin'), JSON.stringify(audit.body.items));
      await server.running!.requestLog!.flush();
      const logged = await call(server, 'GET', `/admin/v1/requests?requestId=${requestId}`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
      assert.equal(logged.body.items[0].actor, 'admin:env-admin');
      // A bearer request needs no CSRF token, cookie or not.
      const bearer = await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Bearer' }, headers: { Authorization: `Bearer ${server.adminToken}`, Cookie: s.header } });
      assert.equal(bearer.status, 201, bearer.text);
    });

    test('what the admin API answers a session is never stored by the browser (people, audit, log: no-store)', async () => {
      // OWASP Session Management Cheat Sheet, "Web Content Caching": after sign-out on a shared computer the browser's
      // cache must not hold the directory the console showed.
      const s = await signIn(server, server.adminToken);
      for (const path of ['/admin/v1/users?limit=1', '/admin/v1/audit?limit=1', '/admin/v1/requests?limit=1', '/admin/v1/overview', '/admin/v1/nope']) {
        const r = await call(server, 'GET', path, { headers: { Cookie: s.header } });
        assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status} ${r.text}`);
        assert.equal(r.headers.get('cache-control'), 'no-store', path);
      }
      const made = await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'No store' }, headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf } });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.headers.get('cache-control'), 'no-store');
    });

    test('a change by cookie without the CSRF token, with a wrong one, or from another origin is 403 csrf_failed', async () => {
      const s = await signIn(server, server.adminToken);
      const other = await signIn(server, server.adminToken);
      const count = async () => Number((await sql('teams').count({ n: '*' }).first() as any).n);
      const teams = await count();
      const attempts: [string, Record<string, string>][] = [
        ['no header', { Cookie: s.header }],
        ['empty header', { Cookie: s.header, 'X-CSRF-Token': '' }],
        ['wrong token', { Cookie: s.header, 'X-CSRF-Token': randomBytes(32).toString('base64url') }],
        ["another session's token", { Cookie: s.header, 'X-CSRF-Token': other.csrf }],
        ['foreign origin', { Cookie: s.header, 'X-CSRF-Token': s.csrf, Origin: 'https://evil.example' }],
        ['null origin', { Cookie: s.header, 'X-CSRF-Token': s.csrf, Origin: 'null' }],
      ];
      for (const [what, headers] of attempts) {
        const r = await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Forged' }, headers });
        assert.equal(r.status, 403, `${what}: ${r.text}`);
        assert.equal(r.body.error.code, 'csrf_failed', what);
      }
      for (const method of ['DELETE', 'PATCH', 'PUT']) {
        const r = await call(server, method, '/admin/v1/teams/nope', { body: {}, headers: { Cookie: s.header } });
        assert.equal(r.status, 403, method);
      }
      assert.equal(await count(), teams, 'nothing was created');
      const ok = await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Fine' }, headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf } });
      assert.equal(ok.status, 201, 'no Origin (not a browser) with the right token is fine');
      const sameOrigin = await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Fine' }, headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf, Origin: server.url } });
      assert.equal(sameOrigin.status, 201);
      const crossSignIn = await call(server, 'POST', '/console/session', { body: { token: server.adminToken }, headers: { Origin: 'https://evil.example' } });
      assert.equal(crossSignIn.status, 403, 'no sign-in posted from another site (login CSRF)');
      assert.equal(crossSignIn.headers.get('set-cookie'), null);
    });

    test('a session idle longer than CONSOLE_IDLE_MINUTES, or past its absolute expiry, is over', async () => {
      const idle = await signIn(server, server.adminToken);
      const old = await signIn(server, server.adminToken);
      await sql('console_sessions').where({ id: sha256(idle.cookie) }).update({ last_seen_at: Date.now() - 16 * 60_000 });
      await sql('console_sessions').where({ id: sha256(old.cookie) }).update({ expires_at: Date.now() - 1 });
      await sleep(PAST_CACHE);
      for (const s of [idle, old]) {
        assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: s.header } })).status, 401);
        assert.equal((await call(server, 'GET', '/admin/v1/teams', { headers: { Cookie: s.header } })).status, 401);
        assert.equal(await sql('console_sessions').where({ id: sha256(s.cookie) }).first(), undefined, 'a dead session is deleted');
      }
      // Activity keeps a session: 14 minutes idle is within 15, and the request restarts the clock.
      const active = await signIn(server, server.adminToken);
      await sql('console_sessions').where({ id: sha256(active.cookie) }).update({ last_seen_at: Date.now() - 14 * 60_000 });
      await sleep(PAST_CACHE);
      assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: active.header } })).status, 200);
      const row = await sql('console_sessions').where({ id: sha256(active.cookie) }).first();
      assert.ok(Number(row.last_seen_at) > Date.now() - 60_000, 'the idle clock restarted');
    });

    test('signing in prunes expired sessions', async () => {
      const s = await signIn(server, server.adminToken);
      await sql('console_sessions').where({ id: sha256(s.cookie) }).update({ expires_at: Date.now() - 1 });
      await signIn(server, server.adminToken);
      assert.equal(await sql('console_sessions').where({ id: sha256(s.cookie) }).first(), undefined);
    });

    test('revoking the managed token, or the OAuth client, ends its console sessions within a second', async () => {
      const made = (await createToken(sql, `revoked-${rand()}`, 'admin', 'test'))!;
      const byToken = await signIn(server, made.token);
      const c = await registerClient(server, { name: `console-client-${rand()}`, scope: 'admin' });
      const access = await clientCredentials(server, c.id, c.secret);
      const byClient = await signIn(server, access);
      assert.match(byClient.body.actor, /^admin:console-client-/);
      for (const s of [byToken, byClient]) assert.equal((await call(server, 'GET', '/admin/v1/teams', { headers: { Cookie: s.header } })).status, 200);
      assert.equal(await revokeToken(sql, made.id, 'test'), 1);
      const gone = await call(server, 'DELETE', `/admin/v1/clients/${c.id}`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
      assert.ok(gone.status === 200 || gone.status === 204, gone.text);
      await sleep(PAST_CACHE);
      for (const s of [byToken, byClient]) {
        assert.equal((await call(server, 'GET', '/admin/v1/teams', { headers: { Cookie: s.header } })).status, 401);
        assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: s.header } })).status, 401);
      }
    });

    test('signing out needs the CSRF token, deletes the row and clears the cookie; again is still 204', async () => {
      const s = await signIn(server, server.adminToken);
      const forged = await call(server, 'DELETE', '/console/session', { headers: { Cookie: s.header } });
      assert.equal(forged.status, 403);
      assert.equal(forged.body.error.code, 'csrf_failed');
      assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: s.header } })).status, 200, 'still signed in');
      const out = await call(server, 'DELETE', '/console/session', { headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf } });
      assert.equal(out.status, 204);
      const cleared = cookieOf(out);
      assert.equal(cleared.name, 'scim_console');
      assert.equal(cleared.value, '');
      assert.ok(Date.parse(cleared.attrs.get('expires')!) < Date.now(), 'expired at once');
      assert.equal(await sql('console_sessions').where({ id: sha256(s.cookie) }).first(), undefined);
      assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: s.header } })).status, 401);
      assert.equal((await call(server, 'GET', '/admin/v1/teams', { headers: { Cookie: s.header } })).status, 401);
      assert.equal((await call(server, 'DELETE', '/console/session', { headers: { Cookie: s.header } })).status, 204);
    });

    test('SCIM never takes the cookie', async () => {
      const s = await signIn(server, server.adminToken);
      const get = await fetch(`${server.base}/Users`, { headers: { Cookie: s.header } });
      assert.equal(get.status, 401);
      const post = await fetch(`${server.base}/Users`, { method: 'POST', headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf, 'Content-Type': 'application/scim+json' }, body: JSON.stringify(newUser()) });
      assert.equal(post.status, 401);
    });

    test('an attacker: a cookie value we did not issue, garbage, an oversized value are 401, never 5xx', async () => {
      const planted = randomBytes(32).toString('base64url');
      const values = [planted, '', 'x', '%%%', '"quoted"', 'a'.repeat(8000), `${planted}; scim_console=${planted}`, '\u00e9t\u00e9', '../../etc/passwd', "' OR 1=1 --"];
      for (const v of values) {
        for (const path of ['/console/session', '/admin/v1/teams']) {
          const r = await fetch(`${server.url}${path}`, { headers: { Cookie: `scim_console=${encodeURIComponent(v).replace(/%3B%20scim_console%3D/, '; scim_console=')}` } });
          assert.equal(r.status, 401, `${path} ${v.slice(0, 40)}`);
          assert.equal((await r.json()).error.code, 'no_session');
        }
      }
      const bare = await fetch(`${server.url}/admin/v1/teams`, { headers: { Cookie: 'scim_console' } });
      assert.equal(bare.status, 401);
      // Session fixation: signing in while holding a planted value gives a new one, and the planted one stays useless.
      const r = await call(server, 'POST', '/console/session', { body: { token: server.adminToken }, headers: { Cookie: `scim_console=${planted}` } });
      assert.equal(r.status, 200);
      assert.notEqual(cookieOf(r).value, planted);
      assert.equal((await call(server, 'GET', '/console/session', { headers: { Cookie: `scim_console=${planted}` } })).status, 401);
      // Signing in again replaces the session the browser held.
      const first = await signIn(server, server.adminToken);
      const second = await signIn(server, server.adminToken, { Cookie: first.header });
      assert.notEqual(second.cookie, first.cookie);
      assert.equal(await sql('console_sessions').where({ id: sha256(first.cookie) }).first(), undefined);
    });

    test('no log line holds a cookie, a token or a CSRF token', async () => {
      const s = await signIn(server, server.adminToken);
      await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Logged' }, headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf } });
      await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'Logged' }, headers: { Cookie: s.header } });
      await call(server, 'DELETE', '/console/session', { headers: { Cookie: s.header, 'X-CSRF-Token': s.csrf } });
      await server.running!.requestLog!.flush();
      const out = server.output();
      for (const secret of [s.cookie, s.csrf, server.adminToken]) assert.ok(!out.includes(secret), 'a secret reached the log');
      const dump = JSON.stringify(await sql('request_log').select());
      for (const secret of [s.cookie, s.csrf, server.adminToken]) assert.ok(!dump.includes(secret), 'a secret reached the request log');
    });

    test('a token sent as a field name (curl -d "$TOKEN" posts it as a form key) is not echoed into the answer or the request log', async () => {
      const made = (await createToken(sql, `pasted-${rand()}`, 'admin', 'test'))!;
      const sent = [
        { form: made.token },
        { form: `${made.token}&${made.token}` },
        { form: `token=${encodeURIComponent(made.token)}&token=x` },
        { body: { [made.token]: true } },
        { body: { token: made.token, [made.token]: 1 } },
      ];
      for (const opts of sent) {
        const r = await call(server, 'POST', '/console/session', opts);
        assert.equal(r.status, 400, r.text);
        assert.ok(!r.text.includes(made.token.slice(0, 16)), `the answer repeats the token: ${r.text}`);
        assert.equal(r.headers.get('set-cookie'), null);
      }
      await server.running!.requestLog!.flush();
      const dump = JSON.stringify(await sql('request_log').select());
      assert.ok(!dump.includes(made.token.slice(0, 16)), 'the token reached the request log, which every console admin reads');
      assert.ok(!server.output().includes(made.token.slice(0, 16)), 'the token reached the log');
    });
  });

  describe(`console session behind an HTTPS proxy [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    const https = { 'X-Forwarded-Proto': 'https' };

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { TRUST_PROXY_HOPS: '1', CONSOLE_IDLE_MINUTES: '5' } });
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('over https the cookie is Secure and named __Host-, and only that name is read', async () => {
      const r = await call(server, 'POST', '/console/session', { body: { token: server.adminToken }, headers: https });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.idleMinutes, 5, 'CONSOLE_IDLE_MINUTES');
      const c = cookieOf(r);
      assert.equal(c.name, '__Host-scim_console');
      assert.ok(c.attrs.has('secure'));
      assert.ok(c.attrs.has('httponly'));
      assert.equal(c.attrs.get('samesite'), 'Strict');
      assert.equal(c.attrs.get('path'), '/');
      assert.ok(!c.attrs.has('domain'), '__Host- cookies carry no Domain');
      assert.equal((await call(server, 'GET', '/console/session', { headers: { ...https, Cookie: `${c.name}=${c.value}` } })).status, 200);
      assert.equal((await call(server, 'GET', '/console/session', { headers: { ...https, Cookie: `scim_console=${c.value}` } })).status, 401, 'the unprefixed name is not read over https');
      // Origin is checked against the scheme the proxy reports and the Host it forwards.
      const port = new URL(server.url).port;
      const csrf = r.body.csrfToken;
      const headers = { ...https, Cookie: `${c.name}=${c.value}`, 'X-CSRF-Token': csrf };
      assert.equal((await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'T' }, headers: { ...headers, Origin: `https://127.0.0.1:${Number(port) + 1}` } })).status, 403);
      assert.equal((await call(server, 'POST', '/admin/v1/teams', { body: { name: `t-${rand()}`, displayName: 'T' }, headers: { ...headers, Origin: `https://127.0.0.1:${port}` } })).status, 201);
      const plain = await call(server, 'POST', '/console/session', { body: { token: server.adminToken } });
      assert.equal(cookieOf(plain).name, 'scim_console', 'the same server over plain http');
      assert.ok(!cookieOf(plain).attrs.has('secure'));
    });

    test('failed sign-ins are throttled per client address; a valid token still signs in', async () => {
      const from = (ip: string) => ({ 'X-Forwarded-For': ip });
      for (let i = 0; i < 20; i++) {
        const r = await call(server, 'POST', '/console/session', { body: { token: `wrong-${rand()}-${rand()}` }, headers: from('203.0.113.7') });
        assert.equal(r.status, 401, `attempt ${i + 1}`);
      }
      const blocked = await call(server, 'POST', '/console/session', { body: { token: `wrong-${rand()}-${rand()}` }, headers: from('203.0.113.7') });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.error.code, 'too_many_requests');
      assert.ok(Number(blocked.headers.get('retry-after')) > 0);
      assert.equal((await call(server, 'POST', '/console/session', { body: { token: server.adminToken }, headers: from('203.0.113.7') })).status, 200);
      assert.equal((await call(server, 'POST', '/console/session', { body: { token: `wrong-${rand()}-${rand()}` }, headers: from('203.0.113.8') })).status, 401, 'another address is not blocked');
      assert.match(server.output(), /failed-auth throttle engaged/);
      // The SCIM door shares the guard: the address is refused there too.
      assert.equal((await fetch(`${server.base}/Users`, { headers: { Authorization: 'Bearer wrong-token-0123456789', ...from('203.0.113.7') } })).status, 429);
    });
  });
}
