/**
 * RFC 7644 §3.7 /Bulk, as an outside client sees it: the ServiceProviderConfig `bulk` block (RFC 7643 §5), the
 * RFC's own examples (§3.7.2 bulkId references, §3.7.3 responses and errors), failOnErrors, the §3.7.4
 * maxOperations limit, and per-operation error entries (§3.12).
 *
 * Bulk is OPTIONAL (§3.7: "an optional server feature"). Every check but the SPC one is skipped when
 * `bulk.supported` is not true, so the suite passes against servers without it.
 *
 * A check that needs more operations in one request than the server's maxOperations is skipped, not failed.
 *
 * Every resource a bulk request creates is tracked for cleanup from the `location` of its response entry; a POST
 * whose entry carries no location is looked up by its (run-prefixed) name, so a server that created it anyway
 * leaves nothing behind either.
 */
import { randomUUID } from 'node:crypto';
import { expect, expectEqual, expectJsonObject, expectStatus, fail, show } from '../lib/assert.ts';
import type { Ctx } from '../lib/context.ts';
import { getGroup, getUser, idPath, newUser, userBody, groupBody, type Json } from '../lib/fixtures.ts';
import { pctEncode, type ScimResponse } from '../lib/http.ts';
import type { Check } from '../lib/runner.ts';
import { URN, expectList, expectScimError, hasSchema, idsOf, memberIds, patchOp, pick } from '../lib/scim.ts';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
/** maxOperations above this is not probed with maxOperations + 1 operations (the request would be needlessly big). */
const MAX_PROBED_OPERATIONS = 10_000;

type Kind = 'Users' | 'Groups';

interface BulkOp {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  bulkId?: string;
  version?: string;
  data?: Json;
}

interface BulkConfig {
  maxOperations: number;
  maxPayloadSize: number;
  etag: boolean;
}

/** SPC `bulk` (RFC 7643 §5); skips the check unless bulk.supported is true. */
async function bulkSupported(ctx: Ctx): Promise<BulkConfig> {
  const spc = await ctx.spc();
  if (!spc) fail('GET /ServiceProviderConfig did not return a JSON object, so bulk support cannot be determined');
  if (pick(spc, 'bulk.supported') !== true) ctx.skip('ServiceProviderConfig bulk.supported is not true (bulk is optional, RFC 7644 §3.7)');
  return { maxOperations: pick(spc, 'bulk.maxOperations'), maxPayloadSize: pick(spc, 'bulk.maxPayloadSize'), etag: pick(spc, 'etag.supported') === true };
}

/** Users/Groups and the id a location such as `https://host/v2/Users/{id}` names, or undefined. */
function parseLocation(location: unknown): { kind: Kind; id: string } | undefined {
  if (typeof location !== 'string') return undefined;
  let segments: string[];
  try {
    segments = new URL(location, 'http://relative.invalid').pathname.split('/').filter(Boolean);
  } catch {
    return undefined;
  }
  const [type, id] = segments.slice(-2);
  if (!type || !id) return undefined;
  const kind = type.toLowerCase() === 'users' ? 'Users' : type.toLowerCase() === 'groups' ? 'Groups' : undefined;
  return kind ? { kind, id: decodeURIComponent(id) } : undefined;
}

/** Ids of the users (userName eq) or groups (displayName eq) with this exact name. */
async function findByName(ctx: Ctx, kind: Kind, name: string): Promise<string[]> {
  const attr = kind === 'Users' ? 'userName' : 'displayName';
  const res = await ctx.http.get(`/${kind}?filter=${pctEncode(`${attr} eq "${name}"`)}`);
  if (res.status !== 200 || !Array.isArray(pick(res.json, 'Resources'))) return [];
  return idsOf(pick(res.json, 'Resources')).filter((id) => id !== 'undefined');
}

/**
 * POST /Bulk. Before anything is asserted, every resource it created is tracked for cleanup: from the location of
 * each successful POST entry, else (no usable entry) by looking the POST's name up.
 */
async function postBulk(ctx: Ctx, ops: BulkOp[], extra: Json = {}, overLimit = false): Promise<ScimResponse> {
  const max = pick(await ctx.spc(), 'bulk.maxOperations');
  if (!overLimit && Number.isInteger(max) && ops.length > max) ctx.skip(`this check sends ${ops.length} operations in one request, over the advertised maxOperations (${max})`);
  const res = await ctx.http.post('/Bulk', { schemas: [BULK_REQUEST], ...extra, Operations: ops });
  const entries: any[] = Array.isArray(pick(res.json, 'Operations')) ? pick(res.json, 'Operations') : [];
  const tracked = new Set<string>();
  for (const e of entries) {
    const status = Number(pick(e, 'status'));
    const loc = parseLocation(pick(e, 'location'));
    if (String(pick(e, 'method')).toUpperCase() === 'POST' && loc && status >= 200 && status < 300) {
      ctx.track(loc.kind, loc.id);
      if (typeof pick(e, 'bulkId') === 'string') tracked.add(pick(e, 'bulkId'));
    }
  }
  for (const op of ops) {
    if (op.method !== 'POST' || (op.bulkId !== undefined && tracked.has(op.bulkId))) continue;
    const kind: Kind = /^\/groups/i.test(op.path) ? 'Groups' : 'Users';
    const name = kind === 'Users' ? op.data?.userName : op.data?.displayName;
    if (typeof name === 'string' && name !== '') for (const id of await findByName(ctx, kind, name)) ctx.track(kind, id);
  }
  return res;
}

/** 200 with a BulkResponse (§3.7.3); returns its Operations. */
function expectBulkResponse(res: ScimResponse, what: string): any[] {
  expectStatus(res, 200, what);
  const body = expectJsonObject(res, `${what}: body`);
  expect(hasSchema(body, BULK_RESPONSE), `${what}: schemas must contain ${BULK_RESPONSE}, got ${show(body.schemas)}`, res);
  const ops = pick(body, 'Operations');
  expect(Array.isArray(ops), `${what}: Operations must be an array, got ${show(ops)}`, res);
  return ops;
}

/** The response entry of `op`: by bulkId for a POST, else by method and the id its location names. */
function entryOf(entries: any[], op: BulkOp, what: string, res: ScimResponse): any {
  const found =
    op.bulkId !== undefined
      ? entries.find((e) => pick(e, 'bulkId') === op.bulkId)
      : entries.find((e) => String(pick(e, 'method')).toUpperCase() === op.method && parseLocation(pick(e, 'location'))?.id === op.path.split('/').pop());
  expect(found, `${what}: no response entry for ${op.method} ${op.path}${op.bulkId ? ` (bulkId ${op.bulkId})` : ''} (§3.7.3: one per operation, with its bulkId or location), got ${show(entries)}`, res);
  return found;
}

/**
 * One entry's `status`: a string (the RFC's examples, and the Error schema's `status` is a string, §3.12), and the
 * expected code. An error status must come with an Error `response` (§3.7.3: "the response body MUST be included").
 */
function expectEntryStatus(entry: any, codes: number | number[], what: string, res: ScimResponse): number {
  const list = Array.isArray(codes) ? codes : [codes];
  const st = pick(entry, 'status');
  expect(typeof st === 'string', `${what}: status must be a string such as "${list[0]}" (RFC 7644 §3.7.3 examples), got ${show(st)}`, res);
  expect(list.map(String).includes(st), `${what}: expected status ${list.map((c) => `"${c}"`).join(' or ')}, got ${show(st)}; entry ${show(entry)}`, res);
  const code = Number(st);
  if (code >= 400) expectErrorEntry(entry, what, res);
  return code;
}

/** §3.7.3 + §3.12: an error entry's `response` is an Error with the entry's status, as a string. */
function expectErrorEntry(entry: any, what: string, res: ScimResponse): void {
  const body = pick(entry, 'response');
  expect(body && typeof body === 'object' && !Array.isArray(body), `${what}: an error entry must carry the error as "response" (§3.7.3), got ${show(entry)}`, res);
  expect(hasSchema(body, URN.error), `${what}: response.schemas must contain ${URN.error}, got ${show(pick(body, 'schemas'))}`, res);
  const st = pick(body, 'status');
  expect(typeof st === 'string', `${what}: response.status must be a string (RFC 7644 §3.12), got ${show(st)}`, res);
  expectEqual(st, pick(entry, 'status'), `${what}: response.status vs the entry's status`, res);
}

/** A successful entry's location (§3.7.3: REQUIRED except for a failed POST), naming `kind`; returns its id. */
function expectLocation(entry: any, kind: Kind, what: string, res: ScimResponse, id?: string): string {
  const loc = parseLocation(pick(entry, 'location'));
  expect(loc && loc.kind === kind, `${what}: location must be the /${kind}/{id} URL of the resource (§3.7.3), got ${show(pick(entry, 'location'))}`, res);
  if (id !== undefined) expectEqual(loc.id, id, `${what}: the id in location`, res);
  return loc.id;
}

/** With ETags advertised, a successful write's entry carries the new version (§3.7.3 examples; §3.14). */
function expectVersion(entry: any, cfg: BulkConfig, what: string, res: ScimResponse): void {
  if (!cfg.etag) return;
  const v = pick(entry, 'version');
  expect(typeof v === 'string' && v !== '', `${what}: etag.supported is true, so the entry must carry the resource's "version" (§3.7.3), got ${show(entry)}`, res);
}

/** The current version of a resource: its ETag header, or meta.version. */
async function versionOf(ctx: Ctx, kind: Kind, id: string): Promise<string> {
  const res = await ctx.http.get(idPath(kind, id));
  expectStatus(res, 200, `GET /${kind}/{id}`);
  const v = res.header('etag') ?? pick(res.json, 'meta.version');
  expect(typeof v === 'string' && v !== '', 'etag.supported is true, but GET returned neither an ETag header nor meta.version', res);
  return v;
}

const post = (bulkId: string | undefined, path: '/Users' | '/Groups', data: Json): BulkOp => ({ method: 'POST', path, ...(bulkId !== undefined ? { bulkId } : {}), data });
/** A DELETE of an id that no server has: answered 404 and harmless if run. */
const deleteMissing = (): BulkOp => ({ method: 'DELETE', path: `/Users/${randomUUID()}` });
/** A PUT body for an existing user: what it was created with, title changed. */
const putBody = (user: Json, title: string): Json => {
  const { id: _id, meta: _meta, groups: _groups, ...rest } = user;
  return { ...rest, title };
};

export const bulkChecks: Check[] = [
  {
    suite: 'bulk',
    name: 'spc-bulk-typed',
    source: 'RFC 7643 §5 (bulk: supported boolean, maxOperations and maxPayloadSize integers, all REQUIRED); RFC 7644 §3.7',
    async run(ctx) {
      const res = await ctx.http.get('/ServiceProviderConfig');
      expectStatus(res, 200, 'GET /ServiceProviderConfig');
      const spc = expectJsonObject(res);
      const bulk = pick(spc, 'bulk');
      expect(bulk && typeof bulk === 'object', `bulk must be a complex attribute, got ${show(bulk)}`, res);
      const problems: string[] = [];
      if (typeof pick(bulk, 'supported') !== 'boolean') problems.push(`bulk.supported must be a boolean, got ${show(pick(bulk, 'supported'))}`);
      for (const f of ['maxOperations', 'maxPayloadSize']) {
        const v = pick(bulk, f);
        if (!Number.isInteger(v) || v < 0) problems.push(`bulk.${f} must be a non-negative integer, got ${show(v)}`);
      }
      if (problems.length) fail(problems.join('; '), res);
      if (pick(bulk, 'supported') === true) {
        expect(pick(bulk, 'maxOperations') >= 1, `bulk.supported is true, so maxOperations must allow at least one operation, got ${pick(bulk, 'maxOperations')}`, res);
      } else {
        ctx.note('bulk.supported is false: the other bulk checks are skipped');
      }
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.2-user-and-group-by-bulkid',
    source: 'RFC 7644 §3.7.2 (POST a User with bulkId "qwerty" and a Group whose member value is "bulkId:qwerty"); §3.7.3 (BulkResponse, status, location, version)',
    async run(ctx) {
      const cfg = await bulkSupported(ctx);
      const user = post('qwerty', '/Users', userBody(ctx, 'bk-alice'));
      const group = post('ytrewq', '/Groups', groupBody(ctx, 'bk-tourguides', { members: [{ type: 'User', value: 'bulkId:qwerty' }] }));
      const res = await postBulk(ctx, [user, group]);
      const entries = expectBulkResponse(res, 'POST /Bulk (§3.7.2 example)');
      expectEqual(entries.length, 2, 'number of response entries', res);
      const ue = entryOf(entries, user, 'user', res);
      const ge = entryOf(entries, group, 'group', res);
      for (const [e, what] of [[ue, 'user entry'], [ge, 'group entry']] as const) {
        expectEqual(String(pick(e, 'method')).toUpperCase(), 'POST', `${what}: method`, res);
        expectEntryStatus(e, 201, what, res);
        expectVersion(e, cfg, what, res);
      }
      const userId = expectLocation(ue, 'Users', 'user entry', res);
      const groupId = expectLocation(ge, 'Groups', 'group entry', res);
      const g = await ctx.http.get(idPath('Groups', groupId));
      expectStatus(g, 200, 'GET the bulk-created group');
      expectEqual(memberIds(g.json), [userId], 'group members: "bulkId:qwerty" must be replaced by the new user\'s id (§3.7.2)', g);
      if (cfg.etag && g.header('etag')) expectEqual(pick(ge, 'version'), g.header('etag'), 'group entry version vs the ETag of a GET of the group', g);
      await getUser(ctx.http, userId, 'GET the bulk-created user');
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.2-enterprise-manager-by-bulkid',
    source: 'RFC 7644 §3.7.2 (enterprise extension manager.value "bulkId:qwerty" refers to a User created in the same request); RFC 7643 §4.3',
    async run(ctx) {
      await bulkSupported(ctx);
      const schema = await ctx.http.get(`/Schemas/${URN.enterprise}`);
      if (schema.status !== 200) ctx.skip(`GET /Schemas/${URN.enterprise} answered ${schema.status}: the server has no enterprise extension`);
      const boss = post('qwerty', '/Users', userBody(ctx, 'bk-boss'));
      const report = post(
        'ytrewq',
        '/Users',
        userBody(ctx, 'bk-report', { schemas: [URN.user, URN.enterprise], [URN.enterprise]: { employeeNumber: '11250', manager: { value: 'bulkId:qwerty' } } }),
      );
      const res = await postBulk(ctx, [boss, report]);
      const entries = expectBulkResponse(res, 'POST /Bulk (manager by bulkId)');
      const be = entryOf(entries, boss, 'manager entry', res);
      const re = entryOf(entries, report, 'report entry', res);
      expectEntryStatus(be, 201, 'manager entry', res);
      expectEntryStatus(re, 201, 'report entry', res);
      const bossId = expectLocation(be, 'Users', 'manager entry', res);
      const reportId = expectLocation(re, 'Users', 'report entry', res);
      const r = await ctx.http.get(idPath('Users', reportId));
      expectStatus(r, 200, 'GET the report');
      expectEqual(pick(r.json, `${URN.enterprise}:manager.value`), bossId, 'manager.value: "bulkId:qwerty" must be replaced by the manager\'s id (§3.7.2)', r);
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.2-forward-reference',
    source: 'RFC 7644 §3.7.2 (a bulkId may be referenced by an operation before the POST that defines it; the service provider resolves it); §3.7 (same result as the client intended)',
    async run(ctx) {
      await bulkSupported(ctx);
      const group = post('grp', '/Groups', groupBody(ctx, 'bk-fwd', { members: [{ type: 'User', value: 'bulkId:later' }] }));
      const user = post('later', '/Users', userBody(ctx, 'bk-fwd'));
      const res = await postBulk(ctx, [group, user]);
      const entries = expectBulkResponse(res, 'POST /Bulk (group first, user after)');
      const ge = entryOf(entries, group, 'group entry', res);
      const ue = entryOf(entries, user, 'user entry', res);
      expectEntryStatus(ge, 201, 'group entry (references a bulkId defined later)', res);
      expectEntryStatus(ue, 201, 'user entry', res);
      const groupId = expectLocation(ge, 'Groups', 'group entry', res);
      const userId = expectLocation(ue, 'Users', 'user entry', res);
      const g = await getGroup(ctx.http, groupId, 'GET the group');
      expectEqual(memberIds(g), [userId], 'group members: the forward "bulkId:later" must be the user\'s id', res);
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.3-post-put-patch-delete',
    source: 'RFC 7644 §3.7.3 (example: POST 201, PUT 200, PATCH 200, DELETE 204 in one request, each with location and version); §3.7 (version as the operation\'s precondition); §3.5.2 (PATCH may answer 204)',
    async run(ctx) {
      const cfg = await bulkSupported(ctx);
      const a = await newUser(ctx, 'bk-put');
      const b = await newUser(ctx, 'bk-patch');
      const c = await newUser(ctx, 'bk-del');
      const ver = async (id: string) => (cfg.etag ? { version: await versionOf(ctx, 'Users', id) } : {});
      const ops: BulkOp[] = [
        post('qwerty', '/Users', userBody(ctx, 'bk-alice')),
        { method: 'PUT', path: `/Users/${a.id}`, ...(await ver(a.id)), data: putBody(a, 'Bulk PUT') },
        { method: 'PATCH', path: `/Users/${b.id}`, ...(await ver(b.id)), data: patchOp({ op: 'replace', path: 'title', value: 'Bulk PATCH' }) },
        { method: 'DELETE', path: `/Users/${c.id}`, ...(await ver(c.id)) },
      ];
      const res = await postBulk(ctx, ops);
      const entries = expectBulkResponse(res, 'POST /Bulk (§3.7.3 example)');
      expectEqual(entries.length, 4, 'number of response entries', res);
      const [pe, ue, xe, de] = ops.map((op) => entryOf(entries, op, op.method, res));
      expectEntryStatus(pe, 201, 'POST entry', res);
      expectLocation(pe, 'Users', 'POST entry', res);
      expectVersion(pe, cfg, 'POST entry', res);
      expectEntryStatus(ue, 200, 'PUT entry', res);
      expectLocation(ue, 'Users', 'PUT entry', res, a.id);
      expectVersion(ue, cfg, 'PUT entry', res);
      expectEntryStatus(xe, [200, 204], 'PATCH entry', res);
      expectLocation(xe, 'Users', 'PATCH entry', res, b.id);
      expectVersion(xe, cfg, 'PATCH entry', res);
      expectEntryStatus(de, 204, 'DELETE entry', res);
      expectLocation(de, 'Users', 'DELETE entry', res, c.id);
      const ga = await ctx.http.get(idPath('Users', a.id));
      expectStatus(ga, 200, 'GET the PUT user');
      expectEqual(pick(ga.json, 'title'), 'Bulk PUT', 'title after the bulk PUT', ga);
      const gb = await ctx.http.get(idPath('Users', b.id));
      expectStatus(gb, 200, 'GET the PATCHed user');
      expectEqual(pick(gb.json, 'title'), 'Bulk PATCH', 'title after the bulk PATCH', gb);
      const gc = await ctx.http.get(idPath('Users', c.id));
      expectStatus(gc, 404, 'GET the user the bulk DELETE removed');
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.3-every-operation-fails',
    source: 'RFC 7644 §3.7.3 (example in which all operations failed: POST 400, PUT 412 and PATCH 412 "Resource changed on the server", DELETE 404; no failOnErrors, so all are processed); §3.14',
    async run(ctx) {
      const cfg = await bulkSupported(ctx);
      const a = await newUser(ctx, 'bk-stale-put');
      const b = await newUser(ctx, 'bk-stale-patch');
      const ops: BulkOp[] = [{ method: 'POST', path: '/Users', bulkId: 'qwerty', data: { schemas: [URN.user], displayName: `${ctx.run.name('bk-nouser')}` } }];
      if (cfg.etag) {
        const staleA = await versionOf(ctx, 'Users', a.id);
        const staleB = await versionOf(ctx, 'Users', b.id);
        // Change both after their versions were read, so the versions sent below are stale.
        expectStatus(await ctx.http.patch(idPath('Users', a.id), patchOp({ op: 'replace', path: 'title', value: 'Changed' })), [200, 204], 'prerequisite: PATCH');
        expectStatus(await ctx.http.patch(idPath('Users', b.id), patchOp({ op: 'replace', path: 'title', value: 'Changed' })), [200, 204], 'prerequisite: PATCH');
        ops.push(
          { method: 'PUT', path: `/Users/${a.id}`, version: staleA, data: putBody(a, 'Stale PUT') },
          { method: 'PATCH', path: `/Users/${b.id}`, version: staleB, data: patchOp({ op: 'replace', path: 'title', value: 'Stale PATCH' }) },
        );
      } else {
        ctx.note('etag.supported is not true: the stale-version PUT and PATCH (412) are not sent');
      }
      const missing = deleteMissing();
      ops.push(missing);
      const res = await postBulk(ctx, ops);
      const entries = expectBulkResponse(res, 'POST /Bulk (every operation fails)');
      expectEqual(entries.length, ops.length, 'number of response entries (no failOnErrors: every operation is processed)', res);
      const pe = entryOf(entries, ops[0]!, 'POST entry', res);
      expectEntryStatus(pe, 400, 'POST without userName', res);
      if (cfg.etag) {
        expectEntryStatus(entryOf(entries, ops[1]!, 'PUT', res), 412, 'PUT with a stale version', res);
        expectEntryStatus(entryOf(entries, ops[2]!, 'PATCH', res), 412, 'PATCH with a stale version', res);
        for (const [u, what] of [[a, 'PUT'], [b, 'PATCH']] as const) {
          const g = await ctx.http.get(idPath('Users', u.id));
          expectStatus(g, 200, `GET the user of the refused ${what}`);
          expectEqual(pick(g.json, 'title'), 'Changed', `title after the refused stale ${what} (it must not have been applied)`, g);
        }
      }
      const de = entries.find((e) => String(pick(e, 'method')).toUpperCase() === 'DELETE');
      expect(de, `no DELETE entry in ${show(entries)}`, res);
      expectEntryStatus(de, 404, 'DELETE of a resource that does not exist', res);
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.3-fail-on-errors',
    source: 'RFC 7644 §3.7 (failOnErrors: "the number of errors that the service provider will accept before the operation is terminated"); §3.7.3 ("The response contains the error and any successful results prior to the error")',
    async run(ctx) {
      await bulkSupported(ctx);
      const first = deleteMissing();
      const second = deleteMissing();
      const after = post('after', '/Users', userBody(ctx, 'bk-after'));
      const res = await postBulk(ctx, [first, second, after, deleteMissing()], { failOnErrors: 2 });
      const entries = expectBulkResponse(res, 'POST /Bulk with failOnErrors 2');
      expectEqual(entries.length, 2, 'number of entries: after the second error the remaining operations must not be processed, so they have no entry', res);
      for (const e of entries) expectEntryStatus(e, 404, `entry ${show(pick(e, 'location') ?? pick(e, 'bulkId'))}`, res);
      expect(!entries.some((e) => pick(e, 'bulkId') === 'after'), 'the POST after the second error must be absent from the response', res);
      const found = await ctx.http.get(`/Users?filter=${pctEncode(`userName eq "${after.data!.userName}"`)}`);
      expectEqual(expectList(found, 'look up the user of the POST after the limit').totalResults, 0, 'users created by the POST after the second error (it must not run)', found);
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.12-error-entries',
    source: 'RFC 7644 §3.7.3 ("When indicating an error, the response attribute MUST contain the detailed error response as per Section 3.12"); §3.12 (Error schema, status a string)',
    async run(ctx) {
      await bulkSupported(ctx);
      const existing = await newUser(ctx, 'bk-dup');
      const ops: BulkOp[] = [
        { method: 'PATCH', path: `/Users/${randomUUID()}`, data: patchOp({ op: 'replace', path: 'title', value: 'x' }) },
        { method: 'PUT', path: `/Groups/${randomUUID()}`, data: groupBody(ctx, 'bk-missing') },
        post('dup', '/Users', userBody(ctx, 'bk-dup', { userName: existing.userName })),
        deleteMissing(),
      ];
      const res = await postBulk(ctx, ops);
      const entries = expectBulkResponse(res, 'POST /Bulk (four failing operations)');
      expectEqual(entries.length, 4, 'number of response entries', res);
      expectEntryStatus(entryOf(entries, ops[2]!, 'POST', res), 409, 'POST of an existing userName (§3.12 uniqueness)', res);
      for (const e of entries) {
        const st = pick(e, 'status');
        expect(typeof st === 'string' && /^[45]\d\d$/.test(st), `every operation here fails, so each status must be a 4xx/5xx string, got ${show(e)}`, res);
        expectErrorEntry(e, `${pick(e, 'method')} entry`, res);
      }
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7-post-without-bulkid',
    source: 'RFC 7644 §3.7 (bulkId "REQUIRED when method is POST"); §3.7.3 (the other operations are still performed)',
    async run(ctx) {
      await bulkSupported(ctx);
      const bare = post(undefined, '/Users', userBody(ctx, 'bk-nobulkid'));
      const good = post('ok', '/Users', userBody(ctx, 'bk-withbulkid'));
      const res = await postBulk(ctx, [bare, good]);
      const entries = expectBulkResponse(res, 'POST /Bulk (a POST without bulkId)');
      expectEqual(entries.length, 2, 'number of response entries', res);
      const be = entries.find((e) => pick(e, 'bulkId') === undefined);
      expect(be, `no entry for the POST without bulkId in ${show(entries)}`, res);
      expectEntryStatus(be, 400, 'POST without bulkId', res);
      expectEntryStatus(entryOf(entries, good, 'POST with bulkId', res), 201, 'the POST with a bulkId in the same request', res);
    },
  },
  {
    suite: 'bulk',
    name: 'rfc-3.7.4-max-operations-413',
    source: 'RFC 7644 §3.7.4 (more than maxOperations: 413 Payload Too Large, and the server "MUST specify the limit exceeded in the body of the error response")',
    async run(ctx) {
      const cfg = await bulkSupported(ctx);
      if (cfg.maxOperations > MAX_PROBED_OPERATIONS) ctx.skip(`maxOperations is ${cfg.maxOperations}, over ${MAX_PROBED_OPERATIONS}: not probed`);
      const ops = Array.from({ length: cfg.maxOperations + 1 }, deleteMissing);
      const size = Buffer.byteLength(JSON.stringify({ schemas: [BULK_REQUEST], Operations: ops }));
      if (size > cfg.maxPayloadSize) ctx.skip(`maxOperations + 1 DELETEs are ${size} bytes, over maxPayloadSize (${cfg.maxPayloadSize}): the operation limit cannot be probed alone`);
      const res = await postBulk(ctx, ops, {}, true);
      const body = expectScimError(res, 413, undefined, `POST /Bulk with ${ops.length} operations (maxOperations ${cfg.maxOperations})`);
      const detail = pick(body, 'detail');
      expect(
        typeof detail === 'string' && new RegExp(`\\b${cfg.maxOperations}\\b`).test(detail),
        `the 413 detail must name the limit exceeded, maxOperations ${cfg.maxOperations} (§3.7.4), got ${show(detail)}`,
        res,
      );
    },
  },
];
