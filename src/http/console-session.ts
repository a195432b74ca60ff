/**
 * The admin console's session over HTTP: POST /console/session signs in with an admin-scope credential (JSON
 * `{"token"}` or a form), GET answers the session (and restarts its idle clock), DELETE signs out; and
 * `consoleAuth`, which lets the admin API (/admin/v1) take the session cookie where it would take a bearer token.
 * Answers and errors are admin-API JSON (`{"error":{"status","code","message"}}`).
 *
 * The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (a cross-site request does not carry it) and
 * `Path=/`; over HTTPS (the request's own scheme, as TRUST_PROXY_HOPS lets Express read it from X-Forwarded-Proto,
 * or a PUBLIC_URL that is https) it is also `Secure` and named with the `__Host-` prefix, which browsers accept only
 * from a secure origin with Path=/ and no Domain, so a sibling subdomain cannot plant one (RFC 6265bis §4.1.3.2).
 * Changes made with the cookie must also prove they come from the console: header X-CSRF-Token equal to the
 * session's token (OWASP CSRF Prevention Cheat Sheet, synchronizer token; a custom header also forces a CORS
 * preflight that no other origin passes) and, when the browser sends Origin, our own origin. SCIM never takes the
 * cookie: IdPs authenticate with bearer tokens only.
 */
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { parse as parseCookies } from 'cookie';
import { AppError } from '../errors/app-error.js';
import { csrfMatches, type ConsoleSessions, type LiveSession } from '../console/sessions.js';
import type { Logger } from '../log.js';
import type { Principal } from '../scim/use-cases/context.js';
import { allows } from '../store/scopes.js';
import { refuseUnread, type Authenticator } from './auth.js';
import { hasBody } from './nul.js';

export const CONSOLE_SESSION_PATH = '/console/session';
const COOKIE = 'scim_console';
const HOST_COOKIE = `__Host-${COOKIE}`;
/** A sign-in body holds one token: anything larger is refused unread. */
const BODY_LIMIT = 16 * 1024;
const FORM = 'application/x-www-form-urlencoded';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export interface ConsoleSessionDeps {
  sessions: ConsoleSessions;
  auth: Authenticator;
  log: Logger;
  publicUrl: () => string;
  /** BODY_LIMIT_BYTES: how much of a refused request's body is drained before its connection is cut (auth.ts). */
  bodyLimit: number;
}

const err = (status: number, code: string, message: string, headers: Record<string, string> = {}) => new AppError({ status, code, detail: message, headers });
const noSession = () => err(401, 'no_session', 'no console session: it expired, was signed out, or its credential was revoked; sign in again', { 'WWW-Authenticate': 'Bearer realm="scim"' });
const csrfFailed = (why: string) => err(403, 'csrf_failed', why);

/** HTTPS as the client sees it: this request's scheme (behind TRUST_PROXY_HOPS proxies, theirs) or PUBLIC_URL's. */
function isSecure(req: Request, publicUrl: () => string): boolean {
  return req.secure || publicUrl().startsWith('https:');
}

/** The session cookie's value as this request's scheme names it; undefined when it sent none. */
function presented(req: Request, secure: boolean): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const value = parseCookies(header)[secure ? HOST_COOKIE : COOKIE];
  return value === undefined ? undefined : value;
}

/** An Origin header, when sent, must be ours: PUBLIC_URL's origin, or the scheme and Host this request came with. */
function originAllowed(req: Request, publicUrl: () => string): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return true;
  const own = new Set([new URL(publicUrl()).origin]);
  if (req.headers.host) own.add(`${req.protocol}://${req.headers.host}`.toLowerCase());
  return own.has(origin.toLowerCase());
}

function setPrincipal(req: Request, principal: Principal): void {
  (req as Request & { principal?: Principal }).principal = principal;
}

export function consoleSessionRouter(deps: ConsoleSessionDeps): Router {
  const r = Router();
  const drain = deps.bodyLimit + 64 * 1024;
  const cookieOptions = (req: Request) => {
    const secure = isSecure(req, deps.publicUrl);
    return { name: secure ? HOST_COOKIE : COOKIE, options: { httpOnly: true, sameSite: 'strict' as const, secure, path: '/' } };
  };
  const answer = (res: Response, session: LiveSession) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(deps.sessions.view(session));
  };
  const refuse = (req: Request, res: Response, e: AppError) => refuseUnread(req, res, e, drain);

  // The sign-in form, if posted cross-site, would sign the browser in as the attacker's admin (login CSRF): a
  // foreign Origin is refused before the body is read.
  const sameOrigin: RequestHandler = (req, res, next) => (originAllowed(req, deps.publicUrl) ? next() : refuse(req, res, csrfFailed('the request comes from another origin')));
  const json = express.json({ limit: BODY_LIMIT, type: (req) => !(req as Request).is(FORM) });
  const form = express.text({ limit: BODY_LIMIT, type: FORM });
  const mediaType: RequestHandler = (req, _res, next) => {
    if (!hasBody(req.headers) || req.headers['content-type'] === undefined || req.is(['application/json', FORM])) return next();
    next(err(415, 'unsupported_media_type', `the sign-in body must be JSON {"token": "..."} or ${FORM}`));
  };

  r.post('/', sameOrigin, mediaType, json, form, async (req, res) => {
    const token = tokenOf(req.body);
    const principal = await deps.auth.verify(token);
    if (!principal) {
      // The consent page's rule (oauth/authorize.ts): only failures are counted, per client address, and a valid
      // credential is let in even from an address that is refused for its failures.
      const client = req.ip ?? 'unknown';
      const wait = deps.auth.guard.blockedFor(client);
      if (wait > 0) throw err(429, 'too_many_requests', 'too many failed sign-ins from this address; wait and try again', { 'Retry-After': String(Math.ceil(wait / 1000)) });
      if (deps.auth.guard.fail(client)) deps.log.warn('failed-auth throttle engaged', { client, failures: deps.auth.guard.limit, windowSeconds: deps.auth.guard.windowMs / 1000 });
      throw err(401, 'invalid_credentials', 'that is not a valid admin token');
    }
    if (!allows(principal.scopes, 'admin')) {
      throw err(403, 'insufficient_scope', `this credential lacks the admin scope (it has ${principal.scopes.join(', ') || 'none'}); the console needs an admin token`);
    }
    const { name, options } = cookieOptions(req);
    const { cookie, session } = await deps.sessions.signIn(principal, token, presented(req, options.secure));
    setPrincipal(req, session.principal);
    res.cookie(name, cookie, options);
    answer(res, session);
  });

  r.get('/', async (req, res) => {
    const cookie = presented(req, isSecure(req, deps.publicUrl));
    const session = cookie === undefined ? undefined : await deps.sessions.resume(cookie);
    if (!session) throw noSession();
    setPrincipal(req, session.principal);
    answer(res, session);
  });

  // Signing out a session that is already gone is done already: 204 either way (RFC 9110 §9.2.2, DELETE is
  // idempotent). A live one is ended only by a request that proves it comes from the console.
  r.delete('/', sameOrigin, async (req, res) => {
    const { name, options } = cookieOptions(req);
    const cookie = presented(req, options.secure);
    const session = cookie === undefined ? undefined : await deps.sessions.resume(cookie);
    if (session) {
      if (!csrfMatches(session, req.get('x-csrf-token'))) throw csrfFailed('signing out needs the X-CSRF-Token header of this session');
      setPrincipal(req, session.principal);
      await deps.sessions.signOut(cookie!);
    }
    res.clearCookie(name, options);
    res.setHeader('Cache-Control', 'no-store');
    res.status(204).end();
  });

  r.all('/', (req, _res, next) => next(new AppError({ status: 405, code: 'method_not_allowed', detail: `${req.method} is not allowed on ${CONSOLE_SESSION_PATH}; allowed: GET, POST, DELETE`, headers: { Allow: 'GET, HEAD, POST, DELETE' } })));
  return r;
}

/**
 * The token of a sign-in body: JSON `{"token"}` or a form's `token`, nothing else. No refusal names the field it
 * found: `curl -d "$TOKEN"` posts the token itself as a form field's name, and a refusal's message goes to the
 * client, the access log and the request log table, which every console admin reads.
 */
function tokenOf(body: unknown): string {
  let fields: Record<string, unknown>;
  if (typeof body === 'string') {
    fields = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of new URLSearchParams(body)) {
      if (k in fields) throw err(400, 'invalid_body', 'a field of the sign-in form is given more than once (it takes one: token)');
      fields[k] = v;
    }
  } else if (body && typeof body === 'object' && !Array.isArray(body)) {
    fields = body as Record<string, unknown>;
  } else {
    throw err(400, 'invalid_body', 'the sign-in body must be {"token": "<an admin token>"}');
  }
  if (Object.keys(fields).some((k) => k !== 'token')) throw err(400, 'unknown_field', 'the sign-in body takes one field, token: {"token": "<an admin token>"} or token=<an admin token>');
  const token = fields.token;
  if (typeof token !== 'string' || !token) throw err(400, 'invalid_body', 'token is required: {"token": "<an admin token>"}');
  // No credential this server issues is that long, nor holds a control character: a 401 without a lookup.
  if (token.length > 4096 || /[\u0000-\u001f\u007f]/.test(token)) throw err(401, 'invalid_credentials', 'that is not a valid admin token');
  return token;
}

/**
 * The admin API's authentication: a request with an Authorization header, or without our cookie, is a bearer
 * request as before (`bearer`, auth.ts), and needs no CSRF token; one with only the cookie acts as the session's
 * principal (`admin:<name>`, as its token would), and must prove a change comes from the console. Runs before the
 * body is read, as the bearer check does.
 */
export function consoleAuth(deps: Pick<ConsoleSessionDeps, 'sessions' | 'publicUrl' | 'bodyLimit'>) {
  const drain = deps.bodyLimit + 64 * 1024;
  return (bearer: RequestHandler): RequestHandler => (req: Request, res: Response, next: NextFunction) => {
    if (req.headers.authorization !== undefined) return bearer(req, res, next);
    const cookie = presented(req, isSecure(req, deps.publicUrl));
    if (cookie === undefined) return bearer(req, res, next);
    deps.sessions.resume(cookie).then((session) => {
      // Not counted by the failed-auth guard: a cookie value is 256 random bits nobody guesses, and a console left
      // open past its session's end would otherwise, polling, lock its own address out of signing in again.
      if (!session) return refuseUnread(req, res, noSession(), drain);
      if (!SAFE_METHODS.has(req.method)) {
        if (!originAllowed(req, deps.publicUrl)) return refuseUnread(req, res, csrfFailed('the request comes from another origin'), drain);
        if (!csrfMatches(session, req.get('x-csrf-token'))) return refuseUnread(req, res, csrfFailed('a change made with the console session needs the X-CSRF-Token header of that session'), drain);
      }
      setPrincipal(req, session.principal);
      // What a session reads is the directory itself (people, their audit trail, the request log): kept out of the
      // browser's cache, which outlives sign-out on a shared computer (OWASP Session Management, "Web Content Caching").
      res.setHeader('Cache-Control', 'no-store');
      next();
    }, next);
  };
}
