/**
 * GET /healthz: the server's own middleware (request id, access log, security headers, metrics) and nothing else:
 * no auth, no SCIM, no database. Its ratio to bare express is the most any SCIM scenario could reach on this stack.
 */
import { load } from '../lib/load.js';
import type { Scenario } from '../lib/scenario.js';

export const stackFloor: Scenario = {
  name: 'stack-floor',
  shape: 'GET',
  at: 'largest',
  async run(ctx) {
    const r = await load({ url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration, requests: [{ method: 'GET', path: '/healthz' }] });
    return { ...r, connections: ctx.connections, note: 'GET /healthz: no auth, SCIM or database; the ceiling of every ratio above' };
  },
};
