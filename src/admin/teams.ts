/** Admin API: teams. POST/GET /teams, GET/PATCH /teams/:id, POST /teams/:id/archive. */
import { Router } from 'express';
import { teamOut } from '../workspace/representation.js';
import { archiveTeam, createTeam, listTeams, readTeam, updateTeam, type TeamInput, type TeamPatch } from '../workspace/teams.js';
import { bodyOf, boolQuery, ctxOf, limitOf, param, queryOf, type AdminDeps } from './http.js';

export function teamsRouter(deps: AdminDeps): Router {
  const r = Router();
  r.post('/teams', async (req, res) => {
    const b = bodyOf(req, ['name', 'displayName', 'type', 'groupConstrained']);
    res.status(201).json(await createTeam(ctxOf(req, deps), b as unknown as TeamInput));
  });
  r.get('/teams', async (req, res) => {
    const after = queryOf(req, 'after');
    res.json(await listTeams(ctxOf(req, deps), { limit: limitOf(req), ...(after ? { after } : {}), includeArchived: boolQuery(req, 'includeArchived') ?? false }));
  });
  r.get('/teams/:id', async (req, res) => {
    res.json(teamOut(await readTeam(deps.db, param(req, 'id'))));
  });
  r.patch('/teams/:id', async (req, res) => {
    const b = bodyOf(req, ['displayName', 'type', 'groupConstrained']);
    res.json(await updateTeam(ctxOf(req, deps), param(req, 'id'), b as TeamPatch));
  });
  r.post('/teams/:id/archive', async (req, res) => {
    bodyOf(req, []);
    res.json(await archiveTeam(ctxOf(req, deps), param(req, 'id')));
  });
  return r;
}
