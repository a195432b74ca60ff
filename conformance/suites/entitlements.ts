/**
 * Okta Identity Governance discovery, as Okta reads it (Okta's "Build a SCIM 2.0 server with entitlements",
 * https://developer.okta.com/docs/guides/scim-with-entitlements/main/): /ResourceTypes names the catalogues (any
 * resource type whose schema is `urn:okta:scim:schemas:core:1.0:Role` or `...:Entitlement`, at whatever endpoint it
 * gives), and Okta reads every entry of each. The core of the suite is Okta's published entitlements test: for each
 * catalogue endpoint, `GET {{EntitlementEndpoint}}?count=1&startIndex=1` must be a 200 ListResponse whose Resources
 * hold at most one entry, each with id and displayName.
 *
 * The catalogues are optional (Okta needs them only with Governance): every check is skipped when /ResourceTypes
 * lists none. The suite writes nothing: the entries are the server's own (a fresh server may have no entitlements,
 * and then the checks that need one are skipped for that endpoint).
 */
import { expect, expectStatus, show } from '../lib/assert.ts';
import type { Ctx } from '../lib/context.ts';
import type { Check } from '../lib/runner.ts';
import { expectList, expectScimError, hasSchema, idsOf, pick } from '../lib/scim.ts';

const OKTA_ROLE = 'urn:okta:scim:schemas:core:1.0:Role';
const OKTA_ENTITLEMENT = 'urn:okta:scim:schemas:core:1.0:Entitlement';
const OKTA_GUIDE = 'OKTA-ENT (https://developer.okta.com/docs/guides/scim-with-entitlements/main/)';
const OKTA_TEST = 'Okta SCIM 2.0 with entitlements test (https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-With-Entitlements-CRUD-Test.json)';

interface Catalogue { name: string; endpoint: string; schema: string }

/** The resource types with an Okta Role or Entitlement schema (read once per run); skips the check when there are none. */
async function catalogues(ctx: Ctx): Promise<Catalogue[]> {
  const found = await ctx.memo('okta-catalogues', async () => {
    const res = await ctx.okta.get('/ResourceTypes');
    if (res.status !== 200 || !Array.isArray(pick(res.json, 'Resources'))) return [] as Catalogue[];
    return (pick(res.json, 'Resources') as unknown[])
      .filter((r) => [OKTA_ROLE, OKTA_ENTITLEMENT].includes(String(pick(r, 'schema'))))
      .map((r) => ({ name: String(pick(r, 'name')), endpoint: String(pick(r, 'endpoint')), schema: String(pick(r, 'schema')) }));
  });
  if (found.length === 0) ctx.skip(`/ResourceTypes lists no resource type with schema ${OKTA_ROLE} or ${OKTA_ENTITLEMENT} (Okta Identity Governance catalogues are optional)`);
  return found;
}

/** A catalogue path: the endpoint as /ResourceTypes gives it, relative to the base URL. */
const pathOf = (c: Catalogue, rest = '') => `${c.endpoint.replace(/\/+$/, '')}${rest}`;

export const entitlementsChecks: Check[] = [
  {
    suite: 'entitlements',
    name: 'resource-types',
    source: `${OKTA_GUIDE} ("ResourceTypes": id, name, endpoint, schema an Okta Role/Entitlement URN); RFC 7643 §6`,
    async run(ctx) {
      for (const c of await catalogues(ctx)) {
        expect(c.name !== '' && c.name !== 'undefined', `a resource type with schema ${c.schema} has no name`);
        expect(/^\/[^/]/.test(c.endpoint), `ResourceType ${c.name}: endpoint must be a path relative to the base URL (e.g. /Entitlements), got ${show(c.endpoint)}`);
        const one = await ctx.okta.get(`/ResourceTypes/${encodeURIComponent(c.name)}`);
        expectStatus(one, 200, `GET /ResourceTypes/${c.name}`);
        expect(pick(one.json, 'schema') === c.schema, `GET /ResourceTypes/${c.name}: schema must be ${c.schema}, got ${show(pick(one.json, 'schema'))}`, one);
        expect(pick(one.json, 'endpoint') === c.endpoint, `GET /ResourceTypes/${c.name}: endpoint must be ${c.endpoint}, got ${show(pick(one.json, 'endpoint'))}`, one);
      }
    },
  },
  {
    suite: 'entitlements',
    name: 'list-count-1-start-index-1',
    source: `${OKTA_TEST}: GET {{EntitlementEndpoint}}?count=1&startIndex=1 -> 200, ListResponse schema, Resources has at most 1 element, each with id and displayName`,
    async run(ctx) {
      for (const c of await catalogues(ctx)) {
        const res = await ctx.okta.get(pathOf(c, '?count=1&startIndex=1'));
        const list = expectList(res, `GET ${pathOf(c)}?count=1&startIndex=1`, { paged: true });
        expect(list.Resources.length <= 1, `${c.endpoint}: count=1 must give at most 1 resource, got ${list.Resources.length}`, res);
        for (const r of list.Resources) {
          for (const attr of ['id', 'displayName']) {
            const v = pick(r, attr);
            expect(typeof v === 'string' && v !== '', `${c.endpoint}: every resource needs a non-empty string ${attr}, got ${show(v)}`, res);
          }
        }
        if (list.totalResults === 0) ctx.note(`${c.endpoint} is empty on this server`);
      }
    },
  },
  {
    suite: 'entitlements',
    name: 'get-by-id',
    source: `${OKTA_GUIDE} (a user's roles[].value / entitlements[].value is an entry's id); RFC 7644 §3.4.1`,
    async run(ctx) {
      let read = 0;
      for (const c of await catalogues(ctx)) {
        const first = expectList(await ctx.okta.get(pathOf(c, '?count=1&startIndex=1')), `GET ${pathOf(c)}?count=1`).Resources[0];
        if (!first) continue;
        const id = String(pick(first, 'id'));
        const res = await ctx.okta.get(pathOf(c, `/${encodeURIComponent(id)}`));
        expectStatus(res, 200, `GET ${c.endpoint}/{id} of an entry it lists`);
        expect(pick(res.json, 'id') === id, `GET ${c.endpoint}/${id}: id must be ${id}, got ${show(pick(res.json, 'id'))}`, res);
        expect(pick(res.json, 'displayName') === pick(first, 'displayName'), `GET ${c.endpoint}/${id}: displayName must be as listed (${show(pick(first, 'displayName'))}), got ${show(pick(res.json, 'displayName'))}`, res);
        expect(hasSchema(res.json, c.schema), `GET ${c.endpoint}/${id}: schemas must contain ${c.schema}, got ${show(pick(res.json, 'schemas'))}`, res);
        read++;
      }
      if (read === 0) ctx.skip('every catalogue is empty on this server: there is no entry to read by id');
    },
  },
  {
    suite: 'entitlements',
    name: 'paging-disjoint',
    source: `${OKTA_GUIDE} (Okta retrieves all values from each endpoint); RFC 7644 §3.4.2.4 (1-based startIndex, count=0 gives only totalResults)`,
    async run(ctx) {
      for (const c of await catalogues(ctx)) {
        const head = expectList(await ctx.okta.get(pathOf(c, '?count=0')), `GET ${pathOf(c)}?count=0`);
        expect(head.Resources.length === 0, `${c.endpoint}?count=0 must return no resources (only totalResults), got ${head.Resources.length}`);
        const total = head.totalResults;
        // The first pages of two (up to six entries): each as big as it can be, none repeating an entry.
        const seen: string[] = [];
        for (let start = 1; start <= Math.min(total, 6); start += 2) {
          const res = await ctx.okta.get(pathOf(c, `?startIndex=${start}&count=2`));
          const page = expectList(res, `GET ${pathOf(c)}?startIndex=${start}&count=2`, { paged: true, total });
          expect(page.Resources.length === Math.min(2, total - start + 1), `${c.endpoint}?startIndex=${start}&count=2 of ${total}: expected ${Math.min(2, total - start + 1)} resources, got ${page.Resources.length}`, res);
          const got = idsOf(page.Resources);
          const repeated = got.filter((id) => seen.includes(id));
          expect(repeated.length === 0, `${c.endpoint}: pages must be disjoint, but ${repeated.join(', ')} came again at startIndex ${start}`, res);
          seen.push(...got);
        }
        const past = await ctx.okta.get(pathOf(c, `?startIndex=${total + 1}&count=2`));
        const beyond = expectList(past, `GET ${pathOf(c)}?startIndex=${total + 1}`, { total });
        expect(beyond.Resources.length === 0, `${c.endpoint}: a startIndex past the end must give an empty page, got ${beyond.Resources.length}`, past);
      }
    },
  },
  {
    suite: 'entitlements',
    name: 'unknown-id-404',
    source: 'RFC 7644 §3.12 (404: the specified resource does not exist), as for /Users/{id}',
    async run(ctx) {
      for (const c of await catalogues(ctx)) {
        const res = await ctx.okta.get(pathOf(c, `/${ctx.run.prefix}missing-${ctx.run.word()}`));
        expectScimError(res, 404, undefined, `GET ${c.endpoint}/<unknown id>`);
      }
    },
  },
];
