/**
 * Admin API: group links. PUT/DELETE /groups/:groupId/teams/:teamId and /groups/:groupId/channels/:channelId
 * (body {autoAdd=true, schemeAdmin=false, allowGuests=false}; a flag that is not a boolean is a 400 `invalid_value`);
 * each reconciles that team or channel at once. GET /groups[/:id] lists the SCIM groups with their links.
 */
import { Router } from 'express';
import type { SyncableKind } from '../store/workspace.js';
import { link, listGroups, readGroup, unlink, type LinkInput } from '../workspace/links.js';
import { bodyOf, ctxOf, limitOf, param, queryOf, type AdminDeps } from './http.js';

export function linksRouter(deps: AdminDeps): Router {
  const r = Router();
  for (const kind of ['team', 'channel'] as const satisfies readonly SyncableKind[]) {
    const path = `/groups/:groupId/${kind}s/:syncableId`;
    r.put(path, async (req, res) => {
      const b = bodyOf(req, ['autoAdd', 'schemeAdmin', 'allowGuests']);
      const out = await link(ctxOf(req, deps), kind, param(req, 'groupId'), param(req, 'syncableId'), b as LinkInput);
      res.status(out.created ? 201 : 200).json(out);
    });
    r.delete(path, async (req, res) => {
      res.json(await unlink(ctxOf(req, deps), kind, param(req, 'groupId'), param(req, 'syncableId')));
    });
  }
  r.get('/groups', async (req, res) => {
    const after = queryOf(req, 'after');
    res.json(await listGroups(ctxOf(req, deps), { limit: limitOf(req), ...(after ? { after } : {}) }));
  });
  r.get('/groups/:groupId', async (req, res) => {
    res.json(await readGroup(ctxOf(req, deps), param(req, 'groupId')));
  });
  return r;
}
