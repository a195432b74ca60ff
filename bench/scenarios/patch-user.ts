/** PATCH /Users/{id} replacing displayName (Entra's attribute update). Spread over many users. */
import { load } from '../lib/load.js';
import { PATCH_OP, type Scenario } from '../lib/scenario.js';

export const patchUser: Scenario = {
  name: 'patch-user',
  shape: 'PATCH user',
  at: 'each',
  async run(ctx) {
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{
        method: 'PATCH',
        setupRequest: (req) => {
          const k = n++;
          const i = (k * 7919) % ctx.fx.size;
          const body = { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: `Bench User ${i} (${k})` }] };
          return { ...req, path: `/scim/v2/Users/${ctx.fx.userIds[i]}`, body: JSON.stringify(body) };
        },
      }],
    });
    return { ...r, connections: ctx.connections };
  },
};
