/**
 * The default rate limit under the load of one honest IdP (issue 6 §6): 2,000 creates at concurrency 8 are never
 * throttled. The limiter itself (429, Retry-After, one limit across instances) is test/reliability/rate-limit.test.ts.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, createDatabase, newUser, spawnServer, type SpawnedServer, type TestDatabase } from '../../helpers/server.ts';
import { mapLimit } from '../util.ts';

describe('default limit, one IdP at concurrency 8 [sqlite]', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let server: SpawnedServer;
  before(async () => {
    db = await createDatabase('sqlite');
    // The defaults (RATE_LIMIT_* unset even if the developer's environment sets them).
    // A server process of its own: what it serves at full speed is the subject, not the test's share of one process.
    server = await spawnServer('sqlite', db, { env: { RATE_LIMIT_PER_SECOND: '', RATE_LIMIT_BURST: '', SQLITE_SYNCHRONOUS: 'NORMAL' } });
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  test('2,000 creates at concurrency 8 with the default settings: no 429 (a limit is for abuse, not a real IdP)', async () => {
    const api = client(server);
    const t0 = Date.now();
    const statuses = await mapLimit(Array.from({ length: 2000 }), 8, async () => (await api.post('/Users', newUser())).status);
    const s = (Date.now() - t0) / 1000;
    const by = statuses.reduce<Record<number, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});
    console.log(`# 2,000 creates at concurrency 8 in ${s.toFixed(1)} s (${Math.round(2000 / s)}/s): ${JSON.stringify(by)}`);
    assert.deepEqual(by, { 201: 2000 });
  });
});
