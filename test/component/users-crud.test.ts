/**
 * /Users create, read, replace and delete (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6) with the bodies Entra ID and Okta
 * really send (../shared/research/clients.md §1.3 E3-E4, §2.3 O3-O5).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  client, createDatabase, ENTERPRISE, newUser, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer,
} from '../helpers/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The resource without what a write is allowed to change on its own (version, lastModified). */
function stable(u: any) {
  const { meta, ...rest } = u;
  return { ...rest, meta: { resourceType: meta.resourceType, created: meta.created, location: meta.location } };
}

for (const store of stores()) {
  describe(`/Users CRUD [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      api = client(server);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('POST creates: 201, Location = meta.location, server id, ETag, SCIM content type', async () => {
      const body = newUser({ displayName: 'Joy Young', nickName: 'Joy', title: 'Engineer' });
      const res = await api.post('/Users', body);
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      const u = res.body;
      assert.match(u.id, UUID);
      assert.deepEqual(u.schemas, [USER_SCHEMA]);
      assert.equal(u.userName, body.userName);
      assert.equal(u.externalId, body.externalId);
      assert.deepEqual(u.name, body.name);
      assert.deepEqual(u.emails, body.emails);
      assert.equal(u.displayName, 'Joy Young');
      assert.equal(u.nickName, 'Joy');
      assert.equal(u.title, 'Engineer');
      assert.equal(u.active, true);
      assert.equal(u.meta.resourceType, 'User');
      assert.equal(u.meta.location, `${server.base}/Users/${u.id}`);
      assert.equal(res.headers.get('location'), u.meta.location);
      assert.equal(u.meta.version, 'W/"1"');
      assert.equal(res.headers.get('etag'), 'W/"1"');
      assert.equal(u.meta.created, u.meta.lastModified);
      assert.ok(Math.abs(Date.parse(u.meta.created) - Date.now()) < 60_000, u.meta.created);
    });

    test('GET by id returns exactly what POST returned', async () => {
      const created = await api.post('/Users', newUser({ title: 'Lead' }));
      const got = await api.get(`/Users/${created.body.id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, created.body);
      assert.equal(got.headers.get('etag'), created.body.meta.version);
      assert.match(got.headers.get('content-type') ?? '', /^application\/scim\+json/);
    });

    test('Entra full default-mapping create round-trips every attribute (clients.md E3)', async () => {
      const r = rand();
      const body = {
        schemas: [USER_SCHEMA, ENTERPRISE],
        externalId: `jyoung-${r}`, userName: `jyoung.${r}@contoso.com`, active: true, displayName: 'Joy Young',
        title: 'Engineer', preferredLanguage: 'en-US',
        emails: [{ primary: true, type: 'work', value: `jyoung.${r}@contoso.com` }],
        meta: { resourceType: 'User' },
        name: { formatted: 'Joy Young', familyName: 'Young', givenName: 'Joy' },
        phoneNumbers: [{ type: 'work', value: '+1 425 555 0100' }, { type: 'mobile', value: '+1 425 555 0101' }],
        addresses: [
          { type: 'work', streetAddress: '1 Microsoft Way', locality: 'Redmond', region: 'WA', postalCode: '98052', country: 'US', primary: true },
          { type: 'other', formatted: 'Building 28/2111' },
        ],
        [ENTERPRISE]: { employeeNumber: '701984', department: 'Retail' },
      };
      const res = await api.post('/Users', body);
      assert.equal(res.status, 201, res.text);
      const got = (await api.get(`/Users/${res.body.id}`)).body;
      assert.deepEqual(got.schemas, [USER_SCHEMA, ENTERPRISE]);
      assert.equal(got.title, 'Engineer');
      assert.equal(got.preferredLanguage, 'en-US');
      assert.deepEqual(got.name, body.name);
      // A phone number is stored and returned as sent, never reformatted (clients.md §1.4 "Bad input").
      assert.deepEqual(got.phoneNumbers, body.phoneNumbers);
      assert.deepEqual(got.addresses, body.addresses);
      assert.deepEqual(got[ENTERPRISE], { employeeNumber: '701984', department: 'Retail' });
    });

    test('Entra legacy create: explicit nulls, malformed enterprise URN, "True" string boolean', async () => {
      const r = rand();
      const res = await api.post('/Users', {
        schemas: [USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
        externalId: `legacy-${r}`, userName: `legacy.${r}@contoso.com`, active: 'True',
        addresses: null, phoneNumbers: null, title: null, department: null, manager: null,
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0User': { department: 'Sales' },
        emails: [{ primary: true, type: 'Work', value: `legacy.${r}@contoso.com` }],
        roles: [],
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.active, true);
      assert.equal(res.body.title, undefined);
      assert.equal(res.body[ENTERPRISE]?.department, 'Sales');
      assert.equal(res.body.emails[0].type, 'work');
    });

    test('Okta create: password and groups:[] are accepted, password is never echoed (clients.md O3)', async () => {
      const r = rand();
      const res = await api.post('/Users', {
        schemas: [USER_SCHEMA], userName: `test.user.${r}@okta.local`,
        name: { givenName: 'Test', familyName: 'User' },
        emails: [{ primary: true, value: `test.user.${r}@okta.local`, type: 'work' }],
        displayName: 'Test User', locale: 'en-US', externalId: `00u${r}`, groups: [], password: '1mz050nq', active: true,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.locale, 'en-US');
      assert.ok(!res.text.includes('1mz050nq'), 'the password is not echoed');
      assert.equal(res.body.password, undefined);
      const got = await api.get(`/Users/${res.body.id}`);
      assert.ok(!got.text.includes('1mz050nq'), 'the password is not returned by GET');
    });

    test('Entra roles with a non-RFC type and a JSON-encoded value are accepted, the encoded role decoded (clients.md E3, §3.18)', async () => {
      const roles = [
        { primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' },
        { primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'User', value: '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"User"}' },
      ];
      const res = await api.post('/Users', newUser({ roles }));
      assert.equal(res.status, 201, res.text);
      // AppRoleAssignmentsComplex's encoded form names the role `User`: it reads back as the role, as a POST sends it.
      assert.deepEqual(res.body.roles, [roles[0], { primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'User', value: 'User' }]);
    });

    test('enterprise manager sent as a bare id is returned as {value, $ref} under the enterprise key', async () => {
      const boss = (await api.post('/Users', newUser())).body;
      const res = await api.post('/Users', newUser({ schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { manager: boss.id, department: 'R&D' } }));
      assert.equal(res.status, 201, res.text);
      const got = (await api.get(`/Users/${res.body.id}`)).body;
      assert.deepEqual(got[ENTERPRISE].manager, { value: boss.id, $ref: `${server.base}/Users/${boss.id}` });
      assert.equal(got.manager, undefined);
    });

    test('an unknown manager is accepted and kept as given (users-manager.test.ts)', async () => {
      const res = await api.post('/Users', newUser({ [ENTERPRISE]: { manager: { value: '00000000-0000-4000-8000-000000000000' } } }));
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body[ENTERPRISE].manager.value, '00000000-0000-4000-8000-000000000000');
    });

    test('PUT is full replacement: attributes left out are cleared', async () => {
      const body = newUser({ nickName: 'Nick', title: 'Boss', phoneNumbers: [{ value: '+1 555 0100', type: 'work' }] });
      const created = (await api.post('/Users', body)).body;
      const { nickName, phoneNumbers, ...rest } = body;
      const res = await api.put(`/Users/${created.id}`, { ...rest, title: 'CEO', name: { givenName: 'New', familyName: 'Name' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.nickName, undefined);
      assert.equal(res.body.phoneNumbers, undefined);
      assert.equal(res.body.title, 'CEO');
      assert.deepEqual(res.body.name, { givenName: 'New', familyName: 'Name' });
      const got = (await api.get(`/Users/${created.id}`)).body;
      assert.deepEqual(got, res.body);
    });

    test('PUT that changes only the order, type or primary flag of emails is stored (values are compared, not skipped)', async () => {
      const body = newUser();
      const a = { value: `a.${rand()}@example.com`, type: 'work', primary: true };
      const b = { value: `b.${rand()}@example.com`, type: 'home' };
      const created = (await api.post('/Users', { ...body, emails: [a, b] })).body;
      for (const emails of [[b, a], [{ ...b, primary: true }, { value: a.value, type: 'work' }], [{ ...b, type: 'other', primary: true }, { value: a.value, type: 'work' }]]) {
        const res = await api.put(`/Users/${created.id}`, { ...body, emails });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual((await api.get(`/Users/${created.id}`)).body.emails, emails);
      }
    });

    test('PUT that omits externalId and active keeps their stored values (Okta PUT, clients.md §3.17)', async () => {
      const created = (await api.post('/Users', newUser({ active: false }))).body;
      const { externalId, active, ...rest } = created;
      const res = await api.put(`/Users/${created.id}`, { ...rest, displayName: 'Changed' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.externalId, created.externalId);
      assert.equal(res.body.active, false);
      assert.equal(res.body.displayName, 'Changed');
    });

    test('GET then PUT of the same body changes nothing but meta.version and meta.lastModified', async () => {
      const boss = (await api.post('/Users', newUser())).body;
      const r = rand();
      const posted = await api.post('/Users', newUser({
        schemas: [USER_SCHEMA, ENTERPRISE],
        displayName: 'Full User', nickName: 'Fully', title: 'Staff', userType: 'Employee', preferredLanguage: 'de-DE',
        locale: 'de-DE', timezone: 'Europe/Berlin', profileUrl: `https://example.com/${r}`,
        name: { givenName: 'Full', familyName: 'User', formatted: 'Full M User', middleName: 'M', honorificPrefix: 'Dr.', honorificSuffix: 'III' },
        emails: [{ value: `full.${r}@example.com`, type: 'work', primary: true }, { value: `home.${r}@example.com`, type: 'home' }],
        phoneNumbers: [{ value: '+49 30 1234', type: 'work' }],
        ims: [{ value: `im-${r}`, type: 'xmpp' }],
        photos: [{ value: `https://example.com/${r}.png`, type: 'photo' }],
        roles: [{ value: 'Admin', display: 'Administrator', type: 'WindowsAzureActiveDirectoryRole', primary: true }],
        entitlements: [{ value: 'ent-1' }],
        addresses: [{ type: 'work', streetAddress: 'Street 1', locality: 'Berlin', country: 'DE', primary: true }],
        x509Certificates: [{ value: 'MIIB' }],
        [ENTERPRISE]: { employeeNumber: 'E-1', department: 'Dept', costCenter: 'CC', organization: 'Org', division: 'Div', manager: { value: boss.id } },
      }));
      assert.equal(posted.status, 201, posted.text);
      const created = posted.body;
      assert.deepEqual(created.roles, [{ value: 'Admin', display: 'Administrator', type: 'WindowsAzureActiveDirectoryRole', primary: true }]);
      const got = (await api.get(`/Users/${created.id}`)).body;
      await new Promise((r) => setTimeout(r, 5));
      const put = await api.put(`/Users/${created.id}`, got);
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(stable(put.body), stable(got));
      assert.equal(put.body.meta.version, 'W/"2"');
      assert.ok(put.body.meta.lastModified >= got.meta.lastModified, 'lastModified does not go back');
      const again = (await api.get(`/Users/${created.id}`)).body;
      assert.deepEqual(stable(again), stable(created));
    });

    test('Okta PUT echoing id, groups:[], password and a meta with non-ISO dates is accepted (clients.md O5)', async () => {
      const created = (await api.post('/Users', newUser())).body;
      const res = await api.put(`/Users/${created.id}`, {
        ...created, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
        groups: [], password: 'TkdFNVdIVkxhM2c9',
        meta: { resourceType: 'User', created: '04-12-2018 00:00:00', lastModified: '04-12-2018 00:00:00', version: 'v1.0' },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.name, { givenName: 'Another', middleName: 'Excited', familyName: 'User' });
      assert.equal(res.body.meta.created, created.meta.created);
      assert.ok(!res.text.includes('TkdFNVdIVkxhM2c9'), 'the password is not echoed');
    });

    test('PUT with an id in the body that differs from the URL does not move or create anything', async () => {
      const a = (await api.post('/Users', newUser())).body;
      const b = (await api.post('/Users', newUser())).body;
      const res = await api.put(`/Users/${a.id}`, { ...a, id: b.id, displayName: 'A changed' });
      assert.ok(res.status === 200 || res.status === 400, res.text);
      const gotB = (await api.get(`/Users/${b.id}`)).body;
      assert.deepEqual(gotB, b);
      if (res.status === 200) assert.equal(res.body.id, a.id);
    });

    test('DELETE answers 204 with no body; the user is then 404 to GET, PUT, PATCH and DELETE', async () => {
      const created = (await api.post('/Users', newUser())).body;
      const del = await api.del(`/Users/${created.id}`);
      assert.equal(del.status, 204);
      assert.equal(del.text, '');
      for (const res of [
        await api.get(`/Users/${created.id}`),
        await api.put(`/Users/${created.id}`, newUser()),
        await api.patch(`/Users/${created.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }),
        await api.del(`/Users/${created.id}`),
      ]) {
        assert.equal(res.status, 404, res.text);
        assert.equal(res.body.status, '404');
      }
    });

    test('the resource path is matched case-insensitively (/users, clients.md §3.23)', async () => {
      const created = (await api.post('/users', newUser())).body;
      assert.match(created.id, UUID);
      const got = await api.get(`/users/${created.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.id, created.id);
    });

    test('Entra GET without Accept header and writes with charset in Content-Type work (clients.md §3.12)', async () => {
      const res = await fetch(`${server.base}/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`, {
        headers: { Authorization: `Bearer ${server.token}`, Accept: '' },
      });
      assert.equal(res.status, 200);
      const post = await fetch(`${server.base}/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify(newUser()),
      });
      assert.equal(post.status, 201);
    });

    test('non-ASCII values round-trip unchanged', async () => {
      const r = rand();
      const res = await api.post('/Users', newUser({ userName: `Zoë.Ünal.${r}@exämple.com`, name: { givenName: 'Zoë', familyName: 'Ünal 山田' }, displayName: '山田 太郎 🎌' }));
      assert.equal(res.status, 201, res.text);
      const got = (await api.get(`/Users/${res.body.id}`)).body;
      assert.equal(got.userName, `Zoë.Ünal.${r}@exämple.com`);
      assert.equal(got.name.familyName, 'Ünal 山田');
      assert.equal(got.displayName, '山田 太郎 🎌');
    });
  });
}
