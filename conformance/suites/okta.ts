/**
 * Okta provisioning replay (OIN "PATCH enabled" template and AIW custom apps), plus the steps
 * of Okta's published SCIM 2.0 spec test (OKTA-SPEC), with Okta's headers
 * (Accept application/scim+json, User-Agent "Okta SCIM Client 1.0.0", scim+json; charset=utf-8).
 * Sources: /work/shared/research/clients.md §2, §3, §4.4 (short names OKTA-REF, OKTA-LEGACY, OKTA-SPEC, ...).
 */
import { randomBytes } from 'node:crypto';
import { deepEqual, expect, expectEqual, expectJsonObject, expectSameSet, expectStatus, fail, show } from '../lib/assert.ts';
import type { Ctx } from '../lib/context.ts';
import { addMembers, createGroup, createUser, getGroup, getUser, idPath, newUsers, trackCreated, type Json } from '../lib/fixtures.ts';
import { pctEncode, type ScimResponse } from '../lib/http.ts';
import type { Check } from '../lib/runner.ts';
import {
  URN,
  expectErrorWithDetail,
  expectList,
  expectPatchOk,
  findKey,
  findKeyDeep,
  hasSchema,
  isUnassigned,
  memberIds,
  patchOp,
  pick,
} from '../lib/scim.ts';

function password(): string {
  return `Pw!${randomBytes(9).toString('base64url')}`;
}

/** The create body from OKTA-REF O3: password, groups: [], externalId = Okta user id, locale. */
function oktaUserBody(ctx: Ctx, tag: string, extra: Json = {}): Json {
  const userName = ctx.run.userName(tag);
  const given = `Test${ctx.run.word()}`;
  const family = `User${ctx.run.word()}`;
  return {
    schemas: [URN.user],
    userName,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: `${given} ${family}`,
    locale: 'en-US',
    externalId: ctx.run.oktaUserId(),
    groups: [],
    password: password(),
    active: true,
    ...extra,
  };
}

/** The create body of OKTA-SPEC step 10, with a mixed-case Runscope-style userName. */
function specUserBody(ctx: Ctx): Json {
  const userName = `${ctx.run.prefix}Runscope${Math.floor(Math.random() * 900 + 100)}Hfluaklab${ctx.run.word()}@example.com`;
  return {
    schemas: [URN.user],
    userName,
    name: { givenName: 'Runscope', familyName: `Spec${ctx.run.word()}` },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: 'Runscope Spec User',
    active: true,
  };
}

/** Okta's user lookup (OKTA-REF O2): `%20`-encoded filter plus startIndex=1&count=100. */
function oktaLookup(ctx: Ctx, kind: 'Users' | 'Groups', expr: string, paging = '&startIndex=1&count=100'): Promise<ScimResponse> {
  return ctx.okta.get(`/${kind}?filter=${pctEncode(expr)}${paging}`);
}

function expectNoPassword(obj: unknown, what: string, res?: ScimResponse): void {
  const at = findKeyDeep(obj, 'password');
  expect(at === undefined, `${what}: the password must never be returned, found it at "${at}"`, res);
}

/** OKTA-SPEC step 5/6 field checks on one user representation. */
function expectSpecUserFields(user: unknown, what: string, res?: ScimResponse): void {
  const missing: string[] = [];
  for (const p of ['id', 'userName', 'name.familyName', 'name.givenName']) {
    const v = pick(user, p);
    if (typeof v !== 'string' || v === '') missing.push(p);
  }
  if (pick(user, 'active') === undefined) missing.push('active');
  const emails = pick(user, 'emails');
  if (!Array.isArray(emails) || emails.length === 0 || typeof pick(emails[0], 'value') !== 'string') missing.push('emails[0].value');
  if (missing.length) fail(`${what}: OKTA-SPEC requires non-empty ${missing.join(', ')}`, res);
}

/** Ensures at least one user exists (OKTA-SPEC pre-condition); shared by the spec steps. */
function specPrecondition(ctx: Ctx): Promise<Json> {
  return ctx.memo('okta.spec.user', () => createUser(ctx, specUserBody(ctx), ctx.okta, 'pre-condition: create a user'));
}

async function put(ctx: Ctx, kind: 'Users' | 'Groups', id: string, body: Json, what: string): Promise<Json> {
  const res = await ctx.okta.put(idPath(kind, id), body);
  expectStatus(res, 200, what);
  return expectJsonObject(res, what);
}

async function expect405(ctx: Ctx, path: string): Promise<void> {
  const res = await ctx.okta.request('POST', path, { rawBody: 'test' });
  expectStatus(res, 405, `POST ${path}`);
}

export const oktaChecks: Check[] = [
  // ---------------------------------------------------------------- connector test and lookup
  {
    suite: 'okta',
    name: 'test-connector-users',
    source: 'OKTA-REF O1 (GET /Users?startIndex=1&count=2, "count=2 is a constant"); https://docs.delinea.com/online-help/delinea-platform/scim/okta-scim-provisioning/okta-scim-endpoint-reference.htm',
    async run(ctx) {
      const res = await ctx.okta.get('/Users?startIndex=1&count=2');
      const list = expectList(res, 'GET /Users?startIndex=1&count=2', { paged: true });
      expectEqual(list.startIndex, 1, 'startIndex', res);
      expect(list.Resources.length <= 2, `count=2 but ${list.Resources.length} resources returned`, res);
    },
  },
  {
    suite: 'okta',
    name: 'test-connector-groups',
    source: 'https://developer.okta.com/docs/reference/scim/scim-11/ (GET /Groups?startIndex=1&count=100 after save); OKTA-REF O8',
    async run(ctx) {
      const res = await ctx.okta.get('/Groups?startIndex=1&count=100');
      const list = expectList(res, 'GET /Groups?startIndex=1&count=100', { paged: true });
      expectEqual(list.startIndex, 1, 'startIndex', res);
      expect(list.Resources.length <= 100, `count=100 but ${list.Resources.length} resources returned`, res);
    },
  },
  {
    suite: 'okta',
    name: 'user-lookup-filter-with-paging',
    source: 'OKTA-REF O2 (filter=userName%20eq%20%22...%22&startIndex=1&count=100)',
    async run(ctx) {
      const body = oktaUserBody(ctx, 'lookup');
      const miss = await oktaLookup(ctx, 'Users', `userName eq "${body.userName}"`);
      if (miss.status === 404) fail('a lookup miss must be 200 with totalResults 0 (the Okta spec test requires it), not 404', miss);
      expectList(miss, 'lookup before create', { total: 0 });
      const user = await createUser(ctx, body, ctx.okta);
      const res = await oktaLookup(ctx, 'Users', `userName eq "${body.userName}"`);
      const list = expectList(res, 'lookup after create', { total: 1, paged: true });
      expectEqual(pick(list.Resources[0], 'id'), user.id, 'id of the match', res);
      expectNoPassword(list.raw, 'lookup result', res);
    },
  },
  // ---------------------------------------------------------------- users
  {
    suite: 'okta',
    name: 'create-user-okta-body',
    source: 'OKTA-REF O3 (password, groups: [], externalId = Okta id, locale -> 201); clients.md §3 quirks 15-16',
    async run(ctx) {
      const body = oktaUserBody(ctx, 'create');
      const res = await ctx.okta.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 201, 'POST /Users (Okta body)');
      const created = expectJsonObject(res);
      expect(typeof pick(created, 'id') === 'string' && pick(created, 'id') !== '', 'Okta fails with "Create new user returned empty user" without an id', res);
      expectEqual(pick(created, 'userName'), body.userName, 'userName', res);
      expectEqual(pick(created, 'externalId'), body.externalId, 'externalId (the Okta user id)', res);
      expectEqual(pick(created, 'active'), true, 'active', res);
      expectNoPassword(created, '201 body', res);
      const got = await ctx.okta.get(idPath('Users', created.id));
      expectStatus(got, 200, 'GET the new user');
      expectNoPassword(got.json, 'GET', got);
    },
  },
  {
    suite: 'okta',
    name: 'create-duplicate-user-409',
    source: 'OKTA-REF O3 (duplicate -> 409 + Error with detail "to stop the provisioning job")',
    async run(ctx) {
      const body = oktaUserBody(ctx, 'dup');
      await createUser(ctx, body, ctx.okta);
      const res = await ctx.okta.post('/Users', { ...body, externalId: ctx.run.oktaUserId() });
      trackCreated(ctx, 'Users', res);
      expectErrorWithDetail(res, 409, 'second POST with the same userName');
    },
  },
  {
    suite: 'okta',
    name: 'get-then-put-profile-update',
    source: 'OKTA-REF O5 (GET then full PUT built from our GET); https://docs.delinea.com/online-help/delinea-platform/scim/okta-scim-provisioning/okta-scim-endpoint-reference.htm',
    async run(ctx) {
      const user = await createUser(ctx, oktaUserBody(ctx, 'put'), ctx.okta);
      const before = await getUser(ctx.okta, user.id, 'GET before PUT');
      const body: Json = structuredClone(before);
      const nameKey = findKey(body, 'name') ?? 'name';
      body[nameKey] = { ...(body[nameKey] ?? {}) };
      const givenKey = findKey(body[nameKey], 'givenName') ?? 'givenName';
      const newGiven = `Another${ctx.run.word()}`;
      body[nameKey][givenKey] = newGiven;
      body.password = password();
      if (findKey(body, 'groups') === undefined) body.groups = [];
      const res = await ctx.okta.put(idPath('Users', user.id), body);
      expectStatus(res, 200, 'PUT /Users/{id} (GET body + changed givenName + password + id/meta/groups)');
      const echoed = expectJsonObject(res);
      expectEqual(pick(echoed, 'name.givenName'), newGiven, 'name.givenName in the PUT response', res);
      expectNoPassword(echoed, 'PUT response', res);

      const after = await getUser(ctx.okta, user.id, 'GET after PUT');
      expectEqual(pick(after, 'name.givenName'), newGiven, 'name.givenName after PUT');
      expectNoPassword(after, 'GET after PUT');
      const lost: string[] = [];
      for (const [k, v] of Object.entries(before)) {
        if (k.toLowerCase() === 'meta') continue;
        const ak = findKey(after, k);
        const av = ak === undefined ? undefined : after[ak];
        if (k.toLowerCase() === 'name') {
          for (const [sk, sv] of Object.entries(v as Json)) {
            if (['givenname', 'formatted'].includes(sk.toLowerCase())) continue;
            if (!deepEqual(pick(av, sk), sv)) lost.push(`name.${sk}: was ${show(sv)}, now ${show(pick(av, sk))}`);
          }
        } else if (!deepEqual(av, v)) {
          lost.push(`${k}: was ${show(v)}, now ${show(av)}`);
        }
      }
      for (const mk of ['created', 'resourceType', 'location']) {
        const was = pick(before, `meta.${mk}`);
        if (was !== undefined && !deepEqual(pick(after, `meta.${mk}`), was)) lost.push(`meta.${mk}: was ${show(was)}, now ${show(pick(after, `meta.${mk}`))}`);
      }
      if (lost.length) fail(`PUT of our own GET body changed attributes it did not touch: ${lost.join('; ')}`);
    },
  },
  {
    suite: 'okta',
    name: 'put-with-legacy-meta-and-password',
    source: 'OKTA-LEGACY (PUT carries password and meta with non-ISO dates); clients.md §3 quirk 15',
    async run(ctx) {
      const user = await createUser(ctx, oktaUserBody(ctx, 'putmeta'), ctx.okta);
      const before = await getUser(ctx.okta, user.id, 'GET before PUT');
      const body: Json = {
        ...structuredClone(before),
        password: 'TkdFNVdIVkxhM2c9',
        groups: [],
        meta: { created: '04-12-2018 00:00:00', lastModified: '04-12-2018 00:00:00', version: 'v1.0', resourceType: 'User' },
      };
      const title = `Title ${ctx.run.word()}`;
      body.title = title;
      await put(ctx, 'Users', user.id, body, 'PUT with legacy meta and password');
      const after = await getUser(ctx.okta, user.id, 'GET after PUT');
      expectEqual(pick(after, 'title'), title, 'title after PUT');
      expectEqual(pick(after, 'meta.created'), pick(before, 'meta.created'), 'meta.created (read-only, must ignore the sent value)');
      expectNoPassword(after, 'GET after PUT');
    },
  },
  {
    suite: 'okta',
    name: 'patch-deactivate-reactivate',
    source: 'OKTA-REF O6 ({"op":"replace","value":{"active":false}} -> 200 with active false, or 204)',
    async run(ctx) {
      const user = await createUser(ctx, oktaUserBody(ctx, 'deact'), ctx.okta);
      for (const active of [false, true]) {
        const res = await ctx.okta.patch(idPath('Users', user.id), patchOp({ op: 'replace', value: { active } }));
        const echoed = expectPatchOk(res, user.id, `PATCH no-path replace {active:${active}}`);
        if (echoed) expectEqual(pick(echoed, 'active'), active, 'active in the 200 body', res);
        const got = await getUser(ctx.okta, user.id);
        expectEqual(pick(got, 'active'), active, `GET active after setting ${active}`);
      }
    },
  },
  {
    suite: 'okta',
    name: 'patch-password-sync',
    source: 'OKTA-REF O6 (password sync is a PATCH); https://developer.okta.com/docs/concepts/scim/ (never echo password)',
    async run(ctx) {
      const body = oktaUserBody(ctx, 'pw');
      const user = await createUser(ctx, body, ctx.okta);
      const res = await ctx.okta.patch(idPath('Users', user.id), patchOp({ op: 'replace', value: { password: password() } }));
      const echoed = expectPatchOk(res, user.id, 'PATCH no-path replace {password}');
      if (echoed) expectNoPassword(echoed, 'PATCH response', res);
      const got = await getUser(ctx.okta, user.id);
      expectNoPassword(got, 'GET after password PATCH');
      expectEqual(pick(got, 'active'), true, 'active after a password change');
      expectEqual(pick(got, 'userName'), body.userName, 'userName after a password change');
    },
  },
  {
    suite: 'okta',
    name: 'aiw-deactivate-via-put',
    source: 'OKTA-REF §2.2 (AIW apps send every update as PUT); https://github.com/oktadeveloper/okta-blog-archive/pull/1956',
    async run(ctx) {
      const user = await createUser(ctx, oktaUserBody(ctx, 'aiw'), ctx.okta);
      for (const active of [false, true]) {
        const body = await getUser(ctx.okta, user.id, 'GET before PUT');
        body[findKey(body, 'active') ?? 'active'] = active;
        const res = await ctx.okta.put(idPath('Users', user.id), body);
        expectStatus(res, 200, `PUT with active ${active}`);
        expectEqual(pick(res.json, 'active'), active, 'active in the PUT response', res);
        const got = await getUser(ctx.okta, user.id);
        expectEqual(pick(got, 'active'), active, `GET active after PUT ${active}`);
      }
    },
  },
  {
    suite: 'okta',
    name: 'user-shape-emails-array',
    source: 'OKTA-PREP / OKTA-FAQ (emails always an array with primary:true on the primary entry; id in every representation)',
    async run(ctx) {
      const user = await createUser(ctx, oktaUserBody(ctx, 'shape'), ctx.okta);
      const res = await ctx.okta.get(idPath('Users', user.id));
      expectStatus(res, 200, 'GET user');
      const emails = pick(res.json, 'emails');
      expect(Array.isArray(emails) && emails.length >= 1, `emails must be an array, got ${show(emails)}`, res);
      expect(
        emails.some((e: unknown) => pick(e, 'primary') === true && typeof pick(e, 'value') === 'string'),
        `one email must have primary: true (boolean), got ${show(emails)}`,
        res,
      );
      expectEqual(pick(res.json, 'id'), user.id, 'id', res);
    },
  },
  // ---------------------------------------------------------------- OKTA-SPEC (Runscope spec test)
  {
    suite: 'okta',
    name: 'spec-01-service-provider-config',
    source: 'OKTA-SPEC step 1 (SPC fields; response < 400 ms); RFC 7643 §5',
    async run(ctx) {
      const res = await ctx.okta.get('/ServiceProviderConfig');
      expectStatus(res, 200, 'GET /ServiceProviderConfig');
      const spc = expectJsonObject(res);
      expect(hasSchema(spc, URN.spc), `schemas must contain ${URN.spc}, got ${show(spc.schemas)}`, res);
      const problems: string[] = [];
      for (const f of ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag']) {
        if (typeof pick(spc, `${f}.supported`) !== 'boolean') problems.push(`${f}.supported`);
      }
      for (const f of ['filter.maxResults', 'bulk.maxOperations', 'bulk.maxPayloadSize']) {
        if (typeof pick(spc, f) !== 'number') problems.push(f);
      }
      const schemes = pick(spc, 'authenticationSchemes');
      if (!Array.isArray(schemes) || schemes.length === 0) problems.push('authenticationSchemes');
      else for (const f of ['type', 'description']) if (!pick(schemes[0], f)) problems.push(`authenticationSchemes[0].${f}`);
      if (problems.length) fail(`missing or mistyped: ${problems.join(', ')}`, res);
      expect(res.ms < 400, `OKTA-SPEC asserts a response time under 400 ms, took ${res.ms} ms`, res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-02-post-service-provider-config-405',
    source: 'OKTA-SPEC step 2 (POST /ServiceProviderConfig body "test" -> 405)',
    async run(ctx) {
      await expect405(ctx, '/ServiceProviderConfig');
    },
  },
  {
    suite: 'okta',
    name: 'spec-03-resource-types',
    source: 'OKTA-SPEC step 3 (ListResponse; Resources[0].name/endpoint/schema; POST -> 405)',
    async run(ctx) {
      const res = await ctx.okta.get('/ResourceTypes');
      const list = expectList(res, 'GET /ResourceTypes');
      expect(list.Resources.length > 0, 'Resources must not be empty', res);
      for (const f of ['name', 'endpoint', 'schema']) {
        const v = pick(list.Resources[0], f);
        expect(typeof v === 'string' && v !== '', `Resources[0].${f} must be non-empty, got ${show(v)}`, res);
      }
      await expect405(ctx, '/ResourceTypes');
    },
  },
  {
    suite: 'okta',
    name: 'spec-04-schemas',
    source: 'OKTA-SPEC step 4 (ListResponse; Resources[0].id/attributes; POST -> 405)',
    async run(ctx) {
      const res = await ctx.okta.get('/Schemas');
      const list = expectList(res, 'GET /Schemas');
      expect(list.Resources.length > 0, 'Resources must not be empty', res);
      const id = pick(list.Resources[0], 'id');
      const attrs = pick(list.Resources[0], 'attributes');
      expect(typeof id === 'string' && id !== '', `Resources[0].id must be non-empty, got ${show(id)}`, res);
      expect(Array.isArray(attrs) && attrs.length > 0, 'Resources[0].attributes must be a non-empty array', res);
      await expect405(ctx, '/Schemas');
    },
  },
  {
    suite: 'okta',
    name: 'spec-05-list-users-count-1',
    source: 'OKTA-SPEC step 5 (GET /Users?count=1&startIndex=1: numbers, fields, < 600 ms)',
    async run(ctx) {
      await specPrecondition(ctx);
      const res = await ctx.okta.get('/Users?count=1&startIndex=1');
      const list = expectList(res, 'GET /Users?count=1&startIndex=1', { paged: true });
      expect(list.Resources.length === 1, `expected exactly 1 resource (count=1, at least one user exists), got ${list.Resources.length}`, res);
      expectSpecUserFields(list.Resources[0], 'Resources[0]', res);
      expect(res.ms < 600, `OKTA-SPEC asserts a response time under 600 ms, took ${res.ms} ms`, res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-06-get-user-by-id',
    source: 'OKTA-SPEC step 6 (GET /Users/{ISVUserid}: same fields, id equals)',
    async run(ctx) {
      await specPrecondition(ctx);
      const first = expectList(await ctx.okta.get('/Users?count=1&startIndex=1'), 'GET /Users?count=1&startIndex=1');
      expect(first.Resources.length === 1, 'prerequisite: no user listed');
      const id = String(pick(first.Resources[0], 'id'));
      const res = await ctx.okta.get(idPath('Users', id));
      expectStatus(res, 200, 'GET /Users/{id}');
      expectSpecUserFields(res.json, 'GET by id', res);
      expectEqual(pick(res.json, 'id'), id, 'id', res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-07-filter-invalid-email-zero',
    source: 'OKTA-SPEC step 7 (filter userName eq "{{InvalidUserEmail}}" -> 200, totalResults 0)',
    async run(ctx) {
      const res = await ctx.okta.get(`/Users?filter=${pctEncode(`userName eq "${ctx.run.name('invalid')}@example.invalid"`)}`);
      expectList(res, 'filter with a non-existent email', { total: 0 });
    },
  },
  {
    suite: 'okta',
    name: 'spec-08-nonexistent-id-404',
    source: 'OKTA-SPEC step 8 (GET /Users/010101001010101011001010101011 -> 404, detail, Error URN); OKTA-REF O4',
    async run(ctx) {
      const res = await ctx.okta.get('/Users/010101001010101011001010101011');
      expectErrorWithDetail(res, 404, 'GET a non-existent user id');
    },
  },
  {
    suite: 'okta',
    name: 'spec-09-filter-random-email-zero',
    source: 'OKTA-SPEC step 9 (filter userName eq "{{randomEmail}}" -> 200, totalResults 0)',
    async run(ctx) {
      const res = await ctx.okta.get(`/Users?filter=${pctEncode(`userName eq "${ctx.run.userName('random')}"`)}`);
      expectList(res, 'filter with a random email', { total: 0 });
    },
  },
  {
    suite: 'okta',
    name: 'spec-10-create-user',
    source: 'OKTA-SPEC step 10 (POST -> 201; active true, id, name and userName echo, core User schema)',
    async run(ctx) {
      const body = specUserBody(ctx);
      const res = await ctx.okta.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 201, 'POST /Users');
      const u = expectJsonObject(res);
      expect(typeof pick(u, 'id') === 'string' && pick(u, 'id') !== '', 'id must be non-empty', res);
      expectEqual(pick(u, 'active'), true, 'active', res);
      expectEqual(pick(u, 'userName'), body.userName, 'userName', res);
      expectEqual(pick(u, 'name.givenName'), body.name.givenName, 'name.givenName', res);
      expectEqual(pick(u, 'name.familyName'), body.name.familyName, 'name.familyName', res);
      expect(hasSchema(u, URN.user), `schemas must contain ${URN.user}`, res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-11-get-created-user',
    source: 'OKTA-SPEC step 11 (GET /Users/{idUserOne}: same userName and name)',
    async run(ctx) {
      const u = await specPrecondition(ctx);
      const res = await ctx.okta.get(idPath('Users', u.id));
      expectStatus(res, 200, 'GET the created user');
      expectEqual(pick(res.json, 'userName'), pick(u, 'userName'), 'userName', res);
      expectEqual(pick(res.json, 'name.givenName'), pick(u, 'name.givenName'), 'name.givenName', res);
      expectEqual(pick(res.json, 'name.familyName'), pick(u, 'name.familyName'), 'name.familyName', res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-12-duplicate-409',
    source: 'OKTA-SPEC step 12 (repeat the POST -> 409)',
    async run(ctx) {
      const u = await specPrecondition(ctx);
      const res = await ctx.okta.post('/Users', {
        schemas: [URN.user],
        userName: pick(u, 'userName'),
        name: pick(u, 'name'),
        emails: pick(u, 'emails'),
        displayName: pick(u, 'displayName'),
        active: true,
      });
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 409, 'repeated POST');
    },
  },
  {
    suite: 'okta',
    name: 'spec-13-bare-uppercase-filter-400',
    source: 'OKTA-SPEC step 13 ("Username Case Sensitivity Check": filter=<UPPERCASE_USERNAME> -> 400); clients.md §3 quirk 24',
    async run(ctx) {
      const u = await specPrecondition(ctx);
      const res = await ctx.okta.get(`/Users?filter=${pctEncode(String(pick(u, 'userName')).toUpperCase())}`);
      expectStatus(res, 400, 'filter without attribute or operator');
    },
  },
  {
    suite: 'okta',
    name: 'spec-13b-uppercase-userName-eq',
    source: 'clients.md §3 quirk 24 (userName eq "<UPPER>" -> 200, totalResults 1); RFC 7643 §4.1 (userName caseExact false)',
    async run(ctx) {
      const u = await specPrecondition(ctx);
      const upper = String(pick(u, 'userName')).toUpperCase();
      const res = await ctx.okta.get(`/Users?filter=${pctEncode(`userName eq "${upper}"`)}`);
      const list = expectList(res, 'filter userName eq "<UPPERCASE>"', { total: 1 });
      expectEqual(pick(list.Resources[0], 'id'), u.id, 'id of the match', res);
      expectEqual(pick(list.Resources[0], 'userName'), pick(u, 'userName'), 'userName keeps its original case', res);
    },
  },
  {
    suite: 'okta',
    name: 'spec-14-list-groups',
    source: 'OKTA-SPEC step 14 (GET /Groups -> 200, totalResults >= 1, Resources array)',
    async run(ctx) {
      await ctx.memo('okta.spec.group', () =>
        createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('okspec'), members: [] }, ctx.okta, 'pre-condition: create a group'),
      );
      const res = await ctx.okta.get('/Groups');
      const list = expectList(res, 'GET /Groups');
      expect(list.totalResults >= 1, `totalResults must be >= 1, got ${list.totalResults}`, res);
      expect(list.Resources.length >= 1, 'Resources must be a non-empty array', res);
    },
  },
  // ---------------------------------------------------------------- group push
  {
    suite: 'okta',
    name: 'group-push-lookup-by-displayName',
    source: 'OKTA-REF O9 (GET /Groups?filter=displayName eq); https://github.com/okta/okta-developer-docs/pull/3506',
    async run(ctx) {
      const name = ctx.run.name('okgl');
      const miss = await oktaLookup(ctx, 'Groups', `displayName eq "${name}"`, '');
      expectList(miss, 'lookup before create', { total: 0 });
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: name, members: [] }, ctx.okta);
      const hit = await oktaLookup(ctx, 'Groups', `displayName eq "${name}"`, '');
      const list = expectList(hit, 'lookup after create', { total: 1 });
      expectEqual(pick(list.Resources[0], 'id'), g.id, 'id of the match', hit);
    },
  },
  {
    suite: 'okta',
    name: 'group-push-create-empty-members',
    source: 'OKTA-REF O9 (POST {"displayName", "members": []} -> 201 with id, displayName, meta)',
    async run(ctx) {
      const displayName = ctx.run.name('okgc');
      const res = await ctx.okta.post('/Groups', { schemas: [URN.group], displayName, members: [] });
      trackCreated(ctx, 'Groups', res);
      expectStatus(res, 201, 'POST /Groups');
      const g = expectJsonObject(res);
      expect(typeof pick(g, 'id') === 'string' && pick(g, 'id') !== '', 'id must be non-empty', res);
      expectEqual(pick(g, 'displayName'), displayName, 'displayName', res);
      const meta = pick(g, 'meta');
      expect(meta && typeof meta === 'object', `meta must be returned, got ${show(meta)}`, res);
      expect(isUnassigned(pick(g, 'members')), `members must be empty, got ${show(pick(g, 'members'))}`, res);
    },
  },
  {
    suite: 'okta',
    name: 'group-push-no-path-replace-id-displayName',
    source: 'OKTA-REF O9 (no-path replace {id, displayName}); https://github.com/Metatavu/keycloak-scim-server/pull/113',
    async run(ctx) {
      const name = ctx.run.name('okgr');
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: name, members: [] }, ctx.okta);
      const same = await ctx.okta.patch(idPath('Groups', g.id), patchOp({ op: 'replace', value: { id: g.id, displayName: name } }));
      if (same.status === 400) fail('a no-path replace carrying the group\'s own read-only id must be accepted; a 400 makes Okta stop pushing memberships', same);
      expectPatchOk(same, g.id, 'PATCH replace {id, displayName} (unchanged name)');
      const newName = ctx.run.name('okgrnew');
      expectPatchOk(
        await ctx.okta.patch(idPath('Groups', g.id), patchOp({ op: 'replace', value: { id: g.id, displayName: newName } })),
        g.id,
        'PATCH replace {id, displayName} (rename)',
      );
      expectEqual(pick(await getGroup(ctx.okta, g.id), 'displayName'), newName, 'displayName after rename');
    },
  },
  {
    suite: 'okta',
    name: 'group-push-membership-delta',
    source: 'OKTA-REF O9 / OKTA-LEGACY (remove members[value eq] x2 plus add array in one PATCH)',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('okgd'), members: [] }, ctx.okta);
      const { ids, names } = await newUsers(ctx, 'okd', 5);
      await addMembers(ctx.http, g.id, ids.slice(0, 3));
      const res = await ctx.okta.patch(
        idPath('Groups', g.id),
        patchOp(
          { op: 'remove', path: `members[value eq "${ids[0]}"]` },
          { op: 'remove', path: `members[value eq "${ids[1]}"]` },
          { op: 'add', path: 'members', value: [{ value: ids[3], display: 'u4@example.com' }, { value: ids[4], display: 'u5@example.com' }] },
        ),
      );
      expectPatchOk(res, g.id, 'PATCH membership delta');
      expectSameSet(memberIds(await getGroup(ctx.okta, g.id)), [ids[2], ids[3], ids[4]], 'members after the delta', undefined, names);
    },
  },
  {
    suite: 'okta',
    name: 'group-push-replace-all-members',
    source: 'OKTA-REF O9 (full push: replace members); https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/757 (replace with [])',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('okgf'), members: [] }, ctx.okta);
      const { ids, names } = await newUsers(ctx, 'okf', 4);
      await addMembers(ctx.http, g.id, ids.slice(0, 2));
      expectPatchOk(
        await ctx.okta.patch(
          idPath('Groups', g.id),
          patchOp({ op: 'replace', path: 'members', value: ids.slice(2).map((value) => ({ value, display: `${names.get(value)}@example.com` })) }),
        ),
        g.id,
        'PATCH replace members',
      );
      expectSameSet(memberIds(await getGroup(ctx.okta, g.id)), ids.slice(2), 'members after replace', undefined, names);
      expectPatchOk(await ctx.okta.patch(idPath('Groups', g.id), patchOp({ op: 'replace', path: 'members', value: [] })), g.id, 'PATCH replace members with []');
      expectSameSet(memberIds(await getGroup(ctx.okta, g.id)), [], 'members after replace with []', undefined, names);
    },
  },
  {
    suite: 'okta',
    name: 'group-create-with-members',
    source: 'OKTA-LEGACY (POST /Groups carrying initial members)',
    async run(ctx) {
      const { ids, names } = await newUsers(ctx, 'okcm', 2);
      const res = await ctx.okta.post('/Groups', {
        schemas: [URN.group],
        displayName: ctx.run.name('okgcm'),
        members: ids.map((value) => ({ value, display: `${names.get(value)}@example.com` })),
      });
      trackCreated(ctx, 'Groups', res);
      expectStatus(res, 201, 'POST /Groups with members');
      expectSameSet(memberIds(await getGroup(ctx.okta, res.json.id)), ids, 'members after create', undefined, names);
    },
  },
  {
    suite: 'okta',
    name: 'aiw-group-put-members',
    source: 'OKTA-LEGACY (AIW: GET then PUT /Groups/{id} with members); OKTA-REF §2.2',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('okgp'), members: [] }, ctx.okta);
      const { ids, names } = await newUsers(ctx, 'okp', 2);
      const before = await getGroup(ctx.okta, g.id, 'GET before PUT');
      const displayName = String(pick(before, 'displayName'));
      const member = (value: string) => ({ value, display: `${names.get(value)}@example.com` });
      await put(ctx, 'Groups', g.id, { schemas: [URN.group], id: g.id, displayName, members: ids.map(member) }, 'PUT group with two members');
      expectSameSet(memberIds(await getGroup(ctx.okta, g.id)), ids, 'members after the first PUT', undefined, names);
      await put(ctx, 'Groups', g.id, { schemas: [URN.group], id: g.id, displayName, members: [member(ids[1])] }, 'PUT group with one member');
      const after = await getGroup(ctx.okta, g.id);
      expectSameSet(memberIds(after), [ids[1]], 'members after the second PUT', undefined, names);
      expectEqual(pick(after, 'displayName'), displayName, 'displayName after PUT');
    },
  },
  {
    suite: 'okta',
    name: 'group-push-delete',
    source: 'OKTA-REF O9 ("Delete the group in the target app" -> DELETE, expects 204)',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('okgx'), members: [] }, ctx.okta);
      expectStatus(await ctx.okta.delete(idPath('Groups', g.id)), 204, 'DELETE /Groups/{id}');
      ctx.untrack('Groups', g.id);
      expectStatus(await ctx.okta.get(idPath('Groups', g.id)), 404, 'GET after DELETE');
    },
  },
];
