/**
 * The admin API's OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), served at /admin/v1/openapi.json.
 * One module per resource, as the routers are; test/unit/admin-openapi-routes.test.ts checks that every route of
 * src/admin/router.ts is described here and every path here is routed, and test/component/admin-openapi.test.ts
 * validates real answers against the schemas.
 */
import { VERSION } from '../../version.js';
import { json, op, schemas as common, type Operation, type Paths, type Schema } from './common.js';
import * as audit from './audit.js';
import * as channels from './channels.js';
import * as clients from './clients.js';
import * as connector from './connector.js';
import * as groups from './groups.js';
import * as members from './members.js';
import * as overview from './overview.js';
import * as reconcile from './reconcile.js';
import * as requests from './requests.js';
import * as teams from './teams.js';
import * as users from './users.js';

const modules: { paths: Paths; schemas?: Record<string, Schema> }[] = [teams, channels, members, users, groups, reconcile, audit, requests, overview, connector, clients];

const self: Paths = {
  '/openapi.json': {
    get: {
      ...op('Meta', 'This document', { responses: { 200: json({ type: 'object' }, 'The OpenAPI 3.1 description of the admin API.') } }),
      // It describes the API and holds no data, so tools (Swagger UI, Postman, code generators) fetch it without a token.
      security: [],
      responses: { 200: json({ type: 'object' }, 'The OpenAPI 3.1 description of the admin API.') },
    },
  },
};

/** `GET /teams/{id}/members` → `getTeamsIdMembers`: stable ids for code generators (OAS 3.1 §4.8.10). */
function withIds(path: string, ops: Record<string, Operation>): Record<string, Operation> {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1));
  return Object.fromEntries(Object.entries(ops).map(([m, o]) => [m, { operationId: `${m}${words.join('')}`, ...o }]));
}

function build(): Record<string, unknown> {
  const paths: Paths = { ...self };
  const schemas: Record<string, Schema> = { ...common };
  for (const m of modules) {
    for (const [path, ops] of Object.entries(m.paths)) paths[path] = { ...paths[path], ...withIds(path, ops) };
    Object.assign(schemas, m.schemas ?? {});
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'SCIM workspace provisioning: admin API',
      version: VERSION,
      description: 'Teams, channels, memberships, people, group links, the audit trail, the request log, OAuth clients and the Mattermost connector. '
        + 'Every operation but this document needs a bearer token of admin scope (a SCIM token gets 403) or the admin console\'s session cookie '
        + '(sent without Authorization; a change made with it needs X-CSRF-Token, else 403 csrf_failed); every failure answers '
        + '`{"error":{"status","code","message"}}`; every change is audited in its own transaction.',
    },
    // Relative to where the document is served, so it stays right behind a proxy that renames the host.
    servers: [{ url: '/admin/v1' }],
    security: [{ bearer: [] }, { consoleSession: [] }],
    tags: ['Teams', 'Channels', 'Memberships', 'People', 'Groups', 'Sync', 'Audit', 'Requests', 'Overview', 'Connector', 'OAuth clients', 'Meta'].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An admin-scope token (`cli token create --scope admin`) or ADMIN_TOKEN.' },
        // `__Host-scim_console` over HTTPS; OAS names one cookie per scheme, so the plain-http name is the one given.
        consoleSession: { type: 'apiKey', in: 'cookie', name: 'scim_console', description: 'The admin console\'s session (POST /console/session; `__Host-scim_console` over HTTPS). Changes need header X-CSRF-Token.' },
      },
    },
  };
}

let cached: { doc: Record<string, unknown>; text: string } | undefined;

/** The document, built once per process (it depends only on the code). */
export function adminOpenApi(): { doc: Record<string, unknown>; text: string } {
  if (!cached) {
    const doc = build();
    cached = { doc, text: JSON.stringify(doc) };
  }
  return cached;
}
