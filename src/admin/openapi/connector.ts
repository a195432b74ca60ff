/** The Mattermost connector (src/admin/connector.ts): health, the outbox, parked deliveries, drift repair. */
import {
  bool, BAD_REQUEST, CONFLICT, int, json, limitParam, NOT_FOUND, nullable, object, op, page, pathParam, queryParam, ref,
  str, strings, time, type Paths, type Schema,
} from './common.js';

const DISABLED = { 409: json(ref('Error'), 'The connector is off (`connector_disabled`: set MATTERMOST_URL and MATTERMOST_TOKEN) or the delivery is not parked (`not_parked`).') };

export const schemas: Record<string, Schema> = {
  ConnectorStatus: {
    oneOf: [
      object({ enabled: { const: false } }),
      object({
        enabled: { const: true },
        mattermost: object({
          ok: bool, url: str, reachable: bool, version: nullable(str), tokenOwner: nullable(str), systemAdmin: bool,
          licensed: nullable(bool), guestAccounts: nullable(bool), problems: strings,
        }),
        outbox: object({ pending: int, inFlight: int, parked: int, oldestPendingAgeSeconds: nullable(int) }),
        lastSuccessAt: nullable(time),
        bindings: object({ users: int, teams: int, channels: int }),
        pausedUntil: { ...nullable(time), description: 'Deliveries wait until then after Mattermost rate-limited this server.' },
      }),
    ],
  },
  Delivery: object({
    id: { type: 'integer', minimum: 1 },
    entityKey: str,
    entity: nullable({ type: 'object', properties: { kind: { type: 'string', enum: ['user', 'team', 'channel', 'team_member', 'channel_member'] } }, required: ['kind'] }),
    operation: str,
    state: { type: 'string', enum: ['pending', 'parked'] },
    attempts: int, createdAt: time, availableAt: time,
    lastError: { ...nullable(str), description: "Why the last attempt failed (Mattermost's status and error id)." },
    requestId: nullable(str), leased: bool,
  }),
  ConnectorReconcile: object({
    dryRun: bool, checked: int, fixed: int, failed: int,
    differences: { type: 'array', items: object({ entity: str, changes: strings }) },
    errors: { type: 'array', items: object({ entity: str, changes: strings }) },
  }),
};

const id = pathParam('id', 'Delivery id.');

export const paths: Paths = {
  '/connector': {
    get: op('Connector', 'Connector health: can it reach Mattermost, with which rights, how far behind is it', {
      responses: { 200: json(ref('ConnectorStatus'), 'The status; `{enabled:false}` without MATTERMOST_URL.') },
    }),
  },
  '/connector/deliveries': {
    get: op('Connector', 'List waiting or parked deliveries, oldest first', {
      parameters: [queryParam('state', 'pending or parked.', { type: 'string', enum: ['pending', 'parked'] }), limitParam(500), queryParam('after', 'The `next` of the previous page.')],
      responses: { 200: json(page(ref('Delivery')), 'A page of deliveries.'), ...BAD_REQUEST, ...DISABLED },
    }),
  },
  '/connector/deliveries/retry-parked': {
    post: op('Connector', 'Put every parked delivery back in line', {
      responses: { 200: json(object({ retried: int }), 'How many went back.'), ...BAD_REQUEST, ...DISABLED },
    }),
  },
  '/connector/deliveries/{id}/retry': {
    post: op('Connector', 'Put a parked delivery back in line', { parameters: [id], responses: { 200: json(ref('Delivery'), 'The delivery, pending again.'), ...BAD_REQUEST, ...NOT_FOUND, ...DISABLED } }),
  },
  '/connector/deliveries/{id}/discard': {
    post: op('Connector', 'Drop a parked delivery for good', { parameters: [id], responses: { 200: json(ref('Delivery'), 'The dropped delivery.'), ...BAD_REQUEST, ...NOT_FOUND, ...DISABLED } }),
  },
  '/connector/reconcile': {
    post: op('Connector', 'Compare Mattermost with the store and repair drift', {
      body: object({ dryRun: { ...bool, description: 'Report the differences without changing Mattermost.' } }, ['dryRun']),
      responses: {
        200: json(ref('ConnectorReconcile'), 'What differed and what was fixed.'), ...BAD_REQUEST, ...DISABLED,
        502: json(ref('Error'), 'Mattermost failed or did not answer (`mattermost_unavailable`).'),
        503: json(ref('Error'), 'Mattermost is rate limiting this server (`Retry-After`).'),
      },
    }),
  },
};
