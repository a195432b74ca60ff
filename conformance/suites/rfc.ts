/**
 * RFC 7643 / RFC 7644 behaviour not covered by the IdP replays: discovery, error bodies,
 * authentication, the full filter grammar, sorting, paging edges, attribute projection,
 * ETags, POST /.search, mutability and uniqueness.
 *
 * Filter, sort and paging checks run on a fixture of four users whose userNames start with a
 * run-unique prefix; every filter is ANDed with `userName sw "<prefix>"` so that data already on
 * the server cannot interfere.
 */
import { expect, expectEqual, expectJsonObject, expectSameSet, expectStatus, fail, show } from '../lib/assert.ts';
import type { Ctx } from '../lib/context.ts';
import { createUser, getUser, idPath, newUser, trackCreated, userBody, type Json } from '../lib/fixtures.ts';
import { pctEncode, type ScimResponse } from '../lib/http.ts';
import type { Check } from '../lib/runner.ts';
import {
  URN,
  emailsOfType,
  expectList,
  expectPatchOk,
  expectScimError,
  hasSchema,
  idsOf,
  isUnassigned,
  patchOp,
  pick,
} from '../lib/scim.ts';

const WHO = ['alice', 'bob', 'carol', 'dave'] as const;
type Who = (typeof WHO)[number];

interface FilterData {
  /** Every fixture userName starts with it. */
  prefix: string;
  /** The userName domain, unique to the run. */
  domain: string;
  id: Record<Who, string>;
  userName: Record<Who, string>;
  names: Map<string, string>;
}

/**
 * Four users, created once per run:
 *   alice  Engineer  nickName  active   work+home email   "Alice Smith"
 *   bob    Manager   -         active   work email        "Bob Jones"
 *   carol  Engineer  nickName  inactive work email        "Carol Brown"
 *   dave   Designer  -         active   home email        "Dave Clark"
 */
function fixture(ctx: Ctx): Promise<FilterData> {
  return ctx.memo('rfc.fixture', async () => {
    const prefix = `${ctx.run.prefix}rf.`;
    const domain = `${ctx.run.id}.example.com`;
    const mail = (local: string) => `${local}.${ctx.run.id}@example.com`;
    const spec: Record<Who, Json> = {
      alice: {
        title: 'Engineer',
        nickName: 'ally',
        displayName: 'Alice Smith',
        active: true,
        emails: [
          { type: 'work', value: mail('alice'), primary: true },
          { type: 'home', value: mail('alice.home') },
        ],
      },
      bob: { title: 'Manager', displayName: 'Bob Jones', active: true, emails: [{ type: 'work', value: mail('bob'), primary: true }] },
      carol: {
        title: 'Engineer',
        nickName: 'caro',
        displayName: 'Carol Brown',
        active: false,
        emails: [{ type: 'work', value: mail('carol'), primary: true }],
      },
      dave: { title: 'Designer', displayName: 'Dave Clark', active: true, emails: [{ type: 'home', value: mail('dave.home'), primary: true }] },
    };
    const id = {} as Record<Who, string>;
    const userName = {} as Record<Who, string>;
    const names = new Map<string, string>();
    for (const who of WHO) {
      userName[who] = `${prefix}${who}@${domain}`;
      const u = await createUser(ctx, userBody(ctx, 'rf', { userName: userName[who], ...spec[who] }), ctx.http, `fixture: create ${who}`);
      id[who] = u.id;
      names.set(u.id, who);
    }
    return { prefix, domain, id, userName, names };
  });
}

/** GET /Users with `userName sw "<prefix>" and (<expr>)`. */
async function scoped(ctx: Ctx, data: FilterData, expr: string | undefined, extra = ''): Promise<ScimResponse> {
  const f = expr === undefined ? `userName sw "${data.prefix}"` : `userName sw "${data.prefix}" and (${expr})`;
  return ctx.http.get(`/Users?filter=${pctEncode(f)}${extra}`);
}

async function expectFilter(ctx: Ctx, data: FilterData, expr: string, want: Who[]): Promise<void> {
  const res = await scoped(ctx, data, expr);
  if (res.status === 400) fail(`filter ${expr}: rejected with 400, but it is valid RFC 7644 §3.4.2.2 syntax`, res);
  const list = expectList(res, `filter ${expr}`);
  expectSameSet(idsOf(list.Resources), want.map((w) => data.id[w]), `filter ${expr}`, res, data.names);
  expectEqual(list.totalResults, want.length, `filter ${expr}: totalResults`, res);
}

async function etagSupported(ctx: Ctx): Promise<void> {
  const spc = await ctx.spc();
  if (!spc) fail('GET /ServiceProviderConfig did not return a JSON object, so ETag support cannot be determined');
  if (pick(spc, 'etag.supported') !== true) ctx.skip('ServiceProviderConfig etag.supported is not true (ETags are optional, RFC 7644 §3.14)');
}

function expectAbsent(obj: unknown, paths: string[], what: string, res?: ScimResponse): void {
  const present = paths.filter((p) => !isUnassigned(pick(obj, p)));
  expect(present.length === 0, `${what}: ${present.join(', ')} must not be returned, got ${show(obj)}`, res);
}

function expectPresent(obj: unknown, paths: string[], what: string, res?: ScimResponse): void {
  const missing = paths.filter((p) => isUnassigned(pick(obj, p)));
  expect(missing.length === 0, `${what}: ${missing.join(', ')} must be returned, got ${show(obj)}`, res);
}

const DISCOVERY = ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas'];

export const rfcChecks: Check[] = [
  // ---------------------------------------------------------------- discovery
  {
    suite: 'rfc',
    name: 'spc-required-fields',
    source: 'RFC 7643 §5 (ServiceProviderConfig: patch, bulk, filter, changePassword, sort, etag, authenticationSchemes are REQUIRED)',
    async run(ctx) {
      const res = await ctx.http.get('/ServiceProviderConfig');
      expectStatus(res, 200, 'GET /ServiceProviderConfig');
      const spc = expectJsonObject(res);
      expect(hasSchema(spc, URN.spc), `schemas must contain ${URN.spc}`, res);
      const problems: string[] = [];
      for (const f of ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag']) {
        if (typeof pick(spc, `${f}.supported`) !== 'boolean') problems.push(`${f}.supported (boolean)`);
      }
      for (const f of ['bulk.maxOperations', 'bulk.maxPayloadSize', 'filter.maxResults']) {
        if (!Number.isInteger(pick(spc, f))) problems.push(`${f} (integer)`);
      }
      const schemes = pick(spc, 'authenticationSchemes');
      if (!Array.isArray(schemes) || schemes.length === 0) problems.push('authenticationSchemes (non-empty array)');
      else
        schemes.forEach((s, i) => {
          for (const f of ['type', 'name', 'description']) if (typeof pick(s, f) !== 'string' || pick(s, f) === '') problems.push(`authenticationSchemes[${i}].${f}`);
        });
      if (problems.length) fail(`missing or mistyped: ${problems.join(', ')}`, res);
      expectEqual(pick(spc, 'patch.supported'), true, 'patch.supported (Entra and Okta both need PATCH)', res);
      expectEqual(pick(spc, 'filter.supported'), true, 'filter.supported', res);
    },
  },
  {
    suite: 'rfc',
    name: 'discovery-write-methods-405',
    source: 'RFC 7644 §4 (discovery endpoints are read-only, GET); RFC 7231 §6.5.5 (405 MUST carry Allow); OKTA-SPEC steps 2-4',
    async run(ctx) {
      const problems: string[] = [];
      let lastBad: ScimResponse | undefined;
      for (const path of DISCOVERY) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await ctx.http.request(method, path, method === 'DELETE' ? {} : { body: { schemas: [URN.spc] } });
          if (res.status !== 405) {
            problems.push(`${method} ${path} -> ${res.status}`);
            lastBad = res;
          } else if (!/\bGET\b/i.test(res.header('allow') ?? '')) {
            problems.push(`${method} ${path} -> 405 without an Allow header listing GET`);
            lastBad = res;
          }
        }
      }
      if (problems.length) fail(`expected 405 Method Not Allowed with Allow: GET: ${problems.join('; ')}`, lastBad);
    },
  },
  {
    suite: 'rfc',
    name: 'resource-types-user-and-group',
    source: 'RFC 7643 §6 (ResourceType: name, endpoint, schema REQUIRED); RFC 7644 §4',
    async run(ctx) {
      const res = await ctx.http.get('/ResourceTypes');
      const list = expectList(res, 'GET /ResourceTypes');
      const find = (name: string) => list.Resources.find((r) => String(pick(r, 'name')).toLowerCase() === name.toLowerCase());
      const user = find('User');
      const group = find('Group');
      expect(user, 'no ResourceType named "User"', res);
      expect(group, 'no ResourceType named "Group"', res);
      expectEqual(pick(user, 'endpoint'), '/Users', 'User endpoint', res);
      expectEqual(pick(user, 'schema'), URN.user, 'User schema', res);
      expectEqual(pick(group, 'endpoint'), '/Groups', 'Group endpoint', res);
      expectEqual(pick(group, 'schema'), URN.group, 'Group schema', res);
      const entSchema = await ctx.http.get(`/Schemas/${URN.enterprise}`);
      if (entSchema.status === 200) {
        const exts = pick(user, 'schemaExtensions');
        expect(
          Array.isArray(exts) && exts.some((e) => pick(e, 'schema') === URN.enterprise && typeof pick(e, 'required') === 'boolean'),
          `/Schemas serves the enterprise extension, so the User ResourceType must list it in schemaExtensions with a boolean "required", got ${show(exts)}`,
          res,
        );
      }
      const one = await ctx.http.get('/ResourceTypes/User');
      expectStatus(one, 200, 'GET /ResourceTypes/User');
      expectEqual(pick(one.json, 'name'), 'User', 'name of /ResourceTypes/User', one);
    },
  },
  {
    suite: 'rfc',
    name: 'schemas-by-id',
    source: 'RFC 7644 §4 (GET /Schemas/{schema URN}); RFC 7643 §7',
    async run(ctx) {
      for (const urn of [URN.user, URN.group, URN.enterprise]) {
        const res = await ctx.http.get(`/Schemas/${urn}`);
        expectStatus(res, 200, `GET /Schemas/${urn}`);
        expectEqual(pick(res.json, 'id'), urn, 'schema id', res);
        const attrs = pick(res.json, 'attributes');
        expect(Array.isArray(attrs) && attrs.length > 0, `${urn}: attributes must be a non-empty array`, res);
      }
      const res = await ctx.http.get('/Schemas/urn:example:params:scim:schemas:nonexistent');
      expectScimError(res, 404, undefined, 'GET /Schemas/<unknown urn>');
    },
  },
  {
    suite: 'rfc',
    name: 'content-type-scim-json',
    source: 'RFC 7644 §3.8 (MUST support Accept: application/scim+json); RFC 7644 §8.1',
    async run(ctx) {
      const u = await newUser(ctx, 'ctype');
      const probes: [string, () => Promise<ScimResponse>][] = [
        ['GET resource', () => ctx.http.get(idPath('Users', u.id))],
        ['GET list', () => ctx.http.get('/Users?count=1')],
        ['GET unknown id (error)', () => ctx.http.get(idPath('Users', ctx.run.uuid()))],
        ['GET /ServiceProviderConfig', () => ctx.http.get('/ServiceProviderConfig')],
      ];
      for (const [what, call] of probes) {
        const res = await call();
        const ct = res.header('content-type') ?? '';
        expect(/^application\/scim\+json\b/i.test(ct), `${what}: Content-Type must be application/scim+json, got ${show(ct || undefined)}`, res);
      }
    },
  },
  {
    suite: 'rfc',
    name: 'create-location-and-meta',
    source: 'RFC 7644 §3.3 (201, Location header and meta.location); RFC 7643 §3.1 (meta)',
    async run(ctx) {
      const body = userBody(ctx, 'loc');
      const res = await ctx.http.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 201, 'POST /Users');
      const u = expectJsonObject(res);
      const id = String(pick(u, 'id'));
      const loc = res.header('location');
      expect(loc, 'the 201 must carry a Location header', res);
      expectEqual(pick(u, 'meta.location'), loc, 'meta.location (must equal the Location header)', res);
      expect(loc.endsWith(`/Users/${id}`), `Location must end with /Users/${id}, got ${loc}`, res);
      expectEqual(pick(u, 'meta.resourceType'), 'User', 'meta.resourceType', res);
      for (const f of ['meta.created', 'meta.lastModified']) {
        const v = pick(u, f);
        expect(typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) && !Number.isNaN(Date.parse(v)), `${f} must be an xsd:dateTime, got ${show(v)}`, res);
      }
      const byLoc = await ctx.http.get(loc);
      expectStatus(byLoc, 200, 'GET the Location URL');
      expectEqual(pick(byLoc.json, 'id'), id, 'id at the Location URL', byLoc);
    },
  },
  // ---------------------------------------------------------------- errors and auth
  {
    suite: 'rfc',
    name: 'error-unknown-id-404',
    source: 'RFC 7644 §3.12 (404 with Error body; status as a string)',
    async run(ctx) {
      const id = ctx.run.uuid();
      expectScimError(await ctx.http.get(idPath('Users', id)), 404, undefined, 'GET /Users/<unknown>');
      const putRes = await ctx.http.put(idPath('Users', id), userBody(ctx, 'ghost'));
      trackCreated(ctx, 'Users', putRes);
      expectScimError(putRes, 404, undefined, 'PUT /Users/<unknown>');
      expectScimError(
        await ctx.http.patch(idPath('Users', id), patchOp({ op: 'replace', path: 'title', value: 'x' })),
        404,
        undefined,
        'PATCH /Users/<unknown>',
      );
      expectScimError(await ctx.http.delete(idPath('Users', id)), 404, undefined, 'DELETE /Users/<unknown>');
      expectScimError(await ctx.http.get(idPath('Groups', id)), 404, undefined, 'GET /Groups/<unknown>');
    },
  },
  {
    suite: 'rfc',
    name: 'error-malformed-json-400',
    source: 'RFC 7644 §3.12 (400 invalidSyntax: "The request body message structure was invalid")',
    async run(ctx) {
      const res = await ctx.http.request('POST', '/Users', { rawBody: `{"schemas": ["${URN.user}"], "userName": ` });
      trackCreated(ctx, 'Users', res);
      expectScimError(res, 400, 'invalidSyntax', 'POST with truncated JSON');
    },
  },
  {
    suite: 'rfc',
    name: 'create-missing-userName-400',
    source: 'RFC 7643 §4.1 (userName REQUIRED); RFC 7644 §3.12 (400 invalidValue: "A required value was missing")',
    async run(ctx) {
      const body = userBody(ctx, 'nouser');
      delete body.userName;
      const res = await ctx.http.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectScimError(res, 400, 'invalidValue', 'POST without userName');
    },
  },
  {
    suite: 'rfc',
    name: 'error-filter-unknown-attribute',
    source: 'RFC 7644 §3.4.2.2 and §3.12 (400 invalidFilter: "the specified attribute and filter comparison combination is not supported")',
    async run(ctx) {
      const res = await ctx.http.get(`/Users?filter=${pctEncode('cfNoSuchAttribute eq "x"')}`);
      expectScimError(res, 400, 'invalidFilter', 'filter on an undefined attribute');
    },
  },
  {
    suite: 'rfc',
    name: 'error-filter-bad-grammar',
    source: 'RFC 7644 §3.4.2.2 (Figure 1 ABNF); RFC 7644 §3.12 (400 invalidFilter)',
    async run(ctx) {
      for (const f of ['userName eq', 'userName zz "x"', '(userName eq "x"', 'userName eq "x" and', 'userName eq "x', 'and userName eq "x"', 'userName eq "x")']) {
        const res = await ctx.http.get(`/Users?filter=${pctEncode(f)}`);
        expectScimError(res, 400, 'invalidFilter', `filter ${f}`);
      }
    },
  },
  {
    suite: 'rfc',
    name: 'auth-wrong-token-401',
    source: 'RFC 7644 §2 and §3.12 (401); RFC 6750 §3 and RFC 7235 §3.1 (401 MUST carry WWW-Authenticate)',
    async run(ctx) {
      const wrong = { bearer: `conformance-wrong-${ctx.run.word()}` };
      const get = await ctx.http.get('/Users', { auth: wrong });
      expectStatus(get, 401, 'GET /Users with a wrong token');
      expect(get.header('www-authenticate'), '401 must carry a WWW-Authenticate header', get);
      const post = await ctx.http.post('/Users', userBody(ctx, 'noauth'), { auth: wrong });
      trackCreated(ctx, 'Users', post);
      expectStatus(post, 401, 'POST /Users with a wrong token');
    },
  },
  {
    suite: 'rfc',
    name: 'auth-missing-token-401',
    source: 'RFC 7644 §2 and §3.12 (401); RFC 6750 §3 (WWW-Authenticate: Bearer)',
    async run(ctx) {
      for (const path of ['/Users', '/Groups']) {
        const res = await ctx.http.get(path, { auth: 'none' });
        expectStatus(res, 401, `GET ${path} without Authorization`);
        expect(/bearer/i.test(res.header('www-authenticate') ?? ''), `401 must carry WWW-Authenticate: Bearer ..., got ${show(res.header('www-authenticate'))}`, res);
      }
    },
  },
  // ---------------------------------------------------------------- filters
  {
    suite: 'rfc',
    name: 'filter-eq',
    source: 'RFC 7644 §3.4.2.2 (eq)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, `userName eq "${d.userName.alice}"`, ['alice']);
      await expectFilter(ctx, d, 'title eq "Engineer"', ['alice', 'carol']);
      await expectFilter(ctx, d, `id eq "${d.id.bob}"`, ['bob']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-ne',
    source: 'RFC 7644 §3.4.2.2 (ne)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'title ne "Engineer"', ['bob', 'dave']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-co',
    source: 'RFC 7644 §3.4.2.2 (co; caseExact false compares case-insensitively); RFC 7643 §4.1 (displayName)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'displayName co "lic"', ['alice']);
      await expectFilter(ctx, d, 'displayName co "LIC"', ['alice']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-sw',
    source: 'RFC 7644 §3.4.2.2 (sw)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, `userName sw "${d.prefix}b"`, ['bob']);
      await expectFilter(ctx, d, 'displayName sw "Ca"', ['carol']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-ew',
    source: 'RFC 7644 §3.4.2.2 (ew)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, `userName ew "e@${d.domain}"`, ['alice', 'dave']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-gt-ge-lt-le',
    source: 'RFC 7644 §3.4.2.2 (gt ge lt le; strings compare lexicographically)',
    async run(ctx) {
      const d = await fixture(ctx);
      const bob = d.userName.bob;
      await expectFilter(ctx, d, `userName gt "${bob}"`, ['carol', 'dave']);
      await expectFilter(ctx, d, `userName ge "${bob}"`, ['bob', 'carol', 'dave']);
      await expectFilter(ctx, d, `userName lt "${bob}"`, ['alice']);
      await expectFilter(ctx, d, `userName le "${bob}"`, ['alice', 'bob']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-pr',
    source: 'RFC 7644 §3.4.2.2 (pr)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'nickName pr', ['alice', 'carol']);
      await expectFilter(ctx, d, 'title pr', ['alice', 'bob', 'carol', 'dave']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-and-or-not-precedence',
    source: 'RFC 7644 §3.4.2.2 (and, or, not, grouping; "and" binds tighter than "or")',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'title eq "Engineer" or title eq "Designer"', ['alice', 'carol', 'dave']);
      await expectFilter(ctx, d, 'title eq "Manager" or title eq "Engineer" and active eq false', ['bob', 'carol']);
      await expectFilter(ctx, d, '(title eq "Manager" or title eq "Engineer") and active eq false', ['carol']);
      await expectFilter(ctx, d, 'not (title eq "Engineer")', ['bob', 'dave']);
      await expectFilter(ctx, d, 'title eq "Engineer" and not (nickName eq "caro")', ['alice']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-boolean',
    source: 'RFC 7644 §3.4.2.2 (eq on a boolean)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'active eq false', ['carol']);
      await expectFilter(ctx, d, 'active eq true', ['alice', 'bob', 'dave']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-value-path',
    source: 'RFC 7644 §3.4.2.2 (valuePath "emails[type eq \\"work\\" and value co ...]"; multi-valued sub-attribute matches any value)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, 'emails[type eq "work" and value co "alice"]', ['alice']);
      await expectFilter(ctx, d, 'emails[type eq "home"]', ['alice', 'dave']);
      await expectFilter(ctx, d, 'emails.type eq "home"', ['alice', 'dave']);
      await expectFilter(ctx, d, `emails.value eq "bob.${ctx.run.id}@example.com"`, ['bob']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-case-insensitive-names-and-operators',
    source: 'RFC 7644 §3.4.2.2 ("Attribute names and attribute operators used in filters are case insensitive"); RFC 7643 §2.1, §4.1 (userName caseExact false)',
    async run(ctx) {
      const d = await fixture(ctx);
      await expectFilter(ctx, d, `UserName EQ "${d.userName.alice}"`, ['alice']);
      await expectFilter(ctx, d, `userName eq "${d.userName.alice.toUpperCase()}"`, ['alice']);
      await expectFilter(ctx, d, 'TITLE Eq "engineer"', ['alice', 'carol']);
      await expectFilter(ctx, d, `userName SW "${d.prefix.toUpperCase()}A"`, ['alice']);
    },
  },
  {
    suite: 'rfc',
    name: 'filter-meta-lastModified',
    source: 'RFC 7644 §3.4.2.2 (gt/lt on dateTime, e.g. meta.lastModified gt "2011-05-13T04:42:34Z")',
    async run(ctx) {
      const prefix = `${ctx.run.prefix}lm${ctx.run.word()}.`;
      const first = await createUser(ctx, userBody(ctx, 'lm', { userName: `${prefix}first@example.com` }));
      const firstLm = pick(first, 'meta.lastModified');
      expect(typeof firstLm === 'string' && !Number.isNaN(Date.parse(firstLm)), `meta.lastModified must be a dateTime, got ${show(firstLm)}`);
      await ctx.sleep(2100);
      const second = await createUser(ctx, userBody(ctx, 'lm', { userName: `${prefix}second@example.com` }));
      // first was written before t+1s (the value may be truncated to whole seconds); second at least 2 s later.
      const boundary = new Date(Date.parse(firstLm) + 1200).toISOString();
      const names = new Map([
        [first.id, 'first'],
        [second.id, 'second'],
      ]);
      for (const [op, want] of [
        ['gt', [second.id]],
        ['ge', [second.id]],
        ['lt', [first.id]],
        ['le', [first.id]],
      ] as const) {
        const expr = `userName sw "${prefix}" and meta.lastModified ${op} "${boundary}"`;
        const res = await ctx.http.get(`/Users?filter=${pctEncode(expr)}`);
        const list = expectList(res, `filter ${expr}`);
        expectSameSet(idsOf(list.Resources), [...want], `filter meta.lastModified ${op} ${boundary}`, res, names);
      }
    },
  },
  // ---------------------------------------------------------------- sorting and paging
  {
    suite: 'rfc',
    name: 'sort-by-userName',
    source: 'RFC 7644 §3.4.2.3 (sortBy, sortOrder ascending/descending; optional, see SPC sort.supported)',
    async run(ctx) {
      const spc = await ctx.spc();
      if (pick(spc, 'sort.supported') !== true) ctx.skip('ServiceProviderConfig sort.supported is not true (sorting is optional)');
      const d = await fixture(ctx);
      const asc = WHO.map((w) => d.id[w]);
      for (const [q, want] of [
        ['&sortBy=userName', asc],
        ['&sortBy=userName&sortOrder=ascending', asc],
        ['&sortBy=userName&sortOrder=descending', [...asc].reverse()],
      ] as const) {
        const res = await scoped(ctx, d, undefined, q);
        const list = expectList(res, `list ${q}`);
        const got = idsOf(list.Resources);
        const label = (ids: readonly string[]) => ids.map((i) => d.names.get(i) ?? i).join(', ');
        expect(JSON.stringify(got) === JSON.stringify(want), `${q}: expected order [${label(want)}], got [${label(got)}]`, res);
      }
    },
  },
  {
    suite: 'rfc',
    name: 'paging-count-zero',
    source: 'RFC 7644 §3.4.2.4 (count "0" returns no resources except totalResults)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await scoped(ctx, d, undefined, '&count=0');
      const list = expectList(res, 'count=0', { total: 4 });
      expect(list.Resources.length === 0, `count=0 must return no resources, got ${list.Resources.length}`, res);
    },
  },
  {
    suite: 'rfc',
    name: 'paging-negative-count',
    source: 'RFC 7644 §3.4.2.4 (a negative count SHALL be interpreted as 0)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await scoped(ctx, d, undefined, '&count=-1');
      const list = expectList(res, 'count=-1', { total: 4 });
      expect(list.Resources.length === 0, `count=-1 must be treated as 0, got ${list.Resources.length} resources`, res);
    },
  },
  {
    suite: 'rfc',
    name: 'paging-startIndex-beyond-end',
    source: 'RFC 7644 §3.4.2.4 (startIndex is 1-based; past the end the page is empty, totalResults unchanged)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await scoped(ctx, d, undefined, '&startIndex=10&count=5');
      const list = expectList(res, 'startIndex=10&count=5', { total: 4 });
      expect(list.Resources.length === 0, `expected an empty page, got ${list.Resources.length} resources`, res);
      if (list.startIndex !== undefined) expectEqual(list.startIndex, 10, 'startIndex', res);
    },
  },
  {
    suite: 'rfc',
    name: 'paging-startIndex-below-1',
    source: 'RFC 7644 §3.4.2.4 (a startIndex less than 1 SHALL be interpreted as 1)',
    async run(ctx) {
      const d = await fixture(ctx);
      const ref = expectList(await scoped(ctx, d, undefined, '&startIndex=1&count=2'), 'startIndex=1&count=2', { total: 4 });
      for (const s of [0, -3]) {
        const res = await scoped(ctx, d, undefined, `&startIndex=${s}&count=2`);
        const list = expectList(res, `startIndex=${s}&count=2`, { total: 4, paged: true });
        expectEqual(list.startIndex, 1, `startIndex=${s}: response startIndex`, res);
        expectEqual(idsOf(list.Resources), idsOf(ref.Resources), `startIndex=${s}: same page as startIndex=1`, res);
      }
    },
  },
  {
    suite: 'rfc',
    name: 'paging-pages-disjoint',
    source: 'RFC 7644 §3.4.2.4 (startIndex/count pages); OKTA-REF O8 (stable ordering across pages)',
    async run(ctx) {
      const d = await fixture(ctx);
      const seen: string[] = [];
      for (const start of [1, 3]) {
        const res = await scoped(ctx, d, undefined, `&startIndex=${start}&count=2`);
        const list = expectList(res, `startIndex=${start}&count=2`, { total: 4, paged: true });
        expectEqual(list.startIndex, start, 'startIndex', res);
        expect(list.Resources.length === 2, `expected 2 resources, got ${list.Resources.length}`, res);
        seen.push(...idsOf(list.Resources));
      }
      expectSameSet(seen, WHO.map((w) => d.id[w]), 'both pages together', undefined, d.names);
    },
  },
  // ---------------------------------------------------------------- attribute projection
  {
    suite: 'rfc',
    name: 'attributes-param',
    source: 'RFC 7644 §3.9 (attributes; id is returned "always"); RFC 7643 §7 (returned)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await ctx.http.get(`${idPath('Users', d.id.alice)}?attributes=userName`);
      expectStatus(res, 200, 'GET ?attributes=userName');
      expectPresent(res.json, ['id', 'userName', 'schemas'], '?attributes=userName', res);
      expectAbsent(res.json, ['name', 'emails', 'title', 'displayName', 'nickName'], '?attributes=userName', res);
      const lr = await scoped(ctx, d, `userName eq "${d.userName.alice}"`, '&attributes=userName');
      const list = expectList(lr, 'list with attributes=userName', { total: 1 });
      expectPresent(list.Resources[0], ['id', 'userName'], 'list with attributes=userName', lr);
      expectAbsent(list.Resources[0], ['name', 'emails', 'title'], 'list with attributes=userName', lr);
    },
  },
  {
    suite: 'rfc',
    name: 'attributes-sub-attribute',
    source: 'RFC 7644 §3.10 (attribute notation "name.familyName")',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await ctx.http.get(`${idPath('Users', d.id.alice)}?attributes=name.familyName`);
      expectStatus(res, 200, 'GET ?attributes=name.familyName');
      expectPresent(res.json, ['id', 'name.familyName'], '?attributes=name.familyName', res);
      expectAbsent(res.json, ['name.givenName', 'emails', 'title'], '?attributes=name.familyName', res);
    },
  },
  {
    suite: 'rfc',
    name: 'excludedAttributes-param',
    source: 'RFC 7644 §3.9 (excludedAttributes; attributes returned "always" cannot be excluded)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await ctx.http.get(`${idPath('Users', d.id.alice)}?excludedAttributes=emails,name`);
      expectStatus(res, 200, 'GET ?excludedAttributes=emails,name');
      expectAbsent(res.json, ['emails', 'name'], '?excludedAttributes=emails,name', res);
      expectPresent(res.json, ['id', 'userName', 'title'], '?excludedAttributes=emails,name', res);
      const res2 = await ctx.http.get(`${idPath('Users', d.id.alice)}?excludedAttributes=id`);
      expectStatus(res2, 200, 'GET ?excludedAttributes=id');
      expectPresent(res2.json, ['id'], '?excludedAttributes=id (id is returned "always")', res2);
    },
  },
  // ---------------------------------------------------------------- ETags
  {
    suite: 'rfc',
    name: 'etag-header-matches-version',
    source: 'RFC 7644 §3.14 (ETag header); RFC 7643 §3.1 (meta.version, if included, MUST match the ETag)',
    async run(ctx) {
      await etagSupported(ctx);
      const u = await newUser(ctx, 'etag');
      const res = await ctx.http.get(idPath('Users', u.id));
      expectStatus(res, 200, 'GET user');
      const etag = res.header('etag');
      expect(etag, 'etag.supported is true, so GET must return an ETag header', res);
      const version = pick(res.json, 'meta.version');
      if (version === undefined) ctx.note('meta.version is not returned (SHOULD per RFC 7644 §3.14)');
      else expectEqual(version, etag, 'meta.version vs the ETag header', res);
      expectPatchOk(await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'replace', path: 'title', value: `T${ctx.run.word()}` })), u.id);
      const after = await ctx.http.get(idPath('Users', u.id));
      expectStatus(after, 200, 'GET after PATCH');
      expect(after.header('etag') && after.header('etag') !== etag, `the ETag must change after a modification (was ${etag}, now ${after.header('etag')})`, after);
    },
  },
  {
    suite: 'rfc',
    name: 'etag-if-match',
    source: 'RFC 7644 §3.14 (If-Match on PUT and PATCH; 412 Precondition Failed on mismatch); RFC 7232 §3.1',
    async run(ctx) {
      await etagSupported(ctx);
      const u = await newUser(ctx, 'ifm', { title: 'Original' });
      const first = await ctx.http.get(idPath('Users', u.id));
      expectStatus(first, 200, 'GET user');
      const etag = first.header('etag');
      expect(etag, 'GET must return an ETag header', first);
      const stale = `W/"conformance-stale-${ctx.run.word()}"`;
      const putBody = { ...(first.json as Json), title: 'Stale PUT' };
      expectStatus(await ctx.http.put(idPath('Users', u.id), putBody, { headers: { 'If-Match': stale } }), 412, 'PUT with a stale If-Match');
      expectStatus(
        await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'replace', path: 'title', value: 'Stale PATCH' }), { headers: { 'If-Match': stale } }),
        412,
        'PATCH with a stale If-Match',
      );
      const still = await getUser(ctx.http, u.id);
      expectEqual(pick(still, 'title'), 'Original', 'title after two rejected writes');
      expectPatchOk(
        await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'replace', path: 'title', value: 'Fresh PATCH' }), { headers: { 'If-Match': etag } }),
        u.id,
        'PATCH with the current If-Match',
      );
      const second = await ctx.http.get(idPath('Users', u.id));
      const etag2 = second.header('etag');
      expect(etag2, 'GET must return an ETag header', second);
      const put = await ctx.http.put(idPath('Users', u.id), { ...(second.json as Json), title: 'Fresh PUT' }, { headers: { 'If-Match': etag2 } });
      expectStatus(put, 200, 'PUT with the current If-Match');
      expectEqual(pick(await getUser(ctx.http, u.id), 'title'), 'Fresh PUT', 'title after the PUT');
    },
  },
  // ---------------------------------------------------------------- .search
  {
    suite: 'rfc',
    name: 'post-search',
    source: 'RFC 7644 §3.4.3 (POST /Users/.search with a SearchRequest body)',
    async run(ctx) {
      const d = await fixture(ctx);
      const res = await ctx.http.post('/Users/.search', {
        schemas: [URN.search],
        filter: `userName sw "${d.prefix}"`,
        startIndex: 1,
        count: 2,
        attributes: ['userName'],
      });
      const list = expectList(res, 'POST /Users/.search', { total: 4, paged: true });
      expectEqual(list.startIndex, 1, 'startIndex', res);
      expect(list.Resources.length === 2, `count 2 in the body: expected 2 resources, got ${list.Resources.length}`, res);
      const known = new Set(Object.values(d.id));
      for (const r of list.Resources) {
        expect(known.has(String(pick(r, 'id'))), `resource ${show(pick(r, 'id'))} is not one of the fixture users`, res);
        expectPresent(r, ['id', 'userName'], '.search with attributes ["userName"]', res);
        expectAbsent(r, ['name', 'emails'], '.search with attributes ["userName"]', res);
      }
    },
  },
  // ---------------------------------------------------------------- PATCH semantics
  {
    suite: 'rfc',
    name: 'patch-add-multivalued-appends',
    source: 'RFC 7644 §3.5.2.1 (add to a multi-valued attribute appends)',
    async run(ctx) {
      const u = await newUser(ctx, 'append');
      const home = ctx.run.userName('appendhome');
      expectPatchOk(await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'add', path: 'emails', value: [{ type: 'home', value: home }] })), u.id);
      const got = await getUser(ctx.http, u.id);
      expectEqual(emailsOfType(got, 'home').map((e) => pick(e, 'value')), [home], 'home email after add');
      expectEqual(emailsOfType(got, 'work').map((e) => pick(e, 'value')), [u.userName], 'work email must remain');
    },
  },
  {
    suite: 'rfc',
    name: 'patch-remove-attribute-and-value-filter',
    source: 'RFC 7644 §3.5.2.2 (remove by path and by value filter)',
    async run(ctx) {
      const home = ctx.run.userName('rmhome');
      const u = await newUser(ctx, 'rmattr', {
        title: 'Doomed',
        emails: [
          { type: 'work', value: ctx.run.userName('rmwork'), primary: true },
          { type: 'home', value: home },
        ],
      });
      expectPatchOk(await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'remove', path: 'title' })), u.id, 'PATCH remove title');
      expectPatchOk(await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'remove', path: 'emails[type eq "home"]' })), u.id, 'PATCH remove emails[type eq "home"]');
      const got = await getUser(ctx.http, u.id);
      expect(isUnassigned(pick(got, 'title')), `title must be gone, got ${show(pick(got, 'title'))}`);
      expectEqual(emailsOfType(got, 'home').length, 0, 'home emails left');
      expectEqual(emailsOfType(got, 'work').length, 1, 'work emails left');
    },
  },
  {
    suite: 'rfc',
    name: 'patch-remove-without-path-400',
    source: 'RFC 7644 §3.5.2.2 (remove without path: 400 noTarget)',
    async run(ctx) {
      const u = await newUser(ctx, 'nopath');
      expectScimError(await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'remove' })), 400, 'noTarget', 'PATCH remove without path');
      expectEqual(pick(await getUser(ctx.http, u.id), 'userName'), u.userName, 'user must be unchanged');
    },
  },
  // ---------------------------------------------------------------- mutability and uniqueness
  {
    suite: 'rfc',
    name: 'mutability-patch-id-400',
    source: 'RFC 7643 §3.1 (id is readOnly); RFC 7644 §3.5.2 and §3.12 (400 mutability)',
    async run(ctx) {
      const u = await newUser(ctx, 'mutid');
      const res = await ctx.http.patch(idPath('Users', u.id), patchOp({ op: 'replace', path: 'id', value: ctx.run.uuid() }));
      expectScimError(res, 400, 'mutability', 'PATCH replace id');
      expectEqual(pick(await getUser(ctx.http, u.id), 'id'), u.id, 'id after the rejected PATCH');
    },
  },
  {
    suite: 'rfc',
    name: 'mutability-readonly-meta-ignored-on-put',
    source: 'RFC 7644 §3.5.1 (readOnly values in a PUT body SHALL be ignored); RFC 7643 §3.1 (meta is readOnly)',
    async run(ctx) {
      const u = await newUser(ctx, 'mutmeta');
      const before = await getUser(ctx.http, u.id);
      const body = { ...before, title: 'After PUT', meta: { ...(before.meta ?? {}), created: '2001-01-01T00:00:00Z', resourceType: 'User' } };
      const res = await ctx.http.put(idPath('Users', u.id), body);
      expectStatus(res, 200, 'PUT with a changed meta.created');
      const after = await getUser(ctx.http, u.id);
      expectEqual(pick(after, 'meta.created'), pick(before, 'meta.created'), 'meta.created after PUT');
      expectEqual(pick(after, 'title'), 'After PUT', 'title after PUT');
    },
  },
  {
    suite: 'rfc',
    name: 'uniqueness-userName-case-insensitive-409',
    source: 'RFC 7643 §4.1 (userName caseExact false, uniqueness server); RFC 7644 §3.3 and §3.12 (409 uniqueness)',
    async run(ctx) {
      const a = await newUser(ctx, 'uniq');
      const upper = String(a.userName).toUpperCase();
      const post = await ctx.http.post('/Users', userBody(ctx, 'uniq', { userName: upper }));
      trackCreated(ctx, 'Users', post);
      expectScimError(post, 409, 'uniqueness', 'POST with the same userName in upper case');
      const b = await newUser(ctx, 'uniqb');
      const patch = await ctx.http.patch(idPath('Users', b.id), patchOp({ op: 'replace', path: 'userName', value: upper }));
      expectScimError(patch, 409, 'uniqueness', "PATCH userName to another user's userName in upper case");
    },
  },
];
