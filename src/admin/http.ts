/**
 * HTTP plumbing of the admin API: who is acting, body and query parsing with clear 400s, and the error format
 * `{"error":{"status":400,"code":"invalid_name","message":"..."}}` for every failure, authentication included.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import type { Authenticator } from '../http/auth.js';
import type { Principal } from '../scim/context.js';
import { classifyDbError } from '../store/db.js';
import type { SyncEngine } from '../sync/engine.js';
import { badRequest, WorkspaceError } from '../workspace/errors.js';
import type { WorkspaceCtx } from '../workspace/context.js';

export interface AdminDeps { db: Knex; sync: SyncEngine; log: Logger; auth: Authenticator }

type Obj = Record<string, unknown>;

export function sendJsonError(res: Response, status: number, code: string, message: string): void {
  res.status(status).type('application/json').send(JSON.stringify({ error: { status, code, message } }));
}

/** The use-case context of a request: actor `admin:<token name>`, request id from the request context. */
export function ctxOf(req: Request, deps: AdminDeps): WorkspaceCtx {
  const principal = (req as Request & { principal?: Principal }).principal;
  return { db: deps.db, sync: deps.sync, actor: `admin:${principal?.name ?? 'unknown'}`, requestId: req.id };
}

/** The JSON object body, refusing unknown keys (a typo such as "autoadd" must not be silently ignored). */
export function bodyOf(req: Request, allowed: readonly string[]): Obj {
  const b: unknown = req.body;
  if (b === undefined || b === null || (typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0)) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('invalid_body', 'the request body must be a JSON object');
  const unknown = Object.keys(b).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw badRequest('unknown_field', `unknown field "${unknown.slice(0, 60)}" (allowed: ${allowed.join(', ') || 'none'})`);
  return b as Obj;
}

/** One query parameter as a string (repeated parameters are a 400). */
export function queryOf(req: Request, name: string): string | undefined {
  const v: unknown = (req.query as Obj)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest('invalid_query', `query parameter ${name} must be given once`);
  return v;
}

export function limitOf(req: Request, def = 100, max = 1000): number {
  const raw = queryOf(req, 'limit');
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw badRequest('invalid_query', `limit must be an integer from 1 to ${max}`);
  return Number(raw);
}

export function boolQuery(req: Request, name: string): boolean | undefined {
  const raw = queryOf(req, name);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw badRequest('invalid_query', `${name} must be true or false`);
  return raw === 'true';
}

/** A path parameter (Express 5 types them loosely). */
export const param = (req: Request, name: string): string => String((req.params as Obj)[name]);

/**
 * `auth.require('admin')` with its refusals (401 no or bad token, 403 a SCIM-scope token, 429 too many failures)
 * re-worded into the admin error format; the authenticator itself is shared with SCIM and stays as it is.
 */
export function adminAuth(auth: Authenticator): RequestHandler {
  const inner = auth.require('admin');
  const codes: Record<number, string> = { 401: 'unauthorized', 403: 'forbidden', 429: 'too_many_requests' };
  return (req, res, next) => {
    const send = res.send;
    res.send = function adminErrorSend(this: Response, body?: unknown) {
      res.send = send;
      if (res.statusCode < 400) return send.call(this, body);
      let message = 'authentication failed';
      try {
        message = (JSON.parse(String(body)) as { detail?: string }).detail ?? message;
      } catch { /* keep the default */ }
      res.type('application/json');
      return send.call(this, JSON.stringify({ error: { status: res.statusCode, code: codes[res.statusCode] ?? 'error', message } }));
    } as Response['send'];
    inner(req, res, (err?: unknown) => {
      res.send = send;
      next(err);
    });
  };
}

/** Errors to JSON: use-case errors as they are, body-parser errors as 400/413/415, anything else a logged 500. */
export function adminErrors(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) return;
    if (err instanceof WorkspaceError) return sendJsonError(res, err.status, err.code, err.message);
    const type = (err as { type?: string })?.type;
    if (type === 'entity.parse.failed') return sendJsonError(res, 400, 'invalid_json', 'the request body is not valid JSON');
    if (type === 'entity.too.large') return sendJsonError(res, 413, 'too_large', 'the request body is too large');
    if (type === 'charset.unsupported' || type === 'encoding.unsupported') return sendJsonError(res, 415, 'unsupported_encoding', 'the request body encoding is not supported');
    if (classifyDbError(err).kind === 'unavailable') return sendJsonError(res, 503, 'unavailable', 'the database is unavailable; retry');
    // The client's fault, raised with a 4xx status by the layers below: the router's URIError for a path that is not
    // valid percent-encoding, body-parser's 400 for a body that does not decompress (Content-Encoding: gzip/br/deflate).
    const status = Number((err as { status?: unknown })?.status);
    if (err instanceof URIError) return sendJsonError(res, 400, 'invalid_path', 'the request path is not valid percent-encoded UTF-8');
    if (status >= 400 && status < 500) return sendJsonError(res, 400, 'invalid_body', 'the request body could not be read (content encoding or framing is invalid)');
    log.error('admin api error', { requestId: req.id, error: String((err as Error)?.stack ?? err) });
    sendJsonError(res, 500, 'internal', 'internal server error');
  };
}
