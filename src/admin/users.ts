/**
 * Admin API: people. GET /users, the people search ("who is in this team?": by state, team, channel, group and a
 * search term, by userName, keyset-paged), and GET /users/<id|externalId|userName> ("show me this person": their
 * memberships with role and cause, their groups and their last 20 audit rows). Parameters the search does not know
 * are a 400, never ignored. The use-cases are src/workspace/people.ts, which the CLI calls too.
 */
import { Router } from 'express';
import { listPeople, showPerson } from '../workspace/people.js';
import { boolQuery, limitOf, onlyQuery, param, queryOf, type AdminDeps } from './http.js';

const PARAMS = ['active', 'deleted', 'team', 'channel', 'group', 'q', 'limit', 'after'] as const;

export function usersRouter(deps: AdminDeps): Router {
  const r = Router();
  r.get('/users', async (req, res) => {
    onlyQuery(req, PARAMS);
    res.json(await listPeople(deps.db, {
      limit: limitOf(req),
      active: boolQuery(req, 'active'),
      deleted: boolQuery(req, 'deleted'),
      team: queryOf(req, 'team'),
      channel: queryOf(req, 'channel'),
      group: queryOf(req, 'group'),
      q: queryOf(req, 'q'),
      after: queryOf(req, 'after'),
    }));
  });
  r.get('/users/:key', async (req, res) => {
    onlyQuery(req, []);
    res.json(await showPerson(deps.db, param(req, 'key')));
  });
  return r;
}
