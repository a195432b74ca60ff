/**
 * Admin API: manual memberships. POST /teams/:id/members {userId, schemeAdmin?}, DELETE
 * /teams/:id/members/:userId?by=self|admin, GET /teams/:id/members?limit&after&active (same under /channels; the
 * listing also takes a team name or `team/channel`), and GET /users/:id/memberships.
 */
import { Router } from 'express';
import type { SyncableKind } from '../store/workspace.js';
import { addMember, listMembers, membershipsOf, removeMember, type AddMemberInput } from '../workspace/members.js';
import { badRequest } from '../workspace/errors.js';
import { bodyOf, boolQuery, ctxOf, limitOf, onlyQuery, param, queryOf, type AdminDeps } from './http.js';

export function membersRouter(deps: AdminDeps): Router {
  const r = Router();
  for (const kind of ['team', 'channel'] as const satisfies readonly SyncableKind[]) {
    r.post(`/${kind}s/:id/members`, async (req, res) => {
      const b = bodyOf(req, ['userId', 'schemeAdmin']);
      const out = await addMember(ctxOf(req, deps), kind, param(req, 'id'), b as unknown as AddMemberInput);
      res.status(out.created ? 201 : 200).json(out);
    });
    r.delete(`/${kind}s/:id/members/:userId`, async (req, res) => {
      const by = queryOf(req, 'by') ?? 'admin';
      if (by !== 'admin' && by !== 'self') throw badRequest('invalid_query', 'by must be "admin" or "self"');
      res.json(await removeMember(ctxOf(req, deps), kind, param(req, 'id'), param(req, 'userId'), by));
    });
    // The team by id or name, the channel by id or `team/channel` (URL-encoded: eng%2Fgeneral).
    r.get(`/${kind}s/:id/members`, async (req, res) => {
      onlyQuery(req, ['limit', 'after', 'active']);
      const after = queryOf(req, 'after');
      const active = boolQuery(req, 'active');
      res.json(await listMembers(ctxOf(req, deps), kind, param(req, 'id'), { limit: limitOf(req), ...(after ? { after } : {}), ...(active !== undefined ? { active } : {}) }));
    });
  }
  r.get('/users/:id/memberships', async (req, res) => {
    res.json(await membershipsOf(ctxOf(req, deps), param(req, 'id')));
  });
  return r;
}
