/** The console's overview (src/admin/overview.ts, src/workspace/overview.ts). */
import { APPROACHING_RATE, QUARANTINE_RATE } from '../../workspace/overview.js';
import { BAD_REQUEST, int, json, nullable, object, op, ref, str, type Paths, type Schema } from './common.js';

export const schemas: Record<string, Schema> = {
  Overview: object({
    people: object({
      active: { ...int, description: 'Live and active.' },
      deactivated: { ...int, description: 'Live, active=false.' },
      deleted: { ...int, description: 'Deleted by SCIM (kept with their history; `cli user purge` removes them).' },
    }),
    groups: { ...int, description: 'Live groups.' },
    teams: { ...int, description: 'Teams not archived.' },
    channels: { ...int, description: 'Channels not archived, in teams not archived.' },
    connector: {
      oneOf: [
        object({ enabled: { const: false } }),
        object({
          enabled: { const: true },
          pending: { ...int, description: 'Deliveries waiting.' },
          parked: { ...int, description: 'Deliveries that gave up (retry or discard them: /connector/deliveries).' },
          lagSeconds: { ...nullable(int), description: 'Age of the oldest pending delivery; null when none is pending.' },
        }),
      ],
      description: 'The Mattermost connector\'s backlog, read from the outbox (Mattermost is not called: GET /connector checks it).',
    },
    clients: {
      type: 'array',
      description: 'SCIM requests per IdP credential over the last 24 hours, busiest first (at most 20).',
      items: object({
        actor: { ...nullable(str), description: 'token:<name> or client:<OAuth client>; null for requests whose credential was refused.' },
        total24h: int,
        failed24h: { ...int, description: 'Answered 4xx or 5xx.' },
        failureRate: { type: 'number', minimum: 0, maximum: 1 },
        warning: {
          type: 'string', enum: ['ok', 'approaching', 'quarantine_risk'],
          description: `Against Microsoft Entra's quarantine rule (more than ${QUARANTINE_RATE * 100}% of provisioning events failing, evaluated from 5,000 failures on): quarantine_risk above ${QUARANTINE_RATE * 100}%, approaching above ${APPROACHING_RATE * 100}%.`,
        },
      }),
    },
  }),
};

export const paths: Paths = {
  '/overview': {
    get: op('Overview', 'Counts, IdP request health and connector backlog, for the console', {
      description: 'One call for the console\'s first page. Counts come from the tables; request health from the request log (REQUEST_LOG_DAYS=0 leaves it empty).',
      responses: { 200: json(ref('Overview'), 'The overview.'), ...BAD_REQUEST },
    }),
  },
};
