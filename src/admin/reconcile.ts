/**
 * Admin API: POST /reconcile {readdRemoved?, teamId?, channelId?, groupId?, dryRun?} → the counts of what changed;
 * with dryRun, `{stats, changes, truncated, dryRun: true}`: what it would change, nothing committed.
 */
import { Router } from 'express';
import { previewReconcile, runReconcile, type ReconcileInput } from '../workspace/reconcile.js';
import { badRequest } from '../workspace/errors.js';
import { bodyOf, ctxOf, type AdminDeps } from './http.js';

export function reconcileRouter(deps: AdminDeps): Router {
  const r = Router();
  r.post('/reconcile', async (req, res) => {
    const { dryRun, ...b } = bodyOf(req, ['readdRemoved', 'teamId', 'channelId', 'groupId', 'dryRun']);
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw badRequest('invalid_value', 'dryRun must be a boolean');
    const ctx = ctxOf(req, deps);
    res.json(dryRun ? await previewReconcile(ctx, b as ReconcileInput) : await runReconcile(ctx, b as ReconcileInput));
  });
  return r;
}
