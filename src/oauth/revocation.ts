/**
 * Token revocation (RFC 7009): a client ends one of its own access or refresh tokens, authenticating as at the token
 * endpoint. An unknown or foreign token is not an error (§2.2: "invalid tokens do not cause an error response").
 */
import { revokeTokenValue } from '../store/oauth-grants.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import type { OAuthDeps, OAuthRequest } from './context.js';

export async function revokeToken(deps: OAuthDeps, req: OAuthRequest): Promise<void> {
  const { client } = await authenticateClient(deps, req);
  const token = req.params.token;
  if (!token) throw oauthError('invalid_request', 'token is required');
  const hint = req.params.token_type_hint;
  if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') throw oauthError('unsupported_token_type', 'token_type_hint must be access_token or refresh_token');
  if (await revokeTokenValue(deps.db, client.id, token)) deps.log.info('oauth token revoked', { requestId: req.requestId, clientId: client.id });
}
