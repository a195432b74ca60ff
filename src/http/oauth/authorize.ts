/**
 * GET and POST /oauth/authorize: the authorization endpoint (RFC 6749 §3.1) with its consent page (consent-page.ts).
 * The consent form is protected against cross-site request forgery twice over: its CSRF value must come back both
 * in the form and in a `SameSite=Strict`, `HttpOnly` cookie set with the page (a cross-site form post carries no such
 * cookie), and it must match the digest kept with the pending request. The admin credential typed into the form is
 * checked like a bearer token, its failures counted by the same failed-auth guard. Problems the browser is told about
 * are an HTML page for a browser and RFC 6749 JSON for anything else.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Knex } from 'knex';
import type { AppError } from '../../errors/app-error.js';
import { answerConsent, beginConsent, checkAuthorizationRequest, pendingConsent } from '../../oauth/authorize.js';
import { oauthError } from '../../oauth/errors.js';
import { allows } from '../../store/scopes.js';
import type { Authenticator } from '../auth.js';
import { consentPage, problemPage } from './consent-page.js';
import { formBody, formParams } from './form.js';

const COOKIE = 'oauth_consent';

export interface AuthorizeDeps { db: Knex; auth: Authenticator; publicUrl: () => string }

/** The query's parameters, each at most once (RFC 6749 §3.1), empty ones as absent, none with a NUL (as in form.ts). */
function queryParams(req: Request): Record<string, string> {
  const q = req.originalUrl.indexOf('?');
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : req.originalUrl.slice(q + 1))) {
    if (k in out) throw oauthError('invalid_request', `parameter ${k.slice(0, 40)} is given more than once`);
    // A NUL would reach the client lookup or the pending request's row, which PostgreSQL refuses (a 500).
    if (v.includes('\u0000')) throw oauthError('invalid_request', `parameter ${k.slice(0, 40)} contains a NUL character`);
    if (v !== '') out[k] = v;
  }
  return out;
}

/** Tell the browser (an HTML page) or a program (RFC 6749 JSON, through the mount's error renderer). */
function show(req: Request, res: Response, next: NextFunction, e: AppError): void {
  if (req.accepts(['json', 'html']) === 'html') return problemPage(res, e.status, e.code, e.detail);
  next(e);
}

export function authorizeRouter(deps: AuthorizeDeps): Router {
  const r = Router();
  const secure = () => deps.publicUrl().startsWith('https:');
  const setCookie = (res: Response, value: string) => res.cookie(COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: secure(), path: '/oauth', maxAge: 10 * 60_000 });

  // Express would answer HEAD with the GET handler, which stores a pending request: HEAD is refused instead.
  r.head('/authorize', (_req, _res, next) => next(oauthError('invalid_request', 'HEAD is not allowed on /oauth/authorize', 405, { Allow: 'GET, POST' })));
  r.get('/authorize', async (req, res, next) => {
    let params: Record<string, string>;
    try {
      params = queryParams(req);
    } catch (e) {
      return show(req, res, next, e as AppError);
    }
    const check = await checkAuthorizationRequest(deps.db, params);
    if (!check.ok) return 'show' in check ? show(req, res, next, check.show) : res.redirect(302, check.redirect);
    const { consentId, csrf } = await beginConsent(deps.db, check.request);
    setCookie(res, csrf);
    consentPage(res, { consentId, csrf, clientName: check.client.name, clientId: check.client.id, redirectUri: check.request.redirectUri, scopes: check.request.scopes });
  });

  r.post('/authorize', formBody(), async (req, res, next) => {
    const p = formParams(req);
    const cookie = parseCookies(req.headers.cookie ?? '')[COOKIE];
    if (!p.consent || !p.csrf || !cookie || cookie !== p.csrf) {
      return show(req, res, next, oauthError('access_denied', 'the consent form was not sent from the page this browser was shown (or its cookie expired); start again from the identity provider', 403));
    }
    const pending = await pendingConsent(deps.db, p.consent, p.csrf);
    if (!pending) return show(req, res, next, oauthError('invalid_request', 'this authorization request has expired or was already answered; start again from the identity provider'));
    const view = { consentId: p.consent, csrf: p.csrf, clientName: pending.client.name, clientId: pending.client.id, redirectUri: pending.request.redirectUri, scopes: pending.request.scopes };

    if (p.decision !== 'approve' && p.decision !== 'deny') return consentPage(res, { ...view, error: 'choose Approve or Deny' }, 400);
    let approvedBy = '';
    if (p.decision === 'approve') {
      const principal = p.credential ? await deps.auth.verify(p.credential) : undefined;
      if (!principal || !allows(principal.scopes, 'admin')) {
        const ip = req.ip ?? 'unknown';
        const wait = deps.auth.guard.blockedFor(ip);
        if (wait > 0) {
          res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
          return consentPage(res, { ...view, error: 'too many failed sign-ins from this address; wait a minute and try again' }, 429);
        }
        deps.auth.guard.fail(ip);
        return consentPage(res, { ...view, error: principal ? 'that credential is valid but has no admin scope' : 'that is not a valid admin token' }, 401);
      }
      approvedBy = `admin:${principal.name}`;
    }
    const answer = await answerConsent(deps.db, { consentId: p.consent, csrf: p.csrf, approve: p.decision === 'approve', approvedBy, requestId: req.id });
    if (!answer.ok) return show(req, res, next, oauthError('invalid_request', 'this authorization request has expired or was already answered; start again from the identity provider'));
    res.clearCookie(COOKIE, { path: '/oauth', httpOnly: true, sameSite: 'strict', secure: secure() });
    res.redirect(303, answer.redirect);
  });

  r.all('/authorize', (req, _res, next) => next(oauthError('invalid_request', `${req.method} is not allowed on /oauth/authorize`, 405, { Allow: 'GET, POST' })));
  return r;
}
