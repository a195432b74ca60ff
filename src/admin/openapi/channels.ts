/** Channels (src/admin/channels.ts): create and list in a team, read, change, archive. */
import {
  afterParam, bool, BAD_REQUEST, CONFLICT, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, queryParam,
  ref, str, type Paths, type Schema,
} from './common.js';

const channelType: Schema = { type: 'string', enum: ['O', 'P'] };
const team = pathParam('id', 'Team id.');
const id = pathParam('id', 'Channel id.');

export const paths: Paths = {
  '/teams/{id}/channels': {
    post: op('Channels', 'Create a channel in a team', {
      parameters: [team],
      body: object({ name: str, displayName: str, type: channelType, groupConstrained: bool, isDefault: bool }, ['type', 'groupConstrained', 'isDefault']),
      responses: { 201: json(ref('Channel'), 'The channel.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
    get: op('Channels', 'List the channels of a team by name', {
      parameters: [team, limitParam(), afterParam, queryParam('includeArchived', 'Include archived channels.', { type: 'boolean', default: false })],
      responses: { 200: json(page(ref('Channel')), 'A page of channels.'), ...BAD_REQUEST, ...NOT_FOUND },
    }),
  },
  '/channels/{id}': {
    get: op('Channels', 'Read a channel', { parameters: [id], responses: { 200: json(ref('Channel'), 'The channel.'), ...NOT_FOUND } }),
    patch: op('Channels', 'Change a channel', {
      parameters: [id],
      body: object({ displayName: str, type: channelType, groupConstrained: bool, isDefault: bool }, ['displayName', 'type', 'groupConstrained', 'isDefault']),
      responses: { 200: json(object({ channel: ref('Channel'), reconcile: nullable(ref('ReconcileStats')) }), 'The channel as changed.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
  '/channels/{id}/archive': {
    post: op('Channels', 'Archive a channel', {
      parameters: [id], responses: { 200: json(ref('Channel'), 'The archived channel.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
};
