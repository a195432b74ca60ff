/**
 * The OAuth 2.0 authorization server, mounted at /oauth: the token endpoint (RFC 6749 §3.2), revocation (RFC 7009),
 * and the authorization endpoint with its consent page (§3.1, authorize.ts). Errors here are RFC 6749 §5.2 bodies
 * `{"error","error_description"}` (http/errors.ts renders the `oauth` mount), never SCIM or HTML; token responses
 * and errors alike carry `Cache-Control: no-store` (§5.1).
 */
import { Router, type Request, type Response, type NextFunction } from 'express';
import type { OAuthDeps, OAuthRequest } from '../../oauth/context.js';
import { exchangeToken } from '../../oauth/token-grants.js';
import { revokeToken } from '../../oauth/revocation.js';
import { oauthError } from '../../oauth/errors.js';
import type { Authenticator } from '../auth.js';
import { authorizeRouter } from './authorize.js';
import { AppError } from '../../errors/app-error.js';
import { basicCredentials, formBody, formParams } from './form.js';
import { NUL_IN_URL } from '../nul.js';

export interface OAuthRouterDeps extends OAuthDeps { auth: Authenticator; publicUrl: () => string }

const noStore = (_req: Request, res: Response, next: NextFunction) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  next();
};

function oauthRequest(req: Request): OAuthRequest {
  return { params: formParams(req), basic: basicCredentials(req), requestId: req.id, client: req.ip ?? 'unknown' };
}

/**
 * Failed client authentications also count against the caller's address, as failed bearer tokens do (auth.ts): a
 * guesser cycling through client_ids meets that limit instead of each client_id's. Checked after the credentials,
 * so a valid client is served from any address.
 */
function guarded(deps: OAuthRouterDeps, handler: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch((err) => {
      if (err instanceof AppError && err.code === 'invalid_client') {
        const ip = req.ip ?? 'unknown';
        const wait = deps.auth.guard.blockedFor(ip);
        if (wait > 0) return next(oauthError('temporarily_unavailable', 'too many failed authentication attempts; retry later', 429, { 'Retry-After': String(Math.ceil(wait / 1000)) }));
        deps.auth.guard.fail(ip);
      }
      next(err);
    });
  };
}

export function oauthRouter(deps: OAuthRouterDeps): Router {
  const router = Router();
  router.use(noStore);
  // PostgreSQL text cannot hold a NUL: a decoded %00 in a query (the authorization request's client_id) would be a 500.
  // /authorize checks its own parameters, to tell a browser in a page (authorize.ts).
  router.use((req, _res, next) => next(req.path !== '/authorize' && NUL_IN_URL.test(req.url) ? oauthError('invalid_request', 'the request URL must not contain the NUL character (%00)') : undefined));
  router.post('/token', formBody(), guarded(deps, async (req, res) => {
    res.json(await exchangeToken(deps, oauthRequest(req)));
  }));
  router.post('/revoke', formBody(), guarded(deps, async (req, res) => {
    await revokeToken(deps, oauthRequest(req));
    res.status(200).end(); // RFC 7009 §2.2: 200 whether or not the token was valid
  }));
  router.use(authorizeRouter(deps));
  router.all(['/token', '/revoke'], (req, _res, next) => {
    next(new AppError({ status: 405, code: 'invalid_request', detail: `${req.method} is not allowed here; POST a form (RFC 6749 §3.2)`, headers: { Allow: 'POST' } }));
  });
  router.use((req, _res, next) => next(new AppError({ status: 404, code: 'invalid_request', detail: `no such OAuth endpoint: ${req.method} ${req.path.slice(0, 200)}` })));
  return router;
}
