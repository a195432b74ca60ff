/**
 * Entra's initial sync with the Mattermost connector on (only with --connector): on an empty database, the people
 * (userName probe, POST), the groups (displayName probe, POST without members), an admin links each group to a team
 * and to a channel of its own over the admin API, then the members arrive as group PATCH Add (50 per request, as in
 * entra-replay). Then the bench waits until the outbox is empty and the Mattermost fake holds every person and
 * membership the store has. The links are made before the members arrive, so every member PATCH also runs the team
 * and channel sync and queues its team_add and channel_add rows, as it would for a group linked before Entra's cycle.
 *
 * Figures: the SCIM phase's time and request rate; the drain (from the last SCIM answer until nothing is pending);
 * deliveries/s and Mattermost requests/s over the deliveries; and the lag of each delivery, from the change's commit
 * (the earliest audit row of the request that queued it) to its `connector_deliver` audit row. Under a rate limit the
 * floor is Mattermost's: the requests sent divided by the configured rate, which the lag is reported against.
 */
import type { Knex } from 'knex';
import { openDb } from '../../src/store/db.js';
import { call, Recorder } from '../lib/load.js';
import { userBody } from '../lib/seed.js';
import { PATCH_OP, q, type Scenario } from '../lib/scenario.js';
import { ENTRA_BATCH, pool } from './entra-replay.js';

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0);
const s1 = (ms: number) => (ms / 1000).toFixed(1);

/** Pending rows (parked ones no longer wait) and parked rows. */
async function outboxLeft(db: Knex): Promise<{ pending: number; parked: number }> {
  const rows = (await db('outbox').select('state').count({ n: '*' }).groupBy('state')) as { state: string; n: number | string }[];
  const by = Object.fromEntries(rows.map((r) => [r.state as string, Number(r.n)]));
  return { pending: by.pending ?? 0, parked: by.parked ?? 0 };
}

export const mattermostInitialSync: Scenario = {
  name: 'mattermost-initial-sync',
  shape: 'POST user',
  at: 'own',
  needsConnector: true,
  async run(ctx) {
    const c = ctx.connector;
    if (!c || !ctx.dbUrl) throw new Error('mattermost-initial-sync needs --connector');
    const users = Math.max(10, Math.round(10_000 * ctx.entraScale));
    const groups = Math.max(1, Math.round(100 * ctx.entraScale));
    const perGroup = Math.min(200, users);
    const teams = Math.max(1, Math.round(groups / 10));
    const base = `${ctx.url}/scim/v2`;
    const admin = `${ctx.url}/admin/v1`;
    const rec = new Recorder();
    const adminRec = new Recorder();
    let unexpected = 0;
    const expect = (status: number, ...want: number[]) => { if (!want.includes(status)) unexpected++; };
    const ids: string[] = new Array(users);
    const groupIds: string[] = new Array(groups);
    const mmBefore = await c.mm.stats();
    const t0 = performance.now();

    await pool([...Array(users).keys()], async (i) => {
      const name = `entra.user${i}@contoso.example`;
      expect((await call(rec, ctx.token, 'GET', `${base}/Users?filter=${q(`userName eq "${name}"`)}`)).status, 200);
      const made = await call(rec, ctx.token, 'POST', `${base}/Users`, { ...userBody(name, `entra-${i}`, i), meta: { resourceType: 'User' }, roles: [] });
      expect(made.status, 201);
      ids[i] = made.body?.id;
    });
    await pool([...Array(groups).keys()], async (g) => {
      const name = `Entra Group ${g}`;
      expect((await call(rec, ctx.token, 'GET', `${base}/Groups?excludedAttributes=members&filter=${q(`displayName eq "${name}"`)}`)).status, 200);
      const made = await call(rec, ctx.token, 'POST', `${base}/Groups`, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], externalId: `entra-group-${g}`, displayName: name, meta: { resourceType: 'Group' },
      });
      expect(made.status, 201);
      groupIds[g] = made.body?.id;
    });

    // The administrator's part: teams, a channel per group, and the links (autoAdd), one request at a time.
    const tAdmin = performance.now();
    const teamIds: string[] = [];
    for (let t = 0; t < teams; t++) {
      const r = await call(adminRec, c.adminToken, 'POST', `${admin}/teams`, { name: `entra-team-${t}`, displayName: `Entra Team ${t}` });
      expect(r.status, 201);
      teamIds.push(r.body?.team?.id);
    }
    for (let g = 0; g < groups; g++) {
      const team = teamIds[g % teams]!;
      const ch = await call(adminRec, c.adminToken, 'POST', `${admin}/teams/${team}/channels`, { name: `entra-group-${g}`, displayName: `Entra Group ${g}` });
      expect(ch.status, 201);
      expect((await call(adminRec, c.adminToken, 'PUT', `${admin}/groups/${groupIds[g]}/teams/${team}`, { autoAdd: true })).status, 200, 201);
      expect((await call(adminRec, c.adminToken, 'PUT', `${admin}/groups/${groupIds[g]}/channels/${ch.body?.id}`, { autoAdd: true })).status, 200, 201);
    }
    const adminMs = performance.now() - tAdmin;

    await pool([...Array(groups).keys()], async (g) => {
      const members = Array.from({ length: perGroup }, (_, j) => ids[(g * perGroup + j) % users]!);
      for (let k = 0; k < members.length; k += ENTRA_BATCH) {
        const value = members.slice(k, k + ENTRA_BATCH).map((v) => ({ $ref: null, value: v }));
        expect((await call(rec, ctx.token, 'PATCH', `${base}/Groups/${groupIds[g]}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value }] })).status, 204);
      }
    });
    const scimMs = performance.now() - t0;
    const scimEndEpoch = Date.now();

    const db = openDb({ url: ctx.dbUrl, sqliteSynchronous: 'NORMAL' });
    try {
      const deadline = Date.now() + c.drainTimeoutS * 1000;
      let left = await outboxLeft(db);
      const peakPending = left.pending;
      while (left.pending > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        left = await outboxLeft(db);
      }
      const drainedEpoch = Date.now();
      const drained = left.pending === 0;
      const drainMs = drainedEpoch - scimEndEpoch;

      // What Mattermost should hold: every live person, and the store's active team and channel memberships. The
      // fake also puts people in a team's default channels (town-square, off-topic) when they join it, as
      // Mattermost does, which the store may or may not list: the fake's channel count is at least the store's.
      const count = async (table: string) => Number((await db(table).whereNull('removed_at').count({ n: '*' }))[0]!.n);
      const want = { users, teamMembers: await count('team_members'), channelMembers: await count('channel_members') };
      const mm = await c.mm.stats();
      const have = { users: mm.users - mmBefore.users, teamMembers: mm.teamMembers - mmBefore.teamMembers, channelMembers: mm.channelMembers - mmBefore.channelMembers };
      const complete = drained && have.users === want.users && have.teamMembers >= want.teamMembers && have.channelMembers >= want.channelMembers;

      // Lag per delivery: its audit row's time minus the earliest audit row of the request that queued its head.
      const delivered = await db('audit_log').where({ operation: 'connector_deliver' }).select('at', 'request_id');
      const firsts = (await db('audit_log').whereNot({ actor: 'system:connector' }).whereNotNull('request_id')
        .select('request_id').min({ at: 'at' }).groupBy('request_id')) as { request_id: string; at: number | string }[];
      const origins = new Map(firsts.map((r) => [r.request_id, Number(r.at)]));
      const lags = delivered.flatMap((d) => (origins.has(d.request_id) ? [Number(d.at) - origins.get(d.request_id)!] : [])).sort((a, b) => a - b);
      const deliverAts = delivered.map((d) => Number(d.at)).sort((a, b) => a - b);
      const deliverSpanS = deliverAts.length > 1 ? (deliverAts.at(-1)! - deliverAts[0]!) / 1000 : 0;
      const mmRequests = mm.requests - mmBefore.requests;
      const limited = (mm.byStatus['429'] ?? 0) - (mmBefore.byStatus['429'] ?? 0);
      const mmSpanS = mm.lastRequestAt && mm.firstRequestAt ? (mm.lastRequestAt - Math.max(mm.firstRequestAt, mmBefore.lastRequestAt ?? 0)) / 1000 : 0;
      const mmRps = mmSpanS > 0 ? mmRequests / mmSpanS : 0;
      // The configured rate: the lower of our own pacing (MATTERMOST_MAX_RPS) and Mattermost's limit.
      // Mattermost's limiter lets MaxBurst + 1 through at once (fakes/mattermost/faults.ts); our own pacing has no burst.
      const [mmPerSec, mmBurst] = c.mmRateLimit ? c.mmRateLimit.split(',').map(Number) as [number, number] : [Infinity, 0];
      const limitRps = Math.min(c.maxRps || Infinity, mmPerSec);
      const burst = c.maxRps && c.maxRps <= mmPerSec ? 0 : mmBurst + 1;
      const answered = mmRequests - limited;
      const floorS = Number.isFinite(limitRps) ? Math.max(0, answered - burst) / limitRps : undefined;
      const r = rec.result();
      const objects = users + groups + groups * perGroup;
      return {
        ...r,
        connections: 8,
        note: [
          `${ctx.entraScale < 1 ? `SCALED to ${ctx.entraScale}: ` : ''}${users} users, ${groups} groups, ${groups * perGroup} memberships, ${teams} teams, ${groups} channels`,
          `SCIM ${s1(scimMs)} s (${Math.round(objects / (scimMs / 1000))} objects/s; admin links ${s1(adminMs)} s)`,
          `${drained ? 'drained' : `NOT DRAINED after ${c.drainTimeoutS} s (${left.pending} pending)`} ${s1(drainMs)} s after the last SCIM answer (peak ${peakPending} pending${left.parked ? `, ${left.parked} PARKED` : ''}); total ${s1(scimMs + drainMs)} s`,
          `${delivered.length} deliveries, ${deliverSpanS ? (delivered.length / deliverSpanS).toFixed(0) : '-'}/s; Mattermost ${mmRequests} requests (${limited} 429), ${mmRps.toFixed(1)}/s`,
          `lag p50 ${s1(pct(lags, 0.5))} s p95 ${s1(pct(lags, 0.95))} s max ${s1(lags.at(-1) ?? 0)} s`,
          floorS !== undefined ? `configured rate ${limitRps}/s${burst ? ` (burst ${burst})` : ''}: ${answered} requests answered at ${(answered / mmSpanS).toFixed(1)}/s, ${(answered / mmSpanS / limitRps * 100).toFixed(0)}% of it; floor ${s1(floorS * 1000)} s` : 'no rate limit',
          `Mattermost holds ${have.users}/${want.users} users, ${have.teamMembers}/${want.teamMembers} team and ${have.channelMembers}/${want.channelMembers} channel memberships${complete ? '' : ' INCOMPLETE'}`,
          `concurrency ${c.concurrency}`,
          ...(unexpected ? [`${unexpected} unexpected statuses`] : []),
        ].join('; '),
        p99Exempt: 'a scripted sync, measured by its time',
      };
    } finally {
      await db.destroy();
    }
  },
};
