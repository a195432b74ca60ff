/**
 * The app (createApp, in-process, on a real store) answers each mount's errors in its own format, authentication
 * refusals included: a SCIM error body under /scim/v2 and on /metrics, `{"error":{status, code, message}}` under
 * /admin/v1, with WWW-Authenticate either way. A refused request whose body is larger than any accepted is answered
 * before its connection is cut, so a client that sends its whole body before reading still gets the 401.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { loadConfig } from '../../src/config/index.ts';
import { createApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { migrate, openDb } from '../../src/store/db.ts';
import { SyncEngine } from '../../src/sync/engine.ts';
import { createDatabase, stores, type TestDatabase } from '../helpers/server.ts';

const SCIM_TOKEN = 'scim_token_errors_by_mount_1234';
const ADMIN_TOKEN = 'admin_token_errors_by_mount_1234';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: any }

for (const store of stores()) {
  describe(`errors by mount [${store}]`, () => {
    let tdb: TestDatabase;
    let db: Knex;
    let server: Server;
    let port: number;
    const config = () => loadConfig({ DATABASE_URL: tdb.url, SCIM_TOKEN, ADMIN_TOKEN, BODY_LIMIT_BYTES: '1024', LOG_LEVEL: 'error' });

    before(async () => {
      tdb = await createDatabase(store);
      db = openDb({ url: tdb.url, sqliteSynchronous: 'NORMAL' });
      await migrate(db);
      const app = createApp({ db, config: config(), log: createLogger('error'), sync: new SyncEngine({ defaultChannels: [] }), applyGroupRules: async () => undefined });
      server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      server.close();
      await db.destroy();
      await tdb.drop();
    });

    let from = 0;
    /** Sends the whole body, then reads the answer (from its own address: the failed-auth guard counts by address). */
    const send = (method: string, path: string, token: string | undefined, body?: Buffer) => new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
      if (body) headers['Content-Length'] = String(body.length);
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false, localAddress: `127.0.3.${1 + (from++ % 250)}` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      // Once the answer is in, the server may cut a body it will never read (EPIPE, ECONNRESET): not a failure.
      let answered = false;
      req.on('response', () => { answered = true; });
      req.on('error', (err) => { if (!answered) reject(err); });
      if (body) req.write(body);
      req.end();
    });

    test('SCIM and /metrics refusals are SCIM error bodies; the admin API\'s are admin JSON', async () => {
      for (const path of ['/scim/v2/Users', '/metrics']) {
        const r = await send('GET', path, 'not_a_valid_token_at_all_123');
        assert.equal(r.status, 401, path);
        assert.match(String(r.headers['content-type']), /^application\/scim\+json/);
        assert.deepEqual(r.body, { schemas: [ERROR_SCHEMA], status: '401', detail: 'the bearer token is not valid' });
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="scim", error="invalid_token"');
      }
      const none = await send('GET', '/admin/v1/teams', undefined);
      assert.equal(none.status, 401);
      assert.match(String(none.headers['content-type']), /^application\/json/);
      assert.deepEqual(none.body, { error: { status: 401, code: 'unauthorized', message: 'a bearer token is required' } });
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="scim"');
      const scope = await send('GET', '/admin/v1/teams', SCIM_TOKEN);
      assert.deepEqual(scope.body, { error: { status: 403, code: 'forbidden', message: 'insufficient scope: this credential lacks the admin scope (it has scim)' } });
      assert.equal(scope.headers['www-authenticate'], 'Bearer realm="scim", error="insufficient_scope", scope="admin"');
    });

    test('a refused body larger than any accepted still gets its refusal, on both mounts', async () => {
      // Over BODY_LIMIT_BYTES + 64 KiB, the most a refused request may send before its connection is cut.
      const big = Buffer.alloc(200 * 1024, 'x');
      for (let i = 0; i < 5; i++) {
        const scim = await send('POST', '/scim/v2/Users', 'not_a_valid_token_at_all_123', big);
        assert.equal(scim.status, 401);
        assert.equal(scim.body.detail, 'the bearer token is not valid');
        const admin = await send('POST', '/admin/v1/teams', 'not_a_valid_token_at_all_123', big);
        assert.equal(admin.status, 401);
        assert.deepEqual(admin.body, { error: { status: 401, code: 'unauthorized', message: 'the bearer token is not valid' } });
      }
    });

    test('a refusal whose body will be cut says Connection: close, so a keep-alive client\'s next request is not lost', async () => {
      // One keep-alive socket: a refused body over the drain limit, then a valid request. Had the refusal said
      // keep-alive, the client would send the second request on the socket the server then cuts (socket hang up).
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const over = (body: Buffer, token: string) => new Promise<Reply>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/scim/v2/Users', agent,
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Content-Length': String(body.length) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        });
        req.on('error', reject);
        req.end(body);
      });
      try {
        for (let i = 0; i < 3; i++) {
          const small = await over(Buffer.alloc(2 * 1024, 'x'), 'not_a_valid_token_at_all_123');
          assert.equal(small.status, 401);
          assert.notEqual(small.headers.connection, 'close', 'a body it drains keeps the connection');
          const big = await over(Buffer.alloc(200 * 1024, 'x'), 'not_a_valid_token_at_all_123');
          assert.equal(big.status, 401);
          assert.equal(big.headers.connection, 'close');
          const next = await over(Buffer.from(JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `keepalive-${store}-${i}` })), SCIM_TOKEN);
          assert.equal(next.status, 201);
        }
      } finally {
        agent.destroy();
      }
    });

    test('other errors follow the mount too: unknown endpoints, 405, bad JSON', async () => {
      const scim404 = await send('GET', '/nowhere', ADMIN_TOKEN);
      assert.deepEqual(scim404.body, { schemas: [ERROR_SCHEMA], status: '404', detail: 'no such endpoint: GET /nowhere' });
      const admin404 = await send('GET', '/admin/v1/nowhere', ADMIN_TOKEN);
      assert.deepEqual(admin404.body, { error: { status: 404, code: 'not_found', message: 'no such admin endpoint: GET /nowhere' } });
      const admin405 = await send('DELETE', '/admin/v1/teams', ADMIN_TOKEN);
      assert.equal(admin405.status, 405);
      assert.equal(admin405.body.error.code, 'method_not_allowed');
      assert.match(String(admin405.headers.allow), /GET/);
      const scimJson = await send('POST', '/scim/v2/Users', SCIM_TOKEN, Buffer.from('{"a":'));
      assert.deepEqual(scimJson.body, { schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidSyntax', detail: 'request body is not valid JSON' });
      const adminJson = await send('POST', '/admin/v1/teams', ADMIN_TOKEN, Buffer.from('{"a":'));
      assert.deepEqual(adminJson.body, { error: { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON' } });
    });
  });
}
