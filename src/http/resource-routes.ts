/**
 * The /Users and /Groups endpoints (RFC 7644 §3.2-§3.6), dispatched straight to their SCIMMY resource classes.
 *
 * scimmy-routers does the same dispatch, but in front of it every request re-runs its JSON parser, its auth handler,
 * a basepath setter for every resource type and six nested routers (Schemas, ResourceTypes, ServiceProviderConfig,
 * /.search, /Bulk, /Me): a large share of the server time of a `userName eq` lookup (docs/benchmarks.md). Our guards in
 * scim.ts have done its parsing and auth already, so the hot endpoints are routed here; discovery and `/.search`
 * still go through scimmy-routers. Errors go to the app's error handler, which renders the same SCIM error bodies.
 */
import { type NextFunction, type Request, type Response, Router } from 'express';
import SCIMMY from 'scimmy';
import { sendError } from './errors.js';

/** A declared SCIMMY resource type: `new R(query)` for the collection, `new R(id, query)` for one resource. */
type ResourceClass = new (...args: any[]) => InstanceType<typeof SCIMMY.Types.Resource>;

/** Run a handler and send its value with `status` (a function of the value for PATCH: 200 with a body, else 204). */
function send(status: number | ((value: unknown) => number), handler: (req: Request) => Promise<unknown>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const value = await handler(req);
      res.status(typeof status === 'function' ? status(value) : status).send(value);
    } catch (err) {
      next(err);
    }
  };
}

function notAllowed(allow: string) {
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendError(res, 405, null, `${req.method} is not allowed on ${req.path.slice(0, 200)}; allowed: ${allow}`);
  };
}

/** `/:id` routes leave `/.search` to scimmy-routers (the id guard in scim.ts lets only UUIDs and `.search` through). */
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
      for (const Resource of resources) (Resource as any).basepath(basepath);
    }
    next();
  });
  for (const Resource of resources) {
    const endpoint = (Resource as any).endpoint as string;
    const ctx = (req: Request) => (req as any).scimCtx;
    router.get(endpoint, send(200, (req) => new Resource(req.query).read(ctx(req))));
    router.post(endpoint, send(201, (req) => new Resource(req.query).write(req.body, ctx(req))));
    router.get(`${endpoint}/:id`, realId, send(200, (req) => new Resource(req.params.id, req.query).read(ctx(req))));
    router.put(`${endpoint}/:id`, realId, send(200, (req) => new Resource(req.params.id, req.query).write(req.body, ctx(req))));
    router.patch(`${endpoint}/:id`, realId, send((v) => (v ? 200 : 204), (req) => new Resource(req.params.id, req.query).patch(req.body, ctx(req))));
    router.delete(`${endpoint}/:id`, realId, send(204, (req) => new Resource(req.params.id).dispose(ctx(req))));
    // A method the endpoint does not offer (DELETE /Users, POST /Users/{id}): 405 with what it does offer
    // (RFC 9110 §15.5.6), not a 404 that reads as if the endpoint did not exist.
    router.all(endpoint, notAllowed('GET, HEAD, POST'));
    router.all(`${endpoint}/:id`, realId, notAllowed('GET, HEAD, PUT, PATCH, DELETE'));
  }
  return router;
}
