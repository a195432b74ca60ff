/**
 * The connector against Mattermost's rate limiter (server/channels/app/ratelimit.go: a GCRA bucket per client address,
 * answering 429 with Retry-After and X-RateLimit-* headers), on each store: a burst of people far above the limit all
 * arrive, and the connector pauses for Retry-After instead of hammering. Apart from the other fault scenarios
 * (connector-faults.test.ts) because it is the slow one: 120-odd requests at 20 a second.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stores } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { assertMirrors, drained, parked, startRig, type ConnectorRig } from '../helpers/connector.ts';
import { accountsMade, assertOneAccountPerEmail } from '../helpers/entra-burst.ts';

// The stores run side by side (each with its own fake and limiter): the test is mostly waiting out pauses.
describe('connector under Mattermost\'s rate limit', { concurrency: true }, () => {
for (const store of stores()) {
  describe(`${store}`, { timeout: 60_000 }, () => {
    let rig: ConnectorRig;
    before(async () => { rig = await startRig(store); });
    after(async () => rig?.stop());

    test('a 429 storm (20/s, burst 5) with 60 people: all arrive, paced by the limiter\'s headers, and Retry-After is honoured', async () => {
      const ws = workspace(rig.server);
      rig.mm.faults.rateLimit({ perSec: 20, burst: 5 });
      let sent = 0;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (sent < 60) {
          sent++;
          await ws.user();
        }
      }));
      await drained(rig.sql, 45_000);
      assert.deepEqual(await parked(rig.sql), [], 'nothing parked');
      await assertMirrors(rig.sql, rig.mm);
      await assertOneAccountPerEmail(rig.sql, rig.mm);
      assert.equal(accountsMade(rig.mm), 60);
      const limited = rig.mm.requests.filter((r) => r.status === 429);
      // The connector reads X-RateLimit-Remaining and waits when the bucket is empty, so a 429 is met only by requests
      // that raced each other (up to 4 in flight) past the last token: fewer refusals than accounts made, never a
      // storm of retries (without the headers every request beyond the burst would be refused once at least).
      assert.ok(limited.length < 60, `fewer 429s (${limited.length}) than accounts made`);
      // The fake answers Retry-After in whole seconds, rounded up (>= 1 s). Once the connector has read it, it sends
      // nothing until the pause is over; only requests already on their way when the first 429 was answered can
      // still be refused, and at most MATTERMOST_CONCURRENCY (4) deliveries have one on its way. So 429s come in
      // clusters of at most 4, and in the middle of a pause (350 ms of slack either side for a loaded machine (CI saw +206 ms);
      // no latency is injected, so a request in flight arrives within milliseconds) nothing arrives at all.
      const CONCURRENCY = 4;
      const clusters: number[][] = [];
      for (const r of limited) {
        const last = clusters[clusters.length - 1];
        if (last && r.at - last[0]! < 1000) last.push(r.at);
        else clusters.push([r.at]);
      }
      for (const c of clusters) assert.ok(c.length <= CONCURRENCY, `a pause saw ${c.length} 429s: ${c.map((t) => t - c[0]!).join(',')} ms`);
      for (const c of clusters) {
        const during = rig.mm.requests.filter((r) => r.at > c[0]! + 350 && r.at < c[0]! + 750);
        if (during.length) console.log(rig.mm.requests.filter((r) => r.at > c[0]! - 300 && r.at < c[0]! + 1300).map((r) => `${r.method} ${r.path} ${r.status} +${r.at - c[0]!}`).join('\n'));
        assert.deepEqual(during.map((r) => `${r.method} ${r.path} +${r.at - c[0]!}ms`), [], 'nothing sent in the middle of a Retry-After pause');
      }
      console.log(`# 429 storm [${store}]: ${rig.mm.requests.length} requests, ${limited.length} × 429 in ${clusters.length} pauses`);
    });

  });
}
});
