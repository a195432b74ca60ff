/**
 * Generators, transport and answer checks of the bad-input fuzzer (test/reliability/fuzz.test.ts): malformed SCIM
 * requests of every kind, sent to 127.0.0.1 only.
 */
import http from 'node:http';
import fc from 'fast-check';
import type { TestServer } from '../../helpers/server.ts';
import { ERROR_SCHEMA } from '../util.ts';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const BATCH = 20;
export const BODY_LIMIT = 64 * 1024;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export interface Req { method: string; path: string; headers: Record<string, string>; body?: string | Buffer; from?: string }
export interface Res { status: number; headers: http.IncomingHttpHeaders; text: string }

// ---------------------------------------------------------------------------------------------------------------
// Generators

const weirdString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }), // any code point, lone surrogates included
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\uD800', '\uFFFF', 'ǅ', 'İ', 'ß', '𝔘𝔫𝔦', '\u202Eevil', '\r\n', '"', '\\', "'; DROP TABLE users; --", '%', '%00', '../..', 'null', 'true', '[]', '{}'),
  fc.integer({ min: 256, max: 40_000 }).map((n) => 'x'.repeat(n)),
);
/** For the query string: mostly short, now and then long enough to pass the 16 KiB request-line limit (431). */
const queryString = fc.oneof({ weight: 12, arbitrary: weirdString.filter((s) => s.length < 300) }, fc.integer({ min: 3000, max: 20_000 }).map((n) => 'q'.repeat(n)));

const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: weirdString },
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53 + 1, [], {}, [null], { value: null }, 'True', 'False', 'TRUE'),
);

const attrName = fc.constantFrom(
  'userName', 'username', 'USERNAME', 'name', 'name.givenName', 'name.familyName', 'emails', 'emails.value', 'emails[type eq "work"].value',
  'emails[type eq "work"]', 'emails[value co "@"].primary', 'active', 'displayName', 'externalId', 'id', 'meta', 'meta.created', 'meta.version',
  'members', 'members.value', 'members[value eq "x"]', 'groups', 'title', 'roles', 'phoneNumbers[type eq "mobile"].value', 'addresses',
  `${ENTERPRISE}:manager`, `${ENTERPRISE}:manager.value`, `${ENTERPRISE}:department`, `${USER}:userName`, 'urn:foo:bar', 'schemas',
  'x', '', '.', '..', '[', ']', 'a.b.c.d', 'emails[', 'emails[]', 'emails[type eq]', 'emails[type eq "a"', 'emails]', 'name..givenName', '$ref', 'password',
);

const filterToken = fc.oneof(
  attrName,
  fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'EQ', 'and', 'or', 'not', 'AND', '(', ')', '[', ']', '"', '""', '"a"', 'true',
    'false', 'null', '1', '-1', '1e999', '"2020-01-01T00:00:00Z"', '"\\u0000"', '"\\"', '\\', ' ', '  ', '"%"', '"_"', "'x'"),
  weirdString.filter((s) => s.length < 100),
);
const filterArb = fc.oneof(
  fc.array(filterToken, { minLength: 1, maxLength: 12 }).map((t) => t.join(' ')),
  fc.tuple(attrName, fc.constantFrom('eq', 'co', 'sw', 'gt', 'pr', 'xx'), jsonish).map(([a, op, v]) => `${a} ${op} ${JSON.stringify(v) ?? ''}`),
  fc.integer({ min: 10, max: 1500 }).map((d) => `${'('.repeat(d)}userName pr${')'.repeat(d)}`),
  fc.integer({ min: 10, max: 400 }).map((n) => Array.from({ length: n }, () => 'userName eq "a"').join(' or ')),
  fc.integer({ min: 10, max: 400 }).map((n) => `${'not ('.repeat(n)}userName pr${')'.repeat(n)}`),
);

const number = fc.oneof(
  fc.constantFrom('0', '1', '-1', '-0', '1.5', '1e3', '1e309', 'NaN', 'Infinity', '', ' ', 'abc', '0x10', '99999999999999999999999', '2147483648', '-2147483649', '1,2', '٣'),
  fc.integer().map(String),
);

/** Percent-encode the UTF-8 bytes of a string (lone surrogates become U+FFFD), like a client would. */
const enc = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

const rawQuery = fc.constantFrom('?filter=%FF', '?filter=%E0%A4%A', '?filter=%', '?count=%00', '?filter=userName%20eq%20%22%ED%A0%80%22', '?&&&', '?=',
  '?filter', '?startIndex=1&startIndex=2', '?filter[a]=b', '?count[]=1', '?a=%C0%AE');

const queryArb = fc.oneof({ weight: 9, arbitrary: fc.dictionary(
  fc.constantFrom('filter', 'startIndex', 'count', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes', 'FILTER', 'foo', 'access_token'),
  fc.oneof(filterArb, number, attrName, queryString, fc.array(attrName, { maxLength: 5 }).map((a) => a.join(','))),
  { maxKeys: 4 },
).chain((q) => fc.tuple(fc.constant(q), fc.boolean()).map(([qq, dup]) => {
  const parts = Object.entries(qq).map(([k, v]) => `${enc(k)}=${enc(v)}`);
  if (dup && parts.length) parts.push(parts[0]!); // a parameter given twice
  return parts.length ? `?${parts.join('&')}` : '';
})) }, rawQuery);

/** Things in the place of an id: traversal, encodings, NUL, unicode, huge. */
const idTrick = (ids: string[]) => fc.oneof(
  fc.constantFrom(...ids),
  fc.uuid().map(String),
  fc.constantFrom('..', '../..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%2e%2e%2f', '%00', 'a%00b', '%', '%E0%A4%A', '%FF', '%C0%AE', '.search', '.SEARCH',
    'null', 'undefined', '0', '-1', '%20', '%3B', 'Users', '%2FUsers', 'x;y', 'x%3Fy', '%2525', '*', '~', '%F0%9F%98%80', '%ED%A0%80'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => enc(s)),
  fc.integer({ min: 100, max: 7000 }).map((n) => 'a'.repeat(n)),
  fc.uuid().map((u) => `${u}${'/'.repeat(2)}`),
  fc.uuid().map((u) => u.toUpperCase()),
);

const pathArb = (ids: string[]) => fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('Users', 'Groups', 'users', 'GROUPS'), idTrick(ids)).map(([r, id]) => `/scim/v2/${r}/${id}`) },
  { weight: 4, arbitrary: fc.constantFrom('/scim/v2/Users', '/scim/v2/Groups', '/scim/v2/Users/.search', '/scim/v2/Groups/.search') },
  fc.constantFrom('/scim/v2/ServiceProviderConfig', '/scim/v2/Schemas', '/scim/v2/ResourceTypes', '/scim/v2/ResourceTypes/User', '/scim/v2/Bulk',
    '/scim/v2/Me', '/scim/v2/.search', '/scim/v2', '/scim/v2/', '/scim', '/', '//scim/v2/Users', '/scim/v2//Users', '/scim/v2/Users/', '/scim/v2/./Users',
    '/scim/v2/Users/../Groups', '/scim/v2/%55sers', '/SCIM/V2/Users', '/scim/v2/Users;x=1', '/healthz', '/readyz', '/metrics', '/admin/v1/teams', '/favicon.ico'),
  fc.tuple(fc.constantFrom('Schemas', 'ResourceTypes'), weirdString.filter((s) => s.length < 200)).map(([r, s]) => `/scim/v2/${r}/${enc(s)}`),
  fc.tuple(fc.constantFrom('Users', 'Groups'), idTrick(ids), fc.constantFrom('x', '..', 'members', '.search')).map(([r, id, tail]) => `/scim/v2/${r}/${id}/${tail}`),
);

const userBody = fc.record({
  schemas: fc.oneof(fc.constant([USER]), fc.constant([USER, ENTERPRISE]), jsonish),
  userName: fc.oneof(fc.uuid().map((u) => `fz-${u}@example.com`), jsonish),
  externalId: jsonish,
  name: fc.oneof(fc.record({ givenName: jsonish, familyName: jsonish }, { requiredKeys: [] }), jsonish),
  emails: fc.oneof(fc.array(fc.record({ value: jsonish, type: jsonish, primary: jsonish }, { requiredKeys: [] }), { maxLength: 3 }), jsonish),
  active: jsonish,
  displayName: jsonish,
  title: jsonish,
  locale: jsonish,
  timezone: jsonish,
  password: jsonish,
  phoneNumbers: jsonish,
  roles: jsonish,
  groups: jsonish,
  id: jsonish,
  meta: jsonish,
  [ENTERPRISE]: fc.oneof(fc.record({ manager: jsonish, department: jsonish, employeeNumber: jsonish }, { requiredKeys: [] }), jsonish),
}, { requiredKeys: [] });

const groupBody = fc.record({
  schemas: fc.oneof(fc.constant([GROUP_SCHEMA]), jsonish),
  displayName: fc.oneof(fc.uuid().map((u) => `fz-${u}`), jsonish),
  externalId: jsonish,
  members: fc.oneof(fc.array(fc.oneof(fc.record({ value: jsonish, display: jsonish }, { requiredKeys: [] }), jsonish), { maxLength: 5 }), jsonish),
}, { requiredKeys: [] });

const patchPath = fc.oneof(attrName, filterArb.map((f) => `members[${f}]`), filterArb.map((f) => `emails[${f}].value`), weirdString.filter((s) => s.length < 200));
const patchBody = fc.record({
  schemas: fc.oneof(fc.constant([PATCH_OP]), jsonish),
  Operations: fc.oneof(
    fc.array(fc.record({
      op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'Add', 'Replace', 'Remove', 'ADD', 'copy', 'move', 'test', ''), jsonish),
      path: fc.oneof(patchPath, jsonish),
      value: fc.oneof(jsonish, userBody, fc.array(fc.record({ value: jsonish }), { maxLength: 3 })),
    }, { requiredKeys: [] }), { maxLength: 4 }),
    jsonish,
  ),
}, { requiredKeys: [] });

const searchBody = fc.record({
  schemas: fc.oneof(fc.constant(['urn:ietf:params:scim:api:messages:2.0:SearchRequest']), jsonish),
  filter: fc.oneof(filterArb, jsonish), startIndex: fc.oneof(jsonish, fc.integer()), count: fc.oneof(jsonish, fc.integer()),
  sortBy: fc.oneof(attrName, jsonish), sortOrder: jsonish, attributes: fc.oneof(fc.array(attrName), jsonish), excludedAttributes: jsonish,
}, { requiredKeys: [] });

const nested = fc.tuple(fc.integer({ min: 20, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([d, open]) =>
  open === '[' ? `${'['.repeat(d)}${']'.repeat(d)}` : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`);

const bodyArb: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: userBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: groupBody.map((b) => JSON.stringify(b)) },
  { weight: 4, arbitrary: patchBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: searchBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: jsonish.map((v) => JSON.stringify(v) ?? 'undefined') },
  // Broken JSON: cut short, trailing garbage, random text, single quotes, comments, BOM.
  fc.tuple(userBody.map((b) => JSON.stringify(b)), fc.nat()).map(([s, n]) => s.slice(0, n % Math.max(1, s.length))),
  userBody.map((b) => `${JSON.stringify(b)}}garbage`),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', ' ', '{', '}', '[', 'nul', "{'userName':'x'}", '{"userName":"x",}', '/* */{}', '\uFEFF{}', '{"a":1}{"b":2}', 'userName=x&active=true', '\u0000'),
  nested,
  // Invalid UTF-8 inside otherwise valid JSON, and raw bytes.
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.concat([Buffer.from('{"schemas":["' + USER + '"],"userName":"'), Buffer.from(bytes.map((b) => (b === 0x22 || b === 0x5c ? 0xff : b))), Buffer.from('"}')])),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constantFrom(Buffer.from([0xc0, 0xae]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])),
  // Huge: near and over the body limit.
  fc.integer({ min: BODY_LIMIT - 2000, max: BODY_LIMIT + 20_000 }).map((n) => JSON.stringify({ schemas: [USER], userName: 'u'.repeat(n) })),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => JSON.stringify({ schemas: [PATCH_OP], Operations: Array.from({ length: n / 10 }, () => ({ op: 'add', path: 'title', value: 'x' })) })),
  fc.integer({ min: 100, max: 3000 }).map((n) => JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: 'g', members: Array.from({ length: n }, (_, i) => ({ value: `m${i}` })) })),
);

const contentType = fc.constantFrom(
  'application/scim+json', 'application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'application/json; charset=latin1',
  'application/json; charset=utf-16', 'application/scim+json; charset=klingon', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/xml', '*/*', '', 'application/vnd.foo+json', 'application/json; charset="utf-8"; x=', 'garbage/',
);

const method = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') },
  fc.constantFrom('HEAD', 'OPTIONS', 'PROPFIND', 'FOO', 'SEARCH', 'MKCOL', 'LINK', 'PURGE'),
);

/** The admin API, driven with the admin token (its internals, not just its 401/403). */
const adminPath = (ids: string[]) => fc.tuple(
  fc.constantFrom('teams', 'channels', 'groups', 'users', 'audit', 'reconcile', 'teams/x/members', 'nope'),
  fc.option(idTrick(ids), { freq: 2 }),
  fc.option(fc.constantFrom('members', 'channels', 'archive', 'teams', 'memberships'), { freq: 2 }),
).map(([a, id, tail]) => `/admin/v1/${a}${id !== null ? `/${id}` : ''}${tail !== null ? `/${tail}` : ''}`);

export const reqArb = (ids: string[], token: string, adminToken?: string) => fc.record({
  method,
  path: adminToken ? fc.oneof({ weight: 15, arbitrary: pathArb(ids) }, adminPath(ids)) : pathArb(ids),
  query: queryArb,
  body: bodyArb,
  contentType,
  encoding: fc.option(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'), { freq: 15 }),
  ifMatch: fc.option(fc.oneof(fc.constantFrom('*', 'W/"1"', '"1"', 'W/"999"', 'W/', '"', ''), weirdString.filter((s) => s.length < 100).map((s) => s.replace(/[^\x20-\x7e]/g, '?'))), { freq: 8 }),
  accept: fc.option(fc.constantFrom('application/xml', 'text/html', '*/*', 'application/scim+json;q=0'), { freq: 10 }),
  auth: fc.oneof({ weight: 30, arbitrary: fc.constant('good') }, fc.constantFrom('none', 'wrong', 'basic')),
}).map((r): Req => {
  const headers: Record<string, string> = {};
  if (r.auth === 'good') headers.Authorization = `Bearer ${adminToken && r.path.startsWith('/admin/') ? adminToken : token}`;
  else if (r.auth === 'wrong') headers.Authorization = 'Bearer not-a-real-token-000000000000';
  else if (r.auth === 'basic') headers.Authorization = 'Basic dXNlcjpwYXNz';
  if (r.body !== undefined && r.contentType) headers['Content-Type'] = r.contentType;
  if (r.encoding && r.body !== undefined) headers['Content-Encoding'] = r.encoding;
  if (r.ifMatch !== null) headers['If-Match'] = r.ifMatch;
  if (r.accept !== null) headers.Accept = r.accept;
  return { method: r.method, path: `${r.path}${r.query}`, headers, body: r.body, from: r.auth === 'good' ? undefined : 'bad' };
});

// ---------------------------------------------------------------------------------------------------------------
// Transport: keep-alive agent for good requests; bad-auth requests come from rotating loopback addresses so the
// failed-auth guard (per client address) never blocks the fuzzer's own address.

export function sender(server: TestServer) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
  let rotate = 0;
  return (req: Req): Promise<Res> => new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const u = new URL(server.url);
    const r = http.request({
      host: u.hostname, port: u.port, method: req.method, path: req.path,
      headers: { ...req.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
      ...(req.from ? { agent: false, localAddress: `127.0.1.${1 + (rotate++ % 250)}` } : { agent }),
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error('request timed out (server hung?)')));
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** RFC 7644 §3.12, table 9. */
const SCIM_TYPES = new Set(['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive']);
const CORE: Record<'User' | 'Group', string> = { User: USER, Group: GROUP_SCHEMA };

/** The resource type a SCIM path addresses (`/scim/v2/users/...` too: routing is case-insensitive), if any. */
export function resourceTypeOf(path: string): 'User' | 'Group' | undefined {
  const m = /^\/scim\/v2\/(users|groups)(?:[/?]|$)/i.exec(path);
  return m ? (m[1]!.toLowerCase() === 'users' ? 'User' : 'Group') : undefined;
}

/** What is wrong with `r` as a User or Group representation (RFC 7643 §3: id always returned; meta when shown). */
function resourceProblem(r: any, type: 'User' | 'Group'): string | undefined {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return `${type} is not an object`;
  if (typeof r.id !== 'string' || !UUID.test(r.id)) return `${type} without a server-assigned id: ${JSON.stringify(r.id)}`;
  if (!Array.isArray(r.schemas) || !r.schemas.includes(CORE[type])) return `${type} ${r.id} without its core schema: ${JSON.stringify(r.schemas)}`;
  if (r.meta !== undefined) {
    if (r.meta.resourceType !== undefined && r.meta.resourceType !== type) return `${type} ${r.id} with meta.resourceType ${r.meta.resourceType}`;
    if (r.meta.version !== undefined && !/^W\/"\d+"$/.test(r.meta.version)) return `${type} ${r.id} with meta.version ${r.meta.version}`;
    if (r.meta.location !== undefined && !String(r.meta.location).endsWith(`/${type}s/${r.id}`)) return `${type} ${r.id} with meta.location ${r.meta.location}`;
  }
  if (type === 'Group' && r.members !== undefined) {
    if (!Array.isArray(r.members) || r.members.some((m: any) => typeof m?.value !== 'string' || !UUID.test(m.value))) return `Group ${r.id} with members that are not user ids`;
  }
  return undefined;
}

/**
 * The properties of one answer; returns a description of what is wrong, or undefined. Never a 5xx. A refused
 * credential is never a success (health probes excepted). On the SCIM mount every error is a SCIM error body
 * (RFC 7644 §3.12: Error URN, status as a string equal to the HTTP status, a scimType from table 9 if any, no
 * internals), and every success is a valid representation: a User or Group with its id, core schema and consistent
 * meta (and the ETag equal to meta.version), a ListResponse whose counts agree with its Resources, each valid, or a
 * discovery document.
 */
export function check(req: Req, res: Res): string | undefined {
  if (res.status >= 500) return `${res.status}`;
  const health = /^\/(healthz|readyz)(\?|$)/.test(req.path);
  if (req.from === 'bad' && res.status < 300 && !health) return `${res.status} for a request without a valid token`;
  // Authentication comes first on both mounts: nothing but the refusal (or the failed-auth throttle) answers a bad
  // credential, whatever the request holds. Only what Node's HTTP parser refuses never reaches the app: a request
  // line or headers too large (431), a method it does not know (400).
  const parserRefusal = res.status === 431 || (res.status === 400 && !http.METHODS.includes(req.method));
  if (req.from === 'bad' && /^\/(scim\/v2|admin\/v1)(\/|\?|$)/i.test(req.path) && ![401, 429].includes(res.status) && !parserRefusal) return `${res.status} for a request without a valid token, not 401`;
  if (req.method === 'HEAD' || res.status === 204 || res.status === 304) return undefined;
  const scim = !/^\/(admin|healthz|readyz|metrics)/.test(req.path);
  if (!scim && req.method === 'OPTIONS') return undefined; // Express's own Allow list outside SCIM
  if (/^\/metrics/.test(req.path) && res.status < 300) return /^scim_/m.test(res.text) ? undefined : `${res.status} /metrics without samples`;
  let body: any;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `${res.status} with a non-JSON body`;
  }
  if (!scim) return undefined; // the admin API has its own JSON error format
  if (!/^application\/scim\+json/.test(String(res.headers['content-type']))) return `${res.status} with content-type ${res.headers['content-type']}`;
  if (res.status >= 400) {
    if (!Array.isArray(body?.schemas) || !body.schemas.includes(ERROR_SCHEMA)) return `${res.status} without a SCIM error body`;
    if (body.status !== String(res.status)) return `${res.status} with status ${JSON.stringify(body.status)} in the body`;
    if (body.scimType !== undefined && !SCIM_TYPES.has(body.scimType)) return `${res.status} with scimType ${JSON.stringify(body.scimType)}`;
    if (body.detail !== undefined && typeof body.detail !== 'string') return `${res.status} with a detail that is not a string`;
    if (typeof body.detail === 'string' && /\bat .+:\d+:\d+\)|node_modules|SQLITE_|syntax error at or near/i.test(body.detail)) return `${res.status} leaks internals: ${body.detail.slice(0, 200)}`;
    return undefined;
  }
  if (res.status < 200 || res.status >= 300) return `unexpected status ${res.status}`;
  if (!Array.isArray(body?.schemas)) return `${res.status} success without schemas`;
  const type = resourceTypeOf(req.path);
  if (!type) return undefined; // discovery documents (their content is the conformance suites' subject)
  if (body.schemas.includes(LIST)) {
    const { totalResults, itemsPerPage, startIndex, Resources = [] } = body;
    if (![totalResults, itemsPerPage, startIndex].every((n) => Number.isInteger(n) && n >= 0) || startIndex < 1) return `list with totalResults ${totalResults}, itemsPerPage ${itemsPerPage}, startIndex ${startIndex}`;
    if (!Array.isArray(Resources) || Resources.length !== itemsPerPage || itemsPerPage > totalResults) return `list of ${Resources?.length} with itemsPerPage ${itemsPerPage} of ${totalResults}`;
    for (const r of Resources) { const p = resourceProblem(r, type); if (p) return `in a list: ${p}`; }
    return undefined;
  }
  const p = resourceProblem(body, type);
  if (p) return p;
  if (body.meta?.version !== undefined && res.headers.etag !== undefined && res.headers.etag !== body.meta.version) return `ETag ${res.headers.etag} but meta.version ${body.meta.version}`;
  if (res.status === 201 && body.meta?.location !== undefined && res.headers.location !== body.meta.location) return `201 with Location ${res.headers.location} but meta.location ${body.meta.location}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Valid writes, sent with every batch, so there is state to keep: creates, PATCH/PUT of the seeded users (with
// If-Match now and then), member adds and removes on the seeded group, deletes of disposable users.

export interface Seeds { users: string[]; disposable: string[]; group: string }

export const validWriteArb = (seeds: Seeds, token: string): fc.Arbitrary<Req> => {
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' };
  const user = fc.constantFrom(...seeds.users);
  const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ._-]{0,20}$/);
  const patchOp = fc.oneof(
    fc.record({ op: fc.constant('replace'), path: fc.constantFrom('title', 'displayName', 'nickName'), value: word }),
    fc.record({ op: fc.constant('replace'), path: fc.constant('active'), value: fc.boolean() }),
    fc.record({ op: fc.constant('add'), path: fc.constant('roles'), value: word.map((v) => [{ value: v }]) }),
    fc.record({ op: fc.constant('remove'), path: fc.constant('title') }),
  );
  return fc.oneof(
    fc.uuid().map((u) => ({ method: 'POST', path: '/scim/v2/Users', headers: auth, body: JSON.stringify({ schemas: [USER], userName: `fz-ok-${u}@example.com`, externalId: `fz-${u}`, active: true }) })),
    { weight: 3, arbitrary: fc.tuple(user, fc.array(patchOp, { minLength: 1, maxLength: 3 }), fc.option(fc.constantFrom('W/"1"', 'W/"2"', '*'), { freq: 4 })).map(([id, ops, ifMatch]) => ({
      method: 'PATCH', path: `/scim/v2/Users/${id}`, headers: { ...auth, ...(ifMatch ? { 'If-Match': ifMatch } : {}) }, body: JSON.stringify({ schemas: [PATCH_OP], Operations: ops }),
    })) },
    fc.tuple(user, word).map(([id, title]) => ({ method: 'PUT', path: `/scim/v2/Users/${id}`, headers: auth, body: JSON.stringify({ schemas: [USER], userName: `put-${id}@example.com`, title, active: true }) })),
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('add', 'remove'), fc.subarray([...seeds.users, ...seeds.disposable], { minLength: 1, maxLength: 3 }), fc.boolean()).map(([op, ids, withAttrs]) => ({
      method: 'PATCH', path: `/scim/v2/Groups/${seeds.group}${withAttrs ? '?attributes=members,displayName' : ''}`, headers: auth,
      body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op, path: 'members', value: ids.map((value) => ({ value })) }] }),
    })) },
    fc.constantFrom(...seeds.disposable).map((id) => ({ method: 'DELETE', path: `/scim/v2/Users/${id}`, headers: { Authorization: auth.Authorization } })),
  );
};
