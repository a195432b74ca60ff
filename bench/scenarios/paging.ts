/**
 * Walk every user with GET /Users?startIndex=k&count=100, as Okta's import and Entra's account discovery do: one
 * reader goes page after page. The pages are cut into one contiguous run per connection and each connection reads
 * its run in order, so 10 connections are 10 such readers at once (the server continues each from the last row it
 * served: src/scim/query/page-cursors.ts). A reader that starts mid-collection first reads, unrecorded, the page before its
 * run, as a reader that walked there from page 1 would have: otherwise the 1 % slowest pages, the p99, would be just
 * the ten cold OFFSET starts that no IdP makes. Stops at the last page or after four times --duration.
 */
import { call, Recorder } from '../lib/load.js';
import type { Scenario } from '../lib/scenario.js';

export const paging: Scenario = {
  name: 'paging',
  shape: 'GET',
  at: 'each',
  async run(ctx) {
    const total = ctx.fx.size + ctx.fx.spareIds.length;
    const pages = Math.ceil(total / 100);
    const readers = Math.min(ctx.connections, pages);
    const run = Math.ceil(pages / readers);
    const deadline = performance.now() + ctx.duration * 4 * 1000;
    const rec = new Recorder();
    let seen = 0;
    const unrecorded = new Recorder();
    await Promise.all(Array.from({ length: readers }, async (_, r) => {
      if (r > 0) await call(unrecorded, ctx.token, 'GET', `${ctx.url}/scim/v2/Users?startIndex=${(r * run - 1) * 100 + 1}&count=100`);
      for (let p = r * run; p < Math.min(pages, (r + 1) * run) && performance.now() < deadline; p++) {
        const res = await call(rec, ctx.token, 'GET', `${ctx.url}/scim/v2/Users?startIndex=${p * 100 + 1}&count=100`);
        seen += res.body?.Resources?.length ?? 0;
      }
    }));
    const r = rec.result();
    const done = r.requests >= pages;
    return {
      ...r,
      connections: readers,
      note: done
        ? `all ${seen} of ${total} users in ${pages} pages, ${r.seconds.toFixed(1)} s, ${readers} readers in order`
        : `stopped after ${r.requests} of ${pages} pages (${(ctx.duration * 4).toFixed(0)} s cap), ${readers} readers in order`,
    };
  },
};
