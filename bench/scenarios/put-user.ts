/** PUT /Users/{id} with the whole user and a changed displayName (Okta's update). Spread over many users. */
import { load } from '../lib/load.js';
import { externalId, userBody, userName } from '../lib/seed.js';
import type { Scenario } from '../lib/scenario.js';

export const putUser: Scenario = {
  name: 'put-user',
  shape: 'PUT user',
  at: 'each',
  async run(ctx) {
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{
        method: 'PUT',
        setupRequest: (req) => {
          const k = n++;
          const i = (k * 7919) % ctx.fx.size;
          const body = { ...userBody(userName(i), externalId(i), i), displayName: `Bench User ${i} (${k})` };
          return { ...req, path: `/scim/v2/Users/${ctx.fx.userIds[i]}`, body: JSON.stringify(body) };
        },
      }],
    });
    return { ...r, connections: ctx.connections };
  },
};
