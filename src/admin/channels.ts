/** Admin API: channels. POST/GET /teams/:id/channels, GET/PATCH /channels/:id, POST /channels/:id/archive. */
import { Router } from 'express';
import { channelOut } from '../workspace/representation.js';
import { archiveChannel, createChannel, listChannels, readChannel, updateChannel, type ChannelInput, type ChannelPatch } from '../workspace/channels.js';
import { bodyOf, boolQuery, ctxOf, limitOf, param, queryOf, type AdminDeps } from './http.js';

export function channelsRouter(deps: AdminDeps): Router {
  const r = Router();
  r.post('/teams/:id/channels', async (req, res) => {
    const b = bodyOf(req, ['name', 'displayName', 'type', 'groupConstrained', 'isDefault']);
    res.status(201).json(await createChannel(ctxOf(req, deps), param(req, 'id'), b as unknown as ChannelInput));
  });
  r.get('/teams/:id/channels', async (req, res) => {
    const after = queryOf(req, 'after');
    res.json(await listChannels(ctxOf(req, deps), param(req, 'id'), { limit: limitOf(req), ...(after ? { after } : {}), includeArchived: boolQuery(req, 'includeArchived') ?? false }));
  });
  r.get('/channels/:id', async (req, res) => {
    res.json(channelOut(await readChannel(deps.db, param(req, 'id'))));
  });
  r.patch('/channels/:id', async (req, res) => {
    const b = bodyOf(req, ['displayName', 'type', 'groupConstrained', 'isDefault']);
    res.json(await updateChannel(ctxOf(req, deps), param(req, 'id'), b as ChannelPatch));
  });
  r.post('/channels/:id/archive', async (req, res) => {
    bodyOf(req, []);
    res.json(await archiveChannel(ctxOf(req, deps), param(req, 'id')));
  });
  return r;
}
