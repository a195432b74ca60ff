/**
 * GET /Roles: the workspace's system roles as Okta Identity Governance reads them (a resource type with schema
 * `urn:okta:scim:schemas:core:1.0:Role`, Okta's "Build a SCIM 2.0 server with entitlements"). Okta then assigns one
 * on a user as `roles[].value`, which the role mapping (src/config/roles.ts) turns into the person's system role.
 * The ids are Mattermost's role names (model/role.go SystemAdminRoleId, SystemUserRoleId, SystemGuestRoleId), the
 * display names those of its System Console.
 */
import SCIMMY from 'scimmy';
import { BUILT_IN_ROLES, type SystemRole } from '../../config/roles.js';
import type { ScimContext } from '../use-cases/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import type { ResourceResult } from '../shared/resource-result.js';
import { parseCollectionQuery } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { listRoles, roleListing, ROLE_SCHEMA, type RoleRow } from '../../store/entitlement-catalog.js';
import { CatalogueResource, listResponse, shapeEntry } from './catalogue.js';
import { RoleSchema } from './catalogue-schemas.js';

const TEXT: Record<SystemRole, { displayName: string; description: string }> = {
  admin: { displayName: 'System Admin', description: 'Administers the whole workspace (Mattermost system_admin)' },
  member: { displayName: 'Member', description: 'A member of the workspace (Mattermost system_user)' },
  guest: { displayName: 'Guest', description: 'A guest: sees only the teams and channels given to it (Mattermost system_guest)' },
};

const ROLES: readonly RoleRow[] = Object.entries(BUILT_IN_ROLES).map(([id, role]) => ({ id, display_name: TEXT[role].displayName, description: TEXT[role].description }));

function roleToScim(r: RoleRow, publicUrl: string): Record<string, any> {
  return {
    schemas: [ROLE_SCHEMA], id: r.id, displayName: r.display_name, description: r.description,
    meta: { resourceType: 'Role', location: `${publicUrl}/Roles/${r.id}` },
  };
}

export class RoleResource extends CatalogueResource {
  static override readonly endpoint = '/Roles';
  static override readonly schema = RoleSchema;

  override async read(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      const shaped = (r: RoleRow) => shapeEntry(roleToScim(r, c.config.publicUrl), c, ROLE_SCHEMA);
      if (this.entryId !== undefined) {
        const role = ROLES.find((r) => r.id === this.entryId);
        if (!role) throw scimError(404, null, `Role ${this.entryId.slice(0, 64)} not found`);
        return { body: shaped(role) } satisfies ResourceResult;
      }
      // Three constant rows, but filtered, sorted and paged by the same SQL as /Entitlements: one behaviour for both.
      const parsed = parseCollectionQuery(c.query, roleListing(c.db), { defaultCount: c.config.defaultPageSize, maxResults: c.config.maxResults });
      if (!parsed.ok) throw parsed.error;
      const { rows, total } = await listRoles(c.db, parsed.value, ROLES, cursorsFor(c.db));
      return { body: listResponse(rows.map(shaped), total, parsed.value.startIndex) } satisfies ResourceResult;
    } catch (err) {
      throw handlerFailure(err, c);
    }
  }
}

export function declareRoles(): void {
  SCIMMY.Resources.declare(RoleResource as any, { name: 'Role' } as any);
}
