/**
 * HTTP plumbing of the admin API: who is acting, body and query parsing with clear 400s. Failures are AppErrors,
 * which the app's error handler answers in the admin format `{"error":{"status":400,"code":"invalid_name","message":"..."}}`
 * (http/errors.ts), authentication refusals included.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import type { Authenticator } from '../http/auth.js';
import { hasBody, hasNul, NUL_IN_URL } from '../http/nul.js';
import { AppError } from '../errors/app-error.js';
import type { Principal } from '../scim/use-cases/context.js';
import type { SyncEngine } from '../sync/engine.js';
import { badRequest } from '../workspace/errors.js';
import { parseInstant } from '../scim/shared/time.js';
import type { WorkspaceCtx } from '../workspace/context.js';
import type { Connector } from '../connector/index.js';

export interface AdminDeps {
  db: Knex; sync: SyncEngine; log: Logger; auth: Authenticator;
  /** The Mattermost connector, when MATTERMOST_URL is set (admin/connector.ts answers 409 without it). */
  connector?: Connector | undefined;
}

type Obj = Record<string, unknown>;

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

/**
 * Refuse query parameters a search does not take: a typo (`sinse=`, `operaton=`) would otherwise widen the search
 * silently and answer rows the caller did not ask for.
 */
export function onlyQuery(req: Request, allowed: readonly string[]): void {
  const unknown = Object.keys(req.query as Obj).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw badRequest('invalid_query', `unknown query parameter "${unknown.slice(0, 60)}" (allowed: ${allowed.join(', ')})`);
}

/** An instant query parameter (RFC 3339 date-time with offset, or a date: its start in UTC) as epoch ms. */
export function instantQuery(req: Request, name: string): number | undefined {
  const raw = queryOf(req, name);
  if (raw === undefined) return undefined;
  const ms = parseInstant(raw);
  if (ms === undefined) throw badRequest('invalid_query', `${name} must be an RFC 3339 date-time with an offset (2026-12-01T09:30:00Z) or a date (2026-12-01)`);
  return ms;
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

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * A body is JSON, declared or not: `curl -d` without `-H 'Content-Type: application/json'` declares
 * application/x-www-form-urlencoded, and ignoring such a body would answer 200 with nothing changed, so any other
 * declared type is a 415 (RFC 9110 §15.5.16) that says what to send. Checked before the body is read.
 */
export function jsonBodies(limit: number): RequestHandler[] {
  const isJson = (req: Request): boolean => req.headers['content-type'] === undefined || Boolean(req.is(JSON_TYPES));
  return [
    (req, _res, next) => {
      if (!hasBody(req.headers) || isJson(req)) return next();
      next(AppError.workspace(415, 'unsupported_media_type', 'the request body must be JSON, sent with Content-Type: application/json (curl: -H \'Content-Type: application/json\')'));
    },
    express.json({ type: (req) => isJson(req as Request), limit }),
    (req, _res, next) => next(req.body !== undefined && hasNul(req.body) ? badRequest('invalid_body', 'strings must not contain the NUL character (U+0000)') : undefined),
  ];
}

/** `%00` in the path or query: refused before an id or a cursor carries a NUL to the store (a 500 on PostgreSQL). */
export function refuseNulInUrl(req: Request, _res: Response, next: NextFunction): void {
  if (!NUL_IN_URL.test(req.url)) return next();
  const inPath = NUL_IN_URL.test(req.url.split('?', 1)[0]!);
  next(badRequest(inPath ? 'invalid_path' : 'invalid_query', `the request ${inPath ? 'path' : 'query'} must not contain the NUL character (%00)`));
}

/**
 * The methods the routes of `router` (and the routers it mounts) offer for `path`, HEAD with GET, for a 405's
 * Allow header (RFC 9110 §15.5.6). Walks the router's stack on the not-found path only.
 */
export function allowedMethods(router: Router, path: string): string[] {
  const found = new Set<string>();
  const walk = (stack: any[]) => {
    for (const layer of stack ?? []) {
      if (layer.route) {
        if (layer.match(path)) for (const m of Object.keys(layer.route.methods)) if (m !== '_all') found.add(m.toUpperCase());
      } else if (Array.isArray(layer.handle?.stack) && layer.match(path)) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((router as unknown as { stack: unknown[] }).stack);
  if (found.has('GET')) found.add('HEAD');
  return [...found];
}
