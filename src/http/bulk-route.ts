/**
 * POST /Bulk (RFC 7644 §3.7). The body is read by scim.ts's parser with this endpoint's own limit, maxPayloadSize
 * (§3.7.4), after authentication; the request is checked whole (bulk-request.ts), then run operation by operation
 * (resources/bulk.ts). The answer is 200 with one entry per processed operation, whatever their statuses (§3.7.3:
 * clients read each `status`); only a request refused as a whole gets an error status.
 */
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { Config } from '../config/index.js';
import type { ScimContext } from '../scim/use-cases/context.js';
import { parseBulkRequest } from '../scim/bulk/bulk-request.js';
import { runBulk } from '../scim/resources/bulk.js';
import type { Limiter } from './rate-limit.js';
import { sendError } from './errors.js';

export const BULK_PATH = /^\/Bulk\/?$/i;

/** The 413 of §3.7.4, which "MUST specify the limit exceeded in the body of the error response". */
export const payloadTooLarge = (max: number): string => `The size of the bulk operation exceeds the maxPayloadSize (${max}).`;

export function bulkRoute(deps: { config: Config; limiter: Limiter | undefined }): Router {
  const router = Router();
  // On PostgreSQL a few independent creates at once, leaving most of the pool to other requests.
  const concurrency = /^postgres(ql)?:/.test(deps.config.databaseUrl) ? Math.max(1, Math.min(4, Math.floor(deps.config.dbPoolMax / 2))) : 1;
  router.post(BULK_PATH, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const parsed = parseBulkRequest(req.body, deps.config.bulk);
      if (!parsed.ok) return sendError(res, parsed.error.status, parsed.error.scimType, parsed.error.detail);
      const ctx = (req as any).scimCtx as ScimContext;
      const key = `token:${ctx.principal.tokenId}`;
      const limiter = deps.limiter;
      let gone = false;
      res.on('close', () => { gone = !res.writableFinished; });
      const body = await runBulk(parsed.value, ctx, {
        ...(limiter ? { takeToken: async () => (await limiter.take(key)).ok } : {}),
        abandoned: () => gone,
        concurrency,
      });
      const failed = body.Operations.filter((o) => Number(o.status) >= 400).length;
      res.locals.bulk = { operations: parsed.value.operations.length, processed: body.Operations.length, failed };
      if (gone) return;
      res.status(200).type('application/scim+json').send(JSON.stringify(body));
    } catch (err) {
      next(err);
    }
  });
  router.all(/^\/Bulk(\/.*)?$/i, (req, res) => {
    res.setHeader('Allow', 'POST');
    sendError(res, 405, null, `${req.method} is not allowed on ${req.path.slice(0, 200)}; allowed: POST`);
  });
  return router;
}
