/** A group-sync reconcile on demand (src/admin/reconcile.ts). */
import { PREVIEW_MAX_CHANGES } from '../../workspace/reconcile.js';
import { bool, BAD_REQUEST, json, NOT_FOUND, object, op, ref, str, type Paths, type Schema } from './common.js';

export const schemas: Record<string, Schema> = {
  ReconcilePreview: object({
    stats: ref('ReconcileStats'),
    changes: { type: 'array', items: ref('AuditEntry'), description: `The audit rows the reconcile would write, oldest first, at most ${PREVIEW_MAX_CHANGES} (the run's own \`reconcile\` row is left out).` },
    truncated: { ...bool, description: `More than ${PREVIEW_MAX_CHANGES} changes: the rest are not listed (stats counts them all).` },
    dryRun: { const: true },
  }),
};

export const paths: Paths = {
  '/reconcile': {
    post: op('Sync', 'Reconcile group-synced memberships: everywhere, or one team, channel or group', {
      body: object({
        readdRemoved: { ...bool, description: 'Also bring back memberships that people left or an admin removed.' },
        teamId: str, channelId: str, groupId: str,
        dryRun: { ...bool, description: 'Run it and roll it back: answer what it would change (ReconcilePreview), commit nothing (no membership, audit row or delivery).' },
      }, ['readdRemoved', 'teamId', 'channelId', 'groupId', 'dryRun']),
      responses: { 200: json({ oneOf: [ref('ReconcileStats'), ref('ReconcilePreview')] }, 'What changed (ReconcileStats), or with dryRun what would change (ReconcilePreview).'), ...BAD_REQUEST, ...NOT_FOUND },
    }),
  },
};
