/**
 * What the read-only catalogues Okta Identity Governance reads (/Roles, /Entitlements: src/scim/resources/roles.ts,
 * entitlements.ts) share: a SCIMMY resource base class that keeps the path id to itself, the ListResponse, and the
 * projection (RFC 7644 §3.4.2.5) with the catalogue's own schema URN allowed in front of attribute names.
 */
import SCIMMY from 'scimmy';
import type { ScimContext } from '../use-cases/context.js';
import { project, projectionFrom } from '../query/projection.js';
import { scimError } from '../shared/errors.js';

type Json = Record<string, any>;

/**
 * A read-only catalogue as a SCIMMY resource: SCIMMY lists it in /ResourceTypes (from `endpoint` and `schema`), and
 * src/http/resource-routes.ts routes only its reads (`readOnly`), answering 405 to the rest.
 *
 * The path id is kept as `entryId`, not handed to SCIMMY: its constructor turns an id into the filter
 * `id eq "<id>"`, which fails on a quote; ours are not UUIDs, and an id that is no entry is a 404, not a 400.
 */
export abstract class CatalogueResource extends SCIMMY.Types.Resource {
  static readonly readOnly = true;
  private static paths = new Map<unknown, string>();

  /** SCIMMY keeps one base path per resource type (types.js Resource.basepath), which it asks for by calling this. */
  static override basepath: any = function (this: { endpoint: string }, path?: string) {
    if (path === undefined) return CatalogueResource.paths.get(this);
    CatalogueResource.paths.set(this, path.endsWith(this.endpoint) ? path : `${path}${this.endpoint}`);
    return this;
  };

  readonly entryId: string | undefined;

  /** `new R(query)` for the collection, `new R(id, query)` for one entry (src/http/resource-routes.ts). */
  constructor(id?: unknown, _query?: unknown) {
    super();
    this.entryId = typeof id === 'string' ? id : undefined;
  }

  // Never routed (resource-routes.ts answers 405 first); here so that no other caller can write through SCIMMY's.
  override async write(): Promise<any> { throw readOnlyError(); }
  override async patch(): Promise<any> { throw readOnlyError(); }
  override async dispose(): Promise<any> { throw readOnlyError(); }
}

const readOnlyError = () => scimError(405, null, 'this catalogue is read-only; allowed: GET');

/** `attributes` / `excludedAttributes` applied to an entry; `urn:...:Role:displayName` names `displayName`. */
export function shapeEntry(entry: Json, ctx: ScimContext, schemaUrn: string): Json {
  const strip = (v: unknown) => (typeof v === 'string' ? v.split(',').map((a) => {
    const t = a.trim();
    return t.toLowerCase().startsWith(`${schemaUrn.toLowerCase()}:`) ? t.slice(schemaUrn.length + 1) : t;
  }).join(',') : v);
  return project(entry, projectionFrom({ attributes: strip(ctx.query.attributes), excludedAttributes: strip(ctx.query.excludedAttributes) }, []));
}

/** A ListResponse (RFC 7644 §3.4.2) of one page. */
export function listResponse(resources: Json[], total: number, startIndex: number): Json {
  const list = new SCIMMY.Messages.ListResponse([], { totalResults: 0 });
  return Object.assign(list, { Resources: resources, totalResults: total, startIndex, itemsPerPage: resources.length });
}
