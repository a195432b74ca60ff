/**
 * OAuth clients (src/admin/clients.ts): what Entra's gallery app or Okta uses to get tokens from /oauth/token
 * (RFC 6749 §4.4 client credentials, RFC 7523 assertions for workload identity federation, §4.1 for Okta's code flow).
 */
import { bool, BAD_REQUEST, CONFLICT, json, NOT_FOUND, nullable, object, op, pathParam, queryParam, ref, str, strings, time, type Paths, type Schema } from './common.js';

const federation = object({ issuer: str, subject: str, audience: str, jwksUrl: str });
const secretTtl = { type: 'string', description: 'How long a secret lives: 1d to 3y (365d by default).', examples: ['365d'] };
const secretValue = object({ id: str, value: { ...str, description: 'Shown in this answer only.' }, expires: time });

export const schemas: Record<string, Schema> = {
  Client: object({
    id: str, name: str, scope: { ...str, description: 'Space-separated scopes.' },
    kind: { type: 'string', enum: ['secret', 'federated'] },
    grantTypes: strings, federation, redirectUris: strings, created: time, revoked: nullable(time),
    secrets: { type: 'array', items: object({ id: str, created: time, expires: time, revoked: nullable(time), state: { type: 'string', enum: ['live', 'expired', 'revoked'] } }) },
  }, ['federation']),
};

const id = pathParam('id', 'Client id.');
const show = json(ref('Client'), 'The client.');

export const paths: Paths = {
  '/clients': {
    post: op('OAuth clients', 'Register a client (with a first secret, unless federated)', {
      body: object({
        name: str, scope: { anyOf: [str, strings] }, secretTtl,
        federation: { ...object({ issuer: str, subject: str, audience: str, jwksUrl: str }, ['audience', 'jwksUrl']), description: 'Workload identity federation: trust tokens this issuer signs for this subject.' },
        redirectUris: { ...strings, description: 'For the authorization-code flow (Okta).' },
      }, ['scope', 'secretTtl', 'federation', 'redirectUris']),
      responses: {
        201: json(ref('ClientRegistration'), 'The client, its first secret (this once; `Cache-Control: no-store`) and the URLs to give the IdP.'),
        ...BAD_REQUEST, ...CONFLICT,
      },
    }),
    get: op('OAuth clients', 'List clients', { responses: { 200: json(object({ clients: { type: 'array', items: ref('Client') } }), 'Every client, revoked ones too.') } }),
  },
  '/clients/{id}': {
    get: op('OAuth clients', 'Read a client', { parameters: [id], responses: { 200: show, ...NOT_FOUND } }),
    delete: op('OAuth clients', 'Revoke a client and every token it holds', { parameters: [id], responses: { 200: show, ...NOT_FOUND } }),
  },
  '/clients/{id}/secrets': {
    post: op('OAuth clients', 'Add a secret (rotation: add, switch the IdP over, revoke the old one)', {
      parameters: [id], body: object({ secretTtl }, ['secretTtl']),
      responses: { 201: json(secretValue, 'The secret, this once (`Cache-Control: no-store`).'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
  '/clients/{id}/secrets/{secretId}': {
    delete: op('OAuth clients', 'Revoke a secret', {
      parameters: [id, pathParam('secretId', 'Secret id.'), queryParam('tokens', 'Also revoke the tokens issued with it.', { ...bool, default: false })],
      responses: { 200: show, ...BAD_REQUEST, ...NOT_FOUND },
    }),
  },
};

/** The registration answer: the client view plus the one-time secret and the endpoints. */
const client = schemas.Client as { properties: Record<string, Schema>; required: string[] };
schemas.ClientRegistration = object({
  ...client.properties,
  secret: secretValue, tokenEndpoint: str, authorizationEndpoint: str, scimEndpoint: str,
}, ['federation', 'secret', 'authorizationEndpoint']);
