/**
 * OAuth errors (RFC 6749 §5.2): an AppError whose `code` is the RFC's `error` value and whose detail is its
 * `error_description`; the OAuth mount renders them as `{"error","error_description"}` (http/errors.ts).
 */
import { AppError } from '../errors/app-error.js';

export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope'
  | 'access_denied' | 'unsupported_response_type' | 'server_error' | 'temporarily_unavailable' | 'unsupported_token_type';

export const OAUTH_ERROR_CODES: ReadonlySet<string> = new Set<OAuthErrorCode>([
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'access_denied', 'unsupported_response_type', 'server_error', 'temporarily_unavailable', 'unsupported_token_type',
]);

export function oauthError(code: OAuthErrorCode, description: string, status = 400, headers?: Record<string, string>): AppError {
  return new AppError({ status, code, scimType: null, detail: description, ...(headers ? { headers } : {}) });
}

/**
 * invalid_client: 401 with a challenge for the scheme the client tried when it used the Authorization header
 * (RFC 6749 §5.2), else 400... which Entra and Okta would read as a bad request rather than bad credentials, so
 * this server answers 401 either way (the RFC allows 401 in both cases).
 */
export const invalidClient = (description: string): AppError =>
  oauthError('invalid_client', description, 401, { 'WWW-Authenticate': 'Basic realm="oauth", charset="UTF-8"' });
