/**
 * What one claim of the delivery worker costs with a large backlog: 100,000 pending outbox rows (a third backing off),
 * 20,000 entities, on SQLite (a temp file) and PostgreSQL (a database created for it and dropped). On SQLite a claim
 * runs on the event loop, so its time is time every request waits. `npx tsx bench/outbox-claim.ts [pg admin url]`.
 */
import { migrate, openDb } from '../src/store/db.ts';
import { claimDue } from '../src/store/outbox.ts';
import { execSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
for (const store of ['sqlite', 'pg']) {
  let url: string;
  let dropLater = '';
  if (store === 'sqlite') url = `sqlite:${mkdtempSync('/tmp/cb-')}/s.db`;
  else { const n = `cb_${Date.now()}`; execSync(`psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE ${n}"`); url = `postgres://postgres@127.0.0.1:5432/${n}`; dropLater = n; }
  const db = openDb({ url, poolMax: 2, sqliteSynchronous: 'NORMAL' });
  await migrate(db);
  const now = Date.now();
  const rows = [];
  for (let i = 0; i < 100_000; i++) rows.push({ consumer: 'mattermost', entity_key: `team_member:t${i % 20_000}:u${i}`, operation: 'team_add', created_at: now, available_at: i % 3 === 0 ? now + 60_000 : now, state: 'pending', attempts: 0 });
  for (let i = 0; i < rows.length; i += 500) await db('outbox').insert(rows.slice(i, i + 500));
  if (store === 'pg') await db.raw('ANALYZE outbox');
  const times = [];
  for (let k = 0; k < 20; k++) { const t = performance.now(); const got = await claimDue(db, 'mattermost', `w${k}`, 4, Date.now(), 30_000); times.push(performance.now() - t); if (got.length !== 4) throw new Error('short'); }
  times.sort((a, b) => a - b);
  console.log(store, 'claim of 4 heads from 100,000 pending: median', times[10].toFixed(1), 'ms, max', times[19].toFixed(1), 'ms');
  await db.destroy();
  if (dropLater) execSync(`psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE ${dropLater}"`);
}
