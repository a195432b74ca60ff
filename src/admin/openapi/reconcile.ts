/** A group-sync reconcile on demand (src/admin/reconcile.ts). */
import { bool, BAD_REQUEST, json, NOT_FOUND, object, op, ref, str, type Paths } from './common.js';

export const paths: Paths = {
  '/reconcile': {
    post: op('Sync', 'Reconcile group-synced memberships: everywhere, or one team, channel or group', {
      body: object({
        readdRemoved: { ...bool, description: 'Also bring back memberships that people left or an admin removed.' },
        teamId: str, channelId: str, groupId: str,
      }, ['readdRemoved', 'teamId', 'channelId', 'groupId']),
      responses: { 200: json(ref('ReconcileStats'), 'What changed.'), ...BAD_REQUEST, ...NOT_FOUND },
    }),
  },
};
