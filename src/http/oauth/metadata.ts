/**
 * Authorization server metadata (RFC 8414 §2, §3): where the endpoints are and what they accept, at
 * /.well-known/oauth-authorization-server. The issuer is PUBLIC_URL without its /scim/v2 (for an issuer with a path,
 * §3 puts the well-known segment before that path: a proxy that adds a prefix routes that URL here too).
 */
import type { Request, Response } from 'express';
import { SCOPES } from '../../store/scopes.js';
import { GRANT_TYPES } from '../../oauth/token-grants.js';
import { ASSERTION_ALGORITHMS } from '../../oauth/assertion.js';

export const issuerOf = (publicUrl: string): string => publicUrl.replace(/\/scim\/v2$/, '');

export function metadataHandler(publicUrl: () => string) {
  return (_req: Request, res: Response): void => {
    const issuer = issuerOf(publicUrl());
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      grant_types_supported: GRANT_TYPES,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256', 'plain'],
      // private_key_jwt is the registered name closest to what federated clients do (RFC 7523 §2.2 assertions);
      // their keys are the issuer's, registered with the client, not the client's own.
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      scopes_supported: SCOPES,
      service_documentation: 'https://datatracker.ietf.org/doc/html/rfc6749',
    });
  };
}
