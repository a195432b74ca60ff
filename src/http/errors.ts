/**
 * The one error handler and the two renderers. Whatever went wrong becomes an AppError (src/errors/error-mapping.ts),
 * rendered by the renderer of the mount the request came in on: the admin API (/admin/v1) answers
 * `{"error":{"status","code","message"}}`, everything else a SCIM error body (RFC 7644 §3.12). Never an HTML page or
 * a stack trace. Each renderer records the detail on res.locals.errorDetail, and the scimType or code on
 * res.locals.errorType, for the access log (request-context.ts).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';
import { AppError, type ScimType } from '../errors/app-error.js';
import { toAppError, type Mount } from '../errors/error-mapping.js';
import { errorBody } from '../scim/shared/errors.js';
import { OAUTH_ERROR_CODES } from '../oauth/errors.js';

/** Marks the requests of a mount, for the error handler's choice of renderer. */
export function errorFormat(mount: Mount): RequestHandler {
  return (_req, res, next) => {
    res.locals.errorFormat = mount;
    next();
  };
}

const mountOf = (res: Response): Mount => (res.locals.errorFormat === 'admin' || res.locals.errorFormat === 'oauth' ? res.locals.errorFormat : 'scim');

/** `type` is what the body names the error by (scimType, the admin code, the OAuth error), for the access log too. */
function start(res: Response, e: AppError, type: string | null): Response {
  res.locals.errorDetail = e.detail;
  res.locals.errorType = type ?? undefined;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  return res.status(e.status);
}

/** A SCIM error body (RFC 7644 §3.12), application/scim+json. */
export function renderScimError(res: Response, e: AppError): void {
  start(res, e, e.scimType).type('application/scim+json').send(JSON.stringify(errorBody(e.status, e.scimType, e.detail)));
}

/** The admin API's error body. */
export function renderAdminError(res: Response, e: AppError): void {
  start(res, e, e.code).type('application/json').send(JSON.stringify({ error: { status: e.status, code: e.code, message: e.detail } }));
}

/**
 * An OAuth error body (RFC 6749 §5.2): `error` is the AppError's code when it is one of the RFC's, else the nearest
 * by status; the description is the detail. Never cached.
 */
export function renderOAuthError(res: Response, e: AppError): void {
  const error = OAUTH_ERROR_CODES.has(e.code) ? e.code : e.status >= 500 ? 'server_error' : e.status === 429 || e.status === 503 ? 'temporarily_unavailable' : e.status === 401 ? 'invalid_client' : 'invalid_request';
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  start(res, e, error).type('application/json').send(JSON.stringify({ error, error_description: e.detail }));
}

const RENDERERS: Record<Mount, (res: Response, e: AppError) => void> = { scim: renderScimError, admin: renderAdminError, oauth: renderOAuthError };

/** Render `e` as the request's mount does. */
export function renderError(res: Response, e: AppError): void {
  RENDERERS[mountOf(res)](res, e);
}

/** Answer a SCIM error now (the guards in front of SCIMMY). */
export function sendError(res: Response, status: number, scimType: ScimType | null | undefined, detail: string, headers: Record<string, string> = {}): void {
  renderScimError(res, AppError.scim(status, scimType ?? null, detail, headers));
}

/** The app's error handler (Express recognises error handlers by their four parameters). */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const mount = mountOf(res);
    // A SCIM handler's failure kept on the response wins over what SCIMMY made of it (scim/shared/errors.ts).
    const e = toAppError(err, mount);
    if (e.internal) log.error({ scim: 'unhandled error', admin: 'admin api error', oauth: 'oauth error' }[mount], { requestId: req.id, error: String((e.cause as any)?.stack ?? e.cause) });
    if (res.headersSent) return; // SCIMMY answered already and forwarded a 5xx only for logging
    renderError(res, e);
  };
}

/**
 * `clientError` of the HTTP server: requests Node's parser refuses before Express sees them (a request line or
 * headers over 16 KiB, broken framing, a header timeout) get a SCIM error body too, instead of a bare status line.
 */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  const inProgress = (socket as any)._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || (inProgress && inProgress.headersSent)) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = status === 431 ? 'request line and headers are too large' : status === 408 ? 'request timed out' : 'malformed HTTP request';
  const body = JSON.stringify(errorBody(status, null, detail));
  const head = /^HEAD /.test(String((err as any).rawPacket?.subarray?.(0, 5) ?? ''));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`);
}

/** What no route answered (the admin API answers its own: admin/router.ts). */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(AppError.scim(404, null, `no such endpoint: ${req.method} ${req.path.slice(0, 200)}`));
}
