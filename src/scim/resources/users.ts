/**
 * The SCIM /Users resource (RFC 7644 §3) as a SCIMMY resource whose handlers answer from the store.
 * SCIMMY is kept for schema coercion, attribute projection, PatchOp and routing; we override what it does in memory
 * (list filtering, sorting, paging: §3.4.2) and where real clients need more than it accepts (PATCH dialects).
 */
import SCIMMY from 'scimmy';
import { isDeepStrictEqual } from 'node:util';
import type { ScimContext } from '../shared/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import { applyWhere, parseCollectionQuery, readPage } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { attributeMap, type ColumnTarget, type MultiTarget } from '../../store/filter-sql.js';
import { applyUserPatch, userPatchError } from '../patch/user-patch.js';
import { parsePatchOp } from '../patch/patch-op.js';
import { project, projectionFrom } from '../query/projection.js';
import { ENTERPRISE, USER_SCHEMA, userToScim } from '../shared/user-representation.js';
import { checkIfMatch } from '../shared/versions.js';
import type { ResourceResult } from '../shared/resource-result.js';
import { createUser, deleteUser, readUser, replaceUser, StaleRead, type Versioned } from '../use-cases/user-lifecycle.js';
import { loadValues, USER_COLUMNS, valuesColumn, valuesOf, type UserRow } from '../../store/users.js';
import { dialectOf } from '../../store/db.js';
import { liveCount } from '../../store/counts.js';

type Json = Record<string, any>;

/** A column; a caseExact=false string is compared through its stored fold, `<column>_fold` (store/fold.ts). */
const col = (sql: string, type: ColumnTarget['type'] = 'string', caseExact = false): ColumnTarget => ({
  kind: 'column', sql, type, caseExact, ...(!caseExact && type === 'string' ? { folded: `${sql}_fold` } : {}),
});
const multi = (attr: string): MultiTarget => ({
  kind: 'multi', table: 'user_values', fk: 'user_id', parentKey: 'users.id', where: { attr },
  subs: { value: col('mv.value'), type: col('mv.type'), display: col('mv.display'), primary: col('mv."primary"', 'boolean', true) },
  defaultSub: 'value',
});

/** Filterable attributes (RFC 7643 §4.1, §4.3) and where they live. */
export const userAttributes = attributeMap({
  id: col('users.id', 'string', true),
  externalId: col('users.external_id', 'string', true),
  userName: col('users.user_name'),
  displayName: col('users.display_name'),
  nickName: col('users.nickname'),
  title: col('users.position'),
  userType: col('users.user_type'),
  preferredLanguage: col('users.preferred_language'),
  locale: col('users.locale'),
  timezone: col('users.timezone'),
  profileUrl: col('users.profile_url', 'reference', true),
  active: col('users.active', 'boolean', true),
  'name.givenName': col('users.first_name'),
  'name.familyName': col('users.last_name'),
  'name.formatted': col('users.formatted_name'),
  'meta.created': col('users.created_at', 'dateTime', true),
  'meta.lastModified': col('users.updated_at', 'dateTime', true),
  emails: multi('emails'),
  phoneNumbers: multi('phoneNumbers'),
  ims: multi('ims'),
  photos: multi('photos'),
  roles: multi('roles'),
  entitlements: multi('entitlements'),
  groups: {
    kind: 'multi', table: 'group_members', fk: 'user_id', parentKey: 'users.id',
    subs: { value: col('mv.group_id', 'string', true) }, defaultSub: 'value',
  },
  [`${ENTERPRISE}:employeeNumber`]: col('users.employee_number', 'string', true),
  [`${ENTERPRISE}:department`]: col('users.department'),
  [`${ENTERPRISE}:costCenter`]: col('users.cost_center'),
  [`${ENTERPRISE}:organization`]: col('users.organization'),
  [`${ENTERPRISE}:division`]: col('users.division'),
  [`${ENTERPRISE}:manager`]: col('users.manager_id', 'string', true),
  [`${ENTERPRISE}:manager.value`]: col('users.manager_id', 'string', true),
}, [USER_SCHEMA]);

const sortable: Record<string, string> = {
  id: 'users.id',
  externalid: 'users.external_id',
  username: 'users.user_name_fold',
  displayname: 'users.display_name_fold',
  nickname: 'users.nickname_fold',
  title: 'users.position_fold',
  active: 'users.active',
  'name.givenname': 'users.first_name_fold',
  'name.familyname': 'users.last_name_fold',
  'meta.created': 'users.created_at',
  'meta.lastmodified': 'users.updated_at',
  emails: 'users.email',
  'emails.value': 'users.email',
  [`${ENTERPRISE}:employeenumber`.toLowerCase()]: 'users.employee_number',
  [`${ENTERPRISE}:department`.toLowerCase()]: 'users.department_fold',
};

/** Shape a user for the response: attributes/excludedAttributes from the request (see projection.ts). */
const shaped = (scim: Json, ctx: ScimContext): Json => project(scim, projectionFrom(ctx.query, [ENTERPRISE]));

const failure = (ctx: ScimContext, err: unknown): Error => handlerFailure(err, ctx);

async function listUsers(ctx: ScimContext) {
  const parsed = parseCollectionQuery(ctx.query, {
    attributes: userAttributes, sortable, defaultOrder: 'users.created_at', uniqueKey: 'users.id',
    notNull: ['users.id', 'users.user_name_fold', 'users.active', 'users.created_at', 'users.updated_at'],
    dialect: dialectOf(ctx.db), defaultCount: ctx.config.defaultPageSize, maxResults: ctx.config.maxResults,
  });
  if (!parsed.ok) throw parsed.error;
  const cq = parsed.value;
  const base = () => applyWhere(ctx.db('users').whereNull('users.deleted_at'), cq);
  // A filtered list (an IdP's match query: one row, or a few) reads the values in the page statement, saving a round
  // trip; a page of a whole-collection walk reads them with one IN query, which costs SQLite less than a JSON subquery
  // per row.
  const { rows, total } = await readPage<UserRow & { values_json?: unknown }>(cq, {
    base, columns: USER_COLUMNS, inlineColumns: cq.where ? [valuesColumn(ctx.db)] : [], cursors: cursorsFor(ctx.db), countAll: () => liveCount(ctx.db, 'User'),
  });
  // The values came with the page unless it was unfiltered or read with OFFSET.
  const missing = rows.filter((r) => r.values_json === undefined).map((r) => r.id);
  const loaded = await loadValues(ctx.db, missing);
  const list = new SCIMMY.Messages.ListResponse([], { totalResults: 0 });
  return Object.assign(list, {
    Resources: rows.map((r) => shaped(userToScim(r, loaded.get(r.id) ?? valuesOf(r), ctx.config.publicUrl), ctx)),
    totalResults: total,
    startIndex: cq.startIndex,
    itemsPerPage: rows.length,
  });
}

/**
 * Each method answers a ResourceResult (src/scim/shared/resource-result.ts) for src/http/resource-routes.ts to write,
 * not the SCIMMY value the base class declares: nothing else calls them.
 */
export class UserResource extends SCIMMY.Resources.User {
  override async read(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) return { body: await listUsers(c) } satisfies ResourceResult;
      const { scim, version } = await readUser(c, this.id);
      return { body: shaped(scim, c), version } satisfies ResourceResult;
    } catch (err) {
      throw failure(c, err);
    }
  }

  /** POST creates (or restores by externalId), PUT replaces; both answer with the version and, for POST, the location. */
  override async write(instance: any, ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      // What super.write does, minus its re-coercion of the stored result (our own projection shapes the output):
      // SCIMMY still validates the body against the User schema and extension on the way in.
      if (instance === undefined) throw scimError(400, 'invalidSyntax', `Missing request body payload for ${this.id ? 'PUT' : 'POST'}`);
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) throw scimError(400, 'invalidSyntax', 'request body must be a single User object');
      const body = JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(instance, 'in')));
      const { scim, version } = this.id ? await replaceUser(c, this.id, body, { mode: 'put' }) : await createUser(c, body);
      return { body: shaped(scim, c), version, ...(this.id ? {} : { location: scim.meta.location as string }) } satisfies ResourceResult;
    } catch (err) {
      throw failure(c, err);
    }
  }

  /**
   * PATCH (RFC 7644 §3.5.2) on the version read, normalised for Entra and Okta dialects first. A user is small, so
   * SCIMMY's apply-in-memory is fine; the write is conditional on that version, so a concurrent change is never lost:
   * with If-Match the loser gets 412, without it the PATCH is re-applied to the new version.
   */
  override async patch(message: any, ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) throw scimError(404, null, 'PATCH must target a resource');
      const parsed = parsePatchOp(message);
      if (!parsed.ok && parsed.error.kind === 'body') throw userPatchError(parsed.error);
      for (let attempt = 0; ; attempt++) {
        const { scim: current, version } = await readUser(c, this.id);
        checkIfMatch(c.ifMatch, version);
        // A malformed message is refused once the user is found and its version matches (a 404 or 412 comes first).
        if (!parsed.ok) throw userPatchError(parsed.error);
        let written: Versioned | undefined;
        try {
          const next = await applyUserPatch(parsed.value, current);
          if (next && !isDeepStrictEqual(comparable(next), comparable(current))) {
            written = await replaceUser(c, this.id!, next, { mode: 'patch', expectedVersion: version });
          }
        } catch (err) {
          if (!(err instanceof StaleRead)) throw err;
          if (c.ifMatch) throw scimError(412, null, 'the resource changed since the If-Match version');
          if (attempt >= 10) throw scimError(409, null, 'the resource changed concurrently; retry');
          continue;
        }
        const result = written ?? { scim: current, version };
        return { body: shaped(result.scim, c), version: result.version } satisfies ResourceResult;
      }
    } catch (err) {
      throw failure(c, err);
    }
  }

  override async dispose(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) throw scimError(404, null, 'DELETE operation must target a specific resource');
      await deleteUser(c, this.id);
      return {} satisfies ResourceResult;
    } catch (err) {
      throw failure(c, err);
    }
  }
}

/** Fields a PATCH can change, for deciding whether it changed anything. */
function comparable(u: Json): Json {
  const { meta, groups, schemas, ...rest } = u;
  return JSON.parse(JSON.stringify(rest));
}

/** Declare /Users with the EnterpriseUser extension; UserResource's methods answer from the store. */
export function declareUsers(): void {
  // RFC 7643 §4.1.2 gives roles and entitlements no canonical types, but SCIMMY declares `canonicalValues: []`, which
  // refuses every type: Entra's `"type":"WindowsAzureActiveDirectoryRole"` (its SCIM endpoint tutorial) would be a 400.
  for (const path of ['roles.type', 'entitlements.type']) (SCIMMY.Schemas.User as any).definition.attribute(path).config.canonicalValues = false;
  SCIMMY.Resources.declare(UserResource, { name: 'User', extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] } as any);
}
