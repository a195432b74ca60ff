/** Admin API: GET /overview, the console's first page (workspace/overview.ts). */
import { Router } from 'express';
import { overview } from '../workspace/overview.js';
import { onlyQuery, type AdminDeps } from './http.js';

export function overviewRouter(deps: AdminDeps): Router {
  const r = Router();
  r.get('/overview', async (req, res) => {
    onlyQuery(req, []);
    res.json(await overview(deps.db, { connector: deps.connector !== undefined }));
  });
  return r;
}
