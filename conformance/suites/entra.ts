/**
 * Microsoft Entra ID provisioning replay: the requests Entra's provisioning service, the SCIM
 * Validator and the gallery "SCIM Validation Logic App" send, with Entra's headers
 * (no Accept on GETs, `application/scim+json; charset=utf-8` on writes).
 * Sources: /work/shared/research/clients.md §1, §3, §4.1-4.3 (short names MS-TUT, MS-KNOWN, MS-REF, ...).
 */
import { expect, expectEqual, expectJsonObject, expectSameSet, expectStatus, fail, show } from '../lib/assert.ts';
import type { Ctx } from '../lib/context.ts';
import {
  addMembers,
  createGroup,
  createUser,
  getGroup,
  getUser,
  idPath,
  newUser,
  newUsers,
  trackCreated,
  userBody,
  type Json,
} from '../lib/fixtures.ts';
import { formEncode, type ScimResponse } from '../lib/http.ts';
import type { Check } from '../lib/runner.ts';
import {
  URN,
  emailsOfType,
  expectList,
  expectPatchOk,
  findKey,
  hasSchema,
  idsOf,
  isUnassigned,
  memberIds,
  patchOp,
  pick,
} from '../lib/scim.ts';

const ENT = URN.enterprise;
const MANAGER = `${ENT}:manager`;

/** GET with an Entra-style form-encoded filter (`+` for spaces, `%22` for quotes). */
function entraFilter(ctx: Ctx, kind: 'Users' | 'Groups', expr: string, extra = ''): Promise<ScimResponse> {
  return ctx.entra.get(`/${kind}?${extra}filter=${formEncode(expr)}`);
}

/** Asserts a filter found exactly the one resource. */
function expectOneMatch(res: ScimResponse, id: string, what: string): Json {
  const list = expectList(res, what);
  expect(list.totalResults === 1, `${what}: expected totalResults 1, got ${list.totalResults}`, res);
  expect(list.Resources.length === 1, `${what}: expected 1 resource, got ${list.Resources.length}`, res);
  expectEqual(pick(list.Resources[0], 'id'), id, `${what}: id of the match`, res);
  return list.Resources[0];
}

function expectNoMatch(res: ScimResponse, what: string): void {
  if (res.status === 404) fail(`${what}: a filter miss must be 200 with an empty ListResponse, not 404 (Entra quarantines the job)`, res);
  if (res.status === 406) fail(`${what}: server answered 406 to a GET without Accept header; Entra sends none`, res);
  const list = expectList(res, what);
  expect(list.totalResults === 0, `${what}: expected totalResults 0, got ${list.totalResults}`, res);
  expect(list.Resources.length === 0, `${what}: expected no Resources, got ${list.Resources.length}`, res);
}

/** The tutorial create body (MS-TUT E3) with an enterprise extension. */
function entraUserBody(ctx: Ctx, tag: string, ent: Json = {}, extra: Json = {}): Json {
  const userName = ctx.run.userName(tag);
  const given = `Given${ctx.run.word()}`;
  const family = `Family${ctx.run.word()}`;
  return {
    schemas: [URN.user, ENT],
    externalId: ctx.run.uuid(),
    userName,
    active: true,
    displayName: `${given} ${family}`,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
    roles: [],
    ...(Object.keys(ent).length ? { [ENT]: ent } : {}),
    ...extra,
  };
}

async function entraPatch(ctx: Ctx, kind: 'Users' | 'Groups', id: string, body: unknown, what: string): Promise<Json | undefined> {
  const res = await ctx.entra.patch(idPath(kind, id), body);
  return expectPatchOk(res, id, what);
}

/** Reads the enterprise manager from a GET and insists on the `{value}` object shape (MS-TUT E4, Budibase#15369). */
async function managerOf(ctx: Ctx, id: string): Promise<{ raw: unknown; user: Json }> {
  const res = await ctx.entra.get(idPath('Users', id));
  expectStatus(res, 200, 'GET user');
  const user = expectJsonObject(res);
  const entKey = findKey(user, ENT);
  const raw = entKey ? pick(user[entKey], 'manager') : undefined;
  if (raw === undefined && findKey(user, 'manager') !== undefined) {
    fail(`manager is returned at the top level; Entra reads it under "${ENT}" and re-sends it every cycle otherwise (azure-docs#11784)`, res);
  }
  return { raw, user };
}

function expectManager(raw: unknown, managerId: string, res?: ScimResponse): void {
  if (typeof raw === 'string') fail(`manager must be returned as an object {"value": id}, got the bare string ${show(raw)}; Entra cannot deserialise it`, res);
  expect(raw && typeof raw === 'object' && !Array.isArray(raw), `manager must be an object {"value": id} under the enterprise key, got ${show(raw)}`, res);
  expectEqual(pick(raw, 'value'), managerId, 'manager.value', res);
}

function workEmail(user: Json, what: string): string {
  const work = emailsOfType(user, 'work');
  expect(work.length === 1, `${what}: expected exactly one work email, got ${show(pick(user, 'emails'))}`);
  return pick(work[0], 'value');
}

/** Flattens a /Schemas resource into names like `name.givenName`. */
function flattenSchema(schema: Json): string[] {
  const out: string[] = [];
  const attrs = pick(schema, 'attributes');
  if (!Array.isArray(attrs)) return out;
  for (const a of attrs) {
    const name = String(pick(a, 'name'));
    out.push(name);
    const subs = pick(a, 'subAttributes');
    if (Array.isArray(subs)) for (const s of subs) out.push(`${name}.${String(pick(s, 'name'))}`);
  }
  return out;
}

export const entraChecks: Check[] = [
  // ---------------------------------------------------------------- connection and matching
  {
    suite: 'entra',
    name: 'test-connection-users',
    source: 'MS-TUT E1; MS-QUAR (404 causes quarantine); https://github.com/MicrosoftDocs/azure-docs/issues/94189 (no Accept header)',
    async run(ctx) {
      const guid = ctx.run.uuid();
      const res = await ctx.entra.get(`/Users?filter=userName+eq+%22${guid}%22`);
      expectNoMatch(res, 'random-GUID userName probe');
    },
  },
  {
    suite: 'entra',
    name: 'test-connection-groups',
    source: 'MS-TUT E1 ("fetch a random user and group"); MS-QUAR',
    async run(ctx) {
      const guid = ctx.run.uuid();
      const res = await ctx.entra.get(`/Groups?filter=displayName+eq+%22${guid}%22`);
      expectNoMatch(res, 'random-GUID displayName probe');
    },
  },
  {
    suite: 'entra',
    name: 'match-user-by-userName',
    source: 'MS-TUT E2; MS-HOW (match by matching attribute before create)',
    async run(ctx) {
      const body = entraUserBody(ctx, 'match');
      const user = await createUser(ctx, body, ctx.entra);
      const res = await entraFilter(ctx, 'Users', `userName eq "${body.userName}"`);
      const hit = expectOneMatch(res, user.id, 'filter userName eq');
      expectEqual(pick(hit, 'userName'), body.userName, 'userName of the match', res);
    },
  },
  {
    suite: 'entra',
    name: 'match-user-by-externalId',
    source: 'MS-TUT E2; https://github.com/MicrosoftDocs/azure-docs/issues/21660',
    async run(ctx) {
      const body = entraUserBody(ctx, 'matchext');
      const user = await createUser(ctx, body, ctx.entra);
      const res = await entraFilter(ctx, 'Users', `externalId eq "${body.externalId}"`);
      const hit = expectOneMatch(res, user.id, 'filter externalId eq');
      expectEqual(pick(hit, 'externalId'), body.externalId, 'externalId of the match', res);
    },
  },
  {
    suite: 'entra',
    name: 'match-user-by-work-email',
    source: 'MS-TUT E2 (emails[type eq "work"].value as matching attribute)',
    async run(ctx) {
      const body = entraUserBody(ctx, 'matchmail');
      const user = await createUser(ctx, body, ctx.entra);
      const res = await entraFilter(ctx, 'Users', `emails[type eq "work"].value eq "${body.userName}"`);
      expectOneMatch(res, user.id, 'filter emails[type eq "work"].value eq');
      const miss = await entraFilter(ctx, 'Users', `emails[type eq "work"].value eq "${ctx.run.userName('nomail')}"`);
      expectNoMatch(miss, 'work-email filter miss');
    },
  },
  // ---------------------------------------------------------------- create
  {
    suite: 'entra',
    name: 'create-user-enterprise-extension',
    source: 'MS-TUT E3; https://github.com/MicrosoftDocs/azure-docs/issues/12728 (Content-Type with charset)',
    async run(ctx) {
      const ent = { employeeNumber: `E${ctx.run.word()}`, department: `Dept ${ctx.run.word()}` };
      const body = entraUserBody(ctx, 'create', ent);
      const res = await ctx.entra.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 201, 'POST /Users');
      const created = expectJsonObject(res);
      const id = pick(created, 'id');
      expect(typeof id === 'string' && id !== '', `response must carry a non-empty id, got ${show(id)}`, res);
      expectEqual(pick(created, 'userName'), body.userName, 'userName', res);
      expectEqual(pick(created, 'externalId'), body.externalId, 'externalId', res);
      expectEqual(pick(created, 'active'), true, 'active', res);
      expectEqual(pick(created, `${ENT}:employeeNumber`), ent.employeeNumber, 'enterprise employeeNumber in the 201 body', res);
      expectEqual(pick(created, `${ENT}:department`), ent.department, 'enterprise department in the 201 body', res);

      const got = await ctx.entra.get(idPath('Users', id));
      expectStatus(got, 200, 'GET the new user');
      const user = expectJsonObject(got);
      expectEqual(pick(user, `${ENT}:department`), ent.department, 'enterprise department after GET', got);
      expectEqual(pick(user, `${ENT}:employeeNumber`), ent.employeeNumber, 'enterprise employeeNumber after GET', got);
      expect(hasSchema(user, ENT), `schemas must list ${ENT} when enterprise attributes are present (RFC 7643 §3), got ${show(user.schemas)}`, got);
      expectEqual(workEmail(user, 'GET'), body.userName, 'work email', got);
      expectEqual(pick(user, 'name.givenName'), body.name.givenName, 'name.givenName', got);
    },
  },
  {
    suite: 'entra',
    name: 'create-user-active-string-True',
    source: 'MS-REF PostmanCollection.json ("active":"True" -> 201, active true); https://github.com/AzureAD/SCIMReferenceCode/issues/21',
    async run(ctx) {
      const body = entraUserBody(ctx, 'strtrue', {}, { active: 'True' });
      const res = await ctx.entra.post('/Users', body);
      trackCreated(ctx, 'Users', res);
      expectStatus(res, 201, 'POST with "active":"True"');
      const created = expectJsonObject(res);
      expect(pick(created, 'active') === true, `active must come back as the boolean true, got ${show(pick(created, 'active'))}`, res);
      const user = await getUser(ctx.entra, created.id);
      expect(pick(user, 'active') === true, `GET: active must be the boolean true, got ${show(pick(user, 'active'))}`);
    },
  },
  // ---------------------------------------------------------------- manager (reference attribute)
  {
    suite: 'entra',
    name: 'manager-set-bare-string-id',
    source: 'MS-REF SCIMTests_Workflow.json SCIM_Update_Manager_Test; MS-TUT E6; https://github.com/Budibase/budibase/issues/15369',
    async run(ctx) {
      const emp = await createUser(ctx, entraUserBody(ctx, 'emp'), ctx.entra);
      const mgr = await createUser(ctx, entraUserBody(ctx, 'mgr'), ctx.entra);
      await entraPatch(ctx, 'Users', emp.id, patchOp({ op: 'Add', path: MANAGER, value: mgr.id }), 'PATCH Add manager (bare string id)');
      const { raw } = await managerOf(ctx, emp.id);
      expectManager(raw, mgr.id);
    },
  },
  {
    suite: 'entra',
    name: 'manager-change-via-replace',
    source: 'MS-REF SCIMTests_Workflow.json SCIM_Update_Manager_Test (replace); MS-TUT E6',
    async run(ctx) {
      const emp = await createUser(ctx, entraUserBody(ctx, 'emp'), ctx.entra);
      const m1 = await createUser(ctx, entraUserBody(ctx, 'mgr'), ctx.entra);
      const m2 = await createUser(ctx, entraUserBody(ctx, 'mgr'), ctx.entra);
      await entraPatch(ctx, 'Users', emp.id, patchOp({ op: 'Add', path: MANAGER, value: m1.id }), 'PATCH Add manager');
      await entraPatch(ctx, 'Users', emp.id, patchOp({ op: 'replace', path: MANAGER, value: m2.id }), 'PATCH replace manager');
      const { raw } = await managerOf(ctx, emp.id);
      expectManager(raw, m2.id);
    },
  },
  {
    suite: 'entra',
    name: 'manager-remove-via-empty-string',
    source: 'MS-REF SCIMTests_Workflow.json SCIM_Update_Manager_Test (replace with ""); MS-TUT E6',
    async run(ctx) {
      const emp = await createUser(ctx, entraUserBody(ctx, 'emp'), ctx.entra);
      const m1 = await createUser(ctx, entraUserBody(ctx, 'mgr'), ctx.entra);
      await entraPatch(ctx, 'Users', emp.id, patchOp({ op: 'Add', path: MANAGER, value: m1.id }), 'PATCH Add manager');
      const before = await managerOf(ctx, emp.id);
      expectManager(before.raw, m1.id);
      await entraPatch(ctx, 'Users', emp.id, patchOp({ op: 'replace', path: MANAGER, value: '' }), 'PATCH replace manager with ""');
      const { raw } = await managerOf(ctx, emp.id);
      expect(isUnassigned(raw), `after removal manager must be absent, null or empty, got ${show(raw)}`);
    },
  },
  // ---------------------------------------------------------------- PATCH dialects
  {
    suite: 'entra',
    name: 'patch-legacy-capitalised-replace',
    source: 'MS-KNOWN (default job without aadOptscim062020: capitalised ops); MS-TUT E5',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'legacy', { employeeNumber: 'E1' }), ctx.entra);
      const want = {
        displayName: `Display ${ctx.run.word()}`,
        givenName: `G${ctx.run.word()}`,
        familyName: `F${ctx.run.word()}`,
        externalId: ctx.run.uuid(),
        employeeNumber: `E${ctx.run.word()}`,
        email: ctx.run.userName('legacymail'),
      };
      await entraPatch(
        ctx,
        'Users',
        user.id,
        patchOp(
          { op: 'Replace', path: 'displayName', value: want.displayName },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: want.email },
          { op: 'Replace', path: 'name.givenName', value: want.givenName },
          { op: 'Replace', path: 'name.familyName', value: want.familyName },
          { op: 'Replace', path: 'externalId', value: want.externalId },
          { op: 'Replace', path: `${ENT}:employeeNumber`, value: want.employeeNumber },
        ),
        'PATCH with capitalised Replace ops',
      );
      const got = await getUser(ctx.entra, user.id, 'GET after PATCH');
      expectEqual(pick(got, 'displayName'), want.displayName, 'displayName');
      expectEqual(pick(got, 'name.givenName'), want.givenName, 'name.givenName');
      expectEqual(pick(got, 'name.familyName'), want.familyName, 'name.familyName');
      expectEqual(pick(got, 'externalId'), want.externalId, 'externalId');
      expectEqual(pick(got, `${ENT}:employeeNumber`), want.employeeNumber, 'enterprise employeeNumber');
      expectEqual(workEmail(got, 'GET after PATCH'), want.email, 'work email');
    },
  },
  {
    suite: 'entra',
    name: 'patch-legacy-active-string-False-True',
    source: 'MS-KNOWN (active "False"/"True" strings); https://github.com/scimmyjs/scimmy/issues/86 (lowercase "false")',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'strbool'), ctx.entra);
      for (const [value, expected] of [
        ['False', false],
        ['True', true],
        ['false', false],
        ['True', true],
      ] as const) {
        await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Replace', path: 'active', value }), `PATCH Replace active "${value}"`);
        const got = await getUser(ctx.entra, user.id);
        expect(pick(got, 'active') === expected, `after Replace active "${value}": GET must show active ${expected} (boolean), got ${show(pick(got, 'active'))}`);
      }
    },
  },
  {
    suite: 'entra',
    name: 'patch-tutorial-form-operations-first',
    source: 'MS-TUT E7 ({"Operations":[{"op":"Replace","path":"active","value":false}],"schemas":[...]})',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'tut'), ctx.entra);
      for (const value of [false, true]) {
        const body = { Operations: [{ op: 'Replace', path: 'active', value }], schemas: [URN.patch] };
        const res = await ctx.entra.patch(idPath('Users', user.id), body);
        const echoed = expectPatchOk(res, user.id, `PATCH (Operations before schemas) active ${value}`);
        if (echoed) expectEqual(pick(echoed, 'active'), value, 'active in the 200 body', res);
        const got = await getUser(ctx.entra, user.id);
        expectEqual(pick(got, 'active'), value, `GET active after Replace ${value}`);
      }
    },
  },
  {
    suite: 'entra',
    name: 'patch-aadOptscim062020-no-path-dotted-keys',
    source: 'MS-KNOWN (aadOptscim062020 no-path replace with dotted and URN keys); https://github.com/scimmyjs/scimmy/issues/10',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'flag', { employeeNumber: 'E0' }), ctx.entra);
      const want = {
        displayName: `D${ctx.run.word()}`,
        givenName: `G${ctx.run.word()}`,
        familyName: `F${ctx.run.word()}`,
        employeeNumber: `E${ctx.run.word()}`,
        email: ctx.run.userName('flagmail'),
      };
      await entraPatch(
        ctx,
        'Users',
        user.id,
        patchOp(
          { op: 'replace', path: 'emails[type eq "work"].value', value: want.email },
          {
            op: 'replace',
            value: {
              displayName: want.displayName,
              'name.givenName': want.givenName,
              'name.familyName': want.familyName,
              [`${ENT}:employeeNumber`]: want.employeeNumber,
            },
          },
        ),
        'PATCH no-path replace with dotted keys',
      );
      const got = await getUser(ctx.entra, user.id, 'GET after PATCH');
      expect(findKey(got, 'name.givenName') === undefined, `"name.givenName" was stored as a literal top-level key instead of name.givenName: ${show(got)}`);
      expect(findKey(got, `${ENT}:employeeNumber`) === undefined, `the URN-qualified key was stored literally instead of under "${ENT}"`);
      expectEqual(pick(got, 'displayName'), want.displayName, 'displayName');
      expectEqual(pick(got, 'name.givenName'), want.givenName, 'name.givenName');
      expectEqual(pick(got, 'name.familyName'), want.familyName, 'name.familyName');
      expectEqual(pick(got, `${ENT}:employeeNumber`), want.employeeNumber, 'enterprise employeeNumber');
      expectEqual(workEmail(got, 'GET after PATCH'), want.email, 'work email');
    },
  },
  {
    suite: 'entra',
    name: 'patch-add-no-path-dotted-keys',
    source: 'https://github.com/pond/scimitar/issues/123 (no-path "add" with dotted keys); MS-VAL "Patch User - Add Attributes"',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'addnp'), ctx.entra);
      const want = { givenName: `G${ctx.run.word()}`, title: `Title ${ctx.run.word()}` };
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'add', value: { 'name.givenName': want.givenName, title: want.title } }), 'PATCH no-path add');
      const got = await getUser(ctx.entra, user.id);
      expect(findKey(got, 'name.givenName') === undefined, 'the dotted key was stored literally at the top level');
      expectEqual(pick(got, 'name.givenName'), want.givenName, 'name.givenName');
      expectEqual(pick(got, 'title'), want.title, 'title');
      expect(typeof pick(got, 'name.familyName') === 'string', `name.familyName must survive an add on name.givenName, got ${show(pick(got, 'name'))}`);
    },
  },
  {
    suite: 'entra',
    name: 'patch-add-work-email-when-missing',
    source: 'MS-TUT E5 (value-filter path on a missing element); https://github.com/Captain-P-Goldfish/SCIM-SDK/issues/416; https://github.com/Captain-P-Goldfish/scim-for-keycloak/issues/73',
    async run(ctx) {
      const home = ctx.run.userName('home');
      const user = await createUser(ctx, entraUserBody(ctx, 'nowork', {}, { emails: [{ type: 'home', value: home }] }), ctx.entra);
      const work = ctx.run.userName('work');
      const res = await ctx.entra.patch(idPath('Users', user.id), patchOp({ op: 'Add', path: 'emails[type eq "work"].value', value: work }));
      if (res.status === 400) fail('Add on emails[type eq "work"].value with no work email must create it, not fail (400 noTarget is logged as a failure by Entra)', res);
      expectPatchOk(res, user.id, 'PATCH Add emails[type eq "work"].value');
      const got = await getUser(ctx.entra, user.id);
      expectEqual(workEmail(got, 'GET after PATCH'), work, 'new work email');
      expectEqual(emailsOfType(got, 'home').map((e) => pick(e, 'value')), [home], 'home email must be kept');
    },
  },
  {
    suite: 'entra',
    name: 'patch-replace-work-email-when-missing',
    source: 'https://github.com/sourcegraph/sourcegraph-public-snapshot/pull/49200; https://github.com/wireapp/wire-server/pull/5419; MS-TUT E5',
    async run(ctx) {
      const home = ctx.run.userName('home');
      const user = await createUser(ctx, entraUserBody(ctx, 'nowork', {}, { emails: [{ type: 'home', value: home }] }), ctx.entra);
      const work = ctx.run.userName('work');
      const res = await ctx.entra.patch(idPath('Users', user.id), patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: work }));
      if (res.status === 400) fail('Replace on emails[type eq "work"].value with no work email must create it, not fail with 400', res);
      expectPatchOk(res, user.id, 'PATCH Replace emails[type eq "work"].value');
      const got = await getUser(ctx.entra, user.id);
      expectEqual(workEmail(got, 'GET after PATCH'), work, 'new work email');
      expectEqual(emailsOfType(got, 'home').map((e) => pick(e, 'value')), [home], 'home email must be kept');
    },
  },
  {
    suite: 'entra',
    name: 'patch-add-replace-interchangeable',
    source: 'https://learn.microsoft.com/en-us/answers/questions/1373350/azure-ad-scim-provisioning-user-attribute-updates; MS-KNOWN ({"op":"Add","path":"nickName"})',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'addrep', {}, { title: 'First title' }), ctx.entra);
      const title = `Title ${ctx.run.word()}`;
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Add', path: 'title', value: title }), 'PATCH Add on an existing single-valued attribute');
      let got = await getUser(ctx.entra, user.id);
      expectEqual(pick(got, 'title'), title, 'title after Add (Add on a single-valued attribute replaces it)');
      const nick = `Babs${ctx.run.word()}`;
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Replace', path: 'nickName', value: nick }), 'PATCH Replace on an absent attribute');
      got = await getUser(ctx.entra, user.id);
      expectEqual(pick(got, 'nickName'), nick, 'nickName after Replace on an unset attribute');
      const nick2 = `Babs${ctx.run.word()}`;
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Add', path: 'nickName', value: nick2 }), 'PATCH Add nickName');
      got = await getUser(ctx.entra, user.id);
      expectEqual(pick(got, 'nickName'), nick2, 'nickName after a second Add');
    },
  },
  // ---------------------------------------------------------------- app roles
  {
    suite: 'entra',
    name: 'app-roles-create-and-read',
    source: 'MS-ATTR (Customize user provisioning attribute-mappings: AppRoleAssignmentsComplex sends "primary": false and type WindowsAzureActiveDirectoryRole on POST)',
    async run(ctx) {
      const roles = [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'Admin', value: 'Admin' }, { primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'User', value: 'User' }];
      const user = await createUser(ctx, entraUserBody(ctx, 'roles', {}, { roles }), ctx.entra);
      const got = await getUser(ctx.entra, user.id);
      const list = pick(got, 'roles');
      expect(Array.isArray(list), `GET must return the roles a POST sent; got ${show(list)}`);
      expectSameSet((list as Json[]).map((r) => pick(r, 'value')), ['Admin', 'User'], 'role values after POST');
      for (const r of list as Json[]) expect(pick(r, 'primary') !== true, `role ${pick(r, 'value')} was sent with primary false, read back primary true`);
    },
  },
  {
    suite: 'entra',
    name: 'app-roles-patch-stringified-add-remove',
    source: 'MS-ATTR (AppRoleAssignmentsComplex PATCH: each role a JSON-encoded string in value, Add and Remove with a value list); clients.md §3.18',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'rolepatch', {}, { roles: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', display: 'User', value: 'User' }] }), ctx.entra);
      const encoded = (value: string) => ({ value: JSON.stringify({ id: ctx.run.uuid(), value, displayName: value }) });
      // Another server may keep the encoded string as the value: a role reads as `Admin` either way.
      const roleValues = (u: Json) => ((pick(u, 'roles') as Json[] | undefined) ?? []).map((r) => {
        const v = pick(r, 'value');
        try { return typeof v === 'string' && v.startsWith('{') ? JSON.parse(v).value : v; } catch { return v; }
      });
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Add', path: 'roles', value: [encoded('Admin')] }), 'PATCH Add roles (JSON-encoded)');
      let got = await getUser(ctx.entra, user.id);
      expectSameSet(roleValues(got), ['User', 'Admin'], 'roles after Add');
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'Remove', path: 'roles', value: [encoded('Admin')] }), 'PATCH Remove roles with a value');
      got = await getUser(ctx.entra, user.id);
      expectSameSet(roleValues(got), ['User'], 'roles after Remove of Admin: only the role named goes, the others stay');
    },
  },
  // ---------------------------------------------------------------- lifecycle
  {
    suite: 'entra',
    name: 'disable-user-still-visible',
    source: 'MS-TUT E7 ("The user object should be returned ... whether or not the user is active"); MS-REF Disable_User_Test',
    async run(ctx) {
      const body = entraUserBody(ctx, 'disable');
      const user = await createUser(ctx, body, ctx.entra);
      await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'replace', path: 'active', value: false }), 'PATCH active false');
      const res = await ctx.entra.get(idPath('Users', user.id));
      expectStatus(res, 200, 'GET a disabled user');
      expectEqual(pick(res.json, 'active'), false, 'active after disable', res);
      const byName = await entraFilter(ctx, 'Users', `userName eq "${body.userName}"`);
      const hit = expectOneMatch(byName, user.id, 'filter userName eq (disabled user)');
      expectEqual(pick(hit, 'active'), false, 'active in the filter result', byName);
      const byExt = await entraFilter(ctx, 'Users', `externalId eq "${body.externalId}"`);
      expectOneMatch(byExt, user.id, 'filter externalId eq (disabled user)');
    },
  },
  {
    suite: 'entra',
    name: 'delete-user',
    source: 'MS-TUT E8 (DELETE -> 204); MS-VAL step 6; MS-REF Delete_User_Test (404 or totalResults 0 afterwards)',
    async run(ctx) {
      const body = entraUserBody(ctx, 'delete');
      const user = await createUser(ctx, body, ctx.entra);
      const del = await ctx.entra.delete(idPath('Users', user.id));
      expectStatus(del, 204, 'DELETE /Users/{id}');
      ctx.untrack('Users', user.id);
      const get = await ctx.entra.get(idPath('Users', user.id));
      expectStatus(get, 404, 'GET after DELETE');
      const filter = await entraFilter(ctx, 'Users', `userName eq "${body.userName}"`);
      expectNoMatch(filter, 'filter userName eq after DELETE');
    },
  },
  // ---------------------------------------------------------------- groups
  {
    suite: 'entra',
    name: 'group-create-ms-schema-and-meta',
    source: 'MS-TUT E9 (create with the ADSCIM/2.0/Group schema URI and meta)',
    async run(ctx) {
      const body = {
        schemas: [URN.group, URN.msGroup],
        externalId: ctx.run.uuid(),
        displayName: ctx.run.name('grp'),
        meta: { resourceType: 'Group' },
      };
      const res = await ctx.entra.post('/Groups', body);
      trackCreated(ctx, 'Groups', res);
      expectStatus(res, 201, 'POST /Groups with the Microsoft schema URI');
      const g = expectJsonObject(res);
      expect(typeof pick(g, 'id') === 'string' && pick(g, 'id') !== '', 'response must carry an id', res);
      expectEqual(pick(g, 'displayName'), body.displayName, 'displayName', res);
      expectEqual(pick(g, 'externalId'), body.externalId, 'externalId', res);
      expect(isUnassigned(pick(g, 'members')), `a new group must have no members, got ${show(pick(g, 'members'))}`, res);
    },
  },
  {
    suite: 'entra',
    name: 'group-match-excluding-members',
    source: 'MS-TUT E9 (GET /Groups?excludedAttributes=members&filter=displayName eq "x"); https://github.com/FusionAuth/fusionauth-issues/issues/1761',
    async run(ctx) {
      const name = ctx.run.name('grpmatch');
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: name }, ctx.entra);
      const u = await newUser(ctx, 'member');
      await addMembers(ctx.http, g.id, [u.id]);
      const full = await getGroup(ctx.entra, g.id, 'GET group (to confirm it has a member)');
      expect(memberIds(full).includes(u.id), `prerequisite: the group should have member ${u.id}, got ${show(pick(full, 'members'))}`);

      const res = await entraFilter(ctx, 'Groups', `displayName eq "${name}"`, 'excludedAttributes=members&');
      const hit = expectOneMatch(res, g.id, 'filter displayName eq with excludedAttributes=members');
      const m = pick(hit, 'members');
      expect(m === undefined || m === null, `Resources must not carry members when excludedAttributes=members, got ${show(m)}`, res);

      const one = await ctx.entra.get(`${idPath('Groups', g.id)}?excludedAttributes=members`);
      expectStatus(one, 200, 'GET /Groups/{id}?excludedAttributes=members');
      const m2 = pick(one.json, 'members');
      expect(m2 === undefined || m2 === null, `GET by id must not carry members when excludedAttributes=members, got ${show(m2)}`, one);
      expectEqual(pick(one.json, 'displayName'), name, 'displayName', one);
    },
  },
  {
    suite: 'entra',
    name: 'group-add-multiple-members-one-op',
    source: 'MS-TUT E9 (Add members, value array with "$ref": null; "Support updating multiple group memberships with a single PATCH")',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('grpadd') }, ctx.entra);
      const { ids, names } = await newUsers(ctx, 'add', 3);
      await entraPatch(
        ctx,
        'Groups',
        g.id,
        patchOp({ op: 'Add', path: 'members', value: ids.map((value) => ({ $ref: null, value })) }),
        'PATCH Add three members in one op',
      );
      const got = await getGroup(ctx.entra, g.id);
      expectSameSet(memberIds(got), ids, 'members after the Add', undefined, names);
    },
  },
  {
    suite: 'entra',
    name: 'group-remove-member-legacy-value-list',
    source: 'MS-TUT E9 / MS-KNOWN (Remove + path "members" + value list); https://github.com/segment-boneyard/segment-docs/pull/6726',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('grprm') }, ctx.entra);
      const { ids, names } = await newUsers(ctx, 'rm', 3);
      await addMembers(ctx.http, g.id, ids);
      expectSameSet(memberIds(await getGroup(ctx.entra, g.id)), ids, 'prerequisite: members before the Remove', undefined, names);
      await entraPatch(
        ctx,
        'Groups',
        g.id,
        patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: ids[0] }] }),
        'PATCH Remove members with a value list',
      );
      const after = memberIds(await getGroup(ctx.entra, g.id));
      if (after.length === 0) fail('the server removed ALL members: Remove + path "members" + value must remove only the listed members');
      expectSameSet(after, [ids[1], ids[2]], 'members after removing u1 only', undefined, names);
    },
  },
  {
    suite: 'entra',
    name: 'group-remove-member-value-filter',
    source: 'MS-KNOWN (aadOptscim062020: remove path members[value eq "id"])',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('grprmf') }, ctx.entra);
      const { ids, names } = await newUsers(ctx, 'rmf', 2);
      await addMembers(ctx.http, g.id, ids);
      await entraPatch(ctx, 'Groups', g.id, patchOp({ op: 'remove', path: `members[value eq "${ids[0]}"]` }), 'PATCH remove members[value eq]');
      expectSameSet(memberIds(await getGroup(ctx.entra, g.id)), [ids[1]], 'members after remove', undefined, names);
    },
  },
  {
    suite: 'entra',
    name: 'group-add-existing-member-idempotent',
    source: 'https://github.com/AzureAD/SCIMReferenceCode/issues/10 (Entra may add an existing member)',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('grpdup') }, ctx.entra);
      const { ids, names } = await newUsers(ctx, 'dup', 1);
      await addMembers(ctx.http, g.id, ids);
      await entraPatch(ctx, 'Groups', g.id, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value: ids[0] }] }), 'PATCH Add an existing member');
      expectSameSet(memberIds(await getGroup(ctx.entra, g.id)), ids, 'members after adding an existing member again', undefined, names);
    },
  },
  {
    suite: 'entra',
    name: 'group-rename-replace-displayName',
    source: 'MS-TUT E9 (Replace displayName; 204 expected)',
    async run(ctx) {
      const oldName = ctx.run.name('grpold');
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: oldName }, ctx.entra);
      const newName = ctx.run.name('grpnew');
      await entraPatch(ctx, 'Groups', g.id, patchOp({ op: 'Replace', path: 'displayName', value: newName }), 'PATCH Replace displayName');
      const got = await getGroup(ctx.entra, g.id);
      expectEqual(pick(got, 'displayName'), newName, 'displayName after rename');
      expectOneMatch(await entraFilter(ctx, 'Groups', `displayName eq "${newName}"`), g.id, 'filter by the new name');
      expectNoMatch(await entraFilter(ctx, 'Groups', `displayName eq "${oldName}"`), 'filter by the old name');
    },
  },
  {
    suite: 'entra',
    name: 'group-delete',
    source: 'MS-TUT E9 (DELETE /Groups/{id} -> 204); MS-VAL step 7',
    async run(ctx) {
      const name = ctx.run.name('grpdel');
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: name }, ctx.entra);
      const del = await ctx.entra.delete(idPath('Groups', g.id));
      expectStatus(del, 204, 'DELETE /Groups/{id}');
      ctx.untrack('Groups', g.id);
      expectStatus(await ctx.entra.get(idPath('Groups', g.id)), 404, 'GET after DELETE');
      expectNoMatch(await entraFilter(ctx, 'Groups', `displayName eq "${name}"`), 'filter after DELETE');
    },
  },
  // ---------------------------------------------------------------- gallery validation (MS-REF Logic App)
  {
    suite: 'entra',
    name: 'SCIM_Null_Update_Test',
    source: 'MS-REF Logic App SCIM-Validation-Test-Overview.md #16 (replace with "" then null; 200/204; then empty or absent)',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'null', { department: 'Dept0' }, { title: 'Title0' }), ctx.entra);
      for (const path of ['title', `${ENT}:department`]) {
        for (const value of ['', null]) {
          if (value === null) {
            await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'replace', path, value: `Again ${ctx.run.word()}` }), `PATCH re-set ${path}`);
            const mid = await getUser(ctx.entra, user.id);
            expect(!isUnassigned(pick(mid, path)), `prerequisite: ${path} should be set again, got ${show(pick(mid, path))}`);
          }
          await entraPatch(ctx, 'Users', user.id, patchOp({ op: 'replace', path, value }), `PATCH replace ${path} with ${JSON.stringify(value)}`);
          const got = await getUser(ctx.entra, user.id);
          expect(isUnassigned(pick(got, path)), `after replace with ${JSON.stringify(value)}, ${path} must be empty or absent, got ${show(pick(got, path))}`);
        }
      }
    },
  },
  {
    suite: 'entra',
    name: 'SCIM_User_Pagination_Test',
    source: 'MS-REF Logic App SCIM-Validation-Test-Overview.md #23 (>=11 users, startIndex=N&count=5, >=2 pages, startIndex echoed)',
    async run(ctx) {
      const prefix = `${ctx.run.prefix}pg${ctx.run.word()}.`;
      const created: string[] = [];
      for (let i = 0; i < 11; i++) {
        const u = await createUser(ctx, userBody(ctx, 'pg', { userName: `${prefix}${String(i).padStart(2, '0')}@example.com` }), ctx.entra);
        created.push(u.id);
      }
      const filter = formEncode(`userName sw "${prefix}"`);
      const seen: string[] = [];
      let start = 1;
      let pages = 0;
      while (start <= 11 && pages < 12) {
        const res = await ctx.entra.get(`/Users?filter=${filter}&startIndex=${start}&count=5`);
        const list = expectList(res, `page startIndex=${start}&count=5`, { paged: true, total: 11 });
        expectEqual(list.startIndex, start, 'response startIndex (must equal the requested one)', res);
        expect(list.Resources.length <= 5, `count=5 but the page has ${list.Resources.length} resources`, res);
        expect(list.Resources.length > 0, `empty page at startIndex=${start} although totalResults is 11`, res);
        seen.push(...idsOf(list.Resources));
        start += list.Resources.length;
        pages += 1;
      }
      expect(pages >= 2, `expected at least 2 pages, got ${pages}`);
      expectSameSet(seen, created, 'ids across all pages (no duplicates, none missing)');

      const res = await ctx.entra.get('/Users?startIndex=6&count=5');
      const list = expectList(res, 'unfiltered page startIndex=6&count=5', { paged: true });
      expectEqual(list.startIndex, 6, 'response startIndex', res);
      expect(list.Resources.length >= 1 && list.Resources.length <= 5, `expected 1..5 resources (at least 11 users exist), got ${list.Resources.length}`, res);
      expect(list.totalResults >= 11, `totalResults must count at least the 11 users just created, got ${list.totalResults}`, res);
    },
  },
  {
    suite: 'entra',
    name: 'SCIM_User_Create_Test',
    source: 'MS-REF Logic App #17 (POST /Users; 200/201, non-empty id, userName round-trips)',
    async run(ctx) {
      const userName = ctx.run.userName('gcreate');
      const res = await ctx.entra.post('/Users', {
        schemas: [URN.user],
        userName,
        active: true,
        name: { givenName: 'Gallery', familyName: 'Create' },
        emails: [{ type: 'work', value: userName, primary: true }],
      });
      trackCreated(ctx, 'Users', res);
      expectStatus(res, [200, 201], 'POST /Users');
      const id = pick(res.json, 'id');
      expect(typeof id === 'string' && id !== '', `non-empty id required, got ${show(id)}`, res);
      expectEqual(pick(res.json, 'userName'), userName, 'userName in the response', res);
      const got = await getUser(ctx.entra, id);
      expectEqual(pick(got, 'userName'), userName, 'userName after GET');
    },
  },
  {
    suite: 'entra',
    name: 'SCIM_User_Update_Test',
    source: 'MS-REF Logic App #18 (PATCH single-valued attributes; 200/204; GET values match)',
    async run(ctx) {
      const user = await createUser(ctx, entraUserBody(ctx, 'gupd', { department: 'D0' }, { title: 'T0' }), ctx.entra);
      const want: Record<string, string> = {
        userName: ctx.run.userName('gupdrenamed'),
        displayName: `Display ${ctx.run.word()}`,
        title: `Title ${ctx.run.word()}`,
        nickName: `Nick${ctx.run.word()}`,
        preferredLanguage: 'en-US',
        [`${ENT}:department`]: `Dept ${ctx.run.word()}`,
      };
      await entraPatch(
        ctx,
        'Users',
        user.id,
        patchOp(...Object.entries(want).map(([path, value]) => ({ op: 'replace', path, value }))),
        'PATCH replace single-valued attributes',
      );
      const got = await getUser(ctx.entra, user.id);
      for (const [path, value] of Object.entries(want)) expectEqual(pick(got, path), value, path);
    },
  },
  {
    suite: 'entra',
    name: 'SCIM_Group_Create_Test',
    source: 'MS-REF Logic App #19 (POST /Groups; displayName round-trips)',
    async run(ctx) {
      const displayName = ctx.run.name('ggcreate');
      const res = await ctx.entra.post('/Groups', { schemas: [URN.group], displayName });
      trackCreated(ctx, 'Groups', res);
      expectStatus(res, [200, 201], 'POST /Groups');
      const id = pick(res.json, 'id');
      expect(typeof id === 'string' && id !== '', `non-empty id required, got ${show(id)}`, res);
      expectEqual(pick(res.json, 'displayName'), displayName, 'displayName in the response', res);
      expectEqual(pick(await getGroup(ctx.entra, id), 'displayName'), displayName, 'displayName after GET');
    },
  },
  {
    suite: 'entra',
    name: 'SCIM_Group_Update_Test',
    source: 'MS-REF Logic App #20 (PATCH non-member attributes; GET values match)',
    async run(ctx) {
      const g = await createGroup(ctx, { schemas: [URN.group], displayName: ctx.run.name('ggupd'), externalId: ctx.run.uuid() }, ctx.entra);
      const want = { displayName: ctx.run.name('ggupdnew'), externalId: ctx.run.uuid() };
      await entraPatch(
        ctx,
        'Groups',
        g.id,
        patchOp({ op: 'replace', path: 'displayName', value: want.displayName }, { op: 'replace', path: 'externalId', value: want.externalId }),
        'PATCH replace displayName and externalId',
      );
      const got = await getGroup(ctx.entra, g.id);
      expectEqual(pick(got, 'displayName'), want.displayName, 'displayName');
      expectEqual(pick(got, 'externalId'), want.externalId, 'externalId');
    },
  },
  {
    suite: 'entra',
    name: 'Schema_Discoverability_Test',
    source: 'MS-REF Logic App #15 (mapped attributes discoverable in /Schemas, case-insensitive); MS-TUT E10; MS-REF #8 (Group schema required)',
    async run(ctx) {
      const res = await ctx.entra.get('/Schemas');
      const list = expectList(res, 'GET /Schemas');
      const byId = (urn: string) => list.Resources.find((s) => String(pick(s, 'id')).toLowerCase() === urn.toLowerCase());
      const required: Record<string, string[]> = {
        [URN.user]: ['userName', 'name.givenName', 'name.familyName', 'displayName', 'active', 'emails', 'emails.value', 'emails.type', 'title'],
        [URN.group]: ['displayName', 'members', 'members.value'],
        [ENT]: ['employeeNumber', 'department', 'manager'],
      };
      const problems: string[] = [];
      for (const [urn, names] of Object.entries(required)) {
        const schema = byId(urn);
        if (!schema) {
          problems.push(`schema ${urn} is not listed`);
          continue;
        }
        const have = new Set(flattenSchema(schema).map((n) => n.toLowerCase()));
        const missing = names.filter((n) => !have.has(n.toLowerCase()));
        if (missing.length) problems.push(`${urn} lacks ${missing.join(', ')}`);
      }
      if (problems.length) fail(`GET /Schemas: ${problems.join('; ')}`, res);
    },
  },
  {
    suite: 'entra',
    name: 'schemas-well-formed',
    source: 'MS-TUT E10 (no null values, camelCase characteristic values); RFC 7643 §7',
    async run(ctx) {
      const res = await ctx.entra.get('/Schemas');
      const list = expectList(res, 'GET /Schemas');
      expect(list.Resources.length > 0, 'GET /Schemas returned no schemas', res);
      const userSchema = list.Resources.find((s) => pick(s, 'id') === URN.user);
      expect(userSchema && Array.isArray(pick(userSchema, 'attributes')) && pick(userSchema, 'attributes').length > 0, `${URN.user} must be listed with its attributes`, res);
      const nulls: string[] = [];
      const walk = (v: unknown, path: string) => {
        if (v === null) nulls.push(path);
        else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
        else if (typeof v === 'object') for (const [k, x] of Object.entries(v as object)) walk(x, path ? `${path}.${k}` : k);
      };
      walk(res.json, '');
      if (nulls.length) fail(`/Schemas contains null values at ${nulls.slice(0, 8).join(', ')}${nulls.length > 8 ? ', ...' : ''}`, res);
      const allowed: Record<string, string[]> = {
        type: ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'],
        mutability: ['readOnly', 'readWrite', 'immutable', 'writeOnly'],
        returned: ['always', 'never', 'default', 'request'],
        uniqueness: ['none', 'server', 'global'],
      };
      const bad: string[] = [];
      const check = (attr: Json, where: string) => {
        for (const [k, values] of Object.entries(allowed)) {
          const v = attr[k];
          if (v !== undefined && !values.includes(v)) bad.push(`${where}.${k}=${JSON.stringify(v)}`);
        }
        if (typeof attr.name !== 'string' || attr.name === '') bad.push(`${where} has no name`);
        for (const s of Array.isArray(attr.subAttributes) ? attr.subAttributes : []) check(s, `${where}.${s?.name}`);
      };
      for (const schema of list.Resources) {
        for (const a of Array.isArray(schema?.attributes) ? schema.attributes : []) check(a, `${schema.id}:${a?.name}`);
      }
      if (bad.length) fail(`characteristic values must be exactly as RFC 7643 §7 spells them: ${bad.slice(0, 8).join(', ')}`, res);
    },
  },
];
