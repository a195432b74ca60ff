/**
 * The admin API, mounted at /admin/v1: runs the workspace side (teams, channels, group links, manual memberships,
 * reconcile, audit). Every request needs an admin-scope token (a SCIM token gets 403), every change runs in one
 * transaction with its audit rows (actor `admin:<token name>`), and every answer is JSON.
 */
import express, { Router } from 'express';
import { adminAuth, adminErrors, sendJsonError, type AdminDeps } from './http.js';
import { teamsRouter } from './teams.js';
import { channelsRouter } from './channels.js';
import { linksRouter } from './links.js';
import { membersRouter } from './members.js';
import { reconcileRouter } from './reconcile.js';
import { auditRouter } from './audit.js';

export interface AdminRouterDeps extends AdminDeps { config: { bodyLimit: number } }

export function adminRouter(deps: AdminRouterDeps): Router {
  const router = Router();
  // Authenticate before reading the body: an anonymous caller learns nothing, not even that its JSON is bad.
  router.use(adminAuth(deps.auth));
  router.use(express.json({ type: ['application/json', 'application/*+json'], limit: Math.min(deps.config.bodyLimit, 1024 * 1024) }));
  router.use(teamsRouter(deps));
  router.use(channelsRouter(deps));
  router.use(linksRouter(deps));
  router.use(membersRouter(deps));
  router.use(reconcileRouter(deps));
  router.use(auditRouter(deps));
  router.use((req, res) => sendJsonError(res, 404, 'not_found', `no such admin endpoint: ${req.method} ${req.path.slice(0, 200)}`));
  router.use(adminErrors(deps.log));
  return router;
}
