/**
 * Walk every user with GET /Users?startIndex=k&count=100 (Entra account discovery, Okta imports). The pages are
 * shared out over the connections; the walk stops at the last page or after four times --duration.
 */
import { load } from '../lib/load.js';
import type { Scenario } from '../lib/scenario.js';

export const paging: Scenario = {
  name: 'paging',
  shape: 'GET',
  at: 'each',
  async run(ctx) {
    const total = ctx.fx.size + ctx.fx.spareIds.length;
    const pages = Math.ceil(total / 100);
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: Math.min(ctx.connections, pages), duration: ctx.duration * 4, amount: pages,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/scim/v2/Users?startIndex=${(n++ % pages) * 100 + 1}&count=100` }) }],
    });
    const done = r.requests >= pages;
    return {
      ...r,
      connections: Math.min(ctx.connections, pages),
      note: done ? `all ${total} users in ${pages} pages, ${r.seconds.toFixed(1)} s` : `stopped after ${r.requests} of ${pages} pages (${(ctx.duration * 4).toFixed(0)} s cap)`,
    };
  },
};
