/**
 * The /Users and /Groups endpoints (RFC 7644 §3.2-§3.6) and their POST /.search (§3.4.3), dispatched straight to
 * their SCIMMY resource classes, whose handlers answer a ResourceResult that is written here: status, ETag, Location
 * and the body, streamed when the handler streams it.
 *
 * scimmy-routers does the same dispatch, but in front of it every request re-runs its JSON parser, its auth handler,
 * a basepath setter for every resource type and six nested routers (Schemas, ResourceTypes, ServiceProviderConfig,
 * /.search, /Bulk, /Me): a large share of the server time of a `userName eq` lookup (docs/benchmarks.md). Its
 * routers also render the errors they catch themselves. Our guards in scim.ts have done its parsing and auth already,
 * so the resource endpoints are routed here and only discovery goes through scimmy-routers. Errors go to the app's
 * error handler, which renders the SCIM error bodies.
 */
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { ResourceResult } from '../scim/shared/resource-result.js';
import type { ScimContext } from '../scim/use-cases/context.js';
import { etagOf } from '../scim/shared/versions.js';
import { scimError } from '../scim/shared/errors.js';
import { sendError } from './errors.js';

/** What a resource handler does: the SCIMMY method names, each answering what to write. */
interface Handlers {
  read(ctx: ScimContext): Promise<ResourceResult>;
  write(body: unknown, ctx: ScimContext): Promise<ResourceResult>;
  patch(message: unknown, ctx: ScimContext): Promise<ResourceResult>;
  dispose(ctx: ScimContext): Promise<ResourceResult>;
}

/**
 * A declared SCIMMY resource type: `new R(query)` for the collection, `new R(id, query)` for one resource. A
 * `readOnly` one (the Okta catalogues /Roles and /Entitlements, src/scim/resources/catalogue.ts) is routed for reads
 * only.
 */
type ResourceClass = (new (...args: any[]) => Handlers) & { endpoint: string; basepath(path: string): unknown; readOnly?: boolean };

const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

const ctxOf = (req: Request): ScimContext => (req as any).scimCtx;

/** Wait until the response can take more, or the client has gone. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Write a handler's answer with `status`. */
async function write(res: Response, status: number, result: ResourceResult): Promise<void> {
  if (result.version !== undefined) res.setHeader('ETag', etagOf(result.version));
  if (result.location !== undefined) res.setHeader('Location', result.location);
  res.status(status);
  if (!result.stream) {
    res.send(result.body);
    return;
  }
  try {
    for await (const text of result.stream) {
      if (!res.write(text)) await drained(res);
      if (res.destroyed) return; // the client went away: stop reading pages for it
    }
    res.end();
  } catch (err) {
    res.destroy(); // the client must see a truncated response, not a valid-looking one
    throw err;
  }
}

/** Run a handler and write its answer with `status` (a function of the answer for PATCH: 200 with a body, else 204). */
function answer(status: number | ((result: ResourceResult) => number), handler: (req: Request) => Promise<ResourceResult>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = await handler(req);
      await write(res, typeof status === 'function' ? status(result) : status, result);
    } catch (err) {
      next(err);
    }
  };
}

/**
 * POST /.search: a list read whose parameters came in the body (scim.ts moved them into the query). The body is
 * otherwise not read, but must be a JSON object when there is one.
 */
function search(Resource: ResourceClass, req: Request): Promise<ResourceResult> {
  if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null)) {
    throw scimError(400, 'invalidSyntax', `SearchRequest request body messages must exclusively specify schema as '${SEARCH_REQUEST}'`);
  }
  return new Resource(req.query).read(ctxOf(req));
}

function notAllowed(allow: string) {
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendError(res, 405, null, `${req.method} is not allowed on ${req.path.slice(0, 200)}; allowed: ${allow}`);
  };
}

/** `/:id` routes leave other methods of `/.search` to scimmy-routers (the id guard in scim.ts lets only UUIDs and `.search` through). */
const realId = (req: Request, _res: Response, next: NextFunction) => next(req.params.id === '.search' ? 'route' : undefined);

/** `baseUrl` is PUBLIC_URL (it ends with the SCIM mount), read per request: with PORT=0 it is known only after listen. */
export function resourceRoutes(resources: ResourceClass[], baseUrl: () => string): Router {
  const router = Router();
  let basepath: string | undefined;
  router.use((_req, res, next) => {
    res.setHeader('Content-Type', 'application/scim+json');
    // SCIMMY derives resource locations from each type's basepath (scimmy-routers sets it on every request).
    if (baseUrl() !== basepath) {
      basepath = baseUrl();
      for (const Resource of resources) Resource.basepath(basepath);
    }
    next();
  });
  for (const Resource of resources) {
    const endpoint = Resource.endpoint;
    router.post(`${endpoint}/.search`, answer(200, (req) => search(Resource, req)));
    router.get(endpoint, answer(200, (req) => new Resource(req.query).read(ctxOf(req))));
    if (Resource.readOnly) {
      router.get(`${endpoint}/:id`, realId, answer(200, (req) => new Resource(req.params.id, req.query).read(ctxOf(req))));
      // A catalogue the IdP reads and the workspace alone changes: writes are 405 (RFC 9110 §15.5.6), like discovery's.
      router.all(endpoint, notAllowed('GET'));
      router.all(`${endpoint}/:id`, realId, notAllowed('GET'));
      continue;
    }
    router.post(endpoint, answer(201, (req) => new Resource(req.query).write(req.body, ctxOf(req))));
    router.get(`${endpoint}/:id`, realId, answer(200, (req) => new Resource(req.params.id, req.query).read(ctxOf(req))));
    router.put(`${endpoint}/:id`, realId, answer(200, (req) => new Resource(req.params.id, req.query).write(req.body, ctxOf(req))));
    router.patch(`${endpoint}/:id`, realId, answer((r) => (r.body !== undefined ? 200 : 204), (req) => new Resource(req.params.id, req.query).patch(req.body, ctxOf(req))));
    router.delete(`${endpoint}/:id`, realId, answer(204, (req) => new Resource(req.params.id).dispose(ctxOf(req))));
    // A method the endpoint does not offer (DELETE /Users, POST /Users/{id}): 405 with what it does offer
    // (RFC 9110 §15.5.6), not a 404 that reads as if the endpoint did not exist.
    router.all(endpoint, notAllowed('GET, HEAD, POST'));
    router.all(`${endpoint}/:id`, realId, notAllowed('GET, HEAD, PUT, PATCH, DELETE'));
  }
  return router;
}
