/**
 * Prerequisite builders. They are deliberately lenient (200 or 201 on create, 200 or 204 on
 * PATCH): they set the stage for a check, and the checks that test creation itself are strict.
 * Every created resource is tracked for cleanup before anything is asserted about it.
 */
import { expect, expectJsonObject, expectStatus, show } from './assert.ts';
import type { Ctx } from './context.ts';
import type { ScimHttp, ScimResponse } from './http.ts';
import { URN, expectPatchOk, patchOp, pick } from './scim.ts';

export type Json = Record<string, any>;

/**
 * A complete user body (name, work email, displayName, active, externalId), so that every
 * user the run creates satisfies OKTA-SPEC step 5's field checks if it is listed first.
 */
export function userBody(ctx: Ctx, tag: string, extra: Json = {}): Json {
  const userName = ctx.run.userName(tag);
  const given = `Given${ctx.run.word()}`;
  const family = `Family${ctx.run.word()}`;
  return {
    schemas: [URN.user],
    userName,
    externalId: ctx.run.uuid(),
    name: { givenName: given, familyName: family },
    displayName: `${given} ${family}`,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

export function groupBody(ctx: Ctx, tag: string, extra: Json = {}): Json {
  return { schemas: [URN.group], displayName: ctx.run.name(tag), ...extra };
}

/** Tracks the id of a POST response for cleanup (whatever the status). */
export function trackCreated(ctx: Ctx, kind: 'Users' | 'Groups', res: ScimResponse): void {
  const id = res.json && typeof res.json === 'object' ? pick(res.json, 'id') : undefined;
  if (typeof id === 'string' && id !== '' && res.status >= 200 && res.status < 300) ctx.track(kind, id);
}

async function create(ctx: Ctx, kind: 'Users' | 'Groups', body: Json, http: ScimHttp, what: string): Promise<Json> {
  const res = await http.post(`/${kind}`, body);
  trackCreated(ctx, kind, res);
  expectStatus(res, [200, 201], what);
  const obj = expectJsonObject(res, what);
  const id = pick(obj, 'id');
  expect(typeof id === 'string' && id !== '', `${what}: response has no string id (got ${show(id)})`, res);
  return obj;
}

export function createUser(ctx: Ctx, body: Json, http: ScimHttp = ctx.http, what = 'prerequisite: create user'): Promise<Json> {
  return create(ctx, 'Users', body, http, what);
}

export function newUser(ctx: Ctx, tag: string, extra: Json = {}, http: ScimHttp = ctx.http): Promise<Json> {
  return createUser(ctx, userBody(ctx, tag, extra), http);
}

export function createGroup(ctx: Ctx, body: Json, http: ScimHttp = ctx.http, what = 'prerequisite: create group'): Promise<Json> {
  return create(ctx, 'Groups', body, http, what);
}

export function newGroup(ctx: Ctx, tag: string, extra: Json = {}, http: ScimHttp = ctx.http): Promise<Json> {
  return createGroup(ctx, groupBody(ctx, tag, extra), http);
}

export async function getResource(http: ScimHttp, kind: 'Users' | 'Groups', id: string, what = `GET /${kind}/{id}`): Promise<Json> {
  const res = await http.get(`/${kind}/${encodeURIComponent(id)}`);
  expectStatus(res, 200, what);
  return expectJsonObject(res, what);
}

export const getUser = (http: ScimHttp, id: string, what?: string) => getResource(http, 'Users', id, what);
export const getGroup = (http: ScimHttp, id: string, what?: string) => getResource(http, 'Groups', id, what);

/** Adds members with a plain RFC 7644 PATCH (prerequisite for membership checks). */
export async function addMembers(http: ScimHttp, groupId: string, userIds: string[]): Promise<void> {
  const res = await http.patch(
    `/Groups/${encodeURIComponent(groupId)}`,
    patchOp({ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }),
  );
  expectPatchOk(res, groupId, 'prerequisite: PATCH add members');
}

/** Creates `n` users and returns their ids, with a name map for readable failure messages. */
export async function newUsers(ctx: Ctx, tag: string, n: number): Promise<{ ids: string[]; names: Map<string, string> }> {
  const ids: string[] = [];
  const names = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const u = await newUser(ctx, `${tag}u${i + 1}-`);
    const id = String(pick(u, 'id'));
    ids.push(id);
    names.set(id, `u${i + 1}`);
  }
  return { ids, names };
}

export const idPath = (kind: 'Users' | 'Groups', id: string) => `/${kind}/${encodeURIComponent(id)}`;
