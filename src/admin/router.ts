/**
 * The admin API, mounted at /admin/v1: runs the workspace side (teams, channels, group links, manual memberships,
 * reconcile, audit, the request log, the people search, the console's overview) and the Mattermost connector's operations. Every request needs an admin-scope token (a SCIM token gets 403) or an admin console session, every change runs in one
 * transaction with its audit rows (actor `admin:<token name>`), and every answer is JSON (errors too: the app's error
 * handler renders them in the admin format for this mount, http/errors.ts).
 */
import { Router, type RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import { allowedMethods, jsonBodies, refuseNulInUrl, type AdminDeps } from './http.js';
import { teamsRouter } from './teams.js';
import { channelsRouter } from './channels.js';
import { linksRouter } from './links.js';
import { membersRouter } from './members.js';
import { reconcileRouter } from './reconcile.js';
import { auditRouter } from './audit.js';
import { requestsRouter } from './requests.js';
import { overviewRouter } from './overview.js';
import { usersRouter } from './users.js';
import { connectorRouter } from './connector.js';
import { clientsRouter } from './clients.js';
import { adminOpenApi } from './openapi/document.js';

export interface AdminRouterDeps extends AdminDeps {
  config: { bodyLimit: number; publicUrl: string };
  /** The admin console's session as an alternative to the bearer token (http/console-session.ts); bearer only without it. */
  consoleAuth?: ((bearer: RequestHandler) => RequestHandler) | undefined;
}

export function adminRouter(deps: AdminRouterDeps): Router {
  const router = Router();
  // The API description holds no data: served before authentication, so tools can read it without a token.
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(adminOpenApi().text);
  });
  // Authenticate before reading the body: an anonymous caller learns nothing, not even that its JSON is bad.
  // The console's session cookie is taken where no Authorization header is sent (http/console-session.ts).
  const bearer = deps.auth.require('admin');
  router.use(deps.consoleAuth ? deps.consoleAuth(bearer) : bearer);
  router.use(refuseNulInUrl);
  router.use(jsonBodies(Math.min(deps.config.bodyLimit, 1024 * 1024)));
  router.use(teamsRouter(deps));
  router.use(channelsRouter(deps));
  router.use(linksRouter(deps));
  router.use(membersRouter(deps));
  router.use(usersRouter(deps));
  router.use(reconcileRouter(deps));
  router.use(auditRouter(deps));
  router.use(requestsRouter(deps));
  router.use(overviewRouter(deps));
  router.use(connectorRouter(deps));
  router.use(clientsRouter({ ...deps, publicUrl: () => deps.config.publicUrl }));
  router.use((req, _res, next) => {
    const allow = allowedMethods(router, req.path);
    if (allow.length === 0) return next(AppError.workspace(404, 'not_found', `no such admin endpoint: ${req.method} ${req.path.slice(0, 200)}`));
    next(new AppError({
      status: 405, code: 'method_not_allowed', headers: { Allow: allow.join(', ') },
      detail: `${req.method} is not allowed on ${req.path.slice(0, 200)}; allowed: ${allow.join(', ')}`,
    }));
  });
  return router;
}
