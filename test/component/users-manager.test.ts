/**
 * The enterprise manager (RFC 7643 §4.3) is a reference kept as given: a manager deleted first, or one never
 * provisioned, never makes a write of the report fail, so offboarding is never blocked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, ENTERPRISE, newUser, PATCH_OP, stores, USER_SCHEMA, useServer } from '../helpers/server.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

for (const store of stores()) {
  describe(`enterprise manager references [${store}]`, () => {
    const env = useServer(store);
    const api = () => client(env.server);
    async function make(extra: Record<string, unknown> = {}) {
      const res = await api().post('/Users', newUser({ schemas: [USER_SCHEMA, ENTERPRISE], ...extra }));
      assert.equal(res.status, 201, res.text);
      return res.body;
    }

    test('a manager deleted first: PATCH active false, PATCH title and PUT of the GET body all succeed', async () => {
      const boss = await make();
      const report = await make({ [ENTERPRISE]: { manager: { value: boss.id }, department: 'Ops' } });
      assert.equal((await api().del(`/Users/${boss.id}`)).status, 204);

      const off = await api().patch(`/Users/${report.id}`, ops({ op: 'replace', path: 'active', value: false }));
      assert.equal(off.status, 200, off.text);
      assert.equal(off.body.active, false);
      const titled = await api().patch(`/Users/${report.id}`, ops({ op: 'Replace', path: 'title', value: 'Leaver' }));
      assert.equal(titled.status, 200, titled.text);
      assert.equal(titled.body.title, 'Leaver');

      const got = (await api().get(`/Users/${report.id}`)).body;
      assert.equal(got[ENTERPRISE].manager.value, boss.id, 'the dangling reference is kept as given');
      const { meta, groups, ...own } = got;
      const put = await api().put(`/Users/${report.id}`, own);
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body[ENTERPRISE].manager.value, boss.id);
      assert.equal(put.body.title, 'Leaver');
      assert.equal(put.body.active, false);
    });

    test('a manager deleted first, restored by externalId: the reference is valid again', async () => {
      const bossBody = newUser();
      const boss = (await api().post('/Users', bossBody)).body;
      const report = await make({ [ENTERPRISE]: { manager: boss.id } });
      assert.equal((await api().del(`/Users/${boss.id}`)).status, 204);
      const back = await api().post('/Users', bossBody);
      assert.equal(back.status, 201, back.text);
      assert.equal(back.body.id, boss.id);
      assert.equal((await api().get(`/Users/${report.id}`)).body[ENTERPRISE].manager.value, boss.id);
    });

    test('an unknown manager on create and PATCH is accepted and kept as given', async () => {
      const u = await make({ [ENTERPRISE]: { manager: { value: UNKNOWN } } });
      assert.deepEqual(u[ENTERPRISE].manager, { value: UNKNOWN, $ref: `${env.server.base}/Users/${UNKNOWN}` });
      const other = '11111111-1111-4111-8111-111111111111';
      const patched = await api().patch(`/Users/${u.id}`, ops({ op: 'Add', path: `${ENTERPRISE}:manager`, value: other }));
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body[ENTERPRISE].manager.value, other);
      const filtered = await api().get(`/Users?filter=${encodeURIComponent(`${ENTERPRISE}:manager.value eq "${other}"`)}`);
      assert.deepEqual(filtered.body.Resources.map((r: any) => r.id), [u.id]);
    });

    test('a user cannot be their own manager (400 invalidValue); a manager value that is not a string is 400', async () => {
      const u = await make();
      const self = await api().patch(`/Users/${u.id}`, ops({ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: u.id } }));
      assert.equal(self.status, 400, self.text);
      assert.equal(self.body.scimType, 'invalidValue');
      const odd = await api().post('/Users', newUser({ [ENTERPRISE]: { manager: { value: { id: 'x' } } } }));
      assert.equal(odd.status, 400, odd.text);
      assert.doesNotMatch(odd.body.detail, /object Object/);
    });
  });
}
