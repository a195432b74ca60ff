/**
 * Sequential paging under every sort (RFC 7644 §3.4.2.3-4): an IdP reading page after page must see every resource
 * once even when rows of an earlier page are deleted in between, for a non-default sortBy too (expressions such as
 * lower(last_name), nullable attributes whose unassigned values sort last, descending order).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { client, ENTERPRISE, GROUP_SCHEMA, rand, stores, USER_SCHEMA, useServer } from '../helpers/server.ts';

for (const store of stores()) {
  describe(`paging with sortBy while earlier rows are deleted [${store}]`, () => {
    const env = useServer(store);
    let api: ReturnType<typeof client>;
    before(() => {
      api = client(env.server);
    });

    /**
     * Read `scope` sorted by `sort` two at a time; after the first page, delete its first row. The pages must hold
     * every resource of the full sorted list once, in order (the deleted one on page 1 where it was read).
     */
    async function walk(path: '/Users' | '/Groups', scope: string, sort: string) {
      const list = async (extra: string) => {
        const r = await api.get(`${path}?filter=${encodeURIComponent(scope)}&${sort}${extra}`);
        assert.equal(r.status, 200, r.text);
        return (r.body.Resources ?? []).map((x: any) => x.id) as string[];
      };
      const all = await list('&count=100');
      assert.ok(all.length >= 5, 'test data');
      const seen = await list('&startIndex=1&count=2');
      assert.deepEqual(seen, all.slice(0, 2));
      assert.equal((await api.del(`${path}/${seen[0]}`)).status, 204);
      for (let start = 3; start <= all.length; start += 2) seen.push(...(await list(`&startIndex=${start}&count=2`)));
      assert.deepEqual(seen, all, `${sort}: pages skipped or repeated someone`);
    }

    const users = [
      { family: 'Zimmer', nick: 'Al' }, { family: 'Young', nick: null }, { family: null, nick: 'Cy' },
      { family: 'Walker', nick: null }, { family: null, nick: null }, { family: 'Ulm', nick: 'Ed' }, { family: 'Ulm', nick: null },
    ];
    for (const sort of ['sortBy=name.familyName', 'sortBy=name.familyName&sortOrder=descending', 'sortBy=nickName', 'sortBy=nickName&sortOrder=descending',
      'sortBy=userName', 'sortBy=userName&sortOrder=descending', 'sortBy=displayName', 'sortBy=emails.value&sortOrder=descending', 'sortBy=meta.lastModified&sortOrder=descending', 'sortBy=externalId']) {
      test(`/Users ${sort}`, async () => {
        const dept = `walk-${rand()}`;
        for (const [i, u] of users.entries()) {
          const body: Record<string, unknown> = { schemas: [USER_SCHEMA, ENTERPRISE], userName: `w${i}-${rand()}@${dept}.example`, [ENTERPRISE]: { department: dept } };
          if (u.family) body.name = { familyName: u.family };
          if (u.nick) body.nickName = u.nick;
          if (i % 2) { body.displayName = `Person ${7 - i}`; body.externalId = `x-${rand()}`; body.emails = [{ value: `m${i}@${dept}.example`, type: 'work', primary: true }]; }
          const r = await api.post('/Users', body);
          assert.equal(r.status, 201, r.text);
          await new Promise((res) => setTimeout(res, 3));
        }
        await walk('/Users', `${ENTERPRISE}:department eq "${dept}"`, sort);
      });
    }

    test('/Groups sortBy=displayName, ascending and descending, names repeated', async () => {
      const tag = `g-${rand()}`;
      for (const n of ['b', 'a', 'c', 'b', 'a', 'd', 'c', 'e', 'a']) {
        const r = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `${tag} ${n} ${rand()}`, externalId: `${tag}-${rand()}` });
        assert.equal(r.status, 201, r.text);
      }
      await walk('/Groups', `displayName sw "${tag}"`, 'sortBy=displayName');
      await walk('/Groups', `displayName sw "${tag}"`, 'sortBy=displayName&sortOrder=descending');
      await walk('/Groups', `displayName sw "${tag}"`, 'sortBy=externalId&sortOrder=descending');
    });
  });
}
