/** Admin API: GET /audit?resourceType&resourceId&requestId&limit&after, oldest first, keyset-paged by id. */
import { Router } from 'express';
import { listAudit } from '../store/audit.js';
import { badRequest } from '../workspace/errors.js';
import { limitOf, queryOf, type AdminDeps } from './http.js';

export function auditRouter(deps: AdminDeps): Router {
  const r = Router();
  r.get('/audit', async (req, res) => {
    const limit = limitOf(req);
    const after = queryOf(req, 'after');
    if (after !== undefined && !/^\d{1,15}$/.test(after)) throw badRequest('invalid_query', 'after must be an audit entry id');
    const q = {
      limit,
      order: 'asc' as const,
      ...(after ? { cursor: Number(after) } : {}),
      ...Object.fromEntries((['resourceType', 'resourceId', 'requestId'] as const).flatMap((k) => {
        const v = queryOf(req, k);
        return v ? [[k, v]] : [];
      })),
    };
    const items = await listAudit(deps.db, q);
    res.json({ items, next: items.length === limit ? String(items[items.length - 1]!.id) : null });
  });
  return r;
}
