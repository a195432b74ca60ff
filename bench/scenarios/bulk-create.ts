/**
 * 1,000 user creates as one SCIM /Bulk request against 1,000 single POSTs (over ctx.connections connections), in the
 * same run and on the same server, in alternating rounds (single, bulk, single, bulk, ...) so that a shift of the
 * machine's load touches both alike. The figure is people created per second; the median round is reported. A bulk
 * job runs its operations one after another (resources/bulk.ts), so what it saves is the HTTP round trips and the
 * per-request work in front of the handler, not database work.
 */
import { randomBytes } from 'node:crypto';
import { call, Recorder } from '../lib/load.js';
import { userBody } from '../lib/seed.js';
import type { Scenario } from '../lib/scenario.js';

const USERS = 1000;
const ROUNDS = 3;
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const bulkCreate: Scenario = {
  name: 'bulk-create',
  shape: 'POST user',
  at: 'own',
  async run(ctx) {
    const base = `${ctx.url}/scim/v2`;
    const rec = new Recorder();
    const single: number[] = [];
    const bulk: number[] = [];
    let unexpected = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const tag = `${randomBytes(3).toString('hex')}-${round}`;
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: ctx.connections }, async () => {
        while (next < USERS) {
          const i = next++;
          const r = await call(rec, ctx.token, 'POST', `${base}/Users`, userBody(`single-${tag}-${i}@bench.example.com`, `single-${tag}-${i}`, i));
          if (r.status !== 201) unexpected++;
        }
      }));
      single.push(USERS / ((performance.now() - t0) / 1000));

      const Operations = Array.from({ length: USERS }, (_, i) => ({
        method: 'POST', path: '/Users', bulkId: `u${i}`, data: userBody(`bulk-${tag}-${i}@bench.example.com`, `bulk-${tag}-${i}`, i),
      }));
      const t1 = performance.now();
      const r = await call(new Recorder(), ctx.token, 'POST', `${base}/Bulk`, { schemas: [BULK_REQUEST], Operations });
      bulk.push(USERS / ((performance.now() - t1) / 1000));
      if (r.status !== 200) unexpected += USERS;
      else unexpected += (r.body?.Operations ?? []).filter((o: { status: string }) => o.status !== '201').length;
    }
    const s = median(single);
    const b = median(bulk);
    return {
      ...rec.result(),
      connections: ctx.connections,
      note: `${USERS} creates, median of ${ROUNDS} alternating rounds: one /Bulk request ${Math.round(b)} users/s ` +
        `(rounds ${bulk.map(Math.round).join(', ')}); ${USERS} single POSTs over ${ctx.connections} connections ${Math.round(s)} users/s ` +
        `(rounds ${single.map(Math.round).join(', ')}); bulk/single ${(b / s).toFixed(2)}x` + (unexpected ? `; ${unexpected} unexpected statuses` : ''),
    };
  },
};
