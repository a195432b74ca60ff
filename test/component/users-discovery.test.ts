/**
 * Discovery (RFC 7644 §4, RFC 7643 §5-7): /ServiceProviderConfig, /ResourceTypes and /Schemas advertise exactly
 * what works, and are read-only (405 for writes).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, ENTERPRISE, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';

const SPC = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

for (const store of stores()) {
  describe(`discovery endpoints [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { FILTER_MAX_RESULTS: '250' } });
      api = client(server);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('ServiceProviderConfig advertises what the server does', async () => {
      const res = await api.get('/ServiceProviderConfig');
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      const c = res.body;
      assert.deepEqual(c.schemas, [SPC]);
      assert.equal(c.patch.supported, true);
      assert.deepEqual(c.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
      assert.equal(c.filter.supported, true);
      assert.equal(c.filter.maxResults, 250);
      assert.equal(c.sort.supported, true);
      assert.equal(c.etag.supported, true);
      assert.equal(c.changePassword.supported, false);
      assert.ok(Array.isArray(c.authenticationSchemes) && c.authenticationSchemes.length >= 1, 'at least one authentication scheme');
      const bearer = c.authenticationSchemes.find((s: any) => s.type === 'oauthbearertoken');
      assert.ok(bearer, JSON.stringify(c.authenticationSchemes));
      assert.equal(typeof bearer.name, 'string');
      assert.equal(typeof bearer.description, 'string');
      assert.equal(c.meta.resourceType, 'ServiceProviderConfig');
      assert.equal(c.meta.location, `${server.base}/ServiceProviderConfig`);
    });

    test('ResourceTypes lists User with the optional EnterpriseUser extension', async () => {
      const res = await api.get('/ResourceTypes');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, [LIST]);
      const user = res.body.Resources.find((r: any) => r.id === 'User' || r.name === 'User');
      assert.ok(user, res.text);
      assert.equal(user.endpoint, '/Users');
      assert.equal(user.schema, USER_SCHEMA);
      assert.deepEqual(user.schemaExtensions, [{ schema: ENTERPRISE, required: false }]);
      assert.equal(res.body.totalResults, res.body.Resources.length);
      const one = await api.get('/ResourceTypes/User');
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.schema, USER_SCHEMA);
    });

    test('Schemas lists the User and EnterpriseUser schemas; roles and entitlements have no canonical types', async () => {
      const res = await api.get('/Schemas');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, [LIST]);
      const ids = res.body.Resources.map((s: any) => s.id);
      assert.ok(ids.includes(USER_SCHEMA), ids.join());
      assert.ok(ids.includes(ENTERPRISE), ids.join());
      const user = res.body.Resources.find((s: any) => s.id === USER_SCHEMA);
      const attr = (name: string) => user.attributes.find((a: any) => a.name === name);
      assert.equal(attr('userName').required, true);
      assert.equal(attr('userName').uniqueness, 'server');
      assert.equal(attr('id'), undefined, 'id is a common attribute, not part of the User schema (RFC 7643 §3.1)');
      assert.equal(attr('groups').mutability, 'readOnly');
      for (const name of ['roles', 'entitlements']) {
        const type = attr(name).subAttributes.find((a: any) => a.name === 'type');
        assert.equal(type.canonicalValues, undefined, `${name}.type accepts any type (RFC 7643 §4.1.2)`);
      }
      // Entra rejects nulls in /Schemas (clients.md E10).
      assert.ok(!res.text.includes(':null'), 'no null values');
      const one = await api.get(`/Schemas/${USER_SCHEMA}`);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.id, USER_SCHEMA);
    });

    test('POST, PUT, PATCH and DELETE on discovery endpoints are 405 with Allow: GET', async () => {
      for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas', `/Schemas/${USER_SCHEMA}`]) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await api.call(method, path, method === 'DELETE' ? undefined : {});
          assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
          assert.equal(res.headers.get('allow'), 'GET');
          assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
          assert.equal(res.body.status, '405');
        }
      }
    });

    test('discovery needs a token like every SCIM route', async () => {
      const res = await fetch(`${server.base}/ServiceProviderConfig`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    });
  });
}
