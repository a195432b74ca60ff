/**
 * SCIM /Bulk (RFC 7644 §3.7) over HTTP: the RFC's own examples (§3.7.1-§3.7.3), references in any order and in
 * paths, circular references, per-operation versions and errors, failOnErrors, the §3.7.4 limits, and that a bulk
 * create is afterwards the same as a single create (store, audit, outbox, group sync).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, createDatabase, ENTERPRISE, GROUP_SCHEMA, newUser, PATCH_OP, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { teamName, workspace } from '../helpers/workspace-http.ts';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], ...extra, Operations });
const post = (bulkId: string, path: '/Users' | '/Groups', data: unknown) => ({ method: 'POST', path, bulkId, data });
const group = (displayName: string, members: string[] = []) => ({ schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) });

for (const store of stores()) {
  describe(`SCIM /Bulk [${store}]`, () => {
    let db: TestDatabase;
    let s: TestServer;
    let api: ReturnType<typeof client>;
    before(async () => {
      db = await createDatabase(store);
      s = await startServer(store, db);
      api = client(s);
    });
    after(async () => {
      await s?.stop();
      await db?.drop();
    });

    /** POST /Bulk, expecting 200 and a BulkResponse. */
    async function run(body: unknown) {
      const r = await api.post('/Bulk', body);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.schemas, [BULK_RESPONSE]);
      return r.body.Operations as any[];
    }

    test('ServiceProviderConfig advertises bulk with its limits', async () => {
      const c = (await api.get('/ServiceProviderConfig')).body;
      assert.deepEqual(c.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
    });

    test('RFC 7644 §3.7.2: a user and a group that references it by bulkId', async () => {
      const u = newUser();
      const ops = await run(bulk([post('qwerty', '/Users', u), post('ytrewq', '/Groups', group(`Tour Guides ${rand()}`, ['bulkId:qwerty']))]));
      assert.equal(ops.length, 2);
      assert.deepEqual(ops.map((o) => [o.method, o.bulkId, o.status]), [['POST', 'qwerty', '201'], ['POST', 'ytrewq', '201']]);
      const userId = ops[0].location.split('/').pop();
      assert.equal(ops[0].location, `${s.base}/Users/${userId}`);
      assert.match(ops[0].version, /^W\/"\d+"$/);
      assert.equal(ops[0].response, undefined, 'a success carries no body');
      const g = await api.get(ops[1].location);
      assert.equal(g.status, 200, g.text);
      assert.deepEqual(g.body.members.map((m: any) => m.value), [userId]);
      assert.equal(g.headers.get('etag'), ops[1].version);
    });

    test('a reference is resolved whatever order the operations arrive in; entries stay in request order', async () => {
      const ops = await run(bulk([
        post('g', '/Groups', group(`fwd ${rand()}`, ['bulkId:u1', 'bulkId:u2'])),
        post('u1', '/Users', newUser()),
        post('u2', '/Users', newUser()),
      ]));
      assert.deepEqual(ops.map((o) => [o.bulkId, o.status]), [['g', '201'], ['u1', '201'], ['u2', '201']]);
      const members = (await api.get(ops[0].location)).body.members.map((m: any) => m.value).sort();
      assert.deepEqual(members, [ops[1].location, ops[2].location].map((l: string) => l.split('/').pop()).sort());
    });

    test('RFC 7644 §3.7.2: the enterprise manager by bulkId, and references in paths', async () => {
      const report = { ...newUser(), schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { department: 'Tour Operations', manager: { value: 'bulkId:boss' } } };
      const ops = await run(bulk([
        post('rep', '/Users', report),
        post('boss', '/Users', newUser()),
        post('team', '/Groups', group(`paths ${rand()}`)),
        { method: 'PATCH', path: '/Groups/bulkId:team', data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:rep' }] }] } },
        { method: 'DELETE', path: '/Users/bulkId:boss' },
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['201', '201', '201', '204', '204'], 'a group PATCH answers 204, as the single request does');
      const [repId, bossId, groupId] = ops.slice(0, 3).map((o) => o.location.split('/').pop());
      assert.equal(ops[3].location, `${s.base}/Groups/${groupId}`);
      assert.equal(ops[4].location, `${s.base}/Users/${bossId}`);
      const rep = (await api.get(`/Users/${repId}`)).body;
      assert.equal(rep[ENTERPRISE].manager.value, bossId);
      assert.equal((await api.get(`/Users/${bossId}`)).status, 404, 'deleted by the DELETE on its bulkId');
      assert.deepEqual((await api.get(`/Groups/${groupId}`)).body.members.map((m: any) => m.value), [repId]);
    });

    test('RFC 7644 §3.7.1: circular references between two users are resolved', async () => {
      const a = { ...newUser(), schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { manager: { value: 'bulkId:b' } } };
      const b = { ...newUser(), schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { manager: { value: 'bulkId:a' } } };
      const ops = await run(bulk([post('a', '/Users', a), post('b', '/Users', b)]));
      assert.deepEqual(ops.map((o) => o.status), ['201', '201'], JSON.stringify(ops));
      const [ida, idb] = ops.map((o) => o.location.split('/').pop());
      const ua = await api.get(`/Users/${ida}`);
      assert.equal(ua.body[ENTERPRISE].manager.value, idb);
      assert.equal((await api.get(`/Users/${idb}`)).body[ENTERPRISE].manager.value, ida);
      assert.equal(ua.headers.get('etag'), ops[0].version, 'the entry has the version after the references were patched in');
    });

    test('RFC 7644 §3.7.1: two groups that are members of each other: the cycle is split, and members must be users', async () => {
      const ops = await run(bulk([
        post('qwerty', '/Groups', group(`Group A ${rand()}`, ['bulkId:ytrewq'])),
        post('ytrewq', '/Groups', group(`Group B ${rand()}`, ['bulkId:qwerty'])),
      ]));
      // Group A is created without its member, so Group B can name it; B fails as a single POST would (a group's
      // members are people here), and A's member can then not be resolved: 409, A exists, without members.
      assert.equal(ops[1].status, '400', JSON.stringify(ops[1]));
      assert.match(ops[1].response.detail, /is not a known user/);
      assert.equal(ops[0].status, '409', JSON.stringify(ops[0]));
      assert.match(ops[0].response.detail, /circular references could not be resolved.*operation 2, which creates it, failed/);
      assert.ok(ops[0].location, 'the group exists and is located');
      assert.deepEqual((await api.get(ops[0].location)).body.members ?? [], []);
    });

    test('an unknown bulkId, and one whose POST failed, are 409 naming the reason', async () => {
      const taken = newUser();
      assert.equal((await api.post('/Users', taken)).status, 201);
      const ops = await run(bulk([
        post('dup', '/Users', { ...newUser(), userName: taken.userName }),
        post('g1', '/Groups', group(`unres ${rand()}`, ['bulkId:dup'])),
        post('g2', '/Groups', group(`unknown ${rand()}`, ['bulkId:nobody'])),
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['409', '409', '409']);
      assert.equal(ops[0].response.scimType, 'uniqueness');
      assert.equal(ops[0].location, undefined, 'a failed POST has no location');
      assert.match(ops[1].response.detail, /operation 1, which creates it, failed/);
      assert.match(ops[2].response.detail, /no POST in this request has that bulkId/);
      for (const o of ops) assert.deepEqual(o.response.schemas, [ERROR]);
    });

    test('version is If-Match per operation: 412 on a stale one, applied on the current one (RFC 7644 §3.7.3)', async () => {
      const created = await api.post('/Users', newUser());
      const id = created.body.id;
      const etag = created.headers.get('etag')!;
      const ops = await run(bulk([
        { method: 'PUT', path: `/Users/${id}`, version: 'W/"999"', data: { ...created.body, displayName: 'stale' } },
        { method: 'PATCH', path: `/Users/${id}`, version: etag, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'fresh' }] } },
        { method: 'DELETE', path: `/Users/${id}`, version: etag },
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['412', '200', '412']);
      assert.equal(ops[0].location, `${s.base}/Users/${id}`, 'a failed PUT is still located');
      assert.notEqual(ops[1].version, etag);
      const now = await api.get(`/Users/${id}`);
      assert.equal(now.body.displayName, 'fresh');
      assert.equal(now.headers.get('etag'), ops[1].version);
    });

    test('failOnErrors stops after that many errors; the unprocessed operations are absent', async () => {
      const bad = { method: 'PATCH', path: `/Users/${crypto.randomUUID()}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] } };
      const ops = await run(bulk([bad, post('x1', '/Users', newUser()), bad, post('x2', '/Users', newUser())], { failOnErrors: 2 }));
      assert.deepEqual(ops.map((o) => o.status), ['404', '201', '404']);
      const one = await run(bulk([bad, post('y1', '/Users', newUser())], { failOnErrors: 1 }));
      assert.deepEqual(one.map((o) => o.status), ['404']);
      const all = await run(bulk([bad, post('z1', '/Users', newUser()), bad]));
      assert.deepEqual(all.map((o) => o.status), ['404', '201', '404'], 'without failOnErrors every operation runs');
    });

    test('a malformed operation is that operation\'s 400; the others run', async () => {
      const ops = await run(bulk([
        { method: 'POST', path: '/Users', data: newUser() },
        { method: 'GET', path: '/Users' },
        { method: 'PUT', path: '/Users', data: newUser() },
        { method: 'POST', path: '/Teams', bulkId: 't', data: {} },
        { method: 'PATCH', path: `/Users/${crypto.randomUUID()}` },
        post('ok', '/Users', newUser()),
        post('bad', '/Users', { schemas: [USER_SCHEMA], userName: 42 }),
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['400', '400', '400', '400', '400', '201', '400']);
      assert.deepEqual(ops.slice(0, 5).map((o) => o.response.scimType), ['invalidSyntax', 'invalidSyntax', 'invalidPath', 'invalidPath', 'invalidSyntax']);
      assert.match(ops[0].response.detail, /^operation 1: a POST must have a bulkId/);
      for (const o of ops) assert.equal(typeof o.status, 'string');
    });

    test('a request refused as a whole: its schemas, Operations, failOnErrors, a bulkId used twice', async () => {
      const cases: [unknown, string][] = [
        [{ Operations: [post('a', '/Users', newUser())] }, 'invalidSyntax'],
        [{ schemas: [BULK_REQUEST], Operations: [] }, 'invalidSyntax'],
        [{ schemas: [BULK_REQUEST], Operations: {} }, 'invalidSyntax'],
        [bulk([post('a', '/Users', newUser())], { failOnErrors: 0 }), 'invalidValue'],
        [bulk([post('a', '/Users', newUser())], { failOnErrors: '1' }), 'invalidValue'],
        [bulk([post('a', '/Users', newUser()), post('a', '/Users', newUser())]), 'invalidValue'],
        [[1, 2], 'invalidSyntax'],
      ];
      for (const [body, scimType] of cases) {
        const r = await api.post('/Bulk', body);
        assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 100)}: ${r.text}`);
        assert.equal(r.body.scimType, scimType, r.text);
        assert.deepEqual(r.body.schemas, [ERROR]);
      }
      const notJson = await api.call('POST', '/Bulk', '{"schemas":', { 'Content-Type': 'application/scim+json' });
      assert.equal(notJson.status, 400);
      assert.equal(notJson.body.scimType, 'invalidSyntax');
      // lower-case `operations` is the same attribute (RFC 7643 §2.1)
      const lower = await api.post('/Bulk', { schemas: [BULK_REQUEST], operations: [post('l', '/Users', newUser())] });
      assert.equal(lower.status, 200, lower.text);
      assert.equal(lower.body.Operations[0].status, '201');
    });

    test('over maxOperations or maxPayloadSize: 413 naming the limit (RFC 7644 §3.7.4)', async () => {
      const many = bulk(Array.from({ length: 1001 }, () => ({ method: 'DELETE', path: `/Users/${crypto.randomUUID()}` })));
      const r1 = await api.post('/Bulk', many);
      assert.equal(r1.status, 413, r1.text);
      assert.match(r1.body.detail, /maxOperations \(1000\)/);
      assert.deepEqual(r1.body.schemas, [ERROR]);
      const big = bulk([post('big', '/Users', { ...newUser(), displayName: 'x'.repeat(1_100_000) })]);
      const r2 = await api.post('/Bulk', big);
      assert.equal(r2.status, 413, r2.text);
      assert.equal(r2.body.detail, 'The size of the bulk operation exceeds the maxPayloadSize (1048576).');
      // The single-request limit (10 MB) is not the bulk one.
      assert.notEqual((await api.post('/Users', { ...newUser(), displayName: 'x'.repeat(1_100_000) })).status, 413);
    });

    test('authentication and scope come first; other methods are 405', async () => {
      const anon = await client(s, '').post('/Bulk', bulk([post('a', '/Users', newUser())]));
      assert.equal(anon.status, 401);
      const t = await runCli(s.dbUrl, ['token', 'create', '--name', `reader-${rand()}`, '--scope', 'scim:read']);
      const reader = await client(s, t.stdout.trim()).post('/Bulk', bulk([post('a', '/Users', newUser())]));
      assert.equal(reader.status, 403, reader.text);
      const get = await api.get('/Bulk');
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      assert.equal((await api.post('/Bulk/x', bulk([]))).status, 404);
      const opts = await api.call('OPTIONS', '/Bulk');
      assert.equal(opts.headers.get('allow'), 'POST');
    });

    test('a bulk create is a single create afterwards: same rows, audit operations and outbox entries', async () => {
      const single = await api.post('/Users', newUser());
      const ops = await run(bulk([post('same', '/Users', newUser())]));
      const bulkId = ops[0].location.split('/').pop();
      const k = connect(s.dbUrl);
      try {
        const trail = async (id: string) => ({
          audit: (await k('audit_log').where({ resource_id: id }).orderBy('id')).map((r: any) => [r.operation, r.actor]),
          outbox: (await k('outbox').where({ entity_key: `user:${id}` }).orderBy('id')).map((r: any) => [r.consumer, r.operation]),
        });
        const a = await trail(single.body.id);
        const b = await trail(bulkId);
        assert.deepEqual(b, a);
        assert.ok(a.audit.length >= 1 && a.audit[0][0] === 'create_user', JSON.stringify(a));
      } finally {
        await k.destroy();
      }
    });

    test('group sync follows bulk changes: a member added by bulk joins the linked team', async () => {
      const ws = workspace(s);
      const tn = teamName('bulk');
      const team = await ws.team(tn);
      const g = await ws.group();
      await ws.linkTeam(g, team.id);
      const ops = await run(bulk([
        post('p', '/Users', newUser()),
        { method: 'PATCH', path: `/Groups/${g}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:p' }] }] } },
      ]));
      assert.deepEqual(ops.map((o) => o.status), ['201', '204']);
      const m = await ws.memberships(ops[0].location.split('/').pop());
      assert.equal(m.teams.get(tn)?.addedBy, `group:${g}`);
    });

    test('creates that run side by side end as the request order would: of two with one userName, the first wins', async () => {
      for (let round = 0; round < 5; round++) {
        const tag = rand();
        const ops: unknown[] = [];
        for (let i = 0; i < 40; i++) {
          const name = `race.${tag}.${i}@example.com`;
          ops.push(post(`a${i}`, '/Users', { ...newUser(), userName: name }), post(`b${i}`, '/Users', { ...newUser(), userName: name.toUpperCase() }));
        }
        const out = await run(bulk(ops));
        assert.deepEqual(out.map((o) => o.status), ops.map((_, i) => (i % 2 ? '409' : '201')), `round ${round}`);
        const list = await api.get(`/Users?filter=${encodeURIComponent(`userName sw "race.${tag}."`)}&count=100`);
        assert.equal(list.body.totalResults, 40);
        const created = new Set(out.filter((o) => o.status === '201').map((o) => o.location.split('/').pop()));
        assert.deepEqual(new Set(list.body.Resources.map((r: any) => r.id)), created);
      }
    });

    test('a bulk of 1,000 creates: every one 201, every one stored and audited', async () => {
      const tag = rand();
      const users = Array.from({ length: 1000 }, (_, i) => ({ ...newUser(), userName: `bulk.${tag}.${i}@example.com`, externalId: `bulk-${tag}-${i}` }));
      const r = await api.post('/Bulk', bulk(users.map((u, i) => post(`u${i}`, '/Users', u))));
      assert.equal(r.status, 200, r.text.slice(0, 500));
      assert.equal(r.body.Operations.length, 1000);
      assert.ok(r.body.Operations.every((o: any) => o.status === '201'), JSON.stringify(r.body.Operations.find((o: any) => o.status !== '201')));
      const list = await api.get(`/Users?filter=${encodeURIComponent(`userName sw "bulk.${tag}."`)}&count=1`);
      assert.equal(list.body.totalResults, 1000);
      const k = connect(s.dbUrl);
      try {
        const ids = r.body.Operations.map((o: any) => o.location.split('/').pop());
        const audited = await k('audit_log').whereIn('resource_id', ids.slice(0, 500)).where({ operation: 'create_user' }).count({ n: '*' });
        assert.equal(Number(audited[0]!.n), 500);
      } finally {
        await k.destroy();
      }
    });
  });
}

describe('SCIM /Bulk limits come from settings', () => {
  let db: TestDatabase;
  let s: TestServer;
  before(async () => {
    db = await createDatabase('sqlite');
    s = await startServer('sqlite', db, { env: { BULK_MAX_OPERATIONS: '3', BULK_MAX_PAYLOAD_BYTES: '4096', LOG_LEVEL: 'http' } });
  });
  after(async () => {
    await s?.stop();
    await db?.drop();
  });

  test('advertised and enforced', async () => {
    const api = client(s);
    assert.deepEqual((await api.get('/ServiceProviderConfig')).body.bulk, { supported: true, maxOperations: 3, maxPayloadSize: 4096 });
    const four = await api.post('/Bulk', bulk(Array.from({ length: 4 }, (_, i) => post(`u${i}`, '/Users', newUser()))));
    assert.equal(four.status, 413);
    assert.match(four.body.detail, /maxOperations \(3\)/);
    const big = await api.post('/Bulk', bulk([post('u', '/Users', { ...newUser(), displayName: 'x'.repeat(5000) })]));
    assert.equal(big.status, 413);
    assert.match(big.body.detail, /maxPayloadSize \(4096\)/);
    const three = await api.post('/Bulk', bulk(Array.from({ length: 3 }, (_, i) => post(`u${i}`, '/Users', newUser()))));
    assert.equal(three.status, 200, three.text);
  });

  test('the access line of a bulk job says what its operations did (the HTTP status is 200 either way)', async () => {
    const api = client(s);
    const bad = { method: 'DELETE', path: `/Users/${crypto.randomUUID()}` };
    const id = `bulk-log-${rand()}`;
    assert.equal((await api.post('/Bulk', bulk([bad, post('w1', '/Users', newUser())], { failOnErrors: 1 }), { 'X-Request-Id': id })).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    const line = s.output().split('\n').map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((l) => l?.requestId === id && l.message === 'request');
    assert.deepEqual(line?.bulk, { operations: 2, processed: 1, failed: 1 }, s.output().slice(-2000));
  });
});
