/**
 * Request ids and the access log: one JSON line per request with method, path, status, duration, request id and
 * client address (req.ip: the proxy's view with TRUST_PROXY_HOPS), and for a 4xx/5xx the error detail that was
 * sent (recorded on res.locals.errorDetail by the error renderers). The query string and body are never logged
 * (filters carry personal data; bodies carry passwords).
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log.js';

const VALID_ID = /^[A-Za-z0-9._:-]{1,100}$/;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request { id: string; startedAt: bigint }
  }
}

export function requestContext(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && VALID_ID.test(incoming) ? incoming : randomUUID();
    req.startedAt = process.hrtime.bigint();
    res.setHeader('X-Request-Id', req.id);
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'http';
      // winston formats a line before its level filter drops it: skip the work when LOG_LEVEL is above `http`.
      if (!log.isLevelEnabled(level)) return;
      const ms = Number(process.hrtime.bigint() - req.startedAt) / 1e6;
      const principal = (req as any).principal;
      log.log(level, 'request', {
        requestId: req.id,
        method: req.method,
        path: req.originalUrl.split('?')[0]!.slice(0, 300),
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        client: req.ip,
        ...(principal ? { actor: principal.name } : {}),
        ...(res.statusCode >= 400 && typeof res.locals.errorDetail === 'string' ? { detail: res.locals.errorDetail.slice(0, 300) } : {}),
        // A bulk job is one 200 whatever its operations did: how many ran and how many failed (bulk-route.ts).
        ...(res.locals.bulk ? { bulk: res.locals.bulk } : {}),
      });
    });
    next();
  };
}
