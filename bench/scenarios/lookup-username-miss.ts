/** GET /Users?filter=userName eq "x" for people who do not exist yet: the probe before every create. */
import { load } from '../lib/load.js';
import { q, scimBase, type Scenario } from '../lib/scenario.js';

export const lookupUsernameMiss: Scenario = {
  name: 'lookup-username-miss',
  shape: 'GET',
  at: 'each',
  interleaveSizes: true,
  async run(ctx) {
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${scimBase(ctx)}/Users?filter=${q(`userName eq "absent${n++}@bench.example.com"`)}` }) }],
    }, ctx.rec);
    return { ...r, connections: ctx.connections };
  },
};
