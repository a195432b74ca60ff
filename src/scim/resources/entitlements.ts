/**
 * GET /Entitlements: the workspace's live teams and channels as Okta Identity Governance reads them (a resource type
 * with schema `urn:okta:scim:schemas:core:1.0:Entitlement`, Okta's "Build a SCIM 2.0 server with entitlements"), with
 * ids of src/scim/shared/entitlement-id.ts, which Okta then assigns on a user as `entitlements[].value`. With the role
 * mapping's adminEntitlements, each also comes as its admin flavour (team or channel admin, `...:admin`).
 * Filters, order, paging and totals are SQL over a derived table (src/store/entitlement-catalog.ts).
 */
import SCIMMY from 'scimmy';
import type { ScimContext } from '../use-cases/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import type { ResourceResult } from '../shared/resource-result.js';
import { formatEntitlement, parseEntitlement } from '../shared/entitlement-id.js';
import { iso } from '../shared/time.js';
import { parseCollectionQuery } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { ENTITLEMENT_SCHEMA, entitlementListing, getEntitlement, listEntitlements, type EntitlementRow } from '../../store/entitlement-catalog.js';
import { CatalogueResource, listResponse, shapeEntry } from './catalogue.js';
import { EntitlementSchema } from './catalogue-schemas.js';

function describe(r: EntitlementRow): string {
  const role = Number(r.admin) ? 'Admin' : 'Member';
  if (r.kind === 'team') return `${role} of the team ${r.team_display} (${r.team_name})`;
  return `${role} of the channel ${r.channel_display} (${r.channel_name}) in the team ${r.team_display} (${r.team_name})`;
}

function entitlementToScim(r: EntitlementRow, publicUrl: string): Record<string, any> {
  return {
    schemas: [ENTITLEMENT_SCHEMA], id: r.id, displayName: r.display_name, type: r.type, description: describe(r),
    meta: { resourceType: 'Entitlement', created: iso(r.created_at), lastModified: iso(r.updated_at), location: `${publicUrl}/Entitlements/${r.id}` },
  };
}

export class EntitlementResource extends CatalogueResource {
  static override readonly endpoint = '/Entitlements';
  static override readonly schema = EntitlementSchema;

  override async read(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      const admin = c.config.roleMapping.adminEntitlements;
      const shaped = (r: EntitlementRow) => shapeEntry(entitlementToScim(r, c.config.publicUrl), c, ENTITLEMENT_SCHEMA);
      if (this.entryId !== undefined) {
        // Ids are exact (caseExact, RFC 7643 §3.1): `TEAM:Sales` is not `team:sales`.
        const ref = parseEntitlement(this.entryId);
        const row = ref && formatEntitlement(ref) === this.entryId ? await getEntitlement(c.db, ref, { admin }) : undefined;
        if (!row) throw scimError(404, null, `Entitlement ${this.entryId.slice(0, 200)} not found`);
        return { body: shaped(row) } satisfies ResourceResult;
      }
      const parsed = parseCollectionQuery(c.query, entitlementListing(c.db), { defaultCount: c.config.defaultPageSize, maxResults: c.config.maxResults });
      if (!parsed.ok) throw parsed.error;
      const { rows, total } = await listEntitlements(c.db, parsed.value, { admin, cursors: cursorsFor(c.db) });
      return { body: listResponse(rows.map(shaped), total, parsed.value.startIndex) } satisfies ResourceResult;
    } catch (err) {
      throw handlerFailure(err, c);
    }
  }
}

export function declareEntitlements(): void {
  SCIMMY.Resources.declare(EntitlementResource as any, { name: 'Entitlement' } as any);
}
