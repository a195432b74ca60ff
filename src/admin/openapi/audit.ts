/** The audit search (src/admin/audit.ts): "what did Entra change yesterday?". */
import { AUDIT_OPERATIONS } from '../../store/audit-entry.js';
import { afterParam, BAD_REQUEST, int, json, limitParam, nullable, object, op, page, queryParam, ref, str, time, type Paths, type Schema } from './common.js';

const instant = (what: string) => ({ type: 'string', description: `${what}: an RFC 3339 date-time with an offset (2026-12-01T09:30:00Z) or a date (its start in UTC).` });

export const schemas: Record<string, Schema> = {
  AuditEntry: object({
    id: { ...int, description: 'Increasing; the keyset of the pages.' },
    at: time,
    actor: { ...str, description: 'token:<SCIM token>, client:<OAuth client id>, admin:<admin token>, admin:cli:<os user>, system:schedule...' },
    requestId: nullable(str),
    operation: { type: 'string', enum: [...AUDIT_OPERATIONS] },
    resourceType: str,
    resourceId: { ...nullable(str), description: 'The resource; for a membership, the person.' },
    cause: nullable(str),
    before: { description: 'The resource before the change (JSON), or null.' },
    after: { description: 'The resource after the change (JSON), or null.' },
  }),
};

export const paths: Paths = {
  '/audit': {
    get: op('Audit', 'Search the audit trail, newest first', {
      description: 'Every change made by SCIM, the admin API, the CLI and the connector, written in the transaction of the change. A parameter the search does not take is a 400, never ignored.',
      parameters: [
        queryParam('since', 'From this instant (inclusive)', instant('From this instant, inclusive')),
        queryParam('until', 'Before this instant', instant('Before this instant')),
        queryParam('actor', 'Exactly this actor, or a prefix ending in * (token:*).'),
        queryParam('operation', `One or more operations, comma-separated: ${AUDIT_OPERATIONS.join(', ')}.`),
        queryParam('resourceType', 'User, Group, Team, Channel, TeamMember, ChannelMember, Link, Token, Client, Connector...'),
        queryParam('resourceId', 'Only rows about this resource (a user id for memberships).'),
        queryParam('requestId', 'Only rows written by this request (its X-Request-Id).'),
        queryParam('order', 'desc (newest first, the default) or asc.', { type: 'string', enum: ['desc', 'asc'], default: 'desc' }),
        limitParam(), afterParam,
      ],
      responses: { 200: json(page(ref('AuditEntry')), 'A page of audit entries.'), ...BAD_REQUEST },
    }),
  },
};
