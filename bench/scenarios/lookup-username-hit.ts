/** GET /Users?filter=userName eq "x" for people who exist: Entra's match query before every create or update. */
import { load } from '../lib/load.js';
import { userName } from '../lib/seed.js';
import { q, scimBase, type Scenario } from '../lib/scenario.js';

export const lookupUsernameHit: Scenario = {
  name: 'lookup-username-hit',
  shape: 'GET',
  at: 'each',
  interleaveSizes: true,
  async run(ctx) {
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{
        method: 'GET',
        // A stride through every seeded user, so the index, not a hot cache line, answers.
        setupRequest: (req) => ({ ...req, path: `${scimBase(ctx)}/Users?filter=${q(`userName eq "${userName((n++ * 7919) % ctx.fx.size)}"`)}` }),
      }],
    }, ctx.rec);
    return { ...r, connections: ctx.connections };
  },
};
