/**
 * PATCH operations apply in sequence (RFC 7644 §3.5.2), removal of a whole extension (§3.5.2.2), at most one primary
 * value and no duplicate (type, value) per multi-valued attribute (RFC 7643 §2.4), and the operation cap.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { client, connect, ENTERPRISE, newUser, PATCH_OP, rand, stores, USER_SCHEMA, useServer } from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

for (const store of stores()) {
  describe(`PATCH in sequence, primary and duplicate values [${store}]`, () => {
    const env = useServer(store);
    let sql: Knex;
    const api = () => client(env.server);
    before(() => { sql = connect(env.db.url); });
    after(async () => { await sql?.destroy(); });
    async function make(extra: Record<string, unknown> = {}) {
      const res = await api().post('/Users', newUser(extra));
      assert.equal(res.status, 201, res.text);
      return res.body;
    }
    async function patch(id: string, body: unknown) {
      const res = await api().patch(`/Users/${id}`, body);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, (await api().get(`/Users/${id}`)).body, 'GET agrees with the PATCH response');
      return res.body;
    }
    const workspaceEmail = async (id: string) => (await sql('users').where({ id }).first()).email;

    test('Entra: three ops on a missing work address create one address with all three parts', async () => {
      const u = await make();
      const out = await patch(u.id, ops(
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
        { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '12345' },
        { op: 'Replace', path: 'title', value: 'Engineer' },
      ));
      assert.deepEqual(out.addresses, [{ type: 'work', streetAddress: '1 Main St', locality: 'Springfield', postalCode: '12345' }]);
      assert.equal(out.title, 'Engineer');
      // The same PATCH again changes nothing: the address is found, not added once more.
      const again = await patch(u.id, ops(
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
      ));
      assert.deepEqual(again.addresses, out.addresses);
      assert.equal(again.meta.version, out.meta.version);
    });

    test('Entra: emails[type eq "work"].value then .primary create one work email, which becomes the workspace email', async () => {
      const r = rand();
      const u = await make({ emails: [{ value: `home.${r}@example.com`, type: 'home', primary: true }] });
      assert.equal(await workspaceEmail(u.id), `home.${r}@example.com`);
      const out = await patch(u.id, ops(
        { op: 'Add', path: 'emails[type eq "work"].value', value: `Work.${r}@example.com` },
        { op: 'Add', path: 'emails[type eq "work"].primary', value: 'True' },
      ));
      assert.deepEqual(out.emails, [{ value: `home.${r}@example.com`, type: 'home' }, { value: `Work.${r}@example.com`, type: 'work', primary: true }]);
      assert.equal(await workspaceEmail(u.id), `work.${r}@example.com`);
    });

    test('no-path value with filtered keys on a missing typed entry also yields one entry', async () => {
      const u = await make();
      const out = await patch(u.id, ops({ op: 'add', value: { 'phoneNumbers[type eq "mobile"].value': '+1 555 0101', 'phoneNumbers[type eq "mobile"].display': 'mobile' } }));
      assert.deepEqual(out.phoneNumbers, [{ value: '+1 555 0101', type: 'mobile', display: 'mobile' }]);
    });

    test('remove with the enterprise extension URN as path removes all its attributes (RFC 7644 §3.5.2.2)', async () => {
      const u = await make({ schemas: [USER_SCHEMA, ENTERPRISE], title: 'T', [ENTERPRISE]: { department: 'R&D', costCenter: 'CC1', employeeNumber: 'E1', manager: { value: '00000000-0000-4000-8000-000000000000' } } });
      const out = await patch(u.id, ops({ op: 'remove', path: ENTERPRISE }));
      assert.equal(out[ENTERPRISE], undefined);
      assert.deepEqual(out.schemas, [USER_SCHEMA]);
      assert.equal(out.title, 'T');
      // Removing it again (nothing there) is not an error; in a sequence, what an earlier op added goes too.
      const again = await patch(u.id, ops({ op: 'add', path: `${ENTERPRISE}:department`, value: 'New' }, { op: 'Remove', path: ENTERPRISE.toLowerCase() }));
      assert.equal(again[ENTERPRISE], undefined);
      assert.equal((await api().patch(`/Users/${u.id}`, ops({ op: 'remove', path: ENTERPRISE }))).status, 200);
    });

    test('a PATCH that makes a value primary makes the others non-primary; the workspace email follows', async () => {
      const r = rand();
      const u = await make({ emails: [{ value: `a.${r}@example.com`, type: 'work', primary: true }, { value: `b.${r}@example.com`, type: 'home' }] });
      let out = await patch(u.id, ops({ op: 'replace', path: 'emails[type eq "home"].primary', value: true }));
      assert.deepEqual(out.emails.filter((e: any) => e.primary === true).map((e: any) => e.value), [`b.${r}@example.com`]);
      assert.equal(await workspaceEmail(u.id), `b.${r}@example.com`);
      out = await patch(u.id, ops({ op: 'add', path: 'emails', value: [{ value: `c.${r}@example.com`, type: 'other', primary: true }] }));
      assert.deepEqual(out.emails.filter((e: any) => e.primary === true).map((e: any) => e.value), [`c.${r}@example.com`]);
      assert.equal(await workspaceEmail(u.id), `c.${r}@example.com`);
      out = await patch(u.id, ops({ op: 'add', path: 'phoneNumbers', value: [{ value: '1', type: 'work', primary: true }, { value: '2', type: 'home', primary: true }] }));
      assert.deepEqual(out.phoneNumbers.filter((e: any) => e.primary === true).map((e: any) => e.value), ['2']);
    });

    test('a POST or PUT with two primaries keeps the last one primary; duplicate (type, value) pairs are merged', async () => {
      const r = rand();
      const created = await make({
        emails: [
          { value: `a.${r}@example.com`, type: 'work', primary: true },
          { value: `b.${r}@example.com`, type: 'home', primary: true },
          { value: `A.${r}@example.com`, type: 'work', display: 'A' },
        ],
        phoneNumbers: [{ value: '+1 555 0100', type: 'work' }, { value: '+1 555 0100', type: 'work' }, { value: '+1 555 0100', type: 'mobile' }],
        addresses: [{ type: 'work', locality: 'X', primary: true }, { type: 'home', locality: 'Y', primary: true }, { type: 'work', locality: 'X' }],
      });
      assert.deepEqual(created.emails, [{ value: `a.${r}@example.com`, type: 'work', display: 'A' }, { value: `b.${r}@example.com`, type: 'home', primary: true }]);
      assert.deepEqual(created.phoneNumbers, [{ value: '+1 555 0100', type: 'work' }, { value: '+1 555 0100', type: 'mobile' }]);
      assert.deepEqual(created.addresses, [{ type: 'work', locality: 'X', primary: false }, { type: 'home', locality: 'Y', primary: true }]);
      assert.equal(await workspaceEmail(created.id), `b.${r}@example.com`);
      assert.deepEqual((await api().get(`/Users/${created.id}`)).body.emails, created.emails);

      // PUT of the GET body with a new primary appended: the new one is the primary.
      const { meta, ...own } = (await api().get(`/Users/${created.id}`)).body;
      const put = await api().put(`/Users/${created.id}`, { ...own, emails: [...own.emails, { value: `c.${r}@example.com`, type: 'other', primary: true }] });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.body.emails.filter((e: any) => e.primary === true).map((e: any) => e.value), [`c.${r}@example.com`]);
      assert.equal(await workspaceEmail(created.id), `c.${r}@example.com`);
    });

    test('a PATCH adding a value already there does not duplicate it', async () => {
      const r = rand();
      const u = await make({ emails: [{ value: `a.${r}@example.com`, type: 'work', primary: true }] });
      const out = await patch(u.id, ops({ op: 'add', path: 'emails', value: [{ value: `a.${r}@example.com`, type: 'work' }] }));
      assert.deepEqual(out.emails, [{ value: `a.${r}@example.com`, type: 'work', primary: true }]);
    });

    test('more than 1000 operations is 400 invalidValue; 1000 is fine', async () => {
      const u = await make();
      const many = (n: number) => ops(...Array.from({ length: n }, (_, i) => ({ op: 'replace', path: 'title', value: `t${i}` })));
      const refused = await api().patch(`/Users/${u.id}`, many(1001));
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.body.scimType, 'invalidValue');
      assert.match(refused.body.detail, /at most 1000 operations/);
      const ok = await patch(u.id, many(1000));
      assert.equal(ok.title, 't999');
    });

    test('an error names the operation as the client numbered it', async () => {
      const u = await make();
      const res = await api().patch(`/Users/${u.id}`, ops(
        { op: 'add', path: 'emails[type eq "work"].value', value: 'w@example.com' },
        { op: 'replace', path: 'displayName', value: 'D' },
        { op: 'replace', path: 'active', value: 'maybe' },
      ));
      assert.equal(res.status, 400, res.text);
      assert.match(res.body.detail, /operation 3\b/);
    });
  });
}
