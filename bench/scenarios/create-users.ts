/** POST /Users with a new person each time (Entra's create body). Each request is one write transaction. */
import { randomBytes } from 'node:crypto';
import { load } from '../lib/load.js';
import { userBody } from '../lib/seed.js';
import { scimBase, type Scenario } from '../lib/scenario.js';

export const createUsers: Scenario = {
  name: 'create-users',
  shape: 'POST user',
  at: 'each',
  async run(ctx) {
    const run = randomBytes(3).toString('hex');
    let n = 0;
    const r = await load({
      url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration,
      requests: [{
        method: 'POST', path: `${scimBase(ctx)}/Users`,
        setupRequest: (req) => {
          const i = n++;
          return { ...req, body: JSON.stringify(userBody(`new-${run}-${i}@bench.example.com`, `new-${run}-${i}`, i)) };
        },
      }],
    });
    return { ...r, connections: ctx.connections };
  },
};
