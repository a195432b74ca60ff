/** Manual team and channel memberships, and everything a person belongs to (src/admin/members.ts). */
import {
  afterParam, bool, BAD_REQUEST, CONFLICT, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, queryParam,
  ref, str, strings, time, type Paths, type Schema,
} from './common.js';

const member = {
  userId: str, active: { ...bool, description: 'False once removed (the row is kept as a tombstone).' },
  schemeAdmin: { ...bool, description: 'Team or channel admin.' },
  role: { type: 'string', enum: ['guest', 'admin', 'member'], description: 'The scheme role: guest for a guest (where the person is known), else admin or member.' },
  cause: {
    type: 'string', enum: ['group', 'default_channel', 'entitlement', 'import', 'manual'],
    description: 'Why the membership exists: group sync, joined with the team (default channel), an IdP entitlement, a bulk import, or by hand (an admin).',
  },
  addedBy: { ...str, description: 'Who added the membership: an audit actor, or group:<id> for group sync.' },
  createdAt: time, updatedAt: time, removedAt: nullable(time), removedBy: nullable(str),
};

export const schemas: Record<string, Schema> = {
  Member: object({ ...member, username: nullable(str) }, ['username']),
  MemberListing: object({
    ...member,
    username: { ...nullable(str), description: 'The workspace handle (null if the person was purged).' },
    userName: { ...nullable(str), description: 'The SCIM userName.' },
    userActive: { ...nullable(bool), description: 'Whether the person is active (SCIM active).' },
    userDeleted: { ...bool, description: 'Whether SCIM deleted the person.' },
  }),
  Memberships: object({
    userId: str, active: bool, deleted: bool,
    systemRole: { type: 'string', enum: ['member', 'admin', 'guest'] },
    roles: { ...strings, description: 'The IdP role values the system role comes from.' },
    entitlements: strings,
    teams: { type: 'array', items: object({ teamId: str, teamName: str, teamArchived: bool, ...member, username: nullable(str) }, ['username']) },
    channels: {
      type: 'array',
      items: object({ channelId: str, channelName: str, teamId: str, teamName: str, channelArchived: bool, ...member, username: nullable(str) }, ['username']),
    },
  }),
};

export const paths: Paths = {};
for (const kind of ['team', 'channel'] as const) {
  const Kind = kind === 'team' ? 'Team' : 'Channel';
  const id = pathParam('id', `${Kind} id.`);
  const listed = pathParam('id', kind === 'team' ? 'Team id or name.' : 'Channel id, or team/channel (URL-encoded: eng%2Fgeneral).');
  paths[`/${kind}s/{id}/members`] = {
    post: op('Memberships', `Add a person to a ${kind} by hand`, {
      description: `On a group-constrained ${kind} only members of a linked group may be added; a removed membership comes back.`,
      parameters: [id],
      body: object({ userId: str, schemeAdmin: bool }, ['schemeAdmin']),
      responses: {
        200: json(ref('MemberChange'), 'Already a member: nothing changed.'),
        201: json(ref('MemberChange'), 'Added.'),
        ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT,
      },
    }),
    get: op('Memberships', `List the members of a ${kind}`, {
      description: 'Who is in it: each person\'s userName, whether they are active, their role and why they are there (group sync or by hand). Removed memberships are listed too unless active=true. Unknown parameters are a 400.',
      parameters: [listed, limitParam(), afterParam, queryParam('active', 'Only live (true) or only removed (false) memberships.', { type: 'boolean' })],
      responses: { 200: json(page(ref('MemberListing')), 'A page of memberships by user id.'), ...BAD_REQUEST, ...NOT_FOUND },
    }),
  };
  paths[`/${kind}s/{id}/members/{userId}`] = {
    delete: op('Memberships', `Remove a person from a ${kind}`, {
      description: 'The membership is kept as a tombstone; a group sync does not add it back unless asked to (POST /reconcile readdRemoved).',
      parameters: [id, pathParam('userId', 'User id.'), queryParam('by', 'Who removed it: admin (default) or self (the person left).', { type: 'string', enum: ['admin', 'self'], default: 'admin' })],
      responses: {
        200: json(object({ member: ref('Member'), channelsLeft: { ...strings, description: 'Channels of the team the person left with it.' } }), 'Removed.'),
        ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT,
      },
    }),
  };
}
schemas.MemberChange = object({ member: ref('Member'), created: bool, defaultChannels: nullable(ref('ReconcileStats')) });

paths['/users/{id}/memberships'] = {
  get: op('Memberships', 'Every team and channel membership of a person, removed ones included', {
    parameters: [pathParam('id', 'User id.')],
    responses: { 200: json(ref('Memberships'), 'The memberships and the system role with the values it comes from.'), ...NOT_FOUND },
  }),
};
