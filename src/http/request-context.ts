/**
 * Request ids and the access log: one JSON line per request with method, path, status, duration, request id, client
 * address (req.ip: the proxy's view with TRUST_PROXY_HOPS) and actor, and for a 4xx/5xx the error detail that was sent
 * and its scimType (SCIM) or code (admin API, OAuth), recorded on res.locals by the error renderers. The same fields
 * go to the request log table (request-log.ts), probes excepted. Query values and bodies are never logged (filters
 * carry personal data; bodies carry passwords): of the query only the names of known parameters (`filter,count`).
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log.js';
import { actorOf, type Principal } from '../scim/use-cases/context.js';
import { resourceIdOf, type RequestLogRow } from '../store/request-log.js';
import type { RequestLog } from './request-log.js';

const VALID_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Probes and scrapes: in the JSON log, not in the table (a load balancer's probe every few seconds would fill it). */
const UNRECORDED = new Set(['/healthz', '/readyz', '/metrics', '/version']);
/**
 * The admin console's page and its files (http/console-page.ts): a page load is a dozen GETs that would bury the
 * provisioning log the console shows. Its sign-in (/console/session) and its admin API calls are recorded.
 */
const isConsoleFile = (method: string, path: string): boolean =>
  (method === 'GET' || method === 'HEAD') && (path === '/console' || (path.startsWith('/console/') && !path.startsWith('/console/session')));

/**
 * Query parameter names worth keeping: SCIM's (RFC 7644 §3.4.2), the admin API's and OAuth's (RFC 6749 §4.1.1, RFC 7636).
 * Any other name is shown as `?`: a name is the client's text, and a client that put a token there would have it logged.
 */
const KNOWN_PARAMS = new Set([
  'filter', 'startIndex', 'count', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes',
  'since', 'until', 'actor', 'operation', 'resourceType', 'resourceId', 'requestId', 'order', 'limit', 'after', 'status',
  'method', 'path', 'bucket', 'active', 'deleted', 'team', 'channel', 'group', 'q', 'by', 'tokens', 'includeArchived',
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method',
]);

/** `filter,count` for `?filter=...&count=10`; null without a query. */
export function paramNames(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0 || q === url.length - 1) return null;
  const names = new Set<string>();
  for (const part of url.slice(q + 1).split('&', 50)) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    names.add(KNOWN_PARAMS.has(name) ? name : '?');
  }
  return names.size ? [...names].join(',').slice(0, 200) : null;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request { id: string; startedAt: bigint }
  }
}

/** `requestLog`: the table's writer, or undefined when REQUEST_LOG_DAYS=0. */
export function requestContext(log: Logger, requestLog?: RequestLog) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && VALID_ID.test(incoming) ? incoming : randomUUID();
    req.startedAt = process.hrtime.bigint();
    res.setHeader('X-Request-Id', req.id);
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'http';
      // winston formats a line before its level filter drops it: skip the work when LOG_LEVEL is above `http`.
      const logged = log.isLevelEnabled(level);
      const path = req.originalUrl.split('?', 1)[0]!.slice(0, 300);
      const recorded = requestLog !== undefined && !UNRECORDED.has(path) && !isConsoleFile(req.method, path);
      if (!logged && !recorded) return;
      const ms = Math.round(Number(process.hrtime.bigint() - req.startedAt) / 1e5) / 10;
      const principal = (req as Request & { principal?: Principal }).principal;
      // The actor as the audit log names it: an admin token acts as `admin:<name>` on the admin API.
      const actor = principal ? (res.locals.errorFormat === 'admin' ? `admin:${principal.name}` : actorOf(principal)) : null;
      const failed = res.statusCode >= 400;
      const detail = failed && typeof res.locals.errorDetail === 'string' ? res.locals.errorDetail.slice(0, 300) : null;
      const errorType = failed && typeof res.locals.errorType === 'string' ? res.locals.errorType.slice(0, 64) : null;
      const params = paramNames(req.originalUrl);
      if (recorded) {
        const row: RequestLogRow = {
          at: Date.now(), method: req.method.slice(0, 16), path, params, status: res.statusCode, ms,
          client: req.ip?.slice(0, 64) ?? null, actor, requestId: req.id, detail, errorType, resourceId: resourceIdOf(path),
        };
        requestLog.add(row);
      }
      if (!logged) return;
      log.log(level, 'request', {
        requestId: req.id,
        method: req.method,
        path,
        ...(params ? { params } : {}),
        status: res.statusCode,
        ms,
        client: req.ip,
        ...(actor ? { actor } : {}),
        ...(detail !== null ? { detail } : {}),
        ...(errorType !== null ? { [res.locals.errorFormat === 'admin' || res.locals.errorFormat === 'oauth' ? 'code' : 'scimType']: errorType } : {}),
        // A bulk job is one 200 whatever its operations did: how many ran and how many failed (bulk-route.ts).
        ...(res.locals.bulk ? { bulk: res.locals.bulk } : {}),
      });
    });
    next();
  };
}
