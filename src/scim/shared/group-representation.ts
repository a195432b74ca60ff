/**
 * SCIM Group (RFC 7643 §4.2) from store rows, and the `attributes` / `excludedAttributes` projection (RFC 7644 §3.9)
 * done by us rather than by SCIMMY's per-member coercion, whose time and memory grow with every member of the group.
 */
import { iso } from './time.js';
import type { GroupRow, MemberRef } from '../../store/groups.js';
import { etagOf } from './versions.js';
import { scimError } from './errors.js';
import { GROUP_SCHEMA } from '../../store/schema-urns.js';

type Json = Record<string, any>;

/** Which top-level attributes a response carries. `id` and `schemas` are always returned (RFC 7643 §3.1, §7). */
export interface Projection { has(attr: 'externalId' | 'displayName' | 'members' | 'meta'): boolean }

const KNOWN = ['externalid', 'displayname', 'members', 'meta', 'id', 'schemas'];

function names(list: string): string[] {
  return list.split(',').map((s) => s.trim().toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, '').split('.')[0]!).filter(Boolean);
}

export function projection(query: Record<string, unknown>): Projection {
  const attrs = typeof query.attributes === 'string' && query.attributes.trim() ? names(query.attributes) : undefined;
  const excluded = typeof query.excludedAttributes === 'string' && query.excludedAttributes.trim() ? names(query.excludedAttributes) : [];
  for (const a of [...(attrs ?? []), ...excluded]) {
    if (!KNOWN.includes(a)) throw scimError(400, 'invalidValue', `unknown Group attribute "${a.slice(0, 80)}"`);
  }
  return {
    has(attr) {
      const a = attr.toLowerCase();
      if (attrs) return attrs.includes(a);
      return !excluded.includes(a);
    },
  };
}

/** One member as SCIM (RFC 7643 §4.2 `members`). */
export function memberToScim(m: MemberRef, baseUrl: string): Json {
  return { value: m.value, ...(m.display ? { display: m.display } : {}), $ref: `${baseUrl}/Users/${m.value}`, type: 'User' };
}

export function groupToScim(row: GroupRow, members: MemberRef[] | undefined, baseUrl: string, p: Projection): Json {
  const out: Json = { schemas: [GROUP_SCHEMA], id: row.id };
  if (p.has('externalId') && row.external_id != null) out.externalId = row.external_id;
  if (p.has('displayName')) out.displayName = row.display_name;
  if (p.has('members') && members) {
    out.members = members.map((m) => memberToScim(m, baseUrl));
  }
  if (p.has('meta')) {
    out.meta = { resourceType: 'Group', created: iso(row.created_at), lastModified: iso(row.updated_at), version: etagOf(row.version), location: `${baseUrl}/Groups/${row.id}` };
  }
  return out;
}
