/** Admin API: POST /reconcile {readdRemoved?, teamId?, channelId?, groupId?} → the counts of what changed. */
import { Router } from 'express';
import { runReconcile, type ReconcileInput } from '../workspace/reconcile.js';
import { bodyOf, ctxOf, type AdminDeps } from './http.js';

export function reconcileRouter(deps: AdminDeps): Router {
  const r = Router();
  r.post('/reconcile', async (req, res) => {
    const b = bodyOf(req, ['readdRemoved', 'teamId', 'channelId', 'groupId']);
    res.json(await runReconcile(ctxOf(req, deps), b as ReconcileInput));
  });
  return r;
}
