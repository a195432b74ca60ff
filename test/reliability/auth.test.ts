/**
 * Auth (issue 6 §5): every SCIM and admin route refuses missing, malformed, wrong and revoked tokens (401 with
 * WWW-Authenticate: Bearer and a SCIM error body); a revoked token stops working on every instance within a second;
 * a SCIM token cannot use the admin API; tokens are stored hashed; repeated bad tokens from one client get 429.
 * Issue 10 §3: a refusal comes before the body is read (no parse, no inflate), and the guard never refuses a valid
 * token, even from an address it throttles.
 *
 * The failed-auth guard counts per client address, so the route matrix spreads its requests over loopback source
 * addresses 127.0.0.2-201 (the server itself is only ever reached at 127.0.0.1).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, spawnServer, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { assertScimError, cli, rawRequest, sleep } from './util.ts';
import { createToken, revokeToken } from '../../src/store/tokens.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
let n401 = 0;

/**
 * Send a request and resolve with the first response, whether or not the server read the body: a server that refuses
 * before reading may close the connection while the body is still being written (EPIPE/ECONNRESET after the answer).
 */
function firstResponse(url: string, opts: { method: string; headers: Record<string, string>; body: string | Buffer; from: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: opts.method, localAddress: opts.from, agent: false, headers: { 'Content-Length': String(Buffer.byteLength(opts.body)), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', (err) => setTimeout(() => reject(new Error(`${opts.method} ${u.pathname}: ${err.message}`)), 100)); // a response that arrived first wins
    req.end(opts.body);
  });
}

for (const store of stores()) {
  describe(`auth [${store}]`, { timeout: 180_000 }, () => {
    let db: TestDatabase;
    let servers: TestServer[] = [];
    const tokens: Record<string, string> = {};
    before(async () => {
      db = await createDatabase(store);
      const env = { RATE_LIMIT_PER_SECOND: '0' };
      servers = [await startServer(store, db, { env })];
      // PostgreSQL: a second instance in its own process (token caches are per process).
      if (store === 'pg') servers.push(await spawnServer(store, db, { env }));
      // Managed tokens through the store code the CLI runs; on SQLite one from the CLI itself (printed alone on
      // stdout). The PostgreSQL run revokes with the CLI instead (one CLI process per run: they are slow to start).
      const k = connect(db.url);
      try {
        const [keep, gone, doomed] = await Promise.all([
          store === 'sqlite' ? cli(db.url, ['token', 'create', '--name', 'keep', '--scope', 'scim']) : createToken(k, 'keep', 'scim', 'test').then((t) => t!.token),
          createToken(k, 'gone', 'scim', 'test').then((t) => t!.token),
          createToken(k, 'doomed', 'scim', 'test').then((t) => t!.token),
        ]);
        Object.assign(tokens, { keep: keep.trim(), gone, doomed });
        assert.equal(await revokeToken(k, 'gone', 'test'), 1);
      } finally {
        await k.destroy();
      }
    });
    after(async () => {
      for (const s of servers) await s.stop();
      await db?.drop();
    });

    test('managed tokens work; every SCIM and admin route refuses missing, malformed, wrong and revoked tokens', async () => {
      const s = servers[0]!;
      assert.equal((await client(s, tokens.keep).get('/Users?count=1')).status, 200);
      const user = await client(s).post('/Users', newUser());
      const group = await client(s).post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `g-${randomUUID()}` });
      assert.equal(user.status, 201);
      assert.equal(group.status, 201);
      const [u, g] = [user.body.id, group.body.id];
      const patch = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] };
      const routes: [string, string, unknown?][] = [
        ['GET', '/scim/v2/Users'], ['POST', '/scim/v2/Users', newUser()], ['POST', '/scim/v2/Users/.search', { filter: 'userName pr' }],
        ['GET', `/scim/v2/Users/${u}`], ['PUT', `/scim/v2/Users/${u}`, { schemas: [USER], userName: 'x@example.com' }],
        ['PATCH', `/scim/v2/Users/${u}`, patch], ['DELETE', `/scim/v2/Users/${u}`],
        ['GET', '/scim/v2/Groups'], ['POST', '/scim/v2/Groups', { schemas: [GROUP_SCHEMA], displayName: 'x' }],
        ['POST', '/scim/v2/Groups/.search', {}], ['GET', `/scim/v2/Groups/${g}`], ['PUT', `/scim/v2/Groups/${g}`, { schemas: [GROUP_SCHEMA], displayName: 'x' }],
        ['PATCH', `/scim/v2/Groups/${g}`, patch], ['DELETE', `/scim/v2/Groups/${g}`],
        ['GET', '/scim/v2/ServiceProviderConfig'], ['GET', '/scim/v2/Schemas'], ['GET', `/scim/v2/Schemas/${USER}`],
        ['GET', '/scim/v2/ResourceTypes'], ['GET', '/scim/v2/ResourceTypes/User'], ['GET', '/scim/v2/Users/not-an-id'], ['GET', '/scim/v2/NoSuchThing'],
        ['GET', '/metrics'],
      ];
      // The admin API, when mounted in this checkout: every route behind the admin scope.
      const adminUp = (await client(s, s.adminToken).get(`${s.url}/admin/v1/teams`)).status !== 404;
      if (adminUp) {
        const [t, c] = [randomUUID(), randomUUID()];
        routes.push(
          ['GET', '/admin/v1/teams'], ['POST', '/admin/v1/teams', { name: 'x', displayName: 'x' }], ['GET', `/admin/v1/teams/${t}`],
          ['PATCH', `/admin/v1/teams/${t}`, { displayName: 'y' }], ['POST', `/admin/v1/teams/${t}/archive`],
          ['GET', `/admin/v1/teams/${t}/channels`], ['POST', `/admin/v1/teams/${t}/channels`, { name: 'x', displayName: 'x' }],
          ['GET', `/admin/v1/channels/${c}`], ['PATCH', `/admin/v1/channels/${c}`, { displayName: 'y' }], ['POST', `/admin/v1/channels/${c}/archive`],
          ['GET', '/admin/v1/groups'], ['GET', `/admin/v1/groups/${g}`],
          ['PUT', `/admin/v1/groups/${g}/teams/${t}`, { autoAdd: true }], ['DELETE', `/admin/v1/groups/${g}/teams/${t}`],
          ['PUT', `/admin/v1/groups/${g}/channels/${c}`, { autoAdd: true }], ['DELETE', `/admin/v1/groups/${g}/channels/${c}`],
          ['GET', `/admin/v1/teams/${t}/members`], ['POST', `/admin/v1/teams/${t}/members`, { userId: u }], ['DELETE', `/admin/v1/teams/${t}/members/${u}`],
          ['GET', `/admin/v1/channels/${c}/members`], ['POST', `/admin/v1/channels/${c}/members`, { userId: u }],
          ['GET', `/admin/v1/users/${u}/memberships`], ['POST', '/admin/v1/reconcile', {}], ['GET', '/admin/v1/audit'], ['GET', '/admin/v1/nonexistent'],
        );
      }
      const bad: [string, Record<string, string>][] = [
        ['missing', {}],
        ['empty bearer', { Authorization: 'Bearer' }],
        ['bearer and space', { Authorization: 'Bearer ' }],
        ['basic scheme', { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }],
        ['two words', { Authorization: `Bearer ${tokens.keep} extra` }],
        ['latin-1 garbage', { Authorization: 'Bearer \u00ff\u00fe\u00e9' }],
        ['huge', { Authorization: `Bearer ${'a'.repeat(6000)}` }],
        ['wrong', { Authorization: `Bearer scim_${randomBytes(32).toString('base64url')}` }],
        ['valid plus a byte', { Authorization: `Bearer ${tokens.keep}x` }],
        ['valid minus a byte', { Authorization: `Bearer ${tokens.keep.slice(0, -1)}` }],
        ['hash of a valid token', { Authorization: `Bearer ${createHash('sha256').update(tokens.keep).digest('hex')}` }],
        ['revoked', { Authorization: `Bearer ${tokens.gone}` }],
      ];
      let i = 0;
      const failures: string[] = [];
      await Promise.all(routes.flatMap(([method, path, body]) => bad.map(async ([label, headers]) => {
        const from = `127.0.0.${2 + (i++ % 200)}`;
        const r = await rawRequest(`${s.url}${path}`, {
          method, from,
          headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/scim+json' } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const www = String(r.headers['www-authenticate'] ?? '');
        // SCIM (and /metrics) answer with a SCIM error body; the admin API with its own JSON error format.
        const scimBody = path.startsWith('/admin/')
          ? r.body?.error?.status === 401
          : r.body?.schemas?.includes('urn:ietf:params:scim:api:messages:2.0:Error') && r.body.status === '401';
        if (r.status !== 401 || !/^Bearer\b/.test(www) || !scimBody) failures.push(`${method} ${path} [${label}]: ${r.status} ${www} ${r.text.slice(0, 120)}`);
      })));
      assert.deepEqual(failures, []);
      console.log(`# auth [${store}]: ${routes.length} routes × ${bad.length} bad credentials = ${routes.length * bad.length} requests, all 401 + WWW-Authenticate: Bearer${adminUp ? ' (admin API included)' : ''}`);
      // Nothing above changed anything.
      assert.equal((await client(s).get(`/Users/${u}`)).status, 200);
      assert.equal((await client(s).get(`/Groups/${g}`)).status, 200);
    });

    test('a SCIM token cannot use the admin API or /metrics (403); the admin token can', async () => {
      const s = servers[0]!;
      for (const token of [s.token, tokens.keep]) {
        const m = await client(s, token).get(`${s.url}/metrics`);
        assert.equal(m.status, 403, m.text);
        assertScimError(m.body, 403, m.text);
      }
      assert.equal((await client(s, s.adminToken).get(`${s.url}/metrics`)).status, 200);
      const adminUp = (await client(s, s.adminToken).get(`${s.url}/admin/v1/teams`)).status !== 404;
      if (adminUp) {
        for (const [method, path] of [['GET', '/admin/v1/teams'], ['POST', '/admin/v1/teams'], ['GET', '/admin/v1/audit'], ['POST', '/admin/v1/reconcile']] as const) {
          const r = await client(s, tokens.keep).call(method, `${s.url}${path}`, method === 'POST' ? { name: 'nope', displayName: 'nope' } : undefined);
          assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
        }
      }
    });

    test('tokens are stored hashed: no plaintext token anywhere in the database', async () => {
      const k = connect(db.url);
      try {
        const rows = await k('api_tokens').select('*');
        for (const name of ['keep', 'gone', 'doomed']) {
          const row = rows.find((r: any) => r.name === name);
          assert.ok(row, name);
          assert.equal(row.token_hash, createHash('sha256').update(tokens[name]!).digest('hex'));
        }
        const dump = JSON.stringify([rows, await k('audit_log').select('*')]);
        for (const t of Object.values(tokens)) assert.ok(!dump.includes(t), 'a plaintext token is stored');
      } finally {
        await k.destroy();
      }
      if (store === 'sqlite') {
        // Every byte of the database and its WAL.
        const file = db.url.slice('sqlite:'.length);
        const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)));
        for (const t of Object.values(tokens)) assert.equal(bytes.indexOf(t), -1, 'a plaintext token is in the database file');
      }
    });

    test(`a revoked token stops working on ${store === 'pg' ? 'every instance' : 'the instance'} within a second`, async () => {
      // Pollers keep the token hot (cached) on every instance, from their own client address.
      const results: { server: number; t0: number; status: number }[] = [];
      let stop = false;
      const poll = async (si: number, from: string) => {
        while (!stop) {
          const t0 = Date.now();
          const r = await rawRequest(`${servers[si]!.base}/ServiceProviderConfig`, { from, headers: { Authorization: `Bearer ${tokens.doomed}` } });
          results.push({ server: si, t0, status: r.status });
          await sleep(20);
        }
      };
      const pollers = servers.flatMap((_, si) => [poll(si, `127.0.0.${210 + si}`), poll(si, `127.0.0.${220 + si}`)]);
      await sleep(500);
      const k = connect(db.url);
      if (store === 'pg') await cli(db.url, ['token', 'revoke', 'doomed']);
      else assert.equal(await revokeToken(k, 'doomed', 'test'), 1);
      const revokedAt = Number((await k('api_tokens').where({ name: 'doomed' }).first()).revoked_at);
      await k.destroy();
      await sleep(1500);
      stop = true;
      await Promise.all(pollers);

      const before = results.filter((r) => r.t0 < revokedAt - 50);
      assert.ok(before.length > 0 && before.every((r) => r.status === 200), 'the token worked before revocation');
      for (let si = 0; si < servers.length; si++) {
        const accepted = results.filter((r) => r.server === si && r.status === 200 && r.t0 >= revokedAt);
        const lastAccepted = accepted.length ? Math.max(...accepted.map((r) => r.t0)) - revokedAt : 0;
        const late = results.filter((r) => r.server === si && r.t0 > revokedAt + 1100);
        assert.ok(late.length > 0);
        // Refused: 401, or 429 once this poller's address has failed too often (the failed-auth guard).
        assert.ok(late.every((r) => r.status === 401 || r.status === 429), `instance ${si} still accepted the token more than a second after revocation: ${late.map((r) => r.status).join(' ')}`);
        assert.equal(results.find((r) => r.server === si && r.t0 >= revokedAt && r.status !== 200)?.status, 401, 'first refusal is a 401');
        console.log(`# revocation [${store}] instance ${si}: last accepted ${lastAccepted} ms after revoked_at, refused afterwards (${late.length} requests)`);
      }
    });

    test('repeated bad tokens from one client are refused with 429 and Retry-After; other clients are unaffected', async () => {
      const s = servers[0]!;
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof rawRequest>> | undefined;
      for (let n = 0; n < 30; n++) {
        const r = await rawRequest(`${s.base}/Users`, { from: '127.0.0.250', headers: { Authorization: `Bearer wrong-${n}-${randomUUID()}` } });
        statuses.push(r.status);
        if (r.status === 429) limited ??= r;
      }
      const first429 = statuses.indexOf(429);
      assert.ok(first429 > 0 && first429 <= 25, `statuses: ${statuses.join(' ')}`);
      assert.ok(statuses.slice(0, first429).every((x) => x === 401));
      assert.ok(statuses.slice(first429).every((x) => x === 429), 'once refused, the client stays refused');
      assertScimError(limited!.body, 429, limited!.text);
      assert.ok(Number(limited!.headers['retry-after']) >= 1, `Retry-After ${limited!.headers['retry-after']}`);
      // Another client with a good token is not affected.
      assert.equal((await client(s).get('/Users?count=1')).status, 200);
      console.log(`# failed-auth guard [${store}]: ${first429} × 401, then 429 (Retry-After ${limited!.headers['retry-after']} s)`);
    });

    test('without a valid token the body is never read: malformed, oversized, gzip and 9 MB bodies all get 401 at once', async () => {
      const s = servers[0]!;
      // A body that takes seconds to parse and walk (two million small objects): refused before any of that.
      const slow = `[${'{"a":[1]},'.repeat(900_000)}{}]`;
      const cases: [string, Record<string, string>, string | Buffer][] = [
        ['malformed JSON', { 'Content-Type': 'application/scim+json' }, '{"schemas": ['],
        ['gzip garbage', { 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' }, Buffer.from('not gzip at all')],
        ['unsupported charset', { 'Content-Type': 'application/scim+json; charset=klingon' }, '{}'],
        ['9 MB of small objects', { 'Content-Type': 'application/scim+json' }, slow],
        ['over the body limit', { 'Content-Type': 'application/scim+json' }, Buffer.alloc(10 * 1024 * 1024 + 10_000, 0x20)],
      ];
      for (const auth of [{}, { Authorization: `Bearer wrong-${randomUUID()}` }] as Record<string, string>[]) {
        for (const [label, headers, body] of cases) {
          for (const path of ['/scim/v2/Users', `/scim/v2/Users/${randomUUID()}`, '/admin/v1/teams']) {
            const t0 = Date.now();
            const r = await firstResponse(`${s.url}${path}`, { method: path.endsWith('Users') || path.startsWith('/admin') ? 'POST' : 'PUT', from: `127.0.0.${100 + (n401++ % 100)}`, headers: { ...headers, ...auth }, body });
            const ms = Date.now() - t0;
            assert.equal(r.status, 401, `${label} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
            assert.match(String(r.headers['www-authenticate']), /^Bearer realm="scim"/);
            assert.ok(ms < 1500, `${label} ${path}: 401 after ${ms} ms`);
          }
        }
      }
      // The server is still responsive and did not parse anything (nothing created).
      assert.equal((await client(s).get('/Users?count=1')).status, 200);
    });

    test('the failed-auth throttle never blocks a valid token from a throttled address, and logs once when it engages', async () => {
      const s = servers[0]!;
      const from = '127.0.0.252';
      const guesses: number[] = [];
      for (let n = 0; n < 25; n++) guesses.push((await rawRequest(`${s.base}/Users`, { from, headers: { Authorization: `Bearer guess-${n}-${randomUUID()}` } })).status);
      assert.ok(guesses.includes(429), `guesses: ${guesses.join(' ')}`);
      // Entra behind the same egress: its valid token is served, every time, in between the guesses.
      for (let n = 0; n < 5; n++) {
        const ok = await rawRequest(`${s.base}/Users?count=1`, { from, headers: { Authorization: `Bearer ${s.token}` } });
        assert.equal(ok.status, 200, ok.text);
        const created = await rawRequest(`${s.base}/Users`, { method: 'POST', from, headers: { Authorization: `Bearer ${tokens.keep}`, 'Content-Type': 'application/scim+json' }, body: JSON.stringify(newUser()) });
        assert.equal(created.status, 201, created.text);
        const guess = await rawRequest(`${s.base}/Users`, { from, headers: { Authorization: `Bearer guess-again-${randomUUID()}` } });
        assert.equal(guess.status, 429, 'a success from the address does not reset its failures');
      }
      const admin = await rawRequest(`${s.url}/admin/v1/teams`, { from, headers: { Authorization: `Bearer ${s.adminToken}` } });
      assert.equal(admin.status, 200, admin.text);
      await sleep(200);
      const lines = s.output().split('\n').filter((l) => l.includes('"level":"warn"') && l.includes('failed-auth throttle') && l.includes(from));
      assert.equal(lines.length, 1, `one warn line when the throttle engaged for ${from}:\n${lines.join('\n')}`);
      assert.ok(!/guess-/.test(lines[0]!) && !lines[0]!.includes(s.token), `no token text in ${lines[0]}`);
    });
  });
}
