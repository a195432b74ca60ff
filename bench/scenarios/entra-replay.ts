/**
 * Entra ID's initial sync, replayed on an empty database as Entra sends it (../shared/research/clients.md E2, E3,
 * E9): for each user, a userName match query then a POST; then for each group, a displayName match query
 * (excludedAttributes=members), a POST without members, and member PATCHes ("Add", many members per op).
 * 8 workers share the queue, as Entra spreads a cycle over parallel calls. Full size: 10,000 users, 100 groups,
 * 20,000 memberships (--full, or --entra-scale 1); by default 1/20 of that, so the default run fits in 3 minutes.
 */
import { call, Recorder } from '../lib/load.js';
import { userBody } from '../lib/seed.js';
import { PATCH_OP, q, type Scenario } from '../lib/scenario.js';

const WORKERS = 8;
/** Members per PATCH; Entra batches many members per op but does not document how many. */
export const ENTRA_BATCH = 50;

export async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export const entraReplay: Scenario = {
  name: 'entra-replay',
  shape: 'POST user',
  at: 'own',
  async run(ctx) {
    const users = Math.max(10, Math.round(10_000 * ctx.entraScale));
    const groups = Math.max(1, Math.round(100 * ctx.entraScale));
    const perGroup = Math.min(200, users); // 20,000 memberships over 100 groups at full scale
    const memberships = groups * perGroup;
    const base = `${ctx.url}/scim/v2`;
    const rec = new Recorder();
    let unexpected = 0;
    const expect = (status: number, want: number) => { if (status !== want) unexpected++; };
    const ids: string[] = new Array(users);
    const t0 = performance.now();

    await pool([...Array(users).keys()], async (i) => {
      const name = `entra.user${i}@contoso.example`;
      const probe = await call(rec, ctx.token, 'GET', `${base}/Users?filter=${q(`userName eq "${name}"`)}`);
      expect(probe.status, 200);
      const made = await call(rec, ctx.token, 'POST', `${base}/Users`, { ...userBody(name, `entra-${i}`, i), meta: { resourceType: 'User' }, roles: [] });
      expect(made.status, 201);
      ids[i] = made.body?.id;
    });

    await pool([...Array(groups).keys()], async (g) => {
      const name = `Entra Group ${g}`;
      const probe = await call(rec, ctx.token, 'GET', `${base}/Groups?excludedAttributes=members&filter=${q(`displayName eq "${name}"`)}`);
      expect(probe.status, 200);
      const made = await call(rec, ctx.token, 'POST', `${base}/Groups`, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
        externalId: `entra-group-${g}`, displayName: name, meta: { resourceType: 'Group' },
      });
      expect(made.status, 201);
      const members = Array.from({ length: perGroup }, (_, j) => ids[(g * perGroup + j) % users]!);
      for (let k = 0; k < members.length; k += ENTRA_BATCH) {
        const value = members.slice(k, k + ENTRA_BATCH).map((value) => ({ $ref: null, value }));
        const r = await call(rec, ctx.token, 'PATCH', `${base}/Groups/${made.body?.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value }] });
        expect(r.status, 204);
      }
    });

    const seconds = (performance.now() - t0) / 1000;
    const objects = users + groups + memberships;
    const r = rec.result();
    return {
      ...r,
      connections: WORKERS,
      note: `${ctx.entraScale < 1 ? `SCALED to ${ctx.entraScale}: ` : ''}${users} users, ${groups} groups, ${memberships} memberships in ${seconds.toFixed(1)} s = ` +
        `${Math.round(objects / seconds)} objects/s (${r.requests} requests, ${ENTRA_BATCH} members per PATCH)` +
        (unexpected ? `; ${unexpected} unexpected statuses` : ''),
    };
  },
};
