/** The request log (src/admin/requests.ts): "why did that request fail?", and requests per minute by status class. */
import { MAX_SUMMARY_ACTORS, MAX_SUMMARY_BUCKETS } from '../../store/request-log.js';
import { afterParam, BAD_REQUEST, int, json, limitParam, nullable, object, op, page, queryParam, ref, str, time, type Paths, type Schema } from './common.js';

const instant = (what: string) => ({ type: 'string', description: `${what}: an RFC 3339 date-time with an offset (2026-12-01T09:30:00Z) or a date (its start in UTC).` });
const count = { ...int, description: 'Requests.' };

export const schemas: Record<string, Schema> = {
  RequestLogEntry: object({
    id: int,
    at: { ...time, description: 'When the answer was sent.' },
    method: str,
    path: { ...str, description: 'The path, without the query string.' },
    params: { ...nullable(str), description: 'Names of the query parameters, never their values (`filter,count`); `?` for a name this server does not use.' },
    status: { type: 'integer', minimum: 100, maximum: 599 },
    ms: { type: 'number', minimum: 0, description: 'Time from the request to the last byte of the answer.' },
    client: { ...nullable(str), description: 'The client address (behind TRUST_PROXY_HOPS proxies, the address they saw).' },
    actor: { ...nullable(str), description: 'token:<SCIM token>, client:<OAuth client>, admin:<admin token>; null when not authenticated.' },
    requestId: { ...str, description: 'Its X-Request-Id, also on the audit rows it wrote.' },
    detail: { ...nullable(str), description: 'For a 4xx or 5xx, the error detail it was answered with.' },
    errorType: { ...nullable(str), description: 'For a 4xx or 5xx, the scimType (SCIM) or code (admin API, OAuth) it was answered with.' },
  }),
  RequestSummary: object({
    bucket: { type: 'string', enum: ['minute', 'hour'] },
    since: { ...time, description: 'The start of the first bucket.' },
    until: { ...time, description: 'The end of the last bucket.' },
    buckets: { type: 'array', items: ref('RequestSummaryBucket') },
  }),
  RequestSummaryBucket: object({ start: time, total: count, '2xx': count, '3xx': count, '4xx': count, '5xx': count }),
  RequestSummaryByActor: object({
    bucket: { type: 'string', enum: ['minute', 'hour'] },
    since: { ...time, description: 'The start of the first bucket.' },
    until: { ...time, description: 'The end of the last bucket.' },
    series: {
      type: 'array',
      description: `The ${MAX_SUMMARY_ACTORS} busiest actors of the window, busiest first, then \`other\` for the rest added up.`,
      items: object({
        actor: { ...nullable(str), description: 'The actor as in RequestLogEntry; `other` for the actors beyond the busiest; null for unauthenticated requests.' },
        buckets: { type: 'array', items: ref('RequestSummaryBucket') },
      }),
    },
  }),
};

export const paths: Paths = {
  '/requests': {
    get: op('Requests', 'Search the request log, newest first', {
      description: 'One row per request (SCIM, admin API, OAuth; not the probes), kept REQUEST_LOG_DAYS and at most REQUEST_LOG_MAX_ROWS rows, written within REQUEST_LOG_FLUSH_INTERVAL of the answer. Never a token, a body or a query value. A parameter the search does not take is a 400.',
      parameters: [
        queryParam('status', 'A status class (2xx, 3xx, 4xx, 5xx) or a status code (409).'),
        queryParam('since', 'From this instant (inclusive)', instant('From this instant, inclusive')),
        queryParam('until', 'Before this instant', instant('Before this instant')),
        queryParam('method', 'An HTTP method (GET, POST, PATCH...).'),
        queryParam('actor', 'Exactly this actor, or a prefix ending in * (token:*).'),
        queryParam('path', 'Paths starting with this (/scim/v2/Users).'),
        queryParam('requestId', 'The request with this X-Request-Id.'),
        queryParam('resourceId', 'Requests about this user, group, team or channel: its id is a segment of the path, or the request wrote an audit row about it (the POST that created it).'),
        limitParam(), afterParam,
      ],
      responses: { 200: json(page(ref('RequestLogEntry')), 'A page of requests, newest first.'), ...BAD_REQUEST },
    }),
  },
  '/requests/summary': {
    get: op('Requests', 'Requests per minute or hour, by status class, together or per actor', {
      description: `Counts of [since, until) widened to whole buckets, every bucket listed. By default the last hour (minutes) or day (hours); at most ${MAX_SUMMARY_BUCKETS} buckets.`,
      parameters: [
        queryParam('since', 'From this instant (inclusive)', instant('From this instant, inclusive')),
        queryParam('until', 'Before this instant (default now)', instant('Before this instant')),
        queryParam('bucket', 'minute (default) or hour.', { type: 'string', enum: ['minute', 'hour'], default: 'minute' }),
        queryParam('by', 'actor: one series per actor (RequestSummaryByActor) instead of every request together.', { type: 'string', enum: ['actor'] }),
      ],
      responses: { 200: json({ oneOf: [ref('RequestSummary'), ref('RequestSummaryByActor')] }, 'Counts per bucket (per actor with by=actor).'), ...BAD_REQUEST },
    }),
  },
};
