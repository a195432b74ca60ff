/**
 * Admin API: OAuth clients (src/oauth/clients.ts). POST/GET /clients, GET/DELETE /clients/:id,
 * POST /clients/:id/secrets, DELETE /clients/:id/secrets/:secretId[?tokens=true]. A secret is in the answer of the
 * request that made it and nowhere else (`Cache-Control: no-store` on those answers).
 */
import { Router, type Response } from 'express';
import { addSecret, clientView, listClients, registerClient, revokeClient, revokeSecret, showClient, type ClientSpec } from '../oauth/clients.js';
import { issuerOf } from '../http/oauth/metadata.js';
import { bodyOf, boolQuery, ctxOf, param, type AdminDeps } from './http.js';
import { badRequest } from '../workspace/errors.js';

export interface ClientsDeps extends AdminDeps { publicUrl: () => string }

const str = (v: unknown, field: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest('invalid_body', `${field} must be a string`);
  return v;
};

const secretOut = (s: { id: string; value: string; expiresAt: number }) => ({ id: s.id, value: s.value, expires: new Date(s.expiresAt).toISOString() });

function noStore(res: Response): Response {
  res.setHeader('Cache-Control', 'no-store');
  return res;
}

export function clientsRouter(deps: ClientsDeps): Router {
  const r = Router();
  const actor = (req: Parameters<typeof ctxOf>[0]) => ctxOf(req, deps).actor;
  r.post('/clients', async (req, res) => {
    const b = bodyOf(req, ['name', 'scope', 'secretTtl', 'federation', 'redirectUris']);
    const fed = b.federation;
    if (fed !== undefined && (fed === null || typeof fed !== 'object' || Array.isArray(fed))) throw badRequest('invalid_body', 'federation must be an object {issuer, subject, audience, jwksUrl}');
    if (b.redirectUris !== undefined && (!Array.isArray(b.redirectUris) || b.redirectUris.some((u) => typeof u !== 'string'))) throw badRequest('invalid_body', 'redirectUris must be a list of strings');
    if (b.scope !== undefined && typeof b.scope !== 'string' && !(Array.isArray(b.scope) && b.scope.every((s) => typeof s === 'string'))) throw badRequest('invalid_body', 'scope must be a string or a list of strings');
    const spec: ClientSpec = {
      name: str(b.name, 'name') ?? '',
      scope: b.scope as ClientSpec['scope'],
      secretTtl: str(b.secretTtl, 'secretTtl'),
      federation: fed as ClientSpec['federation'],
      redirectUris: b.redirectUris as string[] | undefined,
    };
    const { client, secret } = await registerClient(deps.db, spec, actor(req));
    const issuer = issuerOf(deps.publicUrl());
    noStore(res).status(201).json({
      ...clientView(client, secret ? [{ id: secret.id, createdAt: client.createdAt, expiresAt: secret.expiresAt, revokedAt: null }] : []),
      ...(secret ? { secret: secretOut(secret) } : {}),
      tokenEndpoint: `${issuer}/oauth/token`,
      ...(client.redirectUris.length ? { authorizationEndpoint: `${issuer}/oauth/authorize` } : {}),
      scimEndpoint: deps.publicUrl(),
    });
  });
  r.get('/clients', async (_req, res) => {
    res.json({ clients: await listClients(deps.db) });
  });
  r.get('/clients/:id', async (req, res) => {
    res.json(await showClient(deps.db, param(req, 'id')));
  });
  r.delete('/clients/:id', async (req, res) => {
    await revokeClient(deps.db, param(req, 'id'), actor(req));
    res.json(await showClient(deps.db, param(req, 'id')));
  });
  r.post('/clients/:id/secrets', async (req, res) => {
    const b = bodyOf(req, ['secretTtl']);
    const secret = await addSecret(deps.db, param(req, 'id'), str(b.secretTtl, 'secretTtl'), actor(req));
    noStore(res).status(201).json(secretOut(secret));
  });
  r.delete('/clients/:id/secrets/:secretId', async (req, res) => {
    await revokeSecret(deps.db, param(req, 'id'), param(req, 'secretId'), boolQuery(req, 'tokens') ?? false, actor(req));
    res.json(await showClient(deps.db, param(req, 'id')));
  });
  return r;
}
