/**
 * Mounts SCIM 2.0 (RFC 7644) at /scim/v2: our guards in front of scimmy-routers, which dispatch to the declared
 * SCIMMY resources. Each guard covers something SCIMMY 1.3.5 or scimmy-routers 1.3.2 does not, and says what.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ApplyGroupRules, ScimContext, Principal } from '../scim/use-cases/context.js';
import type { SyncEngine } from '../sync/engine.js';
import { normalizeBody } from '../scim/shared/client-dialects.js';
import { declareResources } from '../scim/resources/declare.js';
import { hasLoneSurrogate } from '../scim/shared/body-checks.js';
import { isResourceId } from '../scim/shared/resource-id.js';
import { sendError } from './errors.js';
import { hasNul } from './nul.js';
import type { Authenticator } from './auth.js';
import type { Scope } from '../store/scopes.js';
import { createLimiter, rateLimit } from './rate-limit.js';
import { resourceRoutes } from './resource-routes.js';
import { UserResource } from '../scim/resources/users.js';
import { GroupResource } from '../scim/resources/groups.js';
import { RoleResource } from '../scim/resources/roles.js';
import { EntitlementResource } from '../scim/resources/entitlements.js';
import { BULK_PATH, bulkRoute, payloadTooLarge } from './bulk-route.js';

export const SCIM_MOUNT = '/scim/v2';
const MAX_DEPTH = 32;
/** An attribute path as `attributes` may name it: [schema URN ":"] name ["." subName]. */
const ATTR_PATH = /^(?:urn:[A-Za-z0-9._:-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/;

/** JSON nested deeper than any SCIM resource is refused before anything recurses over it. */
function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > MAX_DEPTH) return max;
    if (node && typeof node === 'object') for (const child of Object.values(node)) if (child && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}

const JSON_TYPES = ['application/json', 'application/scim+json', 'application/*+json'];
/** A body with no Content-Type is JSON too: Okta's SPEC test sends its creates that way (RFC 7644 §3.8 asks for one). */
const isJson = (req: Request): boolean => req.headers['content-type'] === undefined || Boolean(req.is(JSON_TYPES));

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const scopeFor = (req: Request): Scope => (READS.has(req.method) || (req.method === 'POST' && /\/\.search$/i.test(req.path)) ? 'scim:read' : 'scim');

export interface ScimDeps { db: Knex; config: Config; log: Logger; sync: SyncEngine; applyGroupRules: ApplyGroupRules; auth: Authenticator }

export function scimRouter(deps: ScimDeps): Router {
  const { config } = deps;
  declareResources();
  // SCIMMY's configuration is module state, shared by every app in the process: the router's constructor appends its
  // authentication scheme to the list, so the list is emptied first (one scheme, however many apps were made), and
  // this app's maxResults is put back on every request SCIMMY's router serves, in the step before it reads it (the
  // router sets the resource base paths per request itself, just before).
  SCIMMY.Config.set('authenticationSchemes', []);
  const scimmy = new SCIMMYRouters({
    type: 'bearer',
    docUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
    handler: (req: Request) => {
      SCIMMY.Config.set('filter', { supported: true, maxResults: config.maxResults });
      return ((req as any).principal as Principal).tokenId;
    },
    context: (req: Request) => (req as any).scimCtx,
    // SCIMMY appends the mount path itself; PUBLIC_URL ends with it (validated at start).
    baseUri: () => config.publicUrl.slice(0, -SCIM_MOUNT.length),
  });
  // After construction: the router's constructor resets these (scimmy-routers `routers.js`, `SCIMMY.Config.set`).
  SCIMMY.Config.set({
    patch: true,
    bulk: { supported: true, maxOperations: config.bulk.maxOperations, maxPayloadSize: config.bulk.maxPayloadSize },
    filter: { supported: true, maxResults: config.maxResults },
    sort: true,
    etag: true,
    changePassword: false,
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
  } as any);

  const router = Router();
  // Authentication and the rate limit come before anything reads the body: an anonymous or throttled request costs
  // no parsing, inflating or walking, whatever it sends (a 9 MB body, gzip, malformed JSON).
  // Reads (GET, HEAD, OPTIONS, a POST to .search: RFC 7644 §3.4.3) need scim:read, everything else scim. Okta's
  // "Header" mode (a token with no `Bearer `) is accepted here only.
  router.use(deps.auth.require(scopeFor, { rawHeader: true }));
  const limiter = createLimiter(deps.db, config, deps.log);
  router.use(rateLimit(limiter, config));
  // Discovery endpoints are read-only (RFC 7644 §4): other methods get 405, not SCIMMY's 404.
  router.all(/^\/(ServiceProviderConfig|Schemas|ResourceTypes)(\/.*)?$/i, (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    res.setHeader('Allow', 'GET');
    sendError(res, 405, null, `${req.method} is not allowed on ${req.path}`);
  });
  // /Bulk has its own limit, maxPayloadSize (RFC 7644 §3.7.4), checked while the body is read (a Content-Length over
  // it is refused unread) and counted after any Content-Encoding is undone; over it, the 413 names the limit.
  const json = express.json({ type: (req) => isJson(req as Request), limit: config.bodyLimit, strict: false });
  const bulkJson = express.json({ type: (req) => isJson(req as Request), limit: config.bulk.maxPayloadSize, strict: false });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!(req.method === 'POST' && BULK_PATH.test(req.path))) return json(req, res, next);
    bulkJson(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') return sendError(res, 413, null, payloadTooLarge(config.bulk.maxPayloadSize));
      next(err);
    });
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.body !== undefined && depthOf(req.body) > MAX_DEPTH) return sendError(res, 400, 'invalidSyntax', `request body is nested deeper than ${MAX_DEPTH} levels`);
    if (req.body !== undefined && hasNul(req.body)) return sendError(res, 400, 'invalidValue', 'strings must not contain the NUL character (U+0000)');
    if (req.body !== undefined && hasLoneSurrogate(req.body)) return sendError(res, 400, 'invalidValue', 'strings must not contain a lone UTF-16 surrogate');
    next();
  });

  router.all(/^\/\.search$/i, (_req, res) => sendError(res, 404, null, 'search across resource types is not supported; POST /Users/.search or /Groups/.search'));
  // Not offered (a bearer token is an IdP, not a user, so there is no /Me): unknown endpoints, 404 like any other,
  // instead of SCIMMY's 501.
  router.all(/^\/(Bulk\/.+|Me(\/.*)?)$/i, (req, res) => sendError(res, 404, null, `no such endpoint: ${req.method} ${req.path.slice(0, 200)}`));
  // OPTIONS: what the path allows, without a body (Express would otherwise answer with a text/plain method list).
  router.options(/.*/, (req, res) => {
    const p = req.path;
    const allow = /^\/(ServiceProviderConfig|Schemas|ResourceTypes)(\/.*)?$/i.test(p) ? 'GET, HEAD'
      : /^\/(Users|Groups|Roles|Entitlements)\/\.search$/i.test(p) || BULK_PATH.test(p) ? 'POST'
        : /^\/(Roles|Entitlements)(\/[^/]+)?\/?$/i.test(p) ? 'GET, HEAD'
        : /^\/(Users|Groups)\/?$/i.test(p) ? 'GET, HEAD, POST'
          : /^\/(Users|Groups)\/[^/]+$/i.test(p) ? 'GET, HEAD, PUT, PATCH, DELETE' : undefined;
    if (!allow) return sendError(res, 404, null, `no such endpoint: OPTIONS ${p.slice(0, 200)}`);
    res.setHeader('Allow', allow);
    res.status(204).end();
  });

  // Ids are server-assigned UUIDs: anything else is a 404 before SCIMMY builds a filter from it.
  router.all(/^\/(Users|Groups)\/([^/]+)$/i, (req, res, next) => {
    const [type, id] = [String(req.params[0]), String(req.params[1])];
    if (id === '.search' || isResourceId(id)) return next();
    sendError(res, 404, null, `${type} ${id.slice(0, 64)} not found`);
  });

  // Express 5 re-parses req.query on each access, losing SCIMMY's number casts (scimmy-routers#36), and SCIMMY's
  // filter parser has known faults (it reads `not (A or B)` as `(not A) or (not B)` and refuses escaped quotes). We
  // keep the raw query for our own parsers and hand SCIMMY only the attribute lists, which it uses to shape output.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const raw: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    const isSearch = req.method === 'POST' && /\/\.search$/i.test(req.path);
    if (isSearch && req.body && typeof req.body === 'object') {
      for (const k of ['filter', 'startIndex', 'count', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes']) if (k in req.body) raw[k] = req.body[k];
      for (const k of ['attributes', 'excludedAttributes']) if (Array.isArray(raw[k])) raw[k] = (raw[k] as unknown[]).join(',');
    }
    for (const [k, v] of Object.entries(raw)) {
      if (Array.isArray(v) || (v !== null && typeof v === 'object')) return sendError(res, 400, 'invalidValue', `query parameter ${k} must be given once`);
    }
    const forScimmy: Record<string, string> = {};
    for (const k of ['attributes', 'excludedAttributes']) if (typeof raw[k] === 'string' && (raw[k] as string).trim()) forScimmy[k] = raw[k] as string;
    // SCIMMY turns these lists into filters and throws TypeErrors on anything that is not a list of attribute paths
    // (`,`, `[`, `a b`): check the grammar (RFC 7644 §3.10) first.
    // `true`/`false` and `and`/`or`/`not` fit that grammar, but SCIMMY's filter lexer reads them as literals or
    // operators and fails with a 500.
    for (const [k, v] of Object.entries(forScimmy)) {
      if (v.length > 4000 || !v.split(',').every((a) => ATTR_PATH.test(a.trim()) && !/^(true|false|and|or|not)$/i.test(a.trim()))) return sendError(res, 400, 'invalidValue', `${k} must be a comma-separated list of attribute paths`);
    }
    Object.defineProperty(req, 'query', { value: forScimmy, writable: true, configurable: true, enumerable: true });
    // A bulk job's operations are normalised one by one (resources/bulk.ts), as the single requests they stand for.
    if ((req.method === 'POST' || req.method === 'PUT') && !isSearch && !BULK_PATH.test(req.path)) req.body = normalizeBody(req.body);

    const ctx: ScimContext = {
      db: deps.db, config, log: deps.log, sync: deps.sync, applyGroupRules: deps.applyGroupRules,
      principal: (req as any).principal,
      requestId: req.id,
      method: req.method,
      query: raw,
      ifMatch: req.get('if-match') ?? undefined,
    };
    (req as any).scimCtx = ctx;
    next();
  });

  router.use(bulkRoute({ config, limiter }));
  router.use(resourceRoutes([UserResource, GroupResource, RoleResource, EntitlementResource], () => config.publicUrl));
  // What is left (discovery, unknown endpoints) is scimmy-routers', which renders its errors itself: their detail
  // goes to the access log like that of every other error.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    const json = res.json.bind(res);
    res.json = (body?: unknown) => {
      if (res.statusCode >= 400 && res.locals.errorDetail === undefined) {
        res.locals.errorDetail = (body as { detail?: unknown } | undefined)?.detail;
        res.locals.errorType = (body as { scimType?: unknown } | undefined)?.scimType;
      }
      return json(body);
    };
    next();
  }, scimmy);
  return router;
}
