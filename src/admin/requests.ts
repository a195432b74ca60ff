/**
 * Admin API: GET /requests, the request log ("why did that request fail?"), newest first and keyset-paged by
 * (at, id) (`next` is the `after` of the next page), filtered by status (a class such as 4xx, or a code), time range,
 * method, actor, path prefix, request id and resource (its id in the path, or an audit row about it written by the
 * request); and GET /requests/summary, requests per minute or hour and status class, together or per actor (`by=actor`).
 * A parameter either does not know is a 400, never ignored. Rows come from the request log table
 * (store/request-log.ts), written within REQUEST_LOG_FLUSH_INTERVAL (1 s) of each answer.
 */
import { Router, type Request } from 'express';
import { cursorText, listRequests, parseCursor, parseStatusFilter, summarizeRequests, summarizeRequestsByActor, summaryWindow } from '../store/request-log.js';
import { badRequest } from '../workspace/errors.js';
import { instantQuery, limitOf, onlyQuery, queryOf, type AdminDeps } from './http.js';

const PARAMS = ['status', 'since', 'until', 'method', 'actor', 'path', 'requestId', 'resourceId', 'limit', 'after'] as const;
const SUMMARY_PARAMS = ['since', 'until', 'bucket', 'by'] as const;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** A text filter: present means non-empty, bounded, and of its form. */
function textQuery(req: Request, name: string, max: number, rule?: RegExp, what?: string): string | undefined {
  const raw = queryOf(req, name);
  if (raw === undefined) return undefined;
  if (!raw || raw.length > max || (rule && !rule.test(raw))) throw badRequest('invalid_query', `${name} must be ${what ?? `1 to ${max} characters`}`);
  return raw;
}

export function requestsRouter(deps: AdminDeps): Router {
  const r = Router();
  r.get('/requests', async (req, res) => {
    onlyQuery(req, PARAMS);
    const limit = limitOf(req);
    const since = instantQuery(req, 'since');
    const until = instantQuery(req, 'until');
    if (since !== undefined && until !== undefined && until <= since) throw badRequest('invalid_query', 'until must be after since');
    const statusText = queryOf(req, 'status');
    const status = statusText === undefined ? {} : parseStatusFilter(statusText);
    if (!status) throw badRequest('invalid_query', 'status must be a class (2xx, 3xx, 4xx, 5xx) or a status code (404)');
    const afterText = queryOf(req, 'after');
    const cursor = afterText === undefined ? undefined : parseCursor(afterText);
    if (afterText !== undefined && !cursor) throw badRequest('invalid_query', 'after must be the `next` of the previous page');
    const items = await listRequests(deps.db, {
      limit, since, until, cursor, ...status,
      method: textQuery(req, 'method', 16, /^[A-Za-z]+$/, 'an HTTP method (GET, POST...)')?.toUpperCase(),
      actor: textQuery(req, 'actor', 140),
      pathPrefix: textQuery(req, 'path', 300, /^\//, 'a path starting with / (a prefix: /scim/v2/Users)'),
      requestId: textQuery(req, 'requestId', 100, REQUEST_ID, 'a request id (the X-Request-Id of the request)'),
      resourceId: textQuery(req, 'resourceId', 100, REQUEST_ID, 'a resource id (a user, group, team or channel id)'),
    });
    res.json({ items, next: items.length === limit ? cursorText(items[items.length - 1]!) : null });
  });

  r.get('/requests/summary', async (req, res) => {
    onlyQuery(req, SUMMARY_PARAMS);
    const bucket = queryOf(req, 'bucket') ?? 'minute';
    if (bucket !== 'minute' && bucket !== 'hour') throw badRequest('invalid_query', 'bucket must be minute or hour');
    const window = summaryWindow(bucket, instantQuery(req, 'since'), instantQuery(req, 'until'));
    if (typeof window === 'string') throw badRequest('invalid_query', window);
    const by = queryOf(req, 'by');
    if (by !== undefined && by !== 'actor') throw badRequest('invalid_query', 'by must be actor (or absent: every request together)');
    res.json(by === 'actor' ? await summarizeRequestsByActor(deps.db, bucket, window) : await summarizeRequests(deps.db, bucket, window));
  });
  return r;
}
