/**
 * Errors (RFC 7644 §3.12): every failure is a SCIM error body with `schemas`, `status` as a string, `scimType` where
 * the RFC names one and `detail`; never a 5xx, an HTML page or a stack trace for bad input.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import {
  client, connect, createDatabase, newUser, PATCH_OP, startServer, stores, type Reply, type TestDatabase, type TestServer,
} from '../helpers/server.ts';
import { createToken, revokeToken } from '../../src/store/tokens.ts';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Assert a SCIM error response and return its body. */
function scimError(res: Reply, status: number, scimType?: string): any {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/, res.text);
  assert.deepEqual(res.body?.schemas, [ERROR], res.text);
  assert.equal(res.body.status, String(status));
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(res.body.detail.length > 0, 'detail is not empty');
  if (scimType) assert.equal(res.body.scimType, scimType, res.text);
  assert.ok(!/<html|<!DOCTYPE|\n\s+at /i.test(res.text), `no HTML or stack: ${res.text}`);
  return res.body;
}

for (const store of stores()) {
  describe(`SCIM errors [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    let sql: Knex;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { BODY_LIMIT_BYTES: '2048' } });
      api = client(server);
      sql = connect(server.dbUrl);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('malformed JSON is 400 invalidSyntax, for POST, PUT and PATCH', async () => {
      const u = (await api.post('/Users', newUser())).body;
      for (const [method, path] of [['POST', '/Users'], ['PUT', `/Users/${u.id}`], ['PATCH', `/Users/${u.id}`], ['POST', '/Users/.search']] as const) {
        for (const text of ['{"userName": ', '{userName: "x"}', '{"a":1}}']) {
          scimError(await api.call(method, path, text), 400, 'invalidSyntax');
        }
      }
    });

    test('bodies that are not a user object are 400, not 500', async () => {
      for (const body of ['[]', '"just a string"', '42', 'null', 'true', '{}', JSON.stringify({ schemas: 'x' })]) {
        const res = await api.post('/Users', body);
        assert.equal(res.status, 400, `${body}: ${res.text}`);
        scimError(res, 400);
      }
    });

    test('bad values are 400 invalidValue', async () => {
      const cases: Record<string, unknown>[] = [
        { userName: undefined },
        { userName: '' },
        { userName: '   ' },
        { userName: 42 },
        { userName: 'x'.repeat(300) },
        { active: 'maybe' },
        { active: 1 },
        { emails: [{ value: 'not-an-email', type: 'work', primary: true }] },
        { emails: 'a@b.c' },
        { name: 'Just A String' },
        { name: { givenName: 'x'.repeat(65) } },
        { title: { nested: true } },
        { displayName: 'x'.repeat(1025) },
        { locale: 'x'.repeat(17) },
      ];
      for (const extra of cases) {
        const body: Record<string, unknown> = newUser(extra);
        if ('userName' in extra && extra.userName === undefined) delete body.userName;
        scimError(await api.post('/Users', body), 400, 'invalidValue');
      }
    });

    test('read-only attributes: PATCH on id, meta or groups is 400 mutability', async () => {
      const u = (await api.post('/Users', newUser())).body;
      for (const path of ['id', 'meta.lastModified', 'groups']) {
        scimError(await api.patch(`/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path, value: 'x' }] }), 400, 'mutability');
      }
    });

    test('a body over BODY_LIMIT_BYTES is 413 with a SCIM body', async () => {
      const big = newUser({ displayName: 'x'.repeat(1000), nickName: 'y'.repeat(1500) });
      const body = scimError(await api.post('/Users', big), 413);
      assert.match(body.detail, /2048/);
      const u = (await api.post('/Users', newUser())).body;
      scimError(await api.put(`/Users/${u.id}`, big), 413);
    });

    test('unknown routes are 404 JSON, inside and outside /scim/v2', async () => {
      for (const path of [`${server.base}/Nope`, `${server.base}/Users/${'0'.repeat(8)}-0000-4000-8000-000000000000/extra`, `${server.url}/nope`, `${server.url}/`, `${server.url}/scim/v1/Users`]) {
        scimError(await api.get(path), 404);
      }
    });

    test('unknown or malformed ids are 404 for every method', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', 'id%22with%22quotes', '1']) {
        scimError(await api.get(`/Users/${id}`), 404);
        scimError(await api.put(`/Users/${id}`, newUser()), 404);
        scimError(await api.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 404);
        scimError(await api.del(`/Users/${id}`), 404);
      }
    });

    test('401 with WWW-Authenticate: Bearer for a missing, malformed, wrong or revoked token', async () => {
      const db2 = connect(server.dbUrl);
      try {
        const revoked = await createToken(db2, `revoked-${Date.now()}`, 'scim', 'test');
        assert.ok(revoked, 'token created');
        assert.equal(await revokeToken(db2, revoked.id, 'test'), 1);
        const attempts: [string, Record<string, string>][] = [
          ['missing', {}],
          ['basic', { Authorization: 'Basic dXNlcjpwYXNz' }],
          ['empty bearer', { Authorization: 'Bearer ' }],
          ['wrong', { Authorization: 'Bearer scim_definitely-not-a-token-0000000000' }],
          ['revoked', { Authorization: `Bearer ${revoked.token}` }],
        ];
        for (const [what, headers] of attempts) {
          for (const [method, path] of [['GET', '/Users'], ['POST', '/Users'], ['GET', '/ServiceProviderConfig']]) {
            const res = await fetch(`${server.base}${path}`, { method, headers: { ...headers, 'Content-Type': 'application/scim+json' }, body: method === 'POST' ? JSON.stringify(newUser()) : undefined });
            const text = await res.text();
            assert.equal(res.status, 401, `${what} ${method} ${path}: ${text}`);
            const challenge = res.headers.get('www-authenticate') ?? '';
            assert.match(challenge, /^Bearer realm="scim"/, what);
            // RFC 6750 §3.1: error="invalid_token" only when a bearer token was presented and refused.
            if (['wrong', 'revoked'].includes(what)) assert.match(challenge, /error="invalid_token"/, what);
            else assert.doesNotMatch(challenge, /error=/, what);
            const body = JSON.parse(text);
            assert.deepEqual(body.schemas, [ERROR]);
            assert.equal(body.status, '401');
          }
        }
        // A user POSTed with a bad token was not created.
        assert.equal(Number((await db2('users').count({ n: '*' }))[0]!.n), (await api.get('/Users?count=0')).body.totalResults);
      } finally {
        await db2.destroy();
      }
    });

    test('unsupported methods on the collection and on a resource are 405 SCIM errors with Allow, never 5xx', async () => {
      const u = (await api.post('/Users', newUser())).body;
      for (const [method, path, allow] of [
        ['DELETE', '/Users', 'GET, HEAD, POST'], ['PUT', '/Users', 'GET, HEAD, POST'], ['PATCH', '/Groups', 'GET, HEAD, POST'],
        ['POST', `/Users/${u.id}`, 'GET, HEAD, PUT, PATCH, DELETE'],
      ] as const) {
        const res = await api.call(method, path, method === 'DELETE' ? undefined : newUser());
        assert.equal(res.status, 405, `${method} ${path}: ${res.status} ${res.text}`);
        assert.equal(res.headers.get('allow'), allow);
        scimError(res, 405);
      }
      assert.equal((await api.get(`/Users/${u.id}`)).status, 200);
    });

    test('hostile input never gives a 5xx: deep nesting, odd filters, huge numbers, odd content types', async () => {
      let deep: any = { userName: 'deep' };
      for (let i = 0; i < 40; i++) deep = { nested: deep };
      const probes: Reply[] = [
        await api.post('/Users', { ...newUser(), name: deep }),
        await api.get(`/Users?filter=${encodeURIComponent('('.repeat(200) + 'userName eq "a"' + ')'.repeat(200))}`),
        await api.get(`/Users?filter=${encodeURIComponent('userName eq "' + 'a'.repeat(5000) + '"')}`),
        await api.get('/Users?startIndex=99999999999999999999&count=99999999999999999999'),
        await api.get('/Users?count=-5'),
        await api.get('/Users?filter=a&filter=b'),
        await api.get('/Users?sortBy=' + encodeURIComponent('userName; DROP TABLE users')),
        await api.get(`/Users?filter=${encodeURIComponent('userName eq "x\' OR 1=1 --"')}`),
        await api.get('/Users?attributes=' + encodeURIComponent('[[[')),
        await api.call('POST', '/Users', JSON.stringify(newUser()), { 'Content-Type': 'text/plain' }),
        await api.call('POST', '/Users', '<user/>', { 'Content-Type': 'application/xml' }),
        await api.call('POST', '/Users', JSON.stringify(newUser()), { 'Content-Type': 'application/scim+json; charset=latin-9' }),
        await api.patch(`/Users/${(await api.post('/Users', newUser())).body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'emails[type eq "work" and', value: 'x' }] }),
      ];
      for (const res of probes) {
        assert.ok(res.status < 500, `${res.status} ${res.text}`);
        if (res.status >= 400) scimError(res, res.status);
      }
      assert.equal((await api.get(`/Users?filter=${encodeURIComponent('userName eq "x\' OR 1=1 --"')}`)).body.totalResults, 0);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200, 'the users table is still there');
    });

    test('uniqueness conflicts are 409 uniqueness with a detail (clients.md §1.4)', async () => {
      const u = (await api.post('/Users', newUser())).body;
      const body = scimError(await api.post('/Users', newUser({ userName: u.userName })), 409, 'uniqueness');
      assert.match(body.detail, /userName/);
    });

    test('attributes/excludedAttributes naming and, or, not are 400, on GET and in .search bodies', async () => {
      const u = (await api.post('/Users', newUser())).body;
      for (const path of ['/Users?attributes=and', `/Users/${u.id}?excludedAttributes=or`, '/Users?attributes=userName,NOT', '/Groups?excludedAttributes=Or']) {
        scimError(await api.get(path), 400, 'invalidValue');
      }
      const search = (extra: object) => api.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], ...extra });
      scimError(await search({ attributes: ['not'] }), 400, 'invalidValue');
      scimError(await search({ excludedAttributes: ['userName', 'and'] }), 400, 'invalidValue');
      assert.equal((await api.get('/Users?attributes=userName,notes')).status, 200, 'a name that only starts with one is fine');
    });

    test('no error text of a library internal reaches a response; SCIMMY\'s own validation messages do', async () => {
      const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
      const u = (await api.post('/Users', newUser({ [ENT]: { department: 'D' } }))).body;
      const patch = (...Operations: unknown[]) => api.patch(`/Users/${u.id}`, { schemas: [PATCH_OP], Operations });
      const internal = /Cannot (read|set|convert|add) |is not a function|is not iterable|is not extensible|of undefined|of null/;
      // Each of these once answered with the engine's words (found by fuzzing PATCH values and bodies).
      const odd: [unknown[], string | undefined][] = [
        [[{ op: 'add', path: ENT, value: { type: 5 } }], undefined],
        [[{ op: 'replace', value: { [ENT]: { 'a.b': 1 } } }], undefined],
        [[{ op: 'add', value: { [ENT]: { primary: 'x' } } }], undefined],
        [[{ op: 'replace', path: 'emails' }], 'invalidValue'],
        [[{ op: 'replace', value: null }], 'invalidValue'],
        [[null], 'invalidValue'],
        [[{ op: 'add', path: 5, value: 1 }], 'invalidPath'],
      ];
      for (const [ops, scimType] of odd) {
        const body = scimError(await patch(...ops), 400, scimType);
        assert.doesNotMatch(body.detail, internal, JSON.stringify(ops));
      }
      // Removing (or nulling) the whole extension is not an error at all (RFC 7644 §3.5.2.2).
      for (const ops of [[{ op: 'add', path: ENT, value: null }], [{ op: 'replace', value: { [ENT]: '' } }], [{ op: 'remove', path: ENT }]]) {
        const res = await patch(...ops);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body[ENT], undefined);
      }
      // SCIMMY's validation messages describe the request and stay.
      const typed = scimError(await patch({ op: 'replace', path: 'displayName', value: 5 }), 400, 'invalidValue');
      assert.match(typed.detail, /Attribute 'displayName' expected value type 'string'/);
      const unknownKey = scimError(await patch({ op: 'add', path: ENT, value: { nickname: 'x' } }), 400);
      assert.match(unknownKey.detail, /unknown attribute 'nickname'/);
    });
  });
}
