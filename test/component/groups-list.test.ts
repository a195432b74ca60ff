/**
 * GET /Groups (RFC 7644 §3.4.2) on each store: filters on displayName (caseExact=false), externalId (caseExact=true)
 * and members.value / members[value eq] (the groups a user is in), paging with startIndex/count and totals,
 * `count=0`, `excludedAttributes=members` and `attributes`, POST /Groups/.search, and deleted groups never listed.
 * Sorting under paging is test/component/paging-sorts.test.ts.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { client, GROUP_SCHEMA, newUser, rand, stores, useServer, type Reply } from '../helpers/server.ts';
import { assertScimError } from '../reliability/util.ts';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const q = (filter: string, extra = '') => `/Groups?filter=${encodeURIComponent(filter)}${extra}`;

for (const store of stores()) {
  describe(`/Groups list and filter [${store}]`, () => {
    const env = useServer(store);
    const api = () => client(env.server);
    const tag = `L${rand()}`;
    const ids: Record<string, string> = {};
    let alice: string;
    let bob: string;
    const names = (r: Reply) => r.body.Resources.map((g: any) => g.displayName).sort();

    before(async () => {
      const u1 = await api().post('/Users', newUser());
      const u2 = await api().post('/Users', newUser());
      alice = u1.body.id;
      bob = u2.body.id;
      // Seven groups of this test (a tag in every name), alice in three, bob in one; one more deleted.
      const specs: [string, string, string[]][] = [
        ['sales', `${tag} Sales`, [alice]], ['sales2', `${tag} Sales`, [alice, bob]], ['eng', `${tag} Engineering`, [alice]],
        ['ops', `${tag} Ops`, []], ['hr', `${tag} HR`, []], ['legal', `${tag} Legal`, []], ['it', `${tag} IT`, []],
      ];
      for (const [key, displayName, members] of specs) {
        const r = await api().post('/Groups', { schemas: [GROUP_SCHEMA], displayName, externalId: `${tag}-${key}`, members: members.map((value) => ({ value })) });
        assert.equal(r.status, 201, r.text);
        ids[key] = r.body.id;
      }
      const gone = await api().post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `${tag} Gone`, externalId: `${tag}-gone`, members: [{ value: alice }] });
      ids.gone = gone.body.id;
      assert.equal((await api().del(`/Groups/${ids.gone}`)).status, 204);
    });

    test('displayName eq is case-insensitive and matches every group of that name; sw, co too', async () => {
      const r = await api().get(q(`displayName eq "${tag.toLowerCase()} sales"`));
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.schemas, [LIST]);
      assert.equal(r.body.totalResults, 2);
      assert.deepEqual(r.body.Resources.map((g: any) => g.id).sort(), [ids.sales, ids.sales2].sort());
      assert.equal((await api().get(q(`displayName sw "${tag}"`))).body.totalResults, 7, 'the deleted group is not listed');
      assert.deepEqual(names(await api().get(q(`displayName co "engineer" and displayName sw "${tag}"`))), [`${tag} Engineering`]);
    });

    test('externalId eq is case-exact (RFC 7643 §3.1)', async () => {
      const r = await api().get(q(`externalId eq "${tag}-eng"`));
      assert.equal(r.body.totalResults, 1);
      assert.equal(r.body.Resources[0].id, ids.eng);
      assert.equal((await api().get(q(`externalId eq "${tag.toUpperCase()}-ENG"`))).body.totalResults, 0);
      assert.equal((await api().get(q(`externalId eq "${tag}-gone"`))).body.totalResults, 0, 'deleted groups are not found');
    });

    test('members.value eq and members[value eq] find the groups a user is in', async () => {
      for (const f of [`members.value eq "${alice}"`, `members[value eq "${alice}"]`, `members eq "${alice}"`]) {
        const r = await api().get(q(`${f} and displayName sw "${tag}"`));
        assert.equal(r.status, 200, `${f}: ${r.text}`);
        assert.deepEqual(r.body.Resources.map((g: any) => g.id).sort(), [ids.sales, ids.sales2, ids.eng].sort(), f);
      }
      const b = await api().get(q(`members.value eq "${bob}"`));
      assert.deepEqual(b.body.Resources.map((g: any) => g.id), [ids.sales2]);
      // Entra's check of one membership: the group filtered by id and member, without the member list.
      const one = await api().get(q(`id eq "${ids.eng}" and members[value eq "${bob}"]`, '&excludedAttributes=members'));
      assert.equal(one.body.totalResults, 0);
      const yes = await api().get(q(`id eq "${ids.eng}" and members[value eq "${alice}"]`, '&excludedAttributes=members'));
      assert.equal(yes.body.totalResults, 1);
      assert.equal('members' in yes.body.Resources[0], false);
    });

    test('paging: startIndex and count walk the list once; totals and itemsPerPage agree; count=0 gives the total only', async () => {
      const filter = `displayName sw "${tag}"`;
      const seen: string[] = [];
      for (let start = 1; start <= 7; start += 3) {
        const r = await api().get(q(filter, `&startIndex=${start}&count=3`));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.totalResults, 7);
        assert.equal(r.body.startIndex, start);
        assert.equal(r.body.itemsPerPage, r.body.Resources.length);
        assert.equal(r.body.Resources.length, Math.min(3, 7 - start + 1));
        seen.push(...r.body.Resources.map((g: any) => g.id));
      }
      assert.equal(new Set(seen).size, 7);
      const beyond = await api().get(q(filter, '&startIndex=50&count=3'));
      assert.equal(beyond.body.totalResults, 7);
      assert.deepEqual(beyond.body.Resources ?? [], []);
      const zero = await api().get(q(filter, '&count=0'));
      assert.equal(zero.body.totalResults, 7);
      assert.deepEqual(zero.body.Resources ?? [], []);
    });

    test('excludedAttributes=members leaves members out; attributes keeps only what it names (and id, schemas)', async () => {
      const filter = `externalId eq "${tag}-sales2"`;
      const full = await api().get(q(filter));
      assert.equal(full.body.Resources[0].members.length, 2);
      const ex = await api().get(q(filter, '&excludedAttributes=members'));
      assert.equal('members' in ex.body.Resources[0], false);
      assert.equal(ex.body.Resources[0].displayName, `${tag} Sales`);
      assert.ok(ex.body.Resources[0].meta);
      const only = await api().get(q(filter, '&attributes=displayName'));
      assert.deepEqual(Object.keys(only.body.Resources[0]).sort(), ['displayName', 'id', 'schemas']);
      const one = await api().get(`/Groups/${ids.sales2}?excludedAttributes=members`);
      assert.equal('members' in one.body, false);
      assert.equal(one.headers.get('etag'), one.body.meta.version);
    });

    test('POST /Groups/.search takes the same query in its body', async () => {
      const r = await api().post('/Groups/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: `members.value eq "${alice}" and displayName sw "${tag}"`, startIndex: 1, count: 2, excludedAttributes: ['members'],
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.totalResults, 3);
      assert.equal(r.body.Resources.length, 2);
      for (const g of r.body.Resources) assert.equal('members' in g, false);
    });

    test('a filter on an unknown attribute or malformed is 400 invalidFilter', async () => {
      for (const f of ['nickName eq "x"', 'displayName eq', `members[value eq "${alice}"`, 'displayName zz "x"']) {
        const r = await api().get(q(f));
        assertScimError(r.body, 400, `${f}: ${r.text}`);
        assert.equal(r.body.scimType, 'invalidFilter', `${f}: ${r.text}`);
      }
    });
  });
}
