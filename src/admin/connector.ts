/**
 * Admin API: the Mattermost connector. GET /connector (reachable, version, token rights, outbox depth and age, parked
 * count, last success; `{enabled:false}` without MATTERMOST_URL), GET /connector/deliveries?state&after&limit (keyset
 * paged), POST /connector/deliveries/:id/retry and /discard (parked rows only), POST /connector/deliveries/retry-parked,
 * POST /connector/reconcile {dryRun?}. Everything but GET /connector is a 409 `connector_disabled` when it is off.
 */
import { Router, type Request } from 'express';
import { connectorCtx, type Connector } from '../connector/index.js';
import { discardDelivery, listDeliveries, retryAllParked, retryDelivery } from '../connector/deliveries.js';
import { MattermostFailure } from '../connector/mattermost-api.js';
import { reconcile } from '../connector/reconcile.js';
import { connectorStatus } from '../connector/status.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../log.js';
import { badRequest, conflict } from '../workspace/errors.js';
import { bodyOf, ctxOf, limitOf, param, queryOf, type AdminDeps } from './http.js';

/** Outbox ids are positive integers (a bigint sequence on PostgreSQL); 15 digits stay exact in a JS number. */
const ID = /^[1-9]\d{0,14}$/;

function deliveryId(req: Request): number {
  const raw = param(req, 'id');
  if (!ID.test(raw)) throw badRequest('invalid_id', 'a delivery id is a positive integer (see GET /admin/v1/connector/deliveries)');
  return Number(raw);
}

/**
 * A reconcile stops at an outage (Mattermost down, the token refused, a 429): a 502 (RFC 9110 §15.6.3, the upstream
 * failed) or a 503 with Retry-After for the rate limit. The failure carries Mattermost's status, which the generic
 * mapping would take for ours, so it is answered here, with the detail in the log only.
 */
async function upstream<T>(log: Logger, requestId: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof MattermostFailure)) throw err;
    log.warn('connector reconcile stopped', { requestId, error: err.message, status: err.status });
    if (err.kind === 'rate_limited') {
      throw new AppError({
        status: 503, code: 'mattermost_rate_limited', detail: 'Mattermost is rate limiting this server; retry later',
        headers: { 'Retry-After': String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000))) },
      });
    }
    throw AppError.workspace(502, 'mattermost_unavailable', `Mattermost ${err.status ? `answered ${err.status}` : 'did not answer'}; GET /admin/v1/connector says what is wrong`);
  }
}

export function connectorRouter(deps: AdminDeps): Router {
  const r = Router();
  const on = (): Connector => {
    if (!deps.connector) throw conflict('connector_disabled', 'the Mattermost connector is off: set MATTERMOST_URL and MATTERMOST_TOKEN and restart');
    return deps.connector;
  };

  r.get('/connector', async (_req, res) => {
    const c = deps.connector;
    if (!c) return void res.json({ enabled: false });
    res.json(await connectorStatus(c.ctx, c.worker.lastSuccessAt));
  });

  r.get('/connector/deliveries', async (req, res) => {
    on();
    const state = queryOf(req, 'state');
    if (state !== undefined && state !== 'pending' && state !== 'parked') throw badRequest('invalid_query', 'state must be "pending" or "parked"');
    const after = queryOf(req, 'after');
    if (after !== undefined && !ID.test(after)) throw badRequest('invalid_query', 'after must be a delivery id (the `next` of the previous page)');
    res.json(await listDeliveries(deps.db, { state, limit: limitOf(req, 100, 500), ...(after ? { afterId: Number(after) } : {}) }));
  });

  // Before /:id/retry in reading order only: the paths differ in length, so neither can match the other.
  r.post('/connector/deliveries/retry-parked', async (req, res) => {
    on();
    bodyOf(req, []);
    const { actor, requestId } = ctxOf(req, deps);
    res.json(await retryAllParked(deps.db, actor, requestId));
  });

  r.post('/connector/deliveries/:id/retry', async (req, res) => {
    on();
    const id = deliveryId(req);
    bodyOf(req, []);
    const { actor, requestId } = ctxOf(req, deps);
    res.json(await retryDelivery(deps.db, id, actor, requestId));
  });

  r.post('/connector/deliveries/:id/discard', async (req, res) => {
    on();
    const id = deliveryId(req);
    bodyOf(req, []);
    const { actor, requestId } = ctxOf(req, deps);
    res.json(await discardDelivery(deps.db, id, actor, requestId));
  });

  r.post('/connector/reconcile', async (req, res) => {
    const c = on();
    const b = bodyOf(req, ['dryRun']);
    if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean') throw badRequest('invalid_body', 'dryRun must be true or false');
    const { actor, requestId } = ctxOf(req, deps);
    // Its own client (a dry run must not share the worker's), reporting to the same metrics.
    const ctx = connectorCtx(deps.db, c.ctx.cfg, deps.log, { dryRun: b.dryRun === true, observe: (m, s, t) => { for (const f of c.events.request) f(m, s, t); } });
    res.json(await upstream(deps.log, req.id, () => reconcile(ctx, { actor, ...(requestId ? { requestId } : {}) })));
  });

  return r;
}
