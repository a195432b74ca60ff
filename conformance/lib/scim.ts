/**
 * SCIM-aware assertions: ListResponse envelopes, Error bodies, PATCH outcomes,
 * and case-insensitive attribute access (RFC 7643 §2.1: attribute names are case-insensitive).
 */
import { expect, expectJsonObject, expectStatus, fail, show } from './assert.ts';
import type { ScimResponse } from './http.ts';

export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  search: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  spc: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  /** Sent by Entra on group create (MS-TUT E9); servers must ignore it. */
  msGroup: 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
} as const;

const CORE_URNS = [URN.user, URN.group];

/** Finds `key` in `obj` case-insensitively; returns the real key. */
export function findKey(obj: unknown, key: string): string | undefined {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  if (Object.prototype.hasOwnProperty.call(obj, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

/**
 * Reads an attribute by SCIM path, case-insensitively: `userName`, `name.givenName`,
 * `urn:...:enterprise:2.0:User:manager.value`.
 */
export function pick(obj: unknown, path: string): any {
  let cur: any = obj;
  let rest = path;
  if (/^urn:/i.test(path)) {
    const core = CORE_URNS.find((u) => path.toLowerCase().startsWith(`${u.toLowerCase()}:`));
    if (core) {
      rest = path.slice(core.length + 1);
    } else {
      const keys = cur && typeof cur === 'object' ? Object.keys(cur) : [];
      const ext = keys
        .filter((k) => path.toLowerCase().startsWith(`${k.toLowerCase()}:`))
        .sort((a, b) => b.length - a.length)[0];
      if (!ext) return undefined;
      cur = cur[ext];
      rest = path.slice(ext.length + 1);
    }
  }
  for (const seg of rest.split('.')) {
    const k = findKey(cur, seg);
    if (k === undefined) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Unassigned in the RFC 7643 §2.5 sense: absent, null, empty string, empty array or empty object. */
export function isUnassigned(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as object).every(isUnassigned);
  return false;
}

export function schemasOf(obj: unknown): string[] {
  const s = pick(obj, 'schemas');
  return Array.isArray(s) ? s.map(String) : [];
}

export function hasSchema(obj: unknown, urn: string): boolean {
  return schemasOf(obj).some((s) => s.toLowerCase() === urn.toLowerCase());
}

export interface ListResult {
  totalResults: number;
  Resources: any[];
  startIndex?: number;
  itemsPerPage?: number;
  raw: Record<string, any>;
}

export interface ListExpectations {
  /** Require `startIndex` and `itemsPerPage` to be integers (RFC 7644 §3.4.2: required when paginating). */
  paged?: boolean;
  total?: number;
}

/**
 * Asserts a 200 ListResponse (RFC 7644 §3.4.2): ListResponse URN, integer totalResults,
 * Resources an array (it may be omitted only when totalResults is 0).
 */
export function expectList(res: ScimResponse, what: string, opts: ListExpectations = {}): ListResult {
  expectStatus(res, 200, what);
  const body = expectJsonObject(res, `${what}: body`);
  expect(hasSchema(body, URN.list), `${what}: schemas must contain ${URN.list}, got ${show(body.schemas)}`, res);
  const total = pick(body, 'totalResults');
  expect(Number.isInteger(total) && total >= 0, `${what}: totalResults must be a non-negative integer, got ${show(total)}`, res);
  const resKey = findKey(body, 'Resources');
  const resources = resKey === undefined ? undefined : body[resKey];
  if (resources === undefined || resources === null) {
    expect(total === 0, `${what}: Resources missing although totalResults is ${total}`, res);
  } else {
    expect(Array.isArray(resources), `${what}: Resources must be an array, got ${show(resources)}`, res);
  }
  const list: any[] = Array.isArray(resources) ? resources : [];
  const startIndex = pick(body, 'startIndex');
  const itemsPerPage = pick(body, 'itemsPerPage');
  if (opts.paged) {
    expect(Number.isInteger(startIndex), `${what}: startIndex must be an integer, got ${show(startIndex)}`, res);
    expect(Number.isInteger(itemsPerPage), `${what}: itemsPerPage must be an integer, got ${show(itemsPerPage)}`, res);
    expect(
      itemsPerPage === list.length,
      `${what}: itemsPerPage must be the number of resources on this page (${list.length}), got ${itemsPerPage}`,
      res,
    );
  }
  if (opts.total !== undefined) {
    expect(total === opts.total, `${what}: expected totalResults ${opts.total}, got ${total}`, res);
  }
  return { totalResults: total, Resources: list, startIndex, itemsPerPage, raw: body };
}

export function idsOf(resources: any[]): string[] {
  return resources.map((r) => String(pick(r, 'id')));
}

/**
 * RFC 7644 §3.12 Error body: Error URN in schemas, `status` the HTTP code as a JSON **string**,
 * and `scimType` when the RFC names one for the situation.
 */
export function expectScimError(res: ScimResponse, status: number, scimType?: string, what = 'error response'): Record<string, any> {
  expectStatus(res, status, what);
  const body = expectJsonObject(res, `${what}: error body`);
  expect(hasSchema(body, URN.error), `${what}: schemas must contain ${URN.error}, got ${show(body.schemas)}`, res);
  const st = pick(body, 'status');
  expect(st === String(status), `${what}: "status" must be the string "${status}" (RFC 7644 §3.12), got ${show(st)}`, res);
  if (scimType !== undefined) {
    const t = pick(body, 'scimType');
    expect(t === scimType, `${what}: scimType must be "${scimType}", got ${show(t)}`, res);
  }
  return body;
}

/** Okta's reading of an Error (OKTA-SPEC step 8, OKTA-REF O3): Error URN and a non-empty detail. */
export function expectErrorWithDetail(res: ScimResponse, status: number, what: string): void {
  expectStatus(res, status, what);
  const body = expectJsonObject(res, `${what}: error body`);
  expect(hasSchema(body, URN.error), `${what}: schemas must contain ${URN.error}, got ${show(body.schemas)}`, res);
  const detail = pick(body, 'detail');
  expect(typeof detail === 'string' && detail.trim() !== '', `${what}: "detail" must be a non-empty string, got ${show(detail)}`, res);
}

/**
 * PATCH success as RFC 7644 §3.5.2 allows it, and as Entra (MS-TUT E5) and Okta (OKTA-REF O6)
 * accept it: 204 with no body, or 200 with the full resource (same id).
 */
export function expectPatchOk(res: ScimResponse, id: string, what = 'PATCH'): any | undefined {
  expectStatus(res, [200, 204], what);
  if (res.status === 204) return undefined;
  const body = expectJsonObject(res, `${what}: 200 body`);
  expect(pick(body, 'id') === id, `${what}: a 200 response must carry the resource (id ${id}), got id ${show(pick(body, 'id'))}`, res);
  return body;
}

export function patchOp(...ops: object[]): object {
  return { schemas: [URN.patch], Operations: ops };
}

/** Deep search for a key (case-insensitive); used to prove `password` is never returned. */
export function findKeyDeep(v: unknown, key: string, path = ''): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findKeyDeep(v[i], key, `${path}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (v && typeof v === 'object') {
    for (const [k, val] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (k.toLowerCase() === key.toLowerCase()) return p;
      const hit = findKeyDeep(val, key, p);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** `value` of every member of a group (RFC 7643 §4.2). */
export function memberIds(group: unknown): string[] {
  const m = pick(group, 'members');
  if (m === undefined || m === null) return [];
  if (!Array.isArray(m)) fail(`members must be an array, got ${show(m)}`);
  return m.map((x) => String(pick(x, 'value')));
}

/** Emails of a user with the given type (case-insensitive). */
export function emailsOfType(user: unknown, type: string): any[] {
  const e = pick(user, 'emails');
  if (!Array.isArray(e)) return [];
  return e.filter((x) => String(pick(x, 'type') ?? '').toLowerCase() === type.toLowerCase());
}
