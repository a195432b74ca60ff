/** SCIM groups and their links to teams and channels (src/admin/links.ts): Mattermost's group sync. */
import {
  afterParam, bool, BAD_REQUEST, CONFLICT, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, ref, str, time,
  type Paths, type Schema,
} from './common.js';

const flags = {
  autoAdd: { ...bool, description: 'Members of the group are added (default true).' },
  schemeAdmin: { ...bool, description: 'They are team or channel admins (default false).' },
  allowGuests: { ...bool, description: 'Guests of the group are added too (default false).' },
};
const link = (kind: 'team' | 'channel') => ({ groupId: str, [`${kind}Id`]: str, ...flags, createdAt: time, updatedAt: time });

export const schemas: Record<string, Schema> = {
  GroupLinks: object({
    id: str, externalId: nullable(str), displayName: str,
    teams: { type: 'array', items: object({ ...link('team'), teamName: str }) },
    channels: { type: 'array', items: object({ ...link('channel'), channelName: str, teamId: str, teamName: str }) },
  }),
};

const group = pathParam('groupId', 'Group id (the SCIM id).');

export const paths: Paths = {
  '/groups': {
    get: op('Groups', 'List SCIM groups with their links', {
      parameters: [limitParam(), afterParam],
      responses: { 200: json(page(ref('GroupLinks')), 'A page of groups by id.'), ...BAD_REQUEST },
    }),
  },
  '/groups/{groupId}': {
    get: op('Groups', 'Read a group and its links', { parameters: [group], responses: { 200: json(ref('GroupLinks'), 'The group.'), ...NOT_FOUND } }),
  },
};
for (const kind of ['team', 'channel'] as const) {
  const params = [group, pathParam('syncableId', `${kind === 'team' ? 'Team' : 'Channel'} id.`)];
  const result = object({ link: object(link(kind)), created: bool, changed: bool, reconcile: ref('ReconcileStats') });
  paths[`/groups/{groupId}/${kind}s/{syncableId}`] = {
    put: op('Groups', `Link a group to a ${kind} (or change the link), then sync that ${kind}`, {
      parameters: params,
      body: object(flags, Object.keys(flags)),
      responses: { 200: json(result, 'The link existed.'), 201: json(result, 'Linked.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
    delete: op('Groups', `Unlink a group from a ${kind}, then sync that ${kind}`, {
      parameters: params,
      responses: { 200: json(object({ reconcile: ref('ReconcileStats') }), 'Unlinked.'), ...NOT_FOUND },
    }),
  };
}
