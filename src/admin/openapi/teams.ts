/** Teams (src/admin/teams.ts): create, list, read, change, archive. */
import {
  afterParam, bool, BAD_REQUEST, CONFLICT, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, queryParam,
  ref, str, time, type Paths, type Schema,
} from './common.js';

const teamType: Schema = { type: 'string', enum: ['O', 'I'], description: 'O open (anyone may join), I invite only (Mattermost team types).' };

export const schemas: Record<string, Schema> = {
  Team: object({
    id: str, name: { ...str, description: 'URL name, unique, lower-case.' }, displayName: str, type: teamType,
    groupConstrained: { ...bool, description: 'Only members of linked groups may be members (Mattermost group-constrained teams).' },
    createdAt: time, updatedAt: time, archivedAt: nullable(time),
  }),
  Channel: object({
    id: str, teamId: str, name: str, displayName: str,
    type: { type: 'string', enum: ['O', 'P'], description: 'O public, P private.' },
    groupConstrained: bool, isDefault: { ...bool, description: 'New team members join it.' },
    createdAt: time, updatedAt: time, archivedAt: nullable(time),
  }),
};

const id = pathParam('id', 'Team id.');
const includeArchived = queryParam('includeArchived', 'Include archived teams.', { type: 'boolean', default: false });

export const paths: Paths = {
  '/teams': {
    post: op('Teams', 'Create a team (with its default channels)', {
      body: object({ name: str, displayName: str, type: teamType, groupConstrained: bool }, ['type', 'groupConstrained']),
      responses: { 201: json(object({ team: ref('Team'), channels: { type: 'array', items: ref('Channel') } }), 'The team and the channels made with it.'), ...BAD_REQUEST, ...CONFLICT },
    }),
    get: op('Teams', 'List teams by name', {
      parameters: [limitParam(), afterParam, includeArchived],
      responses: { 200: json(page(ref('Team')), 'A page of teams.'), ...BAD_REQUEST },
    }),
  },
  '/teams/{id}': {
    get: op('Teams', 'Read a team', { parameters: [id], responses: { 200: json(ref('Team'), 'The team.'), ...NOT_FOUND } }),
    patch: op('Teams', 'Change a team', {
      description: 'Turning groupConstrained on removes members no linked group grants (reported in `reconcile`).',
      parameters: [id],
      body: object({ displayName: str, type: teamType, groupConstrained: bool }, ['displayName', 'type', 'groupConstrained']),
      responses: { 200: json(object({ team: ref('Team'), reconcile: nullable(ref('ReconcileStats')) }), 'The team as changed.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
  '/teams/{id}/archive': {
    post: op('Teams', 'Archive a team (kept, with its history)', {
      parameters: [id], responses: { 200: json(ref('Team'), 'The archived team.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
};
