/** The people search and one person's view (src/admin/users.ts): "who is in this team?", "show me this person". */
import {
  afterParam, bool, BAD_REQUEST, CONFLICT, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, queryParam,
  ref, str, strings, time, type Paths, type Schema,
} from './common.js';
import { schemas as memberSchemas } from './members.js';

const person = {
  id: str,
  userName: { ...str, description: 'The SCIM userName.' },
  username: { ...str, description: 'The workspace handle derived from it.' },
  externalId: nullable(str),
  displayName: nullable(str),
  email: { ...nullable(str), description: 'The primary email, lower-cased.' },
  active: { ...bool, description: 'SCIM active (false once deactivated, and for a deleted person).' },
  deleted: { ...bool, description: 'SCIM deleted the person: hidden from SCIM, record and history kept.' },
  deletedAt: nullable(time),
  systemRole: { type: 'string', enum: ['member', 'admin', 'guest'] },
  created: time,
  lastModified: time,
};

export const schemas: Record<string, Schema> = {
  Person: object(person),
  PersonView: object({
    user: object({
      ...person,
      roles: { ...strings, description: 'The IdP role values the system role comes from.' },
      entitlements: strings,
    }),
    memberships: object({
      // The same items as GET /users/{id}/memberships answers.
      teams: (memberSchemas.Memberships as Schema & { properties: Record<string, Schema> }).properties.teams!,
      channels: (memberSchemas.Memberships as Schema & { properties: Record<string, Schema> }).properties.channels!,
      groups: {
        type: 'array',
        items: object({ groupId: str, externalId: nullable(str), displayName: str, since: { ...time, description: 'When the person joined the group.' } }),
      },
    }),
    audit: { type: 'array', items: ref('AuditEntry'), description: 'The last 20 changes about the person and their memberships, newest first.' },
  }),
};

export const paths: Paths = {
  '/users': {
    get: op('People', 'Search people: who is in this team, channel or group', {
      description: 'By userName, keyset-paged. Deleted people only with deleted=true. A team, channel or group that does not exist is a 400, '
        + 'and so is a parameter the search does not take.',
      parameters: [
        queryParam('active', 'Only active (true) or only deactivated (false) people.', { type: 'boolean' }),
        queryParam('deleted', 'Only people SCIM deleted (true), or only those it did not (false, the default).', { type: 'boolean', default: false }),
        queryParam('team', 'Only live members of this team (id or name).'),
        queryParam('channel', 'Only live members of this channel (id, or team/channel).'),
        queryParam('group', 'Only members of this live group (id or externalId).'),
        queryParam('q', 'A substring of the userName, displayName or email, case-insensitive, 1 to 100 characters; a trailing * makes it a prefix.', { type: 'string', minLength: 1, maxLength: 101 }),
        limitParam(), afterParam,
      ],
      responses: { 200: json(page(ref('Person')), 'A page of people by userName.'), ...BAD_REQUEST },
    }),
  },
  '/users/{key}': {
    get: op('People', 'One person, with their memberships and last changes', {
      description: 'Named by id, externalId or userName (deleted people too), or only one way with a prefix: id:<id>, externalId:<value>, userName:<value>. '
        + 'A key that names different people is refused with 409 (code ambiguous), listing how to name each.',
      parameters: [pathParam('key', 'id, externalId or userName, optionally prefixed id:, externalId: or userName:.')],
      responses: { 200: json(ref('PersonView'), 'The person, every team, channel and group membership, and the last 20 audit rows about them.'), ...BAD_REQUEST, ...NOT_FOUND, ...CONFLICT },
    }),
  },
};
