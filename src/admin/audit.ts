/**
 * Admin API: GET /audit, the audit search. Newest first unless `order=asc`, keyset-paged by id (`next` is the
 * `after` of the next page), filtered by time range, actor, operation, resource and request id. A parameter the
 * search does not know is a 400, never ignored.
 */
import { Router } from 'express';
import { AUDIT_OPERATIONS } from '../store/audit-entry.js';
import { listAudit } from '../store/audit.js';
import { badRequest } from '../workspace/errors.js';
import { instantQuery, limitOf, onlyQuery, queryOf, type AdminDeps } from './http.js';

const PARAMS = ['since', 'until', 'actor', 'operation', 'resourceType', 'resourceId', 'requestId', 'order', 'limit', 'after'] as const;
const KNOWN = new Set<string>(AUDIT_OPERATIONS);

/** `operation=team_add,team_remove`: one or more known operations. */
function operationsOf(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const ops = raw.split(',').map((o) => o.trim()).filter(Boolean);
  const bad = ops.find((o) => !KNOWN.has(o));
  if (!ops.length || bad !== undefined) throw badRequest('invalid_query', `operation must be one or more of ${AUDIT_OPERATIONS.join(', ')} (comma-separated)${bad ? `; "${bad.slice(0, 40)}" is not one` : ''}`);
  return [...new Set(ops)];
}

export function auditRouter(deps: AdminDeps): Router {
  const r = Router();
  r.get('/audit', async (req, res) => {
    onlyQuery(req, PARAMS);
    const limit = limitOf(req);
    const after = queryOf(req, 'after');
    if (after !== undefined && !/^\d{1,15}$/.test(after)) throw badRequest('invalid_query', 'after must be an audit entry id (the `next` of the previous page)');
    const order = queryOf(req, 'order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw badRequest('invalid_query', 'order must be desc (newest first, the default) or asc');
    const since = instantQuery(req, 'since');
    const until = instantQuery(req, 'until');
    if (since !== undefined && until !== undefined && until <= since) throw badRequest('invalid_query', 'until must be after since');
    const items = await listAudit(deps.db, {
      limit, order, since, until,
      operations: operationsOf(queryOf(req, 'operation')),
      actor: queryOf(req, 'actor'),
      resourceType: queryOf(req, 'resourceType'),
      resourceId: queryOf(req, 'resourceId'),
      requestId: queryOf(req, 'requestId'),
      ...(after ? { cursor: Number(after) } : {}),
    });
    res.json({ items, next: items.length === limit ? String(items[items.length - 1]!.id) : null });
  });
  return r;
}
