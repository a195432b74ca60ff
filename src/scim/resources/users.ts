/**
 * The SCIM /Users resource (RFC 7644 §3) as a SCIMMY resource whose handlers answer from the store.
 * SCIMMY is kept for schema coercion, attribute projection, PatchOp and routing; we override what it does in memory
 * (list filtering, sorting, paging: §3.4.2) and where real clients need more than it accepts (PATCH dialects).
 */
import SCIMMY from 'scimmy';
import { isDeepStrictEqual } from 'node:util';
import type { ScimContext } from '../shared/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import { parseCollectionQuery } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { applyUserPatch } from '../patch/user-patch.js';
import { project, projectionFrom } from '../query/projection.js';
import { etagOf, userToScim } from '../shared/user-representation.js';
import { ENTERPRISE } from '../../store/schema-urns.js';
import { checkIfMatch, createUser, deleteUser, readUser, replaceUser, StaleRead } from '../use-cases/user-lifecycle.js';
import { listUserPage, userListing } from '../../store/user-list.js';

type Json = Record<string, any>;

/** Shape a user for the response: attributes/excludedAttributes from the request (see projection.ts). */
const shaped = (scim: Json, ctx: ScimContext): Json => project(scim, projectionFrom(ctx.query, [ENTERPRISE]));

const failure = (ctx: ScimContext, err: unknown): Error => handlerFailure(ctx.res, err);

async function listUsers(ctx: ScimContext) {
  const parsed = parseCollectionQuery(ctx.query, userListing(ctx.db), { defaultCount: ctx.config.defaultPageSize, maxResults: ctx.config.maxResults });
  if (!parsed.ok) throw parsed.error;
  const cq = parsed.value;
  const { users, total } = await listUserPage(ctx.db, cq, cursorsFor(ctx.db));
  const list = new SCIMMY.Messages.ListResponse([], { totalResults: 0 });
  return Object.assign(list, {
    Resources: users.map((u) => shaped(userToScim(u.row, u.values, ctx.config.publicUrl), ctx)),
    totalResults: total,
    startIndex: cq.startIndex,
    itemsPerPage: users.length,
  });
}

export class UserResource extends SCIMMY.Resources.User {
  override async read(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) return await listUsers(c);
      const { scim, version } = await readUser(c, this.id);
      c.res.setHeader('ETag', etagOf(version));
      return shaped(scim, c);
    } catch (err) {
      throw failure(c, err);
    }
  }

  override async write(instance: any, ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      // What super.write does, minus its re-coercion of the stored result (our own projection shapes the output):
      // SCIMMY still validates the body against the User schema and extension on the way in.
      if (instance === undefined) throw scimError(400, 'invalidSyntax', `Missing request body payload for ${this.id ? 'PUT' : 'POST'}`);
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) throw scimError(400, 'invalidSyntax', 'request body must be a single User object');
      const out = await ingest(this.id, new SCIMMY.Schemas.User(instance, 'in'), c);
      return shaped(out, c);
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
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw scimError(400, 'invalidSyntax', 'PatchOp body must be an object');
      for (let attempt = 0; ; attempt++) {
        const { scim: current, version } = await readUser(c, this.id);
        checkIfMatch(c, version);
        let written: Json | undefined;
        try {
          const next = await applyUserPatch(message, current);
          if (next && !isDeepStrictEqual(comparable(next), comparable(current))) {
            written = await replaceUser(c, this.id!, next, { mode: 'patch', expectedVersion: version });
          }
        } catch (err) {
          if (!(err instanceof StaleRead)) throw err;
          if (c.ifMatch) throw scimError(412, null, 'the resource changed since the If-Match version');
          if (attempt >= 10) throw scimError(409, null, 'the resource changed concurrently; retry');
          continue;
        }
        const result = written ?? current;
        c.res.setHeader('ETag', (result.meta?.version as string) ?? etagOf(version));
        return shaped(result, c);
      }
    } catch (err) {
      throw failure(c, err);
    }
  }

  override async dispose(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      return await super.dispose(ctx);
    } catch (err) {
      throw failure(c, err);
    }
  }
}

/** POST creates (or restores by externalId), PUT replaces; both answer with the version and, for POST, the location. */
async function ingest(id: string | undefined, instance: unknown, ctx: ScimContext): Promise<Json> {
  const body = JSON.parse(JSON.stringify(instance));
  const out = id ? await replaceUser(ctx, id, body, { mode: 'put' }) : await createUser(ctx, body);
  ctx.res.setHeader('ETag', out.meta.version);
  if (!id) ctx.res.setHeader('Location', out.meta.location);
  return out;
}

/** Fields a PATCH can change, for deciding whether it changed anything. */
function comparable(u: Json): Json {
  const { meta, groups, schemas, ...rest } = u;
  return JSON.parse(JSON.stringify(rest));
}

/** Declare /Users with the EnterpriseUser extension and handlers that answer from the store. */
export function declareUsers(): void {
  // RFC 7643 §4.1.2 gives roles and entitlements no canonical types, but SCIMMY declares `canonicalValues: []`, which
  // refuses every type: Entra's `"type":"WindowsAzureActiveDirectoryRole"` (its SCIM endpoint tutorial) would be a 400.
  for (const path of ['roles.type', 'entitlements.type']) (SCIMMY.Schemas.User as any).definition.attribute(path).config.canonicalValues = false;
  SCIMMY.Resources.declare(UserResource, { name: 'User', extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }] } as any);
  UserResource.egress((async (resource: any, ctx: ScimContext) => (await readUser(ctx, resource.id)).scim) as any);
  UserResource.ingress(async (resource: any, instance: any, ctx: ScimContext) => {
    try {
      return await ingest(resource.id, instance, ctx);
    } catch (err) {
      throw failure(ctx, err);
    }
  });
  UserResource.degress(async (resource: any, ctx: ScimContext) => {
    try {
      await deleteUser(ctx, resource.id);
    } catch (err) {
      throw failure(ctx, err);
    }
  });
}
