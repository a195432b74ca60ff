/**
 * `npm run bench -- --file-transfer [users]`: a workspace of N people (default 100,000) in 10 teams of 5 channels
 * each, every person in 2 teams and 3 channels of each, seeded into a fresh store; then `cli export mattermost` to a
 * .jsonl and to a .zip, and `cli import mattermost` of the .jsonl into another fresh store of the same kind. Each
 * command runs as the operator runs it, in a child process whose own peak RSS and peak heap are reported
 * (bench/lib/memory-probe.ts), so the figures are the command's alone. Returns printable lines.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openDb } from '../src/store/db.js';
import { createDatabase, seed, type Store } from './lib/seed.js';

const ROOT = resolve(import.meta.dirname, '..');
const TEAMS = 10;
const CHANNELS_PER_TEAM = 5; // town-square, off-topic and 3 more
const TEAMS_PER_PERSON = 2;
const CHANNELS_PER_MEMBERSHIP = 3;

interface Run { ms: number; maxRssMB: number; peakHeapMB: number; stdout: string }

function cli(dbUrl: string, args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './bench/lib/memory-probe.ts', 'src/cli/main.ts', ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: dbUrl, SQLITE_SYNCHRONOUS: 'NORMAL', MATTERMOST_URL: '', MATTERMOST_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', fail);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      if (code !== 0) return fail(new Error(`cli ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const m = /BENCH_MEMORY (\{.*\})/.exec(stderr);
      const mem = m ? JSON.parse(m[1]!) : { maxRssMB: 0, peakHeapMB: 0 };
      done({ ms, maxRssMB: mem.maxRssMB, peakHeapMB: mem.peakHeapMB, stdout });
    });
  });
}

/** Teams, channels and memberships straight into the tables (setup, not measured), in multi-row inserts. */
export async function seedWorkspace(url: string, userIds: string[]): Promise<number> {
  const db = openDb({ url, sqliteSynchronous: 'NORMAL' });
  try {
    const now = Date.now();
    const teams = Array.from({ length: TEAMS }, (_, i) => ({ id: randomUUID(), name: `team-${i}`, display_name: `Team ${i}`, type: 'O', group_constrained: false, created_at: now, updated_at: now, archived_at: null }));
    const channels = teams.flatMap((t) => ['town-square', 'off-topic', 'eng', 'ops', 'random'].slice(0, CHANNELS_PER_TEAM).map((name, j) => ({
      id: randomUUID(), team_id: t.id, name, display_name: name, type: j === 4 ? 'P' : 'O', group_constrained: false, is_default: j < 2, created_at: now, updated_at: now, archived_at: null,
    })));
    await db.batchInsert('teams', teams as any[], 500);
    await db.batchInsert('channels', channels as any[], 500);
    let rows = 0;
    for (let i = 0; i < userIds.length; i += 2000) {
      const tm: Record<string, unknown>[] = [];
      const cm: Record<string, unknown>[] = [];
      for (const [k, user_id] of userIds.slice(i, i + 2000).entries()) {
        const n = i + k;
        for (let j = 0; j < TEAMS_PER_PERSON; j++) {
          const t = (n + j) % TEAMS;
          tm.push({ team_id: teams[t]!.id, user_id, scheme_admin: n % 50 === 0, created_at: now, updated_at: now, added_by: 'bench' });
          for (let c = 0; c < CHANNELS_PER_MEMBERSHIP; c++) cm.push({ channel_id: channels[t * CHANNELS_PER_TEAM + ((n + c) % CHANNELS_PER_TEAM)]!.id, user_id, scheme_admin: false, created_at: now, updated_at: now, added_by: 'bench' });
        }
      }
      await db.batchInsert('team_members', tm as any[], 500);
      await db.batchInsert('channel_members', cm as any[], 500);
      rows += tm.length + cm.length;
    }
    // As autovacuum would have by the time anyone exports (bench/lib/seed.ts does the same for its tables).
    if (db.client.config.client === 'pg') await db.raw('VACUUM ANALYZE');
    return rows;
  } finally {
    await db.destroy();
  }
}

const f = (n: number, d = 1) => n.toFixed(d);

export async function fileTransfer(o: { store: Store; users?: number; pgUrl: string }): Promise<string[]> {
  const users = o.users ?? 100_000;
  const lines: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'scim-bench-ft-'));
  const source = await createDatabase(o.store, o.pgUrl);
  const target = await createDatabase(o.store, o.pgUrl);
  try {
    const t = performance.now();
    const fx = await seed(source.url, users, { bigGroups: 0, bigGroupSize: 0 });
    const memberships = await seedWorkspace(source.url, [...fx.userIds, ...fx.spareIds]);
    lines.push(`${o.store}: seeded ${users + fx.spareIds.length} people, ${TEAMS} teams, ${TEAMS * CHANNELS_PER_TEAM} channels, ${memberships} memberships in ${f((performance.now() - t) / 1000)} s`);
    const people = users + fx.spareIds.length;
    const row = (what: string, r: Run, extra = '') =>
      `${o.store} ${what}: ${f(r.ms / 1000)} s (${f(people / (r.ms / 1000), 0)} people/s), peak RSS ${f(r.maxRssMB, 0)} MB, peak heap ${f(r.peakHeapMB, 0)} MB${extra}`;

    const jsonl = join(dir, 'workspace.jsonl');
    const e = await cli(source.url, ['export', 'mattermost', '--out', jsonl]);
    lines.push(row('export .jsonl', e, `, ${f(statSync(jsonl).size / 2 ** 20)} MB`));
    const zip = join(dir, 'workspace.zip');
    const z = await cli(source.url, ['export', 'mattermost', '--out', zip]);
    lines.push(row('export .zip', z, `, ${f(statSync(zip).size / 2 ** 20)} MB`));
    const i = await cli(target.url, ['import', 'mattermost', jsonl]);
    const rep = JSON.parse(i.stdout);
    lines.push(row('import .jsonl', i, ` (${rep.people.created} people, ${rep.teamMemberships.added + rep.channelMemberships.added} memberships created, one transaction)`));
    const d = await cli(target.url, ['import', 'mattermost', jsonl, '--dry-run']);
    lines.push(row('import --dry-run of the same file (all matched)', d));
  } finally {
    await source.drop();
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
