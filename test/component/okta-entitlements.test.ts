/**
 * Okta Identity Governance discovery (Okta's "Build a SCIM 2.0 server with entitlements"): /ResourceTypes and
 * /Schemas list Role and Entitlement with Okta's schema URNs; /Roles serves the workspace's system roles and
 * /Entitlements its live teams and channels (and, with the role mapping's adminEntitlements, their admin flavours),
 * filtered, sorted and paged by SQL; both are read-only.
 *
 * One database, three servers: A with the default role mapping, B with ROLE_ADMIN_ENTITLEMENTS=true, C with
 * ROLE_MAPPING_FILE {"adminEntitlements": true}.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, createDatabase, ENTERPRISE, GROUP_SCHEMA, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { entitlementType, formatEntitlement, parseEntitlement } from '../../src/scim/shared/entitlement-id.ts';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const ROLE = 'urn:okta:scim:schemas:core:1.0:Role';
const ENT = 'urn:okta:scim:schemas:core:1.0:Entitlement';

/** The live entitlements of the fixture without admin flavours, in code-point order of their ids. */
const BASIC = [
  'channel:alpha:design', 'channel:alpha:off-topic', 'channel:alpha:town-square',
  'channel:beta-2:off-topic', 'channel:beta-2:town-square',
  'channel:beta:launch', 'channel:beta:off-topic', 'channel:beta:town-square',
  'team:alpha', 'team:beta', 'team:beta-2',
];
/** With admin flavours: every one twice, in code-point order (`team:beta-2` sorts before `team:beta:admin`). */
const WITH_ADMIN = [...BASIC, ...BASIC.map((id) => `${id}:admin`)].sort();

const ids = (body: any): string[] => body.Resources.map((r: any) => r.id);
const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;

for (const store of stores()) {
  describe(`Okta roles and entitlements [${store}]`, () => {
    let db: TestDatabase;
    let a: TestServer;
    let b: TestServer;
    let c: TestServer;
    let dir: string;
    let apiA: ReturnType<typeof client>;
    let apiB: ReturnType<typeof client>;
    let admin: ReturnType<typeof client>;
    const teams: Record<string, any> = {};
    const channels: Record<string, any> = {};

    before(async () => {
      db = await createDatabase(store);
      dir = mkdtempSync(join(tmpdir(), 'okta-ent-'));
      writeFileSync(join(dir, 'roles.json'), JSON.stringify({ adminEntitlements: true }));
      a = await startServer(store, db);
      b = await startServer(store, db, { env: { ROLE_ADMIN_ENTITLEMENTS: 'true' } });
      c = await startServer(store, db, { env: { ROLE_MAPPING_FILE: join(dir, 'roles.json') } });
      apiA = client(a);
      apiB = client(b);
      admin = client(a, a.adminToken);
      const A = `${a.url}/admin/v1`;
      const made = async (r: Promise<{ status: number; body: any; text: string }>) => {
        const res = await r;
        assert.equal(res.status, 201, res.text);
        return res.body;
      };
      for (const [name, displayName] of [['alpha', 'Alpha'], ['beta', 'Beta'], ['beta-2', 'Beta Two'], ['gone', 'Gone']]) {
        const t = await made(admin.post(`${A}/teams`, { name, displayName }));
        teams[name!] = t.team;
        assert.deepEqual(t.channels.map((ch: any) => ch.name).sort(), ['off-topic', 'town-square']);
        for (const ch of t.channels) channels[`${name}:${ch.name}`] = ch;
      }
      channels['alpha:design'] = await made(admin.post(`${A}/teams/${teams.alpha.id}/channels`, { name: 'design', displayName: 'Design', type: 'P' }));
      channels['alpha:old'] = await made(admin.post(`${A}/teams/${teams.alpha.id}/channels`, { name: 'old', displayName: 'Old' }));
      channels['beta:launch'] = await made(admin.post(`${A}/teams/${teams.beta.id}/channels`, { name: 'launch', displayName: 'Launch' }));
      assert.equal((await admin.post(`${A}/channels/${channels['alpha:old'].id}/archive`, {})).status, 200);
      assert.equal((await admin.post(`${A}/teams/${teams.gone.id}/archive`, {})).status, 200);
      // Times as stored after the archives (archiving a channel may touch nothing else, but read them back anyway).
      for (const name of Object.keys(teams)) teams[name] = (await admin.get(`${A}/teams/${teams[name].id}`)).body;
      for (const key of Object.keys(channels)) channels[key] = (await admin.get(`${A}/channels/${channels[key].id}`)).body;
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
      await db?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('/ResourceTypes lists Role and Entitlement with Okta\'s schema URNs; User and Group are as before', async () => {
      const res = await apiA.get('/ResourceTypes');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.schemas, [LIST]);
      assert.equal(res.body.totalResults, 4);
      assert.deepEqual(res.body.Resources.map((r: any) => r.id), ['User', 'Group', 'Role', 'Entitlement']);
      const [user, group, role, ent] = res.body.Resources;
      assert.equal(user.endpoint, '/Users');
      assert.equal(user.schema, USER_SCHEMA);
      assert.deepEqual(user.schemaExtensions, [{ schema: ENTERPRISE, required: false }]);
      assert.equal(group.endpoint, '/Groups');
      assert.equal(group.schema, GROUP_SCHEMA);
      assert.equal(group.schemaExtensions, undefined);
      assert.deepEqual(role, {
        schemas: [RESOURCE_TYPE], id: 'Role', name: 'Role', endpoint: '/Roles', schema: ROLE,
        description: 'A system role of the workspace, which an IdP assigns to a person as roles[].value',
        meta: { resourceType: 'ResourceType', location: `${a.base}/ResourceTypes/Role` },
      });
      assert.deepEqual(ent, {
        schemas: [RESOURCE_TYPE], id: 'Entitlement', name: 'Entitlement', endpoint: '/Entitlements', schema: ENT,
        description: 'A team or channel of the workspace (or the admin role in it), which an IdP assigns to a person as entitlements[].value',
        meta: { resourceType: 'ResourceType', location: `${a.base}/ResourceTypes/Entitlement` },
      });
      for (const [name, want] of [['Role', role], ['Entitlement', ent], ['User', user], ['Group', group]]) {
        const one = await apiA.get(`/ResourceTypes/${name}`);
        assert.equal(one.status, 200, one.text);
        assert.deepEqual(one.body, want);
      }
    });

    test('/Schemas lists the Role and Entitlement schemas with RFC 7643 §7 attribute definitions, and /Schemas/<urn> serves each', async () => {
      const res = await apiA.get('/Schemas');
      assert.equal(res.status, 200, res.text);
      // SCIMMY lists declared schemas first, then the extensions (schemas.js Schemas.declared).
      assert.deepEqual(res.body.Resources.map((s: any) => s.id), [USER_SCHEMA, GROUP_SCHEMA, ROLE, ENT, ENTERPRISE]);
      assert.ok(!res.text.includes(':null'), 'no null values (Entra refuses them)');
      const attr = (name: string, description: string, more: Record<string, unknown> = {}) => ({
        name, type: 'string', multiValued: false, description, required: false, caseExact: false, mutability: 'readOnly', returned: 'default', uniqueness: 'none', ...more,
      });
      const role = {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id: ROLE, name: 'Role',
        description: 'A system role of the workspace, which an IdP assigns to a person as roles[].value',
        attributes: [
          attr('id', 'The role id, as Mattermost names the role (system_admin, system_user, system_guest)', { required: true, caseExact: true, returned: 'always', uniqueness: 'server' }),
          attr('displayName', 'The role as the workspace calls it', { required: true }),
          attr('description', 'What the role gives'),
        ],
        meta: { resourceType: 'Schema', location: `${a.base}/Schemas/${ROLE}` },
      };
      const ent = {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id: ENT, name: 'Entitlement',
        description: 'A team or channel of the workspace (or the admin role in it), which an IdP assigns to a person as entitlements[].value',
        attributes: [
          attr('id', 'team:<team>, channel:<team>:<channel>, and with :admin appended the admin role in it', { required: true, caseExact: true, returned: 'always', uniqueness: 'server' }),
          attr('displayName', 'The type and the display name of the team (and channel)', { required: true, caseExact: true }),
          attr('type', 'What the entitlement gives', { required: true, canonicalValues: ['Team', 'Team admin', 'Channel', 'Channel admin'] }),
          attr('description', 'What the entitlement gives, in words'),
        ],
        meta: { resourceType: 'Schema', location: `${a.base}/Schemas/${ENT}` },
      };
      assert.deepEqual(res.body.Resources[2], role);
      assert.deepEqual(res.body.Resources[3], ent);
      for (const want of [role, ent]) {
        const one = await apiA.get(`/Schemas/${want.id}`);
        assert.equal(one.status, 200, one.text);
        assert.deepEqual(one.body, want);
      }
      // The User schema is SCIMMY's, unchanged: id is a common attribute there (RFC 7643 §3.1).
      const user = res.body.Resources[0];
      assert.equal(user.attributes.find((x: any) => x.name === 'id'), undefined);
      assert.equal(user.attributes.find((x: any) => x.name === 'userName').uniqueness, 'server');
    });

    test('GET /Roles lists the three system roles by id; GET /Roles/{id} reads one; an unknown id is a SCIM 404', async () => {
      const role = (id: string, displayName: string, description: string) => ({
        schemas: [ROLE], id, displayName, description, meta: { resourceType: 'Role', location: `${a.base}/Roles/${id}` },
      });
      const admin = role('system_admin', 'System Admin', 'Administers the whole workspace (Mattermost system_admin)');
      const guest = role('system_guest', 'Guest', 'A guest: sees only the teams and channels given to it (Mattermost system_guest)');
      const member = role('system_user', 'Member', 'A member of the workspace (Mattermost system_user)');
      const res = await apiA.get('/Roles');
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      assert.deepEqual(res.body, { schemas: [LIST], Resources: [admin, guest, member], startIndex: 1, itemsPerPage: 3, totalResults: 3 });
      const one = await apiA.get('/Roles/system_guest');
      assert.equal(one.status, 200, one.text);
      assert.deepEqual(one.body, guest);
      for (const id of ['nope', 'SYSTEM_ADMIN', 'a%22b', 'team:alpha']) {
        const miss = await apiA.get(`/Roles/${id}`);
        assert.equal(miss.status, 404, `${id}: ${miss.text}`);
        assert.deepEqual(miss.body, { schemas: [ERROR], status: '404', detail: `Role ${decodeURIComponent(id)} not found` });
      }
      const page = await apiA.get('/Roles?count=1&startIndex=2');
      assert.deepEqual(page.body, { schemas: [LIST], Resources: [guest], startIndex: 2, itemsPerPage: 1, totalResults: 3 });
      const none = await apiA.get('/Roles?count=0');
      assert.deepEqual(none.body, { schemas: [LIST], Resources: [], startIndex: 1, itemsPerPage: 0, totalResults: 3 });
      // displayName is caseExact=false on Roles: "member" finds Member.
      assert.deepEqual(ids((await apiA.get(`/Roles?${q('displayName eq "member"')}`)).body), ['system_user']);
      assert.deepEqual(ids((await apiA.get(`/Roles?${q('id eq "system_admin" or value eq "system_guest"')}`)).body), ['system_admin', 'system_guest']);
      assert.deepEqual(ids((await apiA.get('/Roles?sortBy=displayName')).body), ['system_guest', 'system_user', 'system_admin']);
      const bad = await apiA.get(`/Roles?${q('type eq "Team"')}`);
      assert.equal(bad.status, 400, bad.text);
      assert.deepEqual(bad.body, { schemas: [ERROR], status: '400', scimType: 'invalidFilter', detail: 'Unknown attribute "type"' });
    });

    test('GET /Entitlements lists live teams and channels of live teams, in id order, each with the exact representation', async () => {
      const res = await apiA.get('/Entitlements');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(ids(res.body), BASIC, 'archived team "gone", its channels and the archived channel alpha:old are not listed');
      assert.deepEqual({ ...res.body, Resources: undefined }, { schemas: [LIST], Resources: undefined, startIndex: 1, itemsPerPage: BASIC.length, totalResults: BASIC.length });
      const byId = new Map(res.body.Resources.map((r: any) => [r.id, r]));
      assert.deepEqual(byId.get('team:alpha'), {
        schemas: [ENT], id: 'team:alpha', displayName: 'Team Alpha', type: 'Team', description: 'Member of the team Alpha (alpha)',
        meta: { resourceType: 'Entitlement', created: teams.alpha.createdAt, lastModified: teams.alpha.updatedAt, location: `${a.base}/Entitlements/team:alpha` },
      });
      const design = channels['alpha:design'];
      assert.deepEqual(byId.get('channel:alpha:design'), {
        schemas: [ENT], id: 'channel:alpha:design', displayName: 'Channel Alpha / Design', type: 'Channel',
        description: 'Member of the channel Design (design) in the team Alpha (alpha)',
        meta: { resourceType: 'Entitlement', created: design.createdAt, lastModified: design.updatedAt, location: `${a.base}/Entitlements/channel:alpha:design` },
      });
      assert.equal((byId.get('channel:beta-2:town-square') as any).displayName, 'Channel Beta Two / Town Square');
      // GET by id answers the same representation, with the id as sent or percent-encoded.
      for (const path of ['/Entitlements/team:alpha', '/Entitlements/channel:alpha:design', '/Entitlements/channel%3Aalpha%3Adesign']) {
        const one = await apiA.get(path);
        assert.equal(one.status, 200, `${path}: ${one.text}`);
        assert.deepEqual(one.body, byId.get(decodeURIComponent(path.slice('/Entitlements/'.length))));
      }
    });

    test('every id served is the entitlement-id format: it parses, formats back to itself and has its type', async () => {
      const res = await apiB.get('/Entitlements?count=1000');
      assert.deepEqual(ids(res.body), WITH_ADMIN);
      for (const e of res.body.Resources) {
        const ref = parseEntitlement(e.id);
        assert.ok(ref, e.id);
        assert.equal(formatEntitlement(ref), e.id);
        assert.equal(entitlementType(ref), e.type, e.id);
        assert.ok(e.displayName.startsWith(`${e.type} `), `${e.id}: ${e.displayName}`);
      }
    });

    test('admin flavours are offered only with adminEntitlements (ROLE_ADMIN_ENTITLEMENTS or ROLE_MAPPING_FILE)', async () => {
      const b1 = await apiB.get('/Entitlements?count=1000');
      assert.equal(b1.body.totalResults, 22);
      const adminTeam = b1.body.Resources.find((r: any) => r.id === 'team:beta:admin');
      assert.deepEqual(adminTeam, {
        schemas: [ENT], id: 'team:beta:admin', displayName: 'Team admin Beta', type: 'Team admin', description: 'Admin of the team Beta (beta)',
        meta: { resourceType: 'Entitlement', created: teams.beta.createdAt, lastModified: teams.beta.updatedAt, location: `${b.base}/Entitlements/team:beta:admin` },
      });
      const adminChannel = b1.body.Resources.find((r: any) => r.id === 'channel:beta:launch:admin');
      assert.equal(adminChannel.displayName, 'Channel admin Beta / Launch');
      assert.equal(adminChannel.type, 'Channel admin');
      assert.equal(adminChannel.description, 'Admin of the channel Launch (launch) in the team Beta (beta)');
      const c1 = await client(c).get('/Entitlements?count=1000');
      assert.deepEqual(ids(c1.body), WITH_ADMIN, 'ROLE_MAPPING_FILE {"adminEntitlements": true} offers them too');
      for (const path of ['/Entitlements/team:beta:admin', '/Entitlements/channel:alpha:design:admin']) {
        assert.equal((await apiB.get(path)).status, 200, path);
        const miss = await apiA.get(path);
        assert.equal(miss.status, 404, `${path} on a server without adminEntitlements: ${miss.text}`);
        assert.deepEqual(miss.body, { schemas: [ERROR], status: '404', detail: `Entitlement ${path.slice('/Entitlements/'.length)} not found` });
      }
      assert.equal((await apiA.get(`/Entitlements?${q('type eq "Team admin"')}`)).body.totalResults, 0);
    });

    test('unknown, archived and non-canonical ids are a SCIM 404', async () => {
      for (const id of ['team:nope', 'team:gone', 'channel:gone:town-square', 'channel:alpha:old', 'channel:alpha:nope', 'TEAM:alpha', 'team:alpha:member', 'garbage', 'a%22b', 'team:alpha%20']) {
        const res = await apiB.get(`/Entitlements/${id}`);
        assert.equal(res.status, 404, `${id}: ${res.text}`);
        assert.deepEqual(res.body, { schemas: [ERROR], status: '404', detail: `Entitlement ${decodeURIComponent(id)} not found` });
      }
    });

    test('paging: pages of startIndex/count walk the whole catalogue once, with exact totals (RFC 7644 §3.4.2.4)', async () => {
      const walked: string[] = [];
      for (let start = 1; start <= 21; start += 5) {
        const res = await apiB.get(`/Entitlements?startIndex=${start}&count=5`);
        assert.equal(res.status, 200, res.text);
        const size = Math.min(5, 22 - (start - 1));
        assert.deepEqual({ total: res.body.totalResults, start: res.body.startIndex, items: res.body.itemsPerPage }, { total: 22, start, items: size });
        assert.deepEqual(ids(res.body), WITH_ADMIN.slice(start - 1, start - 1 + size));
        walked.push(...ids(res.body));
      }
      assert.deepEqual(walked, WITH_ADMIN);
      // The same walk, filtered.
      const channelsOnly = WITH_ADMIN.filter((id) => id.startsWith('channel:') && !id.endsWith(':admin'));
      const filtered: string[] = [];
      for (let start = 1; start <= channelsOnly.length; start += 3) {
        const res = await apiB.get(`/Entitlements?${q('type eq "Channel"')}&startIndex=${start}&count=3`);
        assert.equal(res.body.totalResults, channelsOnly.length);
        filtered.push(...ids(res.body));
      }
      assert.deepEqual(filtered, channelsOnly);
      const past = await apiB.get('/Entitlements?startIndex=23&count=5');
      assert.deepEqual(past.body, { schemas: [LIST], Resources: [], startIndex: 23, itemsPerPage: 0, totalResults: 22 });
      const zero = await apiB.get('/Entitlements?count=0');
      assert.deepEqual(zero.body, { schemas: [LIST], Resources: [], startIndex: 1, itemsPerPage: 0, totalResults: 22 });
      const negative = await apiB.get('/Entitlements?count=-3&startIndex=-1');
      assert.deepEqual(negative.body, { schemas: [LIST], Resources: [], startIndex: 1, itemsPerPage: 0, totalResults: 22 });
      const fromZero = await apiB.get('/Entitlements?startIndex=0&count=2');
      assert.deepEqual({ start: fromZero.body.startIndex, ids: ids(fromZero.body) }, { start: 1, ids: WITH_ADMIN.slice(0, 2) });
      // Bad values are refused as /Users refuses them.
      for (const query of ['count=abc', 'startIndex=1.5', 'count=1&count=2']) {
        const users = await apiB.get(`/Users?${query}`);
        const ent = await apiB.get(`/Entitlements?${query}`);
        assert.equal(ent.status, 400, `${query}: ${ent.text}`);
        assert.deepEqual(ent.body, users.body, query);
      }
    });

    test('filters: id, value, displayName eq/co/sw, type eq, and/or, URN-qualified names', async () => {
      const cases: [string, string[]][] = [
        ['id eq "team:alpha"', ['team:alpha']],
        ['value eq "channel:beta:launch:admin"', ['channel:beta:launch:admin']],
        ['displayName eq "Team Alpha"', ['team:alpha']],
        // Entitlement displayName is caseExact (declared so in /Schemas).
        ['displayName eq "team alpha"', []],
        ['displayName co "Town Square"', ['channel:alpha:town-square', 'channel:alpha:town-square:admin', 'channel:beta-2:town-square', 'channel:beta-2:town-square:admin', 'channel:beta:town-square', 'channel:beta:town-square:admin']],
        ['displayName sw "Channel admin Beta Two"', ['channel:beta-2:off-topic:admin', 'channel:beta-2:town-square:admin']],
        // type is caseExact=false.
        ['type eq "team admin"', ['team:alpha:admin', 'team:beta-2:admin', 'team:beta:admin']],
        ['type eq "Team" or id eq "channel:beta:launch"', ['channel:beta:launch', 'team:alpha', 'team:beta', 'team:beta-2']],
        ['type eq "Channel" and displayName co "Design"', ['channel:alpha:design']],
        ['(type eq "Team" or type eq "Team admin") and id sw "team:beta"', ['team:beta', 'team:beta-2', 'team:beta-2:admin', 'team:beta:admin']],
        [`${ENT}:type eq "Team"`, ['team:alpha', 'team:beta', 'team:beta-2']],
        ['id eq "team:gone"', []],
      ];
      for (const [filter, want] of cases) {
        const res = await apiB.get(`/Entitlements?${q(filter)}`);
        assert.equal(res.status, 200, `${filter}: ${res.text}`);
        assert.deepEqual(ids(res.body), want, filter);
        assert.equal(res.body.totalResults, want.length, filter);
      }
      // POST .search takes the same parameters in the body (RFC 7644 §3.4.3).
      const search = await apiB.post('/Entitlements/.search', { schemas: [SEARCH], filter: 'type eq "Team"', startIndex: 2, count: 1 });
      assert.equal(search.status, 200, search.text);
      assert.deepEqual({ ids: ids(search.body), total: search.body.totalResults }, { ids: ['team:beta'], total: 3 });
    });

    test('a filter on any other attribute, or a malformed one, is 400 invalidFilter', async () => {
      const cases: [string, string][] = [
        ['userName eq "x"', 'Unknown attribute "userName"'],
        ['members.value eq "x"', 'Unknown attribute "members.value"'],
        ['displayName.value eq "x"', 'Unknown attribute "displayName.value"'],
        ['meta.created gt "2020-01-01T00:00:00Z"', 'Unknown attribute "meta.created"'],
        [`${ROLE}:displayName eq "x"`, `Unknown attribute "${ROLE}:displayName"`],
      ];
      for (const [filter, detail] of cases) {
        const res = await apiA.get(`/Entitlements?${q(filter)}`);
        assert.equal(res.status, 400, `${filter}: ${res.text}`);
        assert.deepEqual(res.body, { schemas: [ERROR], status: '400', scimType: 'invalidFilter', detail }, filter);
      }
      for (const filter of ['type eq', 'id eq "x" and', 'JOHN', '(type eq "Team"']) {
        const res = await apiA.get(`/Entitlements?${q(filter)}`);
        assert.equal(res.status, 400, `${filter}: ${res.text}`);
        assert.equal(res.body.scimType, 'invalidFilter', filter);
        assert.deepEqual(res.body.schemas, [ERROR]);
      }
      const sort = await apiA.get('/Entitlements?sortBy=userName');
      assert.equal(sort.status, 400, sort.text);
      assert.equal(sort.body.scimType, 'invalidValue');
    });

    test('sortBy displayName or type, either order; projection with attributes and excludedAttributes', async () => {
      const all = (await apiA.get('/Entitlements')).body.Resources;
      const byName = [...all].sort((x: any, y: any) => (x.displayName < y.displayName ? -1 : x.displayName > y.displayName ? 1 : 0)).map((r: any) => r.id);
      assert.deepEqual(ids((await apiA.get('/Entitlements?sortBy=displayName')).body), byName);
      assert.deepEqual(ids((await apiA.get('/Entitlements?sortBy=displayName&sortOrder=descending')).body), [...byName].reverse());
      assert.deepEqual(ids((await apiA.get('/Entitlements?sortBy=type&count=3')).body), BASIC.filter((id) => id.startsWith('channel:')).slice(0, 3));
      // A walk in a sorted order continues after the last row of each page (sort key, then id: both in the seek).
      const byType = [...all].sort((x: any, y: any) => (x.type === y.type ? (x.id < y.id ? 1 : -1) : x.type < y.type ? 1 : -1)).map((r: any) => r.id);
      const walked: string[] = [];
      for (let start = 1; start <= byType.length; start += 4) walked.push(...ids((await apiA.get(`/Entitlements?sortBy=type&sortOrder=descending&startIndex=${start}&count=4`)).body));
      assert.deepEqual(walked, byType);
      const picked = await apiA.get(`/Entitlements?${q('id eq "team:beta"')}&attributes=displayName`);
      assert.deepEqual(picked.body.Resources, [{ schemas: [ENT], id: 'team:beta', displayName: 'Team Beta' }]);
      const qualified = await apiA.get(`/Entitlements/team:beta?attributes=${ENT}:type`);
      assert.deepEqual(qualified.body, { schemas: [ENT], id: 'team:beta', type: 'Team' });
      const dropped = await apiA.get('/Entitlements/team:beta?excludedAttributes=meta,description');
      assert.deepEqual(dropped.body, { schemas: [ENT], id: 'team:beta', displayName: 'Team Beta', type: 'Team' });
      const role = await apiA.get('/Roles/system_user?attributes=displayName');
      assert.deepEqual(role.body, { schemas: [ROLE], id: 'system_user', displayName: 'Member' });
    });

    test('Okta\'s entitlements test: GET <endpoint>?count=1&startIndex=1 for each Okta resource type', async () => {
      const types = (await apiB.get('/ResourceTypes')).body.Resources.filter((r: any) => r.schema === ROLE || r.schema === ENT);
      assert.deepEqual(types.map((r: any) => r.endpoint), ['/Roles', '/Entitlements']);
      const firsts: string[] = [];
      for (const t of types) {
        const res = await apiB.get(`${t.endpoint}?count=1&startIndex=1`, { 'User-Agent': 'Okta SCIM Client 1.0.0', Accept: 'application/scim+json' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body.schemas, [LIST]);
        assert.ok(res.body.Resources.length <= 1);
        for (const r of res.body.Resources) {
          assert.equal(typeof r.id, 'string');
          assert.equal(typeof r.displayName, 'string');
        }
        assert.deepEqual({ items: res.body.itemsPerPage, start: res.body.startIndex }, { items: 1, start: 1 });
        firsts.push(res.body.Resources[0].id);
      }
      assert.deepEqual(firsts, ['system_admin', 'channel:alpha:design']);
    });

    test('POST, PUT, PATCH and DELETE on /Roles and /Entitlements are 405 with Allow: GET; OPTIONS says what is allowed', async () => {
      for (const path of ['/Roles', '/Roles/system_user', '/Entitlements', '/Entitlements/team:alpha', '/Entitlements/team:nope']) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await apiA.call(method, path, method === 'DELETE' ? undefined : { schemas: [ENT], displayName: 'x' });
          assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
          assert.equal(res.headers.get('allow'), 'GET');
          assert.deepEqual(res.body, { schemas: [ERROR], status: '405', detail: `${method} is not allowed on ${path}; allowed: GET` });
        }
        const opt = await apiA.call('OPTIONS', path);
        assert.equal(opt.status, 204, `OPTIONS ${path}`);
        assert.equal(opt.headers.get('allow'), 'GET, HEAD');
      }
      assert.equal((await apiA.call('OPTIONS', '/Entitlements/.search')).headers.get('allow'), 'POST');
      // Nothing was written: the catalogue is as it was.
      assert.deepEqual(ids((await apiA.get('/Entitlements')).body), BASIC);
    });

    test('auth as on /Users: no token is 401, a scim:read token reads, and a write with it is 403 before 405', async () => {
      for (const path of ['/Roles', '/Entitlements', '/Entitlements/team:alpha', '/Roles/system_user']) {
        const res = await fetch(`${a.base}${path}`);
        assert.equal(res.status, 401, path);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        const body = await res.json();
        assert.deepEqual(body.schemas, [ERROR]);
        assert.equal(body.status, '401');
      }
      const made = await runCli(a.dbUrl, ['token', 'create', '--name', 'okta-reader', '--scope', 'scim:read']);
      assert.equal(made.code, 0, made.stderr);
      const reader = client(a, made.stdout.trim());
      assert.deepEqual(ids((await reader.get('/Entitlements')).body), BASIC);
      assert.equal((await reader.get('/Roles/system_admin')).status, 200);
      assert.equal((await reader.post('/Entitlements/.search', { schemas: [SEARCH], count: 1 })).status, 200);
      const write = await reader.post('/Entitlements', {});
      assert.equal(write.status, 403, write.text);
    });

    test('the catalogue is live: a new team and channel appear, a renamed one shows its new name, an archived one goes', async () => {
      const A = `${a.url}/admin/v1`;
      const t = await admin.post(`${A}/teams`, { name: 'delta', displayName: 'Delta' });
      assert.equal(t.status, 201, t.text);
      const added = ['channel:delta:off-topic', 'channel:delta:town-square', 'team:delta'];
      assert.deepEqual(ids((await apiA.get('/Entitlements')).body), [...BASIC, ...added].sort());
      assert.equal((await admin.patch(`${A}/teams/${t.body.team.id}`, { displayName: 'Delta Force' })).status, 200);
      assert.equal((await apiA.get('/Entitlements/team:delta')).body.displayName, 'Team Delta Force');
      assert.equal((await apiA.get('/Entitlements/channel:delta:town-square')).body.displayName, 'Channel Delta Force / Town Square');
      assert.equal((await admin.post(`${A}/teams/${t.body.team.id}/archive`, {})).status, 200);
      assert.deepEqual(ids((await apiA.get('/Entitlements')).body), BASIC);
      assert.equal((await apiA.get('/Entitlements/team:delta')).status, 404);
      assert.equal((await apiA.get('/Entitlements/channel:delta:town-square')).status, 404);
    });
  });
}
