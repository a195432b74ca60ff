/** GET /Users?filter=externalId eq "x": Okta's and some Entra mappings' match query. */
import { load } from '../lib/load.js';
import { externalId } from '../lib/seed.js';
import { q, type Scenario } from '../lib/scenario.js';

export const lookupExternalId: Scenario = {
  name: 'lookup-externalid',
  shape: 'GET',
  at: 'each',
  interleaveSizes: true,
  async run(ctx) {
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/scim/v2/Users?filter=${q(`externalId eq "${externalId((n++ * 7919) % ctx.fx.size)}"`)}` }) }],
    }, ctx.rec);
    return { ...r, connections: ctx.connections };
  },
};
