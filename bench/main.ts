/**
 * `npm run bench`: the load profile of issues 3 and 5. Starts the real server (compiled, dist/src/main.js with plain
 * node as production runs it; `--source`: src/main.ts through tsx) as a child process on a fresh, seeded database,
 * loads it with autocannon, and prints per scenario requests/s, p50/p95/p99, errors, peak resident memory, and throughput as a fraction of a bare express 5 server measured in the same run. Ends with the
 * targets, PASS or MISS. Exits 0 whatever the figures; non-zero only when the bench itself broke. `--compare` runs the
 * create and lookup scenarios against another SCIM server in the same run too (issue 18, bench/lib/peer.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { load, Recorder, type LoadResult } from './lib/load.js';
import { cpuMsOf, ensureBuilt, postgresCpuMs, sampleMemory, startProcess, type Proc } from './lib/server.js';
import { createDatabase, seed, type Store } from './lib/seed.js';
import { SHAPES, scimBase, type Ctx, type Outcome, type Scenario, type ShapeName } from './lib/scenario.js';
import { baselineLine, compareTable, line, table, verdictLines, verdicts, type Row } from './lib/report.js';
import { checkPeer, describePeer, drainPeer, parsePeer, probeHits, redact, seedPeer, type Peer } from './lib/peer.js';
import { formatSummary, summariseDir } from './lib/profile.js';
import { lookupUsernameHit } from './scenarios/lookup-username-hit.js';
import { lookupUsernameMiss } from './scenarios/lookup-username-miss.js';
import { lookupExternalId } from './scenarios/lookup-externalid.js';
import { paging } from './scenarios/paging.js';
import { groupsMatch } from './scenarios/groups-match.js';
import { putUser } from './scenarios/put-user.js';
import { patchUser } from './scenarios/patch-user.js';
import { groupPatch } from './scenarios/group-patch.js';
import { createUsers } from './scenarios/create-users.js';
import { getBigGroup } from './scenarios/get-big-group.js';
import { entraReplay } from './scenarios/entra-replay.js';
import { stackFloor } from './scenarios/stack-floor.js';
import { mattermostInitialSync } from './scenarios/mattermost-initial-sync.js';
import { bulkCreate } from './scenarios/bulk-create.js';
import { fileTransfer } from './file-transfer.js';
import { startFake } from './lib/mattermost.js';
import { outboxCostLines } from './lib/report.js';
import type { Knex } from 'knex';
import { openDb } from '../src/store/db.js';

/**
 * In run order: the stack's floor, reads, then writes, creates (they grow the table), paging (a slow page can outlive its scenario),
 * the big GET (it grows the heap) last.
 */
const ALL: Scenario[] = [
  stackFloor, lookupUsernameHit, lookupUsernameMiss, lookupExternalId, groupsMatch,
  putUser, patchUser, groupPatch, createUsers, paging, getBigGroup, entraReplay, bulkCreate, mattermostInitialSync,
];

/**
 * What --compare runs on the other server: what every IdP sends and any SCIM server answers (a create, and the
 * `userName eq` probe before it, hit and miss). The others need ids or groups the bench seeds into its own database.
 */
const COMPARABLE = [lookupUsernameHit.name, lookupUsernameMiss.name, createUsers.name];
/** Users created on the other server at once while seeding it: a small, polite concurrency. */
const PEER_SEED_CONCURRENCY = 4;

/** Wait until requests left queued by a stopped scenario are done: /readyz queries the database behind them. */
async function drain(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const t = performance.now();
    await fetch(`${url}/readyz`).then((r) => r.text(), () => undefined);
    if (performance.now() - t < 50) break;
  }
  await new Promise((r) => setTimeout(r, 500));
}

/** One second of lookups and a few pages, so the first scenario does not pay for JIT compilation and cold caches. */
async function warmUp(ctx: Ctx): Promise<void> {
  let n = 0;
  const size = Math.max(1, ctx.fx.size);
  await load({
    url: ctx.url, token: ctx.token, connections: ctx.connections, duration: 1,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: n++ % 10 ? `${scimBase(ctx)}/Users?filter=${encodeURIComponent(`userName eq "user${n % size}@bench.example.com"`)}` : `${scimBase(ctx)}/Users?count=10` }) }],
  });
}

/** Deliveries so far (the connector's audit rows), outbox rows pending, and requests the fake has answered. */
async function connectorWork(env: { ctx: Ctx }): Promise<{ delivered: number; pending: number; mmRequests: number }> {
  const db = openDb({ url: env.ctx.dbUrl!, sqliteSynchronous: 'NORMAL' });
  try {
    const n = async (q: Knex.QueryBuilder) => Number((await q.count({ n: '*' }))[0]!.n);
    return {
      delivered: await n(db('audit_log').where({ operation: 'connector_deliver' })),
      pending: await n(db('outbox').where({ state: 'pending' })),
      mmRequests: (await env.ctx.connector!.mm.stats()).requests,
    };
  } finally {
    await db.destroy();
  }
}

/** Over the admin API: a team and a channel, each group linked to both (autoAdd), as an administrator would. */
async function linkGroups(url: string, adminToken: string, groupIds: string[]): Promise<void> {
  const send = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} /admin/v1${path} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
    return r.json() as Promise<any>;
  };
  const team = (await send('POST', '/teams', { name: 'bench-linked', displayName: 'Bench linked' })).team.id as string;
  const channel = (await send('POST', `/teams/${team}/channels`, { name: 'bench-linked', displayName: 'Bench linked' })).id as string;
  for (const g of groupIds) {
    await send('PUT', `/groups/${g}/teams/${team}`, { autoAdd: true });
    await send('PUT', `/groups/${g}/channels/${channel}`, { autoAdd: true });
  }
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

const program = new Command('bench')
  .description('Load profile of the SCIM server against a bare express 5 baseline (issues 3 and 5).')
  .addOption(new Option('--store <store>', 'database').choices(['sqlite', 'pg', 'both']).default('sqlite'))
  .option('--users <sizes>', 'user counts to seed, comma-separated (default 1000,100000; --quick 1000,10000)')
  .option('--duration <seconds>', 'seconds per scenario (default 3; --quick 1.5; --full 10)')
  .option('--connections <n>', 'concurrent connections', '10')
  .option('--scenarios <names>', `comma-separated subset of: ${ALL.map((s) => s.name).join(', ')}`)
  .option('--quick', 'small sizes (1,000 and 10,000 users), 1.5 s runs, Entra replay at 0.02 scale')
  .option('--full', 'both stores at 1,000 and 100,000 users, 10 s per scenario, full Entra replay (20-30 minutes on 2 cores)')
  .option('--entra-scale <fraction>', 'size of the Entra replay, 1 = 10,000 users, 100 groups, 20,000 memberships (default 0.05; --quick 0.02; --full 1)')
  .option('--profile [dir]', 'start the server with node --cpu-prof into dir and print its top self-time functions')
  .option('--workers <n>', 'WORKERS for the server (server processes on one port; default: $WORKERS, else 1, so figures stay one process unless asked)', process.env.WORKERS || '1')
  .addOption(new Option('--sqlite-sync <level>', 'SQLITE_SYNCHRONOUS for the server (its default is FULL)').choices(['FULL', 'NORMAL']))
  .option('--pg-url <url>', 'PostgreSQL admin URL (a database is created and dropped per server)', process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .option('--json <file>', 'also write every row and verdict as JSON')
  .addOption(new Option('--connector [mode]', 'Mattermost connector: on (servers deliver into a fake Mattermost of their own), both (each scenario on a server without and one with it, alternately)').choices(['on', 'both']).preset('on'))
  .addOption(new Option('--connector-delivery <how>', 'with --connector, during the seeded scenarios: trickle (MATTERMOST_MAX_RPS=1, so only the queuing is measured) or live (deliveries run beside the load)').choices(['trickle', 'live']).default('trickle'))
  .option('--rounds <n>', 'run each seeded scenario n times (with --connector both: off and on alternately, ABBA order)', '1')
  .option('--mm-rate-limit <perSec,burst>', "the fake's rate limit, as Mattermost's RateLimitSettings PerSec,MaxBurst (defaults there: 10,100); off by default")
  .option('--mm-max-rps <n>', 'MATTERMOST_MAX_RPS for mattermost-initial-sync (0 = unpaced)', '0')
  .option('--mm-concurrency <n>', 'MATTERMOST_CONCURRENCY', '4')
  .option('--drain-timeout <seconds>', 'how long mattermost-initial-sync waits for the outbox to empty', '600')
  .option('--source', 'run the server from src/ through tsx (node --import tsx src/main.ts) instead of the compiled dist/')
  .option('--compare <url>', `also run ${COMPARABLE.join(', ')} against another SCIM server at this base URL (e.g. https://host/scim/v2), same run, same table; it creates --compare-users users there through its API and leaves them`)
  .option('--compare-token <token>', 'bearer token for --compare (or BENCH_COMPARE_TOKEN, which keeps it out of ps); sent to that URL only, never printed')
  .option('--compare-name <label>', "the other server's name in the tables (default: the URL's host)")
  .option('--compare-users <n>', 'users created on the other server for the lookups (default: the smallest --users size)')
  .option('--file-transfer [users]', 'only this: cli export and import of a Mattermost bulk-import file of this many people (default 100000), time and peak memory (bench/file-transfer.ts)');

interface Opts {
  store: 'sqlite' | 'pg' | 'both'; users?: string; duration?: string; connections: string; scenarios?: string;
  quick?: boolean; full?: boolean; profile?: string | boolean; pgUrl: string; json?: string; entraScale?: string; sqliteSync?: 'FULL' | 'NORMAL'; workers: string;
  connector?: 'on' | 'both'; connectorDelivery: 'trickle' | 'live'; rounds: string; mmRateLimit?: string; mmMaxRps: string; mmConcurrency: string; drainTimeout: string;
  fileTransfer?: string | boolean; source?: boolean;
  compare?: string; compareToken?: string; compareName?: string; compareUsers?: string;
}

/** Secrets the failure message must not show (the --compare token). */
const secrets: string[] = [];

async function main(): Promise<void> {
  const o = program.parse().opts<Opts>();
  const stores: Store[] = o.full || o.store === 'both' ? ['sqlite', 'pg'] : [o.store];
  if (o.fileTransfer) {
    for (const store of stores) for (const l of await fileTransfer({ store, pgUrl: o.pgUrl, ...(typeof o.fileTransfer === 'string' ? { users: Number(o.fileTransfer) } : {}) })) console.log(l);
    return;
  }
  const peer: Peer | undefined = o.compare ? parsePeer(o.compare, o.compareToken ?? process.env.BENCH_COMPARE_TOKEN, o.compareName) : undefined;
  if (peer) secrets.push(peer.token);
  // A comparison defaults to what it compares: the three scenarios, at 1,000 users on both servers.
  const sizes = list(o.users ?? (peer ? '1000' : o.quick ? '1000,10000' : '1000,100000')).map(Number).sort((a, b) => a - b);
  if (sizes.some((n) => !Number.isInteger(n) || n < 10)) throw new Error('--users takes integers of at least 10');
  const duration = Number(o.duration ?? (o.quick ? 1.5 : o.full ? 10 : 3));
  const connections = Number(o.connections);
  const entraScale = Number(o.entraScale ?? (o.full ? 1 : o.quick ? 0.02 : 0.05));
  const wanted = o.scenarios ? list(o.scenarios) : peer ? COMPARABLE : ALL.map((s) => s.name);
  const unknown = wanted.filter((n) => !ALL.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const modes: boolean[] = o.connector === 'both' ? [false, true] : [o.connector === 'on'];
  // A connector-only scenario is skipped without the connector (and named, so an empty run is not a silent one).
  const scenarios = ALL.filter((s) => wanted.includes(s.name) && (!s.needsConnector || o.connector));
  if (!o.connector && o.scenarios && wanted.some((n) => ALL.find((s) => s.name === n)?.needsConnector)) console.log('mattermost-initial-sync needs --connector: skipped');
  const rounds = Number(o.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive integer');
  const profileDir = o.profile ? (typeof o.profile === 'string' ? o.profile : mkdtempSync(join(tmpdir(), 'scim-prof-'))) : undefined;
  const token = `bench_${randomBytes(16).toString('hex')}`;
  const started = Date.now();
  const peerUsers = Number(o.compareUsers ?? sizes[0]);
  if (peer && (!Number.isInteger(peerUsers) || peerUsers < 10)) throw new Error('--compare-users takes an integer of at least 10');
  if (peer && !scenarios.some((s) => COMPARABLE.includes(s.name))) throw new Error(`--compare runs only ${COMPARABLE.join(', ')}: none of them is in --scenarios`);
  // Before any database is seeded: a peer that is down or refuses the token ends the run here.
  const peerCheck = peer ? await checkPeer(peer) : undefined;
  const serverScript = o.source ? 'src/main.ts' : 'dist/src/main.js';
  if (!o.source) await ensureBuilt();

  console.log(`machine: ${availableParallelism()} cpus (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`run: stores ${stores.join(',')}, users ${sizes.join(',')}, ${duration} s per scenario, Entra replay at ${entraScale} scale, ${connections} connections, ${o.workers} worker(s)${o.sqliteSync ? `, SQLITE_SYNCHRONOUS=${o.sqliteSync}` : ''}${o.quick ? ', QUICK' : ''}${profileDir ? `, profiles in ${profileDir}` : ''}` +
    `${o.connector ? `, connector ${o.connector} (seeded scenarios: PATCHed groups linked to a team and a channel, delivery ${o.connectorDelivery}; fake rate limit ${o.mmRateLimit ?? 'off'}, MATTERMOST_MAX_RPS ${o.mmMaxRps}, MATTERMOST_CONCURRENCY ${o.mmConcurrency})` : ''}${rounds > 1 ? `, ${rounds} rounds` : ''}`);
  console.log(`server: ${o.source ? 'src/main.ts through tsx (--source)' : 'dist/src/main.js, plain node (as npm start)'}${peer ? `; compared with ${describePeer(peer)}: ${peerCheck}` : ''}\n`);

  // The bare baseline runs beside the server for the whole run and is measured again just before and just after each
  // scenario, for the same request shape: other processes on a shared machine shift both alike, so the ratio stays
  // meaningful. The higher of the two is the denominator: one baseline run that a burst of other work dipped (3,777
  // against a median of 8,700 GET/s once) would otherwise flatter the scenario's ratio.
  const bareProc = await startProcess({ script: 'bench/bare.ts' });
  cleanups.add(bareProc.stop);
  const bareRuns: { shape: ShapeName; r: LoadResult }[] = [];
  const measureBare = async (shape: ShapeName): Promise<LoadResult> => {
    const s = SHAPES[shape];
    const r = await load({ url: bareProc.url, token, connections, duration: Math.max(1, duration / 3), requests: [{ method: s.method, path: s.path, ...('body' in s ? { body: s.body } : {}) }] });
    bareRuns.push({ shape, r });
    return r;
  };

  const rows: Row[] = [];
  const printed = new Set<string>();

  /** A seeded database (none for `own` scenarios) and a warmed-up server on it. */
  interface Env { store: Store; label: string; size: number | undefined; server: Proc; ctx: Ctx; drop(): Promise<void> }
  const setUp = async (store: Store, size: number | undefined, connector = false): Promise<Env> => {
    const db = await createDatabase(store, o.pgUrl);
    cleanups.add(db.drop);
    let fx;
    if (size !== undefined) {
      const t = Date.now();
      fx = await seed(db.url, size, { bigGroups: 2, bigGroupSize: Math.min(size, 100_000) });
      console.log(`${store} seeded ${size} users and groups of 10 and ${fx.bigGroups[0]!.members} members in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    // With the connector, the server delivers into a fake Mattermost in a process of its own. On a seeded database
    // the bench measures what queuing costs a write, so by default delivery trickles at one Mattermost request per
    // second (MATTERMOST_MAX_RPS=1); `--connector-delivery live` lets it run beside the load. The initial sync
    // (no seed) always delivers at the configured pace.
    const mm = connector ? await startFake(o.mmRateLimit) : undefined;
    if (mm) cleanups.add(mm.stop);
    const maxRps = size !== undefined && o.connectorDelivery === 'trickle' ? 1 : Number(o.mmMaxRps);
    const adminToken = `benchadmin_${randomBytes(16).toString('hex')}`;
    const server = await startProcess({ script: serverScript, profileDir, env: {
      DATABASE_URL: db.url, SCIM_TOKEN: token, RATE_LIMIT_PER_SECOND: '0', WORKERS: o.workers, ...(o.sqliteSync ? { SQLITE_SYNCHRONOUS: o.sqliteSync } : {}),
      ...(o.connector ? { ADMIN_TOKEN: adminToken } : {}),
      ...(mm ? { MATTERMOST_URL: mm.url, MATTERMOST_TOKEN: mm.adminToken, MATTERMOST_MAX_RPS: String(maxRps), MATTERMOST_CONCURRENCY: o.mmConcurrency } : {}),
    } });
    cleanups.add(server.stop);
    const ctx: Ctx = {
      url: server.url, token, connections, duration, entraScale, dbUrl: db.url,
      fx: fx ?? { size: 0, userIds: [], spareIds: [], smallGroup: { id: '', name: '', members: 0 }, bigGroups: [], emptyGroups: [] },
      ...(mm ? { connector: { adminToken, mm, maxRps, mmRateLimit: o.mmRateLimit, concurrency: Number(o.mmConcurrency), drainTimeoutS: Number(o.drainTimeout) } } : {}),
    };
    // A group PATCH queues outbox rows only for a group linked to a team or channel (groups themselves never reach
    // Mattermost), so with --connector, on and off alike, the PATCHed groups are linked to a team and a channel.
    if (o.connector && fx) await linkGroups(server.url, adminToken, [fx.bigGroups[0]!.id, fx.smallGroup.id]);
    await warmUp(ctx);
    return {
      store, label: connector ? `${store}+mm` : store, size, server, ctx,
      drop: async () => {
        await server.stop();
        cleanups.delete(server.stop);
        if (mm) { await mm.stop(); cleanups.delete(mm.stop); }
        await db.drop();
        cleanups.delete(db.drop);
        if (profileDir) for (const p of summariseDir(profileDir).filter((x) => !printed.has(x.file))) { printed.add(p.file); console.log(`\n${store} ${size ?? 'empty'}: ${formatSummary(p)}\n`); }
      },
    };
  };

  const record = (env: Pick<Env, 'label' | 'size'>, s: Scenario, outcome: Outcome, mem: { peakRss: number; hwm: number }, bare: number) => {
    for (const [scenario, out] of [[outcome.as ?? s.name, outcome] as const, ...(outcome.also ?? []).map((a) => [a.scenario, a.outcome] as const)]) {
      const row: Row = { store: env.label, size: env.size, scenario, shape: s.shape, outcome: out, peakRss: mem.peakRss, hwm: mem.hwm, bareRps: bare, ratio: out.rps / bare };
      rows.push(row);
      console.log(line(row));
    }
  };

  /** One scenario on one server, between two baseline runs. */
  const runOne = async (env: Env, s: Scenario) => {
    const base = await measureBare(s.shape);
    const before = env.ctx.connector && s.at !== 'own' ? await connectorWork(env) : undefined;
    const stop = sampleMemory(env.server.pid);
    const cpu0 = cpuMsOf(env.server.pid);
    const db0 = env.store === 'pg' ? postgresCpuMs() : 0;
    let outcome = await s.run(env.ctx);
    const mem = stop();
    // The server's own CPU per request, and PostgreSQL's: steadier than throughput on a shared machine (a vCPU's
    // stolen time is not counted as the process's).
    const n = Math.max(1, outcome.requests + (outcome.also ?? []).reduce((k, a) => k + a.outcome.requests, 0));
    const cpu = { cpuUsPerRequest: ((cpuMsOf(env.server.pid) - cpu0) * 1000) / n, ...(env.store === 'pg' && { dbCpuUsPerRequest: ((postgresCpuMs() - db0) * 1000) / n }) };
    outcome = { ...outcome, ...cpu, ...(outcome.also ? { also: outcome.also.map((a) => ({ ...a, outcome: { ...a.outcome, ...cpu } })) } : {}) };
    if (before) {
      // What the connector did while the load ran: a delivery that needs no Mattermost call (a person added and
      // removed again before Mattermost ever saw them) is not held back by the pacing.
      const after = await connectorWork(env);
      const note = `connector during the run: ${after.delivered - before.delivered} deliveries, ${after.mmRequests - before.mmRequests} Mattermost requests, ${after.pending} pending`;
      outcome = { ...outcome, note: outcome.note ? `${outcome.note}; ${note}` : note, also: outcome.also?.map((a) => ({ ...a, outcome: { ...a.outcome, note: `${a.outcome.note ?? ''}; ${note}` } })) };
    }
    await drain(env.server.url);
    record(env, s, outcome, mem, Math.max(base.rps, (await measureBare(s.shape)).rps));
  };

  /**
   * A scenario whose sizes are compared with each other (issue 5: the 100,000-user lookup against the 1,000-user one)
   * runs on all of them in alternating slices, so a change in the machine's other load falls on each size alike. Half-
   * second slices: bursts of other work on this machine last seconds, and one-second slices still let them decide.
   */
  const SLICES = 6;
  const runInterleaved = async (envs: Env[], s: Scenario) => {
    const base = await measureBare(s.shape);
    const recs = envs.map(() => new Recorder());
    const peaks = envs.map(() => ({ peakRss: 0, hwm: 0 }));
    let outcomes: Outcome[] = [];
    for (let slice = 0; slice < SLICES; slice++) {
      outcomes = [];
      for (const [i, env] of envs.entries()) {
        const stop = sampleMemory(env.server.pid);
        outcomes.push(await s.run({ ...env.ctx, duration: env.ctx.duration / SLICES, rec: recs[i] }));
        const mem = stop();
        peaks[i] = { peakRss: Math.max(peaks[i]!.peakRss, mem.peakRss), hwm: Math.max(peaks[i]!.hwm, mem.hwm) };
        await drain(env.server.url);
      }
    }
    const bare = Math.max(base.rps, (await measureBare(s.shape)).rps);
    for (const [i, env] of envs.entries()) record(env, s, { ...outcomes[i]!, note: `${outcomes[i]!.note ? `${outcomes[i]!.note}; ` : ''}sizes interleaved in ${SLICES} slices` }, peaks[i]!, bare);
  };

  /**
   * --compare: the other server, seeded once through its own API (inside the try, so the bare server is stopped
   * whatever happens), then each comparable scenario next to this server's run of it, between two bare runs like
   * runOne. Its memory and CPU are not ours to read.
   */
  let peerRun: ((s: Scenario) => Promise<void>) | undefined;
  try {
    if (peer) {
      console.log(`${peer.name}: creating ${peerUsers} users through POST ${peer.basePath}/Users, ${PEER_SEED_CONCURRENCY} at a time`);
      const seeded = await seedPeer(peer, peerUsers, PEER_SEED_CONCURRENCY);
      const failed = Object.entries(seeded.failed).map(([k, v]) => `${v} x ${k}`).join(', ');
      console.log(`${peer.name}: ${seeded.created} created, ${seeded.present} already there (409)${failed ? `, failed: ${failed}` : ''} in ${seeded.seconds.toFixed(1)} s`);
      const probe = await probeHits(peer, peerUsers);
      const hitNote = `found ${probe.found} of ${probe.probed} sampled seeded users before the run${seeded.created + seeded.present < peerUsers ? `; only ${seeded.created + seeded.present} of ${peerUsers} seeded` : ''}`;
      const ctx: Ctx = {
        url: peer.origin, scimPath: peer.basePath, token: peer.token, connections, duration, entraScale,
        fx: { size: peerUsers, userIds: [], spareIds: [], smallGroup: { id: '', name: '', members: 0 }, bigGroups: [], emptyGroups: [] },
      };
      await warmUp(ctx);
      peerRun = async (s) => {
        const base = await measureBare(s.shape);
        const outcome = await s.run(ctx);
        await drainPeer(peer);
        const statuses = outcome.non2xx || outcome.errors ? `statuses ${JSON.stringify(outcome.statuses)}, ${outcome.errors} connection errors/timeouts` : '';
        const note = [s.name === lookupUsernameHit.name ? hitNote : '', statuses, 'memory not measured (not our process)'].filter(Boolean).join('; ');
        record({ label: peer.name, size: peerUsers }, s, { ...outcome, note }, { peakRss: NaN, hwm: NaN }, Math.max(base.rps, (await measureBare(s.shape)).rps));
      };
    }
    for (const [storeIndex, store] of stores.entries()) {
      const seeded = scenarios.filter((x) => x.at !== 'own');
      // One environment per size and connector mode; with --connector both, the two servers of a size take turns.
      const bySize: Env[][] = [];
      try {
        if (seeded.length) for (const size of sizes) { const pair: Env[] = []; for (const m of modes) pair.push(await setUp(store, size, m)); bySize.push(pair); }
        const largest = bySize[bySize.length - 1]!;
        for (const s of seeded) {
          for (let round = 0; round < rounds; round++) {
            // ABBA: off,on then on,off, so a drift in the machine's other load falls on both modes alike.
            const turn = <T>(xs: T[]) => (round % 2 ? [...xs].reverse() : xs);
            const groups = s.at === 'each' ? bySize : [largest];
            // The other server once per round, with the first store (it has one database, whichever store ours uses):
            // after this server in even rounds, before it in odd ones, so neither always runs on a warmer machine.
            const peerTurn = peerRun && storeIndex === 0 && COMPARABLE.includes(s.name) ? peerRun : undefined;
            if (peerTurn && round % 2) await peerTurn(s);
            if (s.interleaveSizes && groups.length > 1) {
              for (const i of turn([...modes.keys()])) await runInterleaved(groups.map((g) => g[i]!), s);
            } else {
              for (const g of groups) for (const env of turn(g)) await runOne(env, s);
            }
            if (peerTurn && !(round % 2)) await peerTurn(s);
          }
        }
      } finally {
        for (const env of bySize.flat()) await env.drop();
      }
      for (const s of scenarios.filter((x) => x.at === 'own')) {
        for (const m of modes) {
          if (s.needsConnector && !m) continue;
          // A fresh empty database (and fake) per own scenario: the initial sync must start from nothing.
          const env = await setUp(store, undefined, m);
          try {
            await runOne(env, s);
          } finally {
            await env.drop();
          }
        }
      }
      console.log('');
    }
  } finally {
    await bareProc.stop();
  }
  // In the table, each store's rows by size, in scenario order.
  const storeOrder = (r: Row) => { const i = stores.indexOf(r.store.replace('+mm', '') as Store); return i < 0 ? stores.length : i; };
  const order = (r: Row) => [storeOrder(r), r.size === undefined ? Infinity : sizes.indexOf(r.size)];
  rows.sort((a, b) => { const [x, y] = [order(a), order(b)]; return x[0]! - y[0]! || x[1]! - y[1]!; });

  console.log('bare express 5 baseline, median of the runs before and after each scenario:');
  const bare = new Map<ShapeName, LoadResult>();
  for (const shape of new Set(bareRuns.map((b) => b.shape))) {
    const runs = bareRuns.filter((b) => b.shape === shape).map((b) => b.r).sort((a, b) => a.rps - b.rps);
    bare.set(shape, runs[Math.floor(runs.length / 2)]!);
    console.log(baselineLine(`${shape} (${runs.length} runs, ${runs[0]!.rps.toFixed(0)}-${runs[runs.length - 1]!.rps.toFixed(0)} req/s)`, runs[Math.floor(runs.length / 2)]!));
  }
  console.log(`\n${table(rows)}\n`);
  if (peer) console.log(`side by side with ${peer.name} (req/s and x bare express measured next to each run):\n${compareTable(rows, peer.name, COMPARABLE)}\n`);
  // The targets are this server's: the other server's rows are there to compare with, not to pass or miss.
  const v = verdicts(rows.filter((r) => !peer || r.store !== peer.name), connections);
  console.log(`targets:\n${verdictLines(v)}\n`);
  if (o.connector === 'both') console.log(`cost of the outbox (connector on vs off; median of ${rounds} round(s), each round's figures in order):\n${outboxCostLines(rows).join('\n')}\n`);
  console.log(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes on this machine skew the figures)`);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ machine: { cpus: availableParallelism(), memGiB: totalmem() / 2 ** 30, node: process.version }, server: serverScript, ...(peer ? { compare: { name: peer.name, url: `${peer.origin}${peer.basePath}`, users: peerUsers } } : {}), sizes, duration, connections, bare: Object.fromEntries(bare), rows, verdicts: v }, null, 2));
  }
}

/** What to undo if the run is interrupted: child processes and databases. */
const cleanups = new Set<() => Promise<void>>();
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return; // a second signal (Ctrl-C twice, timeout forwarding) must not cut the cleanup short
    stopping = true;
    console.error(`\n${signal}: stopping servers and dropping bench databases`);
    for (const c of [...cleanups].reverse()) await c().catch(() => undefined);
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(redact(`bench failed: ${err?.stack ?? err}`, secrets));
    process.exit(1);
  },
);
