/**
 * PATCH /Users/{id} (RFC 7644 §3.5.2) in the RFC forms and as Entra ID and Okta really send it
 * (../shared/research/clients.md §1.3 E5-E7, §2.3 O6, §3). PATCH answers 200 with the resource.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  client, createDatabase, ENTERPRISE, newUser, PATCH_OP, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer,
} from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const store of stores()) {
  describe(`PATCH /Users [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    async function make(extra: Record<string, unknown> = {}) {
      const res = await api.post('/Users', newUser(extra));
      assert.equal(res.status, 201, res.text);
      return res.body;
    }
    /** PATCH, expect 200 with the resource, and check GET agrees with the response. */
    async function patch(id: string, body: unknown) {
      const res = await api.patch(`/Users/${id}`, body);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, id);
      assert.equal(res.headers.get('etag'), res.body.meta.version);
      const got = await api.get(`/Users/${id}`);
      assert.deepEqual(res.body, got.body);
      return res.body;
    }
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      api = client(server);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    describe('RFC 7644 forms', () => {
      test('add, replace and remove on simple and sub-attribute paths', async () => {
        const u = await make({ title: 'Old' });
        const out = await patch(u.id, ops(
          { op: 'add', path: 'nickName', value: 'Babs' },
          { op: 'replace', path: 'name.familyName', value: 'Jensen' },
          { op: 'remove', path: 'title' },
        ));
        assert.equal(out.nickName, 'Babs');
        assert.deepEqual(out.name, { givenName: 'Given', familyName: 'Jensen' });
        assert.equal(out.title, undefined);
        assert.equal(out.meta.version, 'W/"2"');
        assert.equal(out.userName, u.userName);
        assert.deepEqual(out.emails, u.emails);
      });

      test('replace with no path and a nested value object merges it', async () => {
        const u = await make();
        const out = await patch(u.id, ops({ op: 'replace', value: { name: { givenName: 'Barbara' }, displayName: 'Babs J', [ENTERPRISE]: { department: 'Ops' } } }));
        assert.deepEqual(out.name, { givenName: 'Barbara', familyName: u.name.familyName });
        assert.equal(out.displayName, 'Babs J');
        assert.equal(out[ENTERPRISE].department, 'Ops');
        assert.deepEqual(out.schemas, [USER_SCHEMA, ENTERPRISE]);
      });

      test('multi-valued: add appends, filtered replace and remove touch only the matching element', async () => {
        const r = rand();
        const u = await make({ emails: [{ value: `w.${r}@example.com`, type: 'work', primary: true }] });
        let out = await patch(u.id, ops({ op: 'add', path: 'emails', value: [{ value: `h.${r}@example.com`, type: 'home' }] }));
        assert.deepEqual(out.emails, [{ value: `w.${r}@example.com`, type: 'work', primary: true }, { value: `h.${r}@example.com`, type: 'home' }]);
        out = await patch(u.id, ops({ op: 'replace', path: 'emails[type eq "home"].value', value: `h2.${r}@example.com` }));
        assert.deepEqual(out.emails.map((e: any) => e.value), [`w.${r}@example.com`, `h2.${r}@example.com`]);
        out = await patch(u.id, ops({ op: 'remove', path: 'emails[type eq "work"]' }));
        assert.deepEqual(out.emails, [{ value: `h2.${r}@example.com`, type: 'home' }]);
        out = await patch(u.id, ops({ op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0100', type: 'work' }, { value: '+1 555 0101', type: 'mobile' }] }));
        out = await patch(u.id, ops({ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' }));
        assert.deepEqual(out.phoneNumbers, [{ value: '+1 555 0100', type: 'work' }]);
      });

      test('replace of a whole multi-valued attribute replaces every element', async () => {
        const r = rand();
        const u = await make();
        const out = await patch(u.id, ops({ op: 'replace', path: 'emails', value: [{ value: `only.${r}@example.com`, type: 'other', primary: true }] }));
        assert.deepEqual(out.emails, [{ value: `only.${r}@example.com`, type: 'other', primary: true }]);
      });

      test('core-URN-qualified paths and attribute names in any case (RFC 7644 §3.10, clients.md §3.19)', async () => {
        const u = await make();
        const out = await patch(u.id, ops(
          { op: 'replace', path: `${USER_SCHEMA}:displayName`, value: 'Qualified' },
          { op: 'replace', path: 'NAME.FamilyName', value: 'Upper' },
          { op: 'replace', path: `${ENTERPRISE}:Department`, value: 'Upper Dept' },
        ));
        assert.equal(out.displayName, 'Qualified');
        assert.equal(out.name.familyName, 'Upper');
        assert.equal(out[ENTERPRISE].department, 'Upper Dept');
        const email = `cased.${rand()}@example.com`;
        const out2 = await patch(u.id, ops(
          { op: 'Replace', path: 'Emails[Type eq "work"].Value', value: email },
          { op: 'Add', path: 'addresses[type eq "other"].Formatted', value: 'Building 28' },
          { op: 'Replace', value: { 'Name.GivenName': 'Dotted', DisplayName: 'Keyed' } },
        ));
        assert.deepEqual(out2.emails, [{ ...u.emails[0], value: email }]);
        assert.deepEqual(out2.addresses, [{ type: 'other', formatted: 'Building 28' }]);
        assert.equal(out2.name.givenName, 'Dotted');
        assert.equal(out2.displayName, 'Keyed');
      });

      test('a PATCH that changes nothing answers 200 with the resource and keeps its version', async () => {
        const u = await make({ title: 'Same' });
        const out = await patch(u.id, ops({ op: 'replace', path: 'title', value: 'Same' }));
        assert.equal(out.meta.version, u.meta.version);
        assert.equal(out.meta.lastModified, u.meta.lastModified);
      });

      test('PATCH ?excludedAttributes=emails neither drops nor returns the emails (scimmy.md §2.1)', async () => {
        const u = await make();
        const res = await api.patch(`/Users/${u.id}?excludedAttributes=emails`, ops({ op: 'add', path: 'nickName', value: 'Kept' }));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.emails, undefined);
        assert.equal(res.body.nickName, 'Kept');
        const got = (await api.get(`/Users/${u.id}`)).body;
        assert.deepEqual(got.emails, u.emails);
      });

      test('a password replace (Okta password sync) is accepted and never echoed', async () => {
        const u = await make();
        const res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', value: { password: 'S3cret-Pass!' } }));
        assert.equal(res.status, 200, res.text);
        assert.ok(!res.text.includes('S3cret-Pass!'), 'the password is not echoed');
      });
    });

    describe('Entra ID dialects', () => {
      test('capitalised ops (Replace/Add/Remove), as the default job sends them (clients.md E5)', async () => {
        const u = await make({ title: 'Gone' });
        const out = await patch(u.id, ops(
          { op: 'Replace', path: 'displayName', value: 'Pvlo' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: `updated.${rand()}@microsoft.com` },
          { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
          { op: 'Add', path: 'nickName', value: 'Babs' },
          { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: 'Eqpj' },
          { op: 'Remove', path: 'title' },
        ));
        assert.equal(out.displayName, 'Pvlo');
        assert.match(out.emails[0].value, /^updated\./);
        assert.equal(out.emails.length, 1);
        assert.equal(out.emails[0].type, 'work');
        assert.equal(out.name.givenName, 'Gtfd');
        assert.equal(out.nickName, 'Babs');
        assert.equal(out[ENTERPRISE].employeeNumber, 'Eqpj');
        assert.equal(out.title, undefined);
      });

      test('"False"/"True"/"false" strings for active (clients.md E7)', async () => {
        const u = await make();
        let out = await patch(u.id, ops({ op: 'Replace', path: 'active', value: 'False' }));
        assert.equal(out.active, false);
        out = await patch(u.id, ops({ op: 'Replace', path: 'active', value: 'True' }));
        assert.equal(out.active, true);
        out = await patch(u.id, { Operations: [{ op: 'Replace', path: 'active', value: 'false' }], schemas: [PATCH_OP] });
        assert.equal(out.active, false);
        out = await patch(u.id, ops({ op: 'replace', path: 'active', value: true }));
        assert.equal(out.active, true);
      });

      test('no-path replace with dotted and URN keys (aadOptscim062020, clients.md E5 and §3.5)', async () => {
        const u = await make();
        const email = `mhv.${rand()}@test.microsoft.com`;
        const out = await patch(u.id, ops(
          { op: 'replace', path: 'emails[type eq "work"].value', value: email },
          { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq', active: false } },
        ));
        assert.equal(out.emails[0].value, email);
        assert.equal(out.displayName, 'Bjfe');
        assert.deepEqual(out.name, { givenName: 'Kkom', familyName: 'Unua' });
        assert.equal(out[ENTERPRISE].employeeNumber, 'Aklq');
        assert.equal(out.active, false);
      });

      test('no-path add with dotted keys including name.formatted (clients.md E5)', async () => {
        const u = await make();
        const out = await patch(u.id, ops({ op: 'add', value: { 'name.formatted': 'Given Family', 'name.middleName': 'M', nickName: 'GF' } }));
        assert.equal(out.name.formatted, 'Given Family');
        assert.equal(out.name.middleName, 'M');
        assert.equal(out.nickName, 'GF');
      });

      test('manager: Add on the URN path with a bare id, change, and removal by replace with "" (clients.md E6)', async () => {
        const m1 = await make();
        const m2 = await make();
        const u = await make();
        let out = await patch(u.id, ops({ op: 'Add', path: `${ENTERPRISE}:manager`, value: m1.id }));
        assert.deepEqual(out[ENTERPRISE].manager, { value: m1.id, $ref: `${server.base}/Users/${m1.id}` });
        assert.deepEqual(out.schemas, [USER_SCHEMA, ENTERPRISE]);
        assert.equal(out.manager, undefined);
        out = await patch(u.id, ops({ op: 'replace', path: `${ENTERPRISE}:manager`, value: m2.id }));
        assert.equal(out[ENTERPRISE].manager.value, m2.id);
        out = await patch(u.id, ops({ op: 'replace', path: `${ENTERPRISE}:manager`, value: '' }));
        assert.equal(out[ENTERPRISE]?.manager, undefined);
        assert.deepEqual(out.schemas, [USER_SCHEMA]);
      });

      test('manager in the SDK-era form (path "manager", value [{$ref, value}]) and via manager.value', async () => {
        const m = await make();
        const u = await make();
        let out = await patch(u.id, ops({ op: 'Add', path: 'manager', value: [{ $ref: `http://x/scim/Users/${m.id}`, value: m.id }] }));
        assert.equal(out[ENTERPRISE].manager.value, m.id);
        out = await patch(u.id, ops({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
        assert.equal(out[ENTERPRISE]?.manager, undefined);
        out = await patch(u.id, ops({ op: 'replace', path: `${ENTERPRISE}:manager.value`, value: m.id }));
        assert.equal(out[ENTERPRISE].manager.value, m.id);
        out = await patch(u.id, ops({ op: 'replace', value: { [`${ENTERPRISE}:manager`]: '' } }));
        assert.equal(out[ENTERPRISE]?.manager, undefined);
      });

      test('an unknown manager id is kept as given (users-manager.test.ts)', async () => {
        const u = await make();
        const out = await patch(u.id, ops({ op: 'Add', path: `${ENTERPRISE}:manager`, value: '00000000-0000-4000-8000-000000000000' }));
        assert.equal(out[ENTERPRISE].manager.value, '00000000-0000-4000-8000-000000000000');
      });

      test('Add/Replace on emails[type eq "work"].value with no work email creates it (clients.md §3.8)', async () => {
        const r = rand();
        const u = await make({ emails: [{ value: `home.${r}@example.com`, type: 'home', primary: true }] });
        let out = await patch(u.id, ops({ op: 'Add', path: 'emails[type eq "work"].value', value: `work.${r}@example.com` }));
        assert.deepEqual(out.emails, [{ value: `home.${r}@example.com`, type: 'home', primary: true }, { value: `work.${r}@example.com`, type: 'work' }]);
        const bare = await make({ emails: undefined });
        out = await patch(bare.id, ops({ op: 'Replace', path: 'emails[type eq "work"].value', value: `w2.${r}@example.com` }));
        assert.deepEqual(out.emails, [{ value: `w2.${r}@example.com`, type: 'work' }]);
        out = await patch(bare.id, ops({ op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' }));
        assert.deepEqual(out.phoneNumbers, [{ value: '+1 555 0199', type: 'mobile' }]);
        out = await patch(bare.id, ops({ op: 'replace', path: 'addresses[type eq "work"].formatted', value: '18/2111' }));
        assert.deepEqual(out.addresses, [{ type: 'work', formatted: '18/2111' }]);
      });

      test('Add on an existing single-valued attribute replaces it (clients.md §3.9)', async () => {
        const u = await make({ nickName: 'Old' });
        const out = await patch(u.id, ops({ op: 'Add', path: 'nickName', value: 'New' }));
        assert.equal(out.nickName, 'New');
      });

      test('replace with "" or null clears the attribute (Microsoft null update)', async () => {
        const u = await make({ title: 'T', nickName: 'N' });
        const out = await patch(u.id, ops({ op: 'Replace', path: 'title', value: '' }, { op: 'Replace', path: 'nickName', value: null }));
        assert.equal(out.title, undefined);
        assert.equal(out.nickName, undefined);
      });

      test('a Remove carrying the old value removes the single-valued attribute', async () => {
        const u = await make({ title: 'T' });
        const out = await patch(u.id, ops({ op: 'Remove', path: 'title', value: 'T' }));
        assert.equal(out.title, undefined);
      });

      test('validator sub-attribute paths: emails[type eq "work"].primary with a boolean', async () => {
        const r = rand();
        const u = await make({ emails: [{ value: `a.${r}@example.com`, type: 'work' }, { value: `b.${r}@example.com`, type: 'home' }] });
        const out = await patch(u.id, ops({ op: 'replace', path: 'emails[type eq "work"].primary', value: 'True' }));
        assert.deepEqual(out.emails[0], { value: `a.${r}@example.com`, type: 'work', primary: true });
      });
    });

    describe('Okta', () => {
      test('no-path replace {"active":false} deactivates and {"active":true} reactivates (clients.md O6)', async () => {
        const u = await make();
        let out = await patch(u.id, ops({ op: 'replace', value: { active: false } }));
        assert.equal(out.active, false);
        assert.equal(out.userName, u.userName);
        assert.deepEqual(out.emails, u.emails);
        out = await patch(u.id, ops({ op: 'replace', value: { active: true } }));
        assert.equal(out.active, true);
      });

      test('a no-path replace echoing the read-only id is accepted (clients.md §3.7)', async () => {
        const u = await make();
        const out = await patch(u.id, ops({ op: 'replace', value: { id: u.id, displayName: 'Okta Name' } }));
        assert.equal(out.displayName, 'Okta Name');
      });
    });

    describe('errors', () => {
      test('not a PatchOp: missing schemas, no Operations, unknown op, add without value → 400 with a scimType', async () => {
        const u = await make();
        for (const body of [
          { Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
          { schemas: [PATCH_OP] },
          { schemas: [PATCH_OP], Operations: [] },
          { schemas: [PATCH_OP], Operations: 'replace' },
          ops({ op: 'frobnicate', path: 'title', value: 'x' }),
          ops({ op: 'add', path: 'title' }),
          ops({ op: 'remove' }),
          ops('replace'),
          [],
        ]) {
          const res = await api.patch(`/Users/${u.id}`, body);
          assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
          assert.ok(['invalidSyntax', 'invalidValue', 'noTarget', 'invalidPath'].includes(res.body.scimType), res.text);
          assert.equal(res.body.status, '400');
        }
        assert.equal((await api.get(`/Users/${u.id}`)).body.meta.version, u.meta.version);
      });

      test('an unknown path is 400 invalidPath', async () => {
        const u = await make();
        for (const path of ['noSuchAttribute', 'name.noSuch', 'emails[type eq "work"', `${ENTERPRISE}:noSuch`]) {
          const res = await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path, value: 'x' }));
          assert.equal(res.status, 400, `${path}: ${res.text}`);
          assert.ok(['invalidPath', 'noTarget', 'invalidValue'].includes(res.body.scimType), `${path}: ${res.text}`);
        }
      });

      test('read-only attributes cannot be patched: 400 mutability', async () => {
        const u = await make();
        for (const op of [{ op: 'replace', path: 'id', value: 'x' }, { op: 'replace', path: 'meta.created', value: '2000-01-01T00:00:00Z' }, { op: 'add', path: 'groups', value: [{ value: 'g' }] }]) {
          const res = await api.patch(`/Users/${u.id}`, ops(op));
          assert.equal(res.status, 400, `${op.path}: ${res.text}`);
          assert.equal(res.body.scimType, 'mutability', `${op.path}: ${res.text}`);
        }
        const got = (await api.get(`/Users/${u.id}`)).body;
        assert.equal(got.id, u.id);
        assert.equal(got.meta.created, u.meta.created);
      });

      test('removing userName (required) is 400 and changes nothing', async () => {
        const u = await make();
        const res = await api.patch(`/Users/${u.id}`, ops({ op: 'remove', path: 'userName' }));
        assert.equal(res.status, 400, res.text);
        assert.equal((await api.get(`/Users/${u.id}`)).body.userName, u.userName);
      });

      test('bad values: a non-boolean active, a malformed email', async () => {
        const u = await make();
        for (const op of [{ op: 'replace', path: 'active', value: 'maybe' }, { op: 'replace', path: 'emails[type eq "work"].value', value: 'not an email' }]) {
          const res = await api.patch(`/Users/${u.id}`, ops(op));
          assert.equal(res.status, 400, `${JSON.stringify(op)}: ${res.text}`);
          assert.equal(res.body.scimType, 'invalidValue');
        }
      });

      test('PATCH of an unknown id is 404', async () => {
        const res = await api.patch('/Users/00000000-0000-4000-8000-000000000000', ops({ op: 'replace', path: 'title', value: 'x' }));
        assert.equal(res.status, 404, res.text);
        assert.equal(res.body.status, '404');
      });
    });
  });
}
