/**
 * GET /Users and POST /Users/.search (RFC 7644 §3.4.2, §3.4.3): filters answered by SQL, sorting, paging,
 * attribute projection, and the probe and matching queries Entra ID and Okta send (clients.md E1, E2, O1, O2, O8).
 * The server runs with FILTER_MAX_RESULTS=10, below the default page size, so the cap is exercised on every list.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  client, createDatabase, ENTERPRISE, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer,
} from '../helpers/server.ts';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const MAX = 10;

for (const store of stores()) {
  describe(`/Users list, filter, sort, page [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let api: ReturnType<typeof client>;
    /** Every user of this suite carries the tag in its department, so filters can be scoped to this run. */
    const tag = `dept-${rand()}`;
    const users: Record<string, any> = {};
    const q = (filter: string, extra = '') => `/Users?filter=${encodeURIComponent(filter)}${extra}`;
    /** userNames (lower-cased) that a filter returns, sorted. */
    async function names(filter: string): Promise<string[]> {
      const res = await api.get(q(`(${filter}) and ${ENTERPRISE}:department eq "${tag}"`, `&count=${MAX}`));
      assert.equal(res.status, 200, `${filter}: ${res.text}`);
      assert.ok(res.body.totalResults <= MAX, 'test data must fit one page');
      return res.body.Resources.map((u: any) => u.userName.split('@')[0].toLowerCase()).sort();
    }

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { FILTER_MAX_RESULTS: String(MAX) } });
      api = client(server);
      const specs: [string, Record<string, unknown>][] = [
        ['alice', { title: 'Engineer', nickName: 'Al', name: { givenName: 'Alice', familyName: 'Zimmer' }, emails: [{ value: 'alice@work.example', type: 'work', primary: true }, { value: 'alice@home.example', type: 'home' }] }],
        ['Bob', { title: 'Manager', name: { givenName: 'Bob', familyName: 'Young' }, emails: [{ value: 'bob@work.example', type: 'work', primary: true }], active: false }],
        ['carol', { title: 'Engineer', name: { givenName: 'Carol', familyName: 'Xu' }, emails: [{ value: 'carol@home.example', type: 'home', primary: true }] }],
        ['dave', { name: { givenName: 'Dave', familyName: 'Walker' } }],
        ['erin', { title: 'Director', nickName: 'E', name: { givenName: 'Erin', familyName: 'Vance' }, emails: [{ value: 'erin@work.example', type: 'work' }] }],
        ['frank', { title: 'engineer', name: { givenName: 'Frank', familyName: 'Ulm' }, externalId: 'EXT-Frank' }],
      ];
      for (const [who, extra] of specs) {
        const body: Record<string, unknown> = {
          schemas: [USER_SCHEMA, ENTERPRISE], userName: `${who}@${tag}.example`, externalId: `ext-${who.toLowerCase()}-${tag}`,
          [ENTERPRISE]: { department: tag, employeeNumber: `${who.length}` }, ...extra,
        };
        if (Array.isArray(body.emails)) body.emails = (body.emails as any[]).map((e) => ({ ...e, value: e.value.replace('@', `.${tag}@`) }));
        const res = await api.post('/Users', body);
        assert.equal(res.status, 201, res.text);
        users[who.toLowerCase()] = res.body;
        await new Promise((r) => setTimeout(r, 3)); // distinct meta.created for the ordering tests
      }
      // A deleted user must never be listed.
      const gone = await api.post('/Users', { schemas: [USER_SCHEMA, ENTERPRISE], userName: `gone@${tag}.example`, [ENTERPRISE]: { department: tag }, title: 'Engineer' });
      assert.equal((await api.del(`/Users/${gone.body.id}`)).status, 204);
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });

    test('Entra test-connection probe: 200 and an empty ListResponse with integer fields (clients.md E1)', async () => {
      const res = await api.get('/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22');
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      assert.deepEqual(res.body.schemas, [LIST]);
      assert.equal(res.body.totalResults, 0);
      assert.deepEqual(res.body.Resources, []);
      assert.equal(res.body.startIndex, 1);
      assert.equal(res.body.itemsPerPage, 0);
    });

    test('userName eq matches case-insensitively and in any attribute-name case; the stored case is returned', async () => {
      for (const f of [`userName eq "bob@${tag}.example"`, `USERNAME eq "BOB@${tag.toUpperCase()}.EXAMPLE"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Bob@${tag}.example"`]) {
        const res = await api.get(q(f));
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.totalResults, 1, f);
        assert.equal(res.body.Resources[0].userName, `Bob@${tag}.example`);
        assert.equal(res.body.Resources[0].id, users.bob.id);
      }
    });

    test('Okta user lookup with startIndex and count, plus-encoded (clients.md O2)', async () => {
      const res = await api.get(`/Users?filter=userName+eq+%22alice%40${tag}.example%22&startIndex=1&count=100`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.totalResults, 1);
      assert.equal(res.body.Resources[0].id, users.alice.id);
      assert.equal(res.body.startIndex, 1);
      assert.equal(res.body.itemsPerPage, 1);
    });

    test('externalId is caseExact; a bare unquoted value is accepted (clients.md E2)', async () => {
      assert.deepEqual(await names(`externalId eq "EXT-Frank"`), ['frank']);
      assert.deepEqual(await names(`externalId eq "ext-frank"`), []);
      const res = await api.get(q(`externalId eq ext-alice-${tag}`));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.Resources[0]?.id, users.alice.id);
    });

    test('every comparison operator', async () => {
      assert.deepEqual(await names('title eq "engineer"'), ['alice', 'carol', 'frank']);
      assert.deepEqual(await names('title ne "engineer"'), ['bob', 'dave', 'erin']);
      assert.deepEqual(await names('name.familyName co "a"'), ['dave', 'erin']);
      assert.deepEqual(await names('name.givenName sw "C"'), ['carol']);
      assert.deepEqual(await names('name.givenName ew "E"'), ['alice', 'dave']);
      assert.deepEqual(await names('name.familyName gt "Xu"'), ['alice', 'bob']);
      assert.deepEqual(await names('name.familyName ge "Xu"'), ['alice', 'bob', 'carol']);
      assert.deepEqual(await names('name.familyName lt "Vance"'), ['frank']);
      assert.deepEqual(await names('name.familyName le "Vance"'), ['erin', 'frank']);
      assert.deepEqual(await names('nickName pr'), ['alice', 'erin']);
      assert.deepEqual(await names('active eq false'), ['bob']);
      assert.deepEqual(await names('active eq true'), ['alice', 'carol', 'dave', 'erin', 'frank']);
    });

    test('meta.created compares as a dateTime', async () => {
      const after = users.carol.meta.created;
      assert.deepEqual(await names(`meta.created gt "${after}"`), ['dave', 'erin', 'frank']);
      assert.deepEqual(await names(`meta.created le "${after}"`), ['alice', 'bob', 'carol']);
    });

    test('and, or, not and parentheses', async () => {
      assert.deepEqual(await names('title eq "engineer" and nickName pr'), ['alice']);
      assert.deepEqual(await names('title eq "manager" or title eq "director"'), ['bob', 'erin']);
      assert.deepEqual(await names('not (title pr)'), ['dave']);
      assert.deepEqual(await names('not (title eq "engineer")'), ['bob', 'dave', 'erin']);
      assert.deepEqual(await names('(title eq "engineer" or title eq "director") and not (nickName pr)'), ['carol', 'frank']);
      assert.deepEqual(await names('title eq "engineer" or title eq "director" and nickName pr'), ['alice', 'carol', 'erin', 'frank']);
    });

    test('value paths hold on one element: emails[type eq "work"].value (clients.md E2)', async () => {
      assert.deepEqual(await names(`emails[type eq "work"].value eq "alice.${tag}@work.example"`), ['alice']);
      // alice has a work email and a home email, but no single element is both home and at work.example.
      assert.deepEqual(await names('emails[type eq "home" and value co "@work."]'), []);
      assert.deepEqual(await names('emails[type eq "home"]'), ['alice', 'carol']);
      assert.deepEqual(await names('emails[primary eq true and type eq "work"]'), ['alice', 'bob']);
      assert.deepEqual(await names(`emails.value eq "CAROL.${tag.toUpperCase()}@HOME.EXAMPLE"`), ['carol']);
      assert.deepEqual(await names(`emails co "home.example"`), ['alice', 'carol']);
      assert.deepEqual(await names('emails pr'), ['alice', 'bob', 'carol', 'erin']);
      assert.deepEqual(await names('EMAILS[TYPE eq "work"].VALUE pr'), ['alice', 'bob', 'erin']);
    });

    test('enterprise extension attributes filter by their URN path', async () => {
      assert.deepEqual(await names(`${ENTERPRISE}:employeeNumber eq "5"`), ['alice', 'carol', 'frank']);
      const res = await api.get(q(`${ENTERPRISE}:department eq "${tag.toUpperCase()}"`, `&count=${MAX}`));
      assert.equal(res.body.totalResults, 6, 'department is caseExact=false');
    });

    test('deleted users are never listed; inactive users are (MS-TUT E7)', async () => {
      const res = await api.get(q(`userName eq "gone@${tag}.example"`));
      assert.equal(res.status, 200);
      assert.equal(res.body.totalResults, 0);
      assert.ok((await names('active eq false')).includes('bob'), 'inactive users are listed');
      assert.ok(!(await names('title eq "engineer"')).includes('gone'), '!(await names(\'title eq "engineer"\')).includes(\'gone\')');
    });

    test('unknown attributes, bad grammar and a bare word are 400 invalidFilter (clients.md §3.24)', async () => {
      for (const f of ['nosuch eq "x"', 'userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and', 'JOHN', 'emails[type eq "work"', 'name.nosuch eq "x"', 'active eq "maybe"', 'meta.created gt "yesterday"', 'userName[value eq "x"]', `urn:foo:bar:baz eq "x"`]) {
        const res = await api.get(q(f));
        assert.equal(res.status, 400, `${f}: ${res.text}`);
        assert.equal(res.body.scimType, 'invalidFilter', f);
        assert.equal(res.body.status, '400');
        assert.deepEqual(res.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
      }
    });

    test('count=0 gives the total only', async () => {
      const res = await api.get(q(`${ENTERPRISE}:department eq "${tag}"`, '&count=0'));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.totalResults, 6);
      assert.equal(res.body.itemsPerPage, 0);
      assert.equal((res.body.Resources ?? []).length, 0);
    });

    test('pages: integers in the response, startIndex echoed, stable and complete in any page size (clients.md O8)', async () => {
      for (const size of [1, 2, 4]) {
        const seen: string[] = [];
        for (let start = 1; ; start += size) {
          const res = await api.get(q(`${ENTERPRISE}:department eq "${tag}"`, `&startIndex=${start}&count=${size}`));
          assert.equal(res.status, 200, res.text);
          assert.equal(res.body.startIndex, start);
          assert.equal(typeof res.body.startIndex, 'number');
          assert.equal(typeof res.body.itemsPerPage, 'number');
          assert.equal(typeof res.body.totalResults, 'number');
          assert.equal(res.body.totalResults, 6);
          assert.equal(res.body.itemsPerPage, res.body.Resources.length);
          assert.ok(res.body.itemsPerPage <= size, 'a page is never larger than count');
          seen.push(...res.body.Resources.map((u: any) => u.id));
          if (start + size > res.body.totalResults) break;
        }
        assert.deepEqual(seen, ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((w) => users[w].id), `page size ${size}`);
      }
    });

    test('paging continues after the last row read: a user deleted from an earlier page shifts nothing', async () => {
      const dept = `pages-${rand()}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api.post('/Users', {
          schemas: [USER_SCHEMA, ENTERPRISE], userName: `p${i}@${dept}.example`, [ENTERPRISE]: { department: dept },
          emails: [{ value: `p${i}@${dept}.example`, type: 'work', primary: true }, { value: `p${i}.home@${dept}.example`, type: 'home' }],
        });
        assert.equal(res.status, 201, res.text);
        ids.push(res.body.id);
        await new Promise((r) => setTimeout(r, 3));
      }
      const page = async (start: number) => {
        const res = await api.get(q(`${ENTERPRISE}:department eq "${dept}"`, `&startIndex=${start}&count=2`));
        assert.equal(res.status, 200, res.text);
        // Multi-valued attributes come with every page, however it was read (first page, continuation or OFFSET).
        for (const u of res.body.Resources) {
          const i = ids.indexOf(u.id);
          assert.deepEqual(u.emails, [{ value: `p${i}@${dept}.example`, type: 'work', primary: true }, { value: `p${i}.home@${dept}.example`, type: 'home' }]);
        }
        return { ids: res.body.Resources.map((u: any) => u.id), total: res.body.totalResults, itemsPerPage: res.body.itemsPerPage };
      };
      assert.deepEqual(await page(1), { ids: ids.slice(0, 2), total: 5, itemsPerPage: 2 });
      assert.equal((await api.del(`/Users/${ids[0]}`)).status, 204);
      // OFFSET 2 would now start at p3 and skip p2; the next page continues after p1.
      assert.deepEqual(await page(3), { ids: ids.slice(2, 4), total: 4, itemsPerPage: 2 });
      assert.deepEqual(await page(5), { ids: ids.slice(4), total: 4, itemsPerPage: 1 });
      // A page nobody read before is plain OFFSET over the live rows.
      assert.deepEqual(await page(2), { ids: ids.slice(2, 4), total: 4, itemsPerPage: 2 });
      assert.deepEqual(await page(4), { ids: ids.slice(4), total: 4, itemsPerPage: 1 });
      for (const id of ids.slice(1)) assert.equal((await api.del(`/Users/${id}`)).status, 204);
    });

    test('startIndex past the end gives an empty page; startIndex < 1 is 1; non-integers are 400', async () => {
      const past = await api.get(q(`${ENTERPRISE}:department eq "${tag}"`, '&startIndex=50'));
      assert.equal(past.status, 200);
      assert.equal(past.body.totalResults, 6);
      assert.deepEqual(past.body.Resources ?? [], []);
      const zero = await api.get(q(`${ENTERPRISE}:department eq "${tag}"`, '&startIndex=0&count=1'));
      assert.equal(zero.body.startIndex, 1);
      assert.equal(zero.body.Resources[0].id, users.alice.id);
      for (const bad of ['startIndex=abc', 'count=1.5', 'count=ten']) {
        const res = await api.get(`/Users?${bad}`);
        assert.equal(res.status, 400, `${bad}: ${res.text}`);
        assert.equal(res.body.scimType, 'invalidValue');
      }
    });

    test('count is capped at filter.maxResults (RFC 7644 §3.4.2.4), also by default', async () => {
      for (let i = 0; i < MAX; i++) assert.equal((await api.post('/Users', { userName: `filler-${i}-${rand()}` })).status, 201);
      const big = await api.get('/Users?count=500');
      assert.equal(big.status, 200, big.text);
      assert.equal(big.body.Resources.length, MAX);
      assert.equal(big.body.itemsPerPage, MAX);
      assert.ok(big.body.totalResults > MAX, 'the total is not capped');
      const dflt = await api.get('/Users');
      assert.equal(dflt.body.Resources.length, MAX);
      const okta = await api.get('/Users?startIndex=1&count=2'); // Okta's test connection (clients.md O1)
      assert.equal(okta.status, 200);
      assert.equal(okta.body.Resources.length, 2);
    });

    test('sortBy and sortOrder; unassigned values sort last either way', async () => {
      const scope = q(`${ENTERPRISE}:department eq "${tag}"`);
      const order = async (params: string) => {
        const res = await api.get(`${scope}&count=${MAX}&${params}`);
        assert.equal(res.status, 200, res.text);
        return res.body.Resources.map((u: any) => u.userName.split('@')[0].toLowerCase());
      };
      assert.deepEqual(await order('sortBy=userName'), ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
      assert.deepEqual(await order('sortBy=userName&sortOrder=descending'), ['frank', 'erin', 'dave', 'carol', 'bob', 'alice']);
      assert.deepEqual(await order('sortBy=name.familyName'), ['frank', 'erin', 'dave', 'carol', 'bob', 'alice']);
      assert.deepEqual(await order('sortBy=NAME.FAMILYNAME&sortOrder=Descending'), ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
      const byNick = await order('sortBy=nickName');
      assert.deepEqual(byNick.slice(0, 2), ['alice', 'erin']);
      assert.deepEqual(byNick.slice(2).sort(), ['bob', 'carol', 'dave', 'frank']);
      const byNickDesc = await order('sortBy=nickName&sortOrder=descending');
      assert.deepEqual(byNickDesc.slice(0, 2), ['erin', 'alice']);
      assert.deepEqual(byNickDesc.slice(2).sort(), ['bob', 'carol', 'dave', 'frank']);
      assert.deepEqual(await order('sortBy=meta.created&sortOrder=descending'), ['frank', 'erin', 'dave', 'carol', 'bob', 'alice']);
      for (const bad of ['sortBy=nosuch', 'sortBy=userName&sortOrder=sideways']) {
        const res = await api.get(`${scope}&${bad}`);
        assert.equal(res.status, 400, `${bad}: ${res.text}`);
      }
    });

    test('attributes and excludedAttributes shape list and single reads (RFC 7644 §3.4.2.5)', async () => {
      const list = await api.get(q(`userName eq "alice@${tag}.example"`, '&attributes=userName,name.givenName'));
      assert.equal(list.status, 200, list.text);
      const u = list.body.Resources[0];
      assert.equal(u.id, users.alice.id);
      assert.equal(u.userName, `alice@${tag}.example`);
      assert.deepEqual(u.name, { givenName: 'Alice' });
      assert.equal(u.emails, undefined);
      assert.equal(u.title, undefined);
      assert.deepEqual(u.schemas, [USER_SCHEMA], 'only the schemas whose attributes are present (RFC 7643 §3)');

      const one = await api.get(`/Users/${users.alice.id}?excludedAttributes=emails,name`);
      assert.equal(one.status, 200);
      assert.equal(one.body.emails, undefined);
      assert.equal(one.body.name, undefined);
      assert.equal(one.body.title, 'Engineer');
      assert.equal(one.body.userName, `alice@${tag}.example`);
      assert.equal(one.body.id, users.alice.id);

      const ent = await api.get(`/Users/${users.alice.id}?attributes=${ENTERPRISE}:department`);
      assert.equal(ent.status, 200, ent.text);
      assert.deepEqual(ent.body[ENTERPRISE], { department: tag });
      assert.deepEqual(ent.body.schemas, [USER_SCHEMA, ENTERPRISE]);
      assert.equal(ent.body.title, undefined);
      assert.equal(ent.body.id, users.alice.id);
    });

    test('attribute lists that are not attribute paths are 400 invalidValue, never 500', async () => {
      for (const q of ['attributes=true', 'excludedAttributes=FALSE', 'attributes=userName,true', 'attributes=emails[type', 'attributes=a b', 'attributes=,']) {
        for (const path of [`/Users/${users.alice.id}?${q}`, `/Users?${q}`]) {
          const res = await api.get(path);
          assert.equal(res.status, 400, `${path}: ${res.text}`);
          assert.equal(res.body.scimType, 'invalidValue', path);
        }
      }
      const search = await api.post('/Users/.search', { schemas: [SEARCH], attributes: ['true'] });
      assert.equal(search.status, 400, search.text);
    });

    test('POST /Users/.search takes a SearchRequest body (RFC 7644 §3.4.3)', async () => {
      const res = await api.post('/Users/.search', {
        schemas: [SEARCH], filter: `title eq "engineer" and ${ENTERPRISE}:department eq "${tag}"`,
        sortBy: 'userName', sortOrder: 'descending', startIndex: 2, count: 1, attributes: ['userName'],
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, [LIST]);
      assert.equal(res.body.totalResults, 3);
      assert.equal(res.body.startIndex, 2);
      assert.equal(res.body.itemsPerPage, 1);
      assert.equal(res.body.Resources[0].id, users.carol.id);
      assert.equal(res.body.Resources[0].title, undefined);
      const bad = await api.post('/Users/.search', { schemas: [SEARCH], filter: 'title eq' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.scimType, 'invalidFilter');
      const excluded = await api.post('/Users/.search', { schemas: [SEARCH], filter: `userName eq "carol@${tag}.example"`, excludedAttributes: ['emails'] });
      assert.equal(excluded.body.Resources[0].emails, undefined);
      assert.equal(excluded.body.Resources[0].title, 'Engineer');
    });

    test('a filter value with quotes, backslashes and LIKE wildcards is matched literally', async () => {
      const r = rand();
      const weird = `we"ird\\%_${r}`;
      const res = await api.post('/Users', { userName: `weird-${r}`, displayName: weird, [ENTERPRISE]: { department: `w-${r}` } });
      assert.equal(res.status, 201, res.text);
      const enc = JSON.stringify(weird);
      for (const f of [`displayName eq ${enc}`, `displayName co "\\\\%_"`, `displayName sw "we\\"ird"`]) {
        const got = await api.get(q(f));
        assert.equal(got.status, 200, `${f}: ${got.text}`);
        assert.deepEqual(got.body.Resources.map((u: any) => u.id), [res.body.id], f);
      }
      assert.equal((await api.get(q(`displayName co "%"`))).body.totalResults, 1);
    });
  });
}
