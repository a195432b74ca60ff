/**
 * Bearer authentication (RFC 6750) with passport-http-bearer, for three kinds of credential with one model of scopes
 * (store/scopes.ts): the static tokens from the environment, managed tokens (store/tokens.ts) and OAuth access tokens
 * (store/oauth-grants.ts), both stored hashed. A credential found live is trusted for at most one second (never past
 * its expiry), so a revocation reaches every instance within a second. It runs before anything reads the body, so a
 * refusal costs no parsing; the failed-auth guard looks only at failures, so a valid token is never refused for its
 * address.
 */
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { Principal } from '../scim/use-cases/context.js';
import { findToken, sameSecret } from '../store/tokens.js';
import { findAccessToken } from '../store/oauth-grants.js';
import { allows, type Scope } from '../store/scopes.js';
import type { Logger } from '../log.js';
import { AppError } from '../errors/app-error.js';
import { renderError } from './errors.js';
import { hasBody } from './nul.js';

const CACHE_MS = 1000;
/** How long a refused request may go on sending its body before its connection is cut. */
const DRAIN_MS = 5000;
/**
 * A token as RFC 6750 §2.1 `b64token` allows, without the scheme: what Okta's "Header" mode sends alone. At least 16
 * characters, as every token this server accepts is, so a bare scheme name (`Bearer` with its value left out) is
 * still a missing token, not a wrong one.
 */
const RAW_TOKEN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

export interface RequireOptions {
  /**
   * Also take `Authorization: <token>` with no scheme (Okta's "Header" authentication mode). RFC 6750 §2.1 defines
   * only `Bearer <token>`; this is an accommodation for Okta, offered on the SCIM API only.
   */
  rawHeader?: boolean;
}

export interface Authenticator {
  /** Middleware: authenticate, then require `scope` (or one that covers it: store/scopes.ts). */
  require(scope: Scope | ((req: Request) => Scope), opts?: RequireOptions): RequestHandler;
  /** The principal a credential stands for, or undefined (the consent page's sign-in). */
  verify(token: string): Promise<Principal | undefined>;
  /** The failed-auth guard, for other credential checks that must be throttled alike (the consent page). */
  guard: FailureGuard;
}

export function createAuthenticator(db: Knex, config: Config, guard: FailureGuard, log: Logger): Authenticator {
  const cache = new Map<string, { principal: Principal; until: number }>();
  const strategyName = `bearer-${Math.random().toString(36).slice(2)}`;
  const pp = new passport.Passport();
  // An honest client that sends its whole body before reading the refusal sends at most this much.
  const drainBytes = config.bodyLimit + 64 * 1024;
  const statics: [string | undefined, Principal][] = [
    [config.scimToken, { tokenId: 'env:SCIM_TOKEN', name: 'env-scim', scopes: ['scim'], kind: 'token' }],
    [config.adminToken, { tokenId: 'env:ADMIN_TOKEN', name: 'env-admin', scopes: ['admin'], kind: 'token' }],
  ];

  async function lookup(token: string): Promise<Principal | undefined> {
    for (const [value, principal] of statics) if (value && sameSecret(token, value)) return principal;
    const now = Date.now();
    const hit = cache.get(token);
    if (hit && hit.until > now) return hit.principal;
    let principal: Principal | undefined;
    let until = now + CACHE_MS;
    // OAuth access tokens carry their own prefix (store/oauth-grants.ts): one lookup either way.
    if (token.startsWith('oat_')) {
      const grant = await findAccessToken(db, token, now);
      if (grant) {
        principal = { tokenId: `client:${grant.clientId}`, name: grant.clientName, scopes: grant.scopes, kind: 'client' };
        until = Math.min(until, grant.expiresAt);
      }
    } else {
      const row = await findToken(db, token);
      if (row) principal = { tokenId: row.id, name: row.name, scopes: [row.scope], kind: 'token' };
    }
    if (!principal) {
      cache.delete(token);
      return undefined;
    }
    if (cache.size > 10000) cache.clear();
    cache.set(token, { principal, until });
    return principal;
  }

  // Tokens are read from the Authorization header only: passport-http-bearer also takes `access_token` from the query
  // string (where URLs leak it into proxy logs, RFC 6750 §5.3) and from the body (a SCIM attribute of that name would
  // be taken for a token), and a repeated query parameter arrives as an array.
  pp.use(strategyName, new BearerStrategy({ passReqToCallback: true }, (req: Request, token: unknown, done: (err: unknown, p?: Principal | false) => void) => {
    if (typeof token !== 'string' || !token || !/^Bearer\s/i.test(req.get('authorization') ?? '')) return done(null, false);
    lookup(token).then((p) => done(null, p ?? false), (err) => done(err));
  }) as any);

  return {
    guard,
    verify: (token) => lookup(token),
    require: (scope, opts = {}) => (req, res, next) => {
      const header = req.get('authorization') ?? '';
      // Okta "Header" mode: the whole header is the token. Read as a bearer token (passport only knows that form);
      // a header with a scheme (`Basic ...`, `Bearer ...`) has a space and is left as it is.
      if (opts.rawHeader && RAW_TOKEN.test(header)) req.headers.authorization = `Bearer ${header}`;
      pp.authenticate(strategyName, { session: false }, (err: unknown, principal: Principal | false) => {
        if (err) return next(err);
        if (principal) {
          const needed = typeof scope === 'function' ? scope(req) : scope;
          if (!allows(principal.scopes, needed)) {
            return refuse(req, res, 403, `insufficient scope: this credential lacks the ${needed} scope (it has ${principal.scopes.join(', ') || 'none'})`, { 'WWW-Authenticate': `Bearer realm="scim", error="insufficient_scope", scope="${needed}"` }, drainBytes);
          }
          (req as any).principal = principal;
          return next();
        }
        // The token is checked before the guard: a valid token is served even from an address that is refused for
        // its failures (an IdP's shared egress may also carry a guesser). Only failures are counted and slowed.
        const client = req.ip ?? 'unknown';
        const wait = guard.blockedFor(client);
        if (wait > 0) return refuse(req, res, 429, 'too many failed authentication attempts', { 'Retry-After': String(Math.ceil(wait / 1000)) }, drainBytes);
        if (guard.fail(client)) log.warn('failed-auth throttle engaged', { client, failures: guard.limit, windowSeconds: guard.windowMs / 1000 });
        // RFC 6750 §3.1: a request without a bearer token gets the bare challenge; a rejected token gets invalid_token.
        const presented = /^Bearer\s+\S/i.test(req.get('authorization') ?? '');
        const challenge = presented ? 'Bearer realm="scim", error="invalid_token"' : 'Bearer realm="scim"';
        refuse(req, res, 401, presented ? 'the bearer token is not valid' : 'a bearer token is required', { 'WWW-Authenticate': challenge }, drainBytes);
      })(req, res, next);
    },
  };
}

/**
 * A refusal before the body was read. The body is drained, never parsed, and the connection is not closed under the
 * client while it is still sending: closing a socket with unread bytes resets it, and the client then loses the 401
 * (it sees EPIPE/ECONNRESET instead). Only a body larger than any we accept, or still coming after DRAIN_MS, has its
 * connection cut (left to itself, Node would discard a body of any size, a chunked one for as long as it lasts).
 * The refusal is an AppError answered at once by the renderer of the mount (SCIM, or the admin API's JSON), headers
 * included: not passed on with next(err), since leaving a router (SCIM's, the admin API's) waits for a later tick, in
 * which a body over drainBytes would have its connection cut before the refusal was written.
 */
function refuse(req: Request, res: Response, status: number, detail: string, headers: Record<string, string>, drainBytes: number): void {
  refuseUnread(req, res, AppError.scim(status, null, detail, headers), drainBytes);
}

/** `refuse` for any AppError (the console session's refusals, which name their own admin codes). */
export function refuseUnread(req: Request, res: Response, e: AppError, drainBytes: number): void {
  if (!req.complete && hasBody(req.headers)) {
    let left = drainBytes;
    const cut = () => {
      clearTimeout(timer);
      req.socket.destroy();
    };
    const timer = setTimeout(cut, DRAIN_MS).unref();
    req.on('data', (chunk: Buffer) => {
      if ((left -= chunk.length) < 0) cut();
    });
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    // Otherwise a request with `Connection: close` has its socket destroyed as soon as the answer is written.
    (res as Response & { shouldKeepAlive: boolean }).shouldKeepAlive = true;
  }
  renderError(res, e);
}

/**
 * Slows down token guessing: after `limit` failures within a window from one client address, that address's failures
 * are answered 429 until the window passes. A success does not clear the count (a guesser sharing an IdP's egress
 * would otherwise be reset by every IdP request). In memory per instance (a guesser spread over instances still
 * meets each limit).
 */
export class FailureGuard {
  private failures = new Map<string, { count: number; since: number }>();
  constructor(readonly limit = 20, readonly windowMs = 60_000) {}

  blockedFor(client: string): number {
    const f = this.failures.get(client);
    if (!f) return 0;
    const left = f.since + this.windowMs - Date.now();
    if (left <= 0) {
      this.failures.delete(client);
      return 0;
    }
    return f.count >= this.limit ? left : 0;
  }

  /** Count a failure; true when this one engaged the guard for the client (once per window). */
  fail(client: string): boolean {
    const now = Date.now();
    if (this.failures.size > 100_000) this.failures.clear();
    const f = this.failures.get(client);
    if (!f || f.since + this.windowMs < now) {
      this.failures.set(client, { count: 1, since: now });
      return this.limit === 1;
    }
    return ++f.count === this.limit;
  }
}
