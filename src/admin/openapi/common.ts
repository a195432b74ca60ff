/**
 * Building blocks of the admin API's OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0): the error body every
 * failure answers, keyset pages, the standard parameters and responses. Schemas are JSON Schema 2020-12 (OAS 3.1
 * §4.8.24); objects the server builds are closed (`additionalProperties: false`) so a field added in the code and not
 * here fails the test that validates real answers against this document (test/component/admin-openapi.test.ts).
 */

export type Schema = Record<string, unknown>;
export type Operation = Record<string, unknown>;
/** Path template (OAS `{param}` form) → method → operation. */
export type Paths = Record<string, Record<string, Operation>>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** A closed object whose listed properties are all present. */
export function object(properties: Record<string, Schema>, optional: readonly string[] = []): Schema {
  return {
    type: 'object', additionalProperties: false, properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
  };
}

export const str: Schema = { type: 'string' };
export const bool: Schema = { type: 'boolean' };
export const int: Schema = { type: 'integer', minimum: 0 };
export const time: Schema = { type: 'string', format: 'date-time' };
export const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
export const strings: Schema = { type: 'array', items: str };

/** `{items, next}`: a keyset page; `next` is the `after` of the following page, null on the last one. */
export const page = (item: Schema): Schema => object({ items: { type: 'array', items: item }, next: nullable(str) });

export const json = (schema: Schema, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The admin error format (src/http/errors.ts), for every failure of this mount. */
const errorResponse = (description: string) => json(ref('Error'), description);

/** Responses every admin operation can give: no or a wrong token, a SCIM token, the rate limit. */
export const AUTH_ERRORS = {
  401: errorResponse('No bearer token, or one that is not valid (`WWW-Authenticate: Bearer`); or a console session cookie whose session has ended (`no_session`).'),
  403: errorResponse('The token is valid but not an admin-scope token; or a change made with the console session without its X-CSRF-Token, or from another Origin (`csrf_failed`).'),
  429: errorResponse('Too many requests from this client; `Retry-After` says when to come back.'),
};
export const BAD_REQUEST = { 400: errorResponse('A parameter or the body is not valid; `error.code` says which rule, `error.message` how to fix it.') };
export const NOT_FOUND = { 404: errorResponse('No such resource.') };
export const CONFLICT = { 409: errorResponse('The change conflicts with the current state (a name taken, an archived team...).') };
export const UNSUPPORTED = { 415: errorResponse('A body that is not JSON.') };

/** An operation: summary, tags, and the shared error responses after its own. */
export function op(tag: string, summary: string, spec: { description?: string; parameters?: unknown[]; body?: Schema; responses: Record<string, unknown> }): Operation {
  return {
    tags: [tag], summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.parameters?.length ? { parameters: spec.parameters } : {}),
    ...(spec.body ? { requestBody: { required: false, content: { 'application/json': { schema: spec.body } } } } : {}),
    responses: { ...spec.responses, ...(spec.body ? UNSUPPORTED : {}), ...AUTH_ERRORS },
  };
}

export const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: str });
export const queryParam = (name: string, description: string, schema: Schema = str) => ({ name, in: 'query', required: false, description, schema });
export const limitParam = (max = 1000, def = 100) => queryParam('limit', `Page size, 1 to ${max} (default ${def}).`, { type: 'integer', minimum: 1, maximum: max, default: def });
export const afterParam = queryParam('after', 'The `next` of the previous page.');

export const schemas: Record<string, Schema> = {
  Error: object({
    error: object({
      status: { type: 'integer', minimum: 400, maximum: 599 },
      code: { type: 'string', description: 'A stable, machine-readable reason (invalid_query, not_found, name_taken...).' },
      message: { type: 'string', description: 'What went wrong and how to fix it, for a person.' },
    }),
  }),
  ReconcileStats: {
    ...object({
      teamMembersAdded: int, teamMembersRemoved: int, channelMembersAdded: int, channelMembersRemoved: int,
      readded: int, adminsPromoted: int, adminsDemoted: int,
    }),
    description: 'What a group-sync reconcile changed (src/sync/engine.ts).',
  },
};
