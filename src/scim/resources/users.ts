/**
 * The SCIM /Users resource (RFC 7644 §3) as a SCIMMY resource whose handlers answer from the store.
 * SCIMMY is kept for schema coercion, attribute projection, PatchOp and routing; we override what it does in memory
 * (list filtering, sorting, paging: §3.4.2) and where real clients need more than it accepts (PATCH dialects).
 */
import SCIMMY from 'scimmy';
import { isDeepStrictEqual } from 'node:util';
import type { ScimContext } from '../use-cases/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import { parseCollectionQuery } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { applyUserPatch, userPatchError } from '../patch/user-patch.js';
import { parsePatchOp } from '../patch/patch-op.js';
import { project, projectionFrom } from '../query/projection.js';
import { userToScim } from '../shared/user-representation.js';
import { coerceUserIn } from '../shared/user-coerce.js';
import { ENTERPRISE } from '../../store/schema-urns.js';
import { checkIfMatch } from '../shared/versions.js';
import type { ResourceResult } from '../shared/resource-result.js';
import { createUser, deleteUser, readUser, replaceUser, StaleRead, type Versioned } from '../use-cases/user-lifecycle.js';
import { listUserPage, userListing } from '../../store/user-list.js';

type Json = Record<string, any>;

/** Shape a user for the response: attributes/excludedAttributes from the request (see projection.ts). */
const shaped = (scim: Json, ctx: ScimContext): Json => project(scim, projectionFrom(ctx.query, [ENTERPRISE]));

const failure = (ctx: ScimContext, err: unknown): Error => handlerFailure(err, ctx);

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
      // the body is coerced against the User schema and extension on the way in, by coerceUserIn when it can tell
      // SCIMMY's answer without SCIMMY's cost (src/scim/shared/user-coerce.ts), by SCIMMY otherwise.
      if (instance === undefined) throw scimError(400, 'invalidSyntax', `Missing request body payload for ${this.id ? 'PUT' : 'POST'}`);
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) throw scimError(400, 'invalidSyntax', 'request body must be a single User object');
      const body = coerceUserIn(instance) ?? JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(instance, 'in')));
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
