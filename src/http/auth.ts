/**
 * Bearer authentication (RFC 6750) with passport-http-bearer. Tokens are either the static ones from the
 * environment or managed ones from the store (hashed). A token found live is trusted for at most one second, so a
 * revocation reaches every instance within a second.
 */
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { NextFunction, Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Config } from '../config/index.js';
import type { Principal } from '../scim/context.js';
import { findToken, sameSecret, type Scope } from '../store/tokens.js';
import { sendError } from './errors.js';

const CACHE_MS = 1000;

export interface Authenticator {
  /** Middleware: authenticate, then require one of the scopes. */
  require(...scopes: Scope[]): (req: Request, res: Response, next: NextFunction) => void;
}

export function createAuthenticator(db: Knex, config: Config, guard: FailureGuard): Authenticator {
  const cache = new Map<string, { principal: Principal; until: number }>();
  const strategyName = `bearer-${Math.random().toString(36).slice(2)}`;
  const pp = new passport.Passport();

  async function lookup(token: string): Promise<Principal | undefined> {
    if (config.scimToken && sameSecret(token, config.scimToken)) return { tokenId: 'env:SCIM_TOKEN', name: 'env-scim', scope: 'scim' };
    if (config.adminToken && sameSecret(token, config.adminToken)) return { tokenId: 'env:ADMIN_TOKEN', name: 'env-admin', scope: 'admin' };
    const now = Date.now();
    const hit = cache.get(token);
    if (hit && hit.until > now) return hit.principal;
    const row = await findToken(db, token);
    if (!row) {
      cache.delete(token);
      return undefined;
    }
    const principal: Principal = { tokenId: row.id, name: row.name, scope: row.scope };
    if (cache.size > 10000) cache.clear();
    cache.set(token, { principal, until: now + CACHE_MS });
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
    require: (...scopes) => (req, res, next) => {
      const client = req.ip ?? 'unknown';
      const wait = guard.blockedFor(client);
      if (wait > 0) return sendError(res, 429, null, 'too many failed authentication attempts', { 'Retry-After': String(Math.ceil(wait / 1000)) });
      pp.authenticate(strategyName, { session: false }, (err: unknown, principal: Principal | false) => {
        if (err) return next(err);
        if (!principal) {
          guard.fail(client);
          // RFC 6750 §3.1: a request without a bearer token gets the bare challenge; a rejected token gets invalid_token.
          const presented = /^Bearer\s+\S/i.test(req.get('authorization') ?? '');
          const challenge = presented ? 'Bearer realm="scim", error="invalid_token"' : 'Bearer realm="scim"';
          return sendError(res, 401, null, presented ? 'the bearer token is not valid' : 'a bearer token is required', { 'WWW-Authenticate': challenge });
        }
        // An admin token may also drive SCIM; a SCIM token may never use the admin API.
        if (!scopes.includes(principal.scope) && !(principal.scope === 'admin')) {
          return sendError(res, 403, null, `this token lacks the ${scopes.join(' or ')} scope`, { 'WWW-Authenticate': 'Bearer realm="scim", error="insufficient_scope"' });
        }
        guard.succeed(client);
        (req as any).principal = principal;
        next();
      })(req, res, next);
    },
  };
}

/**
 * Slows down token guessing: after `limit` failures within a window from one client address, that client is refused
 * with 429 until the window passes. In memory per instance (a guesser spread over instances still meets each limit).
 */
export class FailureGuard {
  private failures = new Map<string, { count: number; since: number }>();
  constructor(private limit = 20, private windowMs = 60_000) {}

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

  fail(client: string): void {
    const now = Date.now();
    const f = this.failures.get(client);
    if (!f || f.since + this.windowMs < now) this.failures.set(client, { count: 1, since: now });
    else f.count++;
    if (this.failures.size > 100_000) this.failures.clear();
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}
