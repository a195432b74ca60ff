/**
 * Mounts SCIM 2.0 (RFC 7644) at /scim/v2: our guards in front of scimmy-routers, which dispatch to the declared
 * SCIMMY resources. What the guards fix is listed in ../shared/research/scimmy.md §0 and §9.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ScimContext, Principal } from '../scim/context.js';
import type { SyncEngine } from '../sync/engine.js';
import { normalizeBody } from '../scim/quirks.js';
import { declareResources } from '../scim/resources.js';
import { sendError } from './errors.js';
import type { Authenticator } from './auth.js';

export const SCIM_MOUNT = '/scim/v2';
const RESOURCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_DEPTH = 32;

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

export interface ScimDeps { db: Knex; config: Config; log: Logger; sync: SyncEngine; auth: Authenticator }

export function scimRouter(deps: ScimDeps): Router {
  const { config } = deps;
  declareResources();
  const scimmy = new SCIMMYRouters({
    type: 'bearer',
    docUri: 'https://datatracker.ietf.org/doc/html/rfc6750',
    handler: (req: Request) => ((req as any).principal as Principal).tokenId,
    context: (req: Request) => (req as any).scimCtx,
    // SCIMMY appends the mount path itself; PUBLIC_URL ends with it (validated at start).
    baseUri: () => config.publicUrl.slice(0, -SCIM_MOUNT.length),
  });
  // After construction: the router's constructor resets these (scimmy.md §4.1).
  SCIMMY.Config.set({
    patch: true,
    bulk: false,
    filter: { supported: true, maxResults: config.maxResults },
    sort: true,
    etag: true,
    changePassword: false,
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
  } as any);

  const router = Router();
  // Discovery endpoints are read-only (RFC 7644 §4): other methods get 405, not SCIMMY's 404.
  router.all(/^\/(ServiceProviderConfig|Schemas|ResourceTypes)(\/.*)?$/i, (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    res.setHeader('Allow', 'GET');
    sendError(res, 405, null, `${req.method} is not allowed on ${req.path}`);
  });
  router.use(express.json({ type: ['application/json', 'application/scim+json', 'application/*+json'], limit: config.bodyLimit, strict: false }));
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.body !== undefined && depthOf(req.body) > MAX_DEPTH) return sendError(res, 400, 'invalidSyntax', `request body is nested deeper than ${MAX_DEPTH} levels`);
    next();
  });
  router.use(deps.auth.require('scim'));

  router.all(/^\/\.search$/i, (_req, res) => sendError(res, 404, null, 'search across resource types is not supported; POST /Users/.search or /Groups/.search'));

  // Ids are server-assigned UUIDs: anything else is a 404 before SCIMMY builds a filter from it.
  router.all(/^\/(Users|Groups)\/([^/]+)$/i, (req, res, next) => {
    const [type, id] = [String(req.params[0]), String(req.params[1])];
    if (id === '.search' || RESOURCE_ID.test(id)) return next();
    sendError(res, 404, null, `${type} ${id.slice(0, 64)} not found`);
  });

  // Express 5 re-parses req.query on each access, losing SCIMMY's number casts (scimmy-routers#36), and SCIMMY's
  // filter parser has known faults (scimmy.md §3.1). We keep the raw query for our own parsers and hand SCIMMY only
  // the attribute lists, which it uses to shape output.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const raw: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    const isSearch = req.method === 'POST' && /\/\.search$/i.test(req.path);
    if (isSearch && req.body && typeof req.body === 'object') {
      for (const k of ['filter', 'startIndex', 'count', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes']) if (k in req.body) raw[k] = req.body[k];
      for (const k of ['attributes', 'excludedAttributes']) if (Array.isArray(raw[k])) raw[k] = (raw[k] as unknown[]).join(',');
      req.body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] };
      // SCIMMY's SearchRequest wants the attribute lists as arrays (RFC 7644 §3.4.3), as the client sent them.
      for (const k of ['attributes', 'excludedAttributes']) {
        if (typeof raw[k] === 'string' && raw[k]) req.body[k] = (raw[k] as string).split(',').map((a) => a.trim()).filter(Boolean);
      }
    }
    for (const [k, v] of Object.entries(raw)) {
      if (Array.isArray(v) || (v !== null && typeof v === 'object')) return sendError(res, 400, 'invalidValue', `query parameter ${k} must be given once`);
    }
    const forScimmy: Record<string, string> = {};
    for (const k of ['attributes', 'excludedAttributes']) if (typeof raw[k] === 'string' && (raw[k] as string).trim()) forScimmy[k] = raw[k] as string;
    Object.defineProperty(req, 'query', { value: forScimmy, writable: true, configurable: true, enumerable: true });
    if ((req.method === 'POST' || req.method === 'PUT') && !isSearch) req.body = normalizeBody(req.body);

    const ctx: ScimContext = {
      db: deps.db, config, log: deps.log, sync: deps.sync,
      principal: (req as any).principal,
      requestId: req.id,
      method: req.method,
      query: raw,
      ifMatch: req.get('if-match') ?? undefined,
      res,
    };
    (req as any).scimCtx = ctx;
    next();
  });

  router.use(scimmy);
  return router;
}
