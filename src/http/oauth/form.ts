/**
 * Reading an OAuth request: an `application/x-www-form-urlencoded` body (RFC 6749 §3.2, Appendix B) read as text and
 * parsed by WHATWG URLSearchParams, each parameter at most once (§3.2: "MUST NOT be included more than once"), and
 * HTTP Basic client credentials (§2.3.1: each part form-urlencoded before base64).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { hasBody } from '../nul.js';
import { invalidClient, oauthError } from '../../oauth/errors.js';

/** OAuth requests are small (a client assertion is a few KB): anything larger is refused unread. */
export const FORM_LIMIT = 16 * 1024;
const FORM = 'application/x-www-form-urlencoded';

/** The body as text, refusing other media types before reading anything. */
export function formBody() {
  const text = express.text({ type: FORM, limit: FORM_LIMIT });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (hasBody(req.headers) && !req.is(FORM)) return next(oauthError('invalid_request', `the request body must be ${FORM}`));
    text(req, res, next);
  };
}

/** The parameters of the body, or an invalid_request AppError. */
export function formParams(req: Request): Record<string, string> {
  const body = typeof req.body === 'string' ? req.body : '';
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) {
    if (k in out) throw oauthError('invalid_request', `parameter ${k.slice(0, 40)} is given more than once`);
    if (v.includes('\u0000')) throw oauthError('invalid_request', `parameter ${k.slice(0, 40)} contains a NUL character`);
    // RFC 6749 §3.2: "Parameters sent without a value MUST be treated as if they were omitted".
    if (v !== '') out[k] = v;
  }
  return out;
}

/** RFC 6749 §2.3.1 Basic credentials, or undefined without an `Authorization: Basic` header. */
export function basicCredentials(req: Request): { id: string; secret: string } | undefined {
  const header = req.get('authorization');
  if (!header) return undefined;
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) {
    if (/^Basic\b/i.test(header)) throw invalidClient('the HTTP Basic credentials are malformed');
    return undefined;
  }
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('the HTTP Basic credentials are malformed');
  const part = (s: string) => {
    let v: string;
    try {
      v = decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw invalidClient('the HTTP Basic credentials are not form-urlencoded');
    }
    // As in the body (formParams): a NUL would reach the client_id lookup, which PostgreSQL refuses (a 500).
    if (v.includes('\u0000')) throw invalidClient('the HTTP Basic credentials contain a NUL character');
    return v;
  };
  const id = part(decoded.slice(0, colon));
  // As in the body (formParams): PostgreSQL refuses a NUL in a text value, so the client_id lookup would fail as a 500.
  if (id.includes('\u0000')) throw invalidClient('the HTTP Basic client_id contains a NUL character');
  return { id, secret: part(decoded.slice(colon + 1)) };
}
