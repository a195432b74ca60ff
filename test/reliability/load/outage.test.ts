/**
 * Database outage (issue 6 §3) on PostgreSQL, without stopping the shared PostgreSQL: the server reaches the
 * database through a TCP proxy in this test, which is cut (every socket destroyed, new ones refused) under load and
 * then restored. Requests must fail fast with a 503 SCIM error and Retry-After, /readyz must say so, and the same
 * process must recover by itself.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, createDatabase, newUser, spawnServer, type SpawnedServer, type TestDatabase } from '../../helpers/server.ts';
import { assertScimError, CuttableProxy, sleep, viaPort } from '../util.ts';
import { classifyDbError, openDb } from '../../../src/store/db.ts';

interface Sample { t0: number; ms: number; status: number; body: any; text: string; retryAfter: string | null; kind: 'read' | 'write'; userName?: string; id?: string }

describe('database outage [pg]', { skip: !process.env.TEST_DATABASE_URL, timeout: 120_000 }, () => {
  let db: TestDatabase;
  let proxy: CuttableProxy;
  let server: SpawnedServer;
  before(async () => {
    db = await createDatabase('pg');
    proxy = new CuttableProxy(Number(new URL(db.url).port || 5432));
    await proxy.start();
    // Default settings, rate limiter included (its shared bucket is in the database too: it must not turn the outage into hangs).
    server = await spawnServer('pg', viaPort(db.url, proxy.port));
  });
  after(async () => {
    await server?.stop();
    await proxy?.close();
    await db?.drop();
  });

  async function ready(): Promise<{ status: number; body: any; ms: number }> {
    const t = Date.now();
    const r = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: r.status, body: await r.json(), ms: Date.now() - t };
  }

  test('cut under load: fast 503 SCIM errors with Retry-After, /readyz down; restored: recovers without a restart', async () => {
    const api = client(server);
    const seed = await api.post('/Users', newUser());
    assert.equal(seed.status, 201, seed.text);
    const r0 = await ready();
    assert.deepEqual([r0.status, r0.body.database], [200, 'up']);
    const pid = server.proc.pid;

    // Load: readers and writers, each request timed.
    const samples: Sample[] = [];
    let stop = false;
    const loop = async (kind: 'read' | 'write') => {
      while (!stop) {
        const t0 = Date.now();
        const body = kind === 'write' ? newUser() : undefined;
        const r = await (kind === 'write' ? api.post('/Users', body) : api.get(`/Users/${seed.body.id}`));
        samples.push({ t0, ms: Date.now() - t0, status: r.status, body: r.body, text: r.text, retryAfter: r.headers.get('retry-after'), kind, userName: body?.userName, id: r.body?.id });
        if (r.status === 503) await sleep(50); // a polite client backs off a little
      }
    };
    const loops = [...Array.from({ length: 4 }, () => loop('read')), ...Array.from({ length: 4 }, () => loop('write'))];

    await sleep(1000);
    // Two seconds of a database that drops every connection, then two of one that refuses them.
    const cutAt = Date.now();
    await proxy.cut('drop');
    await sleep(1500);
    const during = await ready();
    await sleep(500);
    await proxy.cut('refuse');
    await sleep(1500);
    const during2 = await ready();
    const restoredAt = Date.now();
    await proxy.restore();

    // Recovery: /readyz up again and requests succeed, same process.
    let recoveredAt = 0;
    for (let i = 0; i < 100 && !recoveredAt; i++) {
      const r = await ready();
      if (r.status === 200 && samples.some((s) => s.t0 > Date.now() - 300 && s.status < 300)) recoveredAt = Date.now();
      else await sleep(100);
    }
    await sleep(500);
    stop = true;
    await Promise.all(loops);

    assert.deepEqual([during.status, during.body.database], [503, 'down'], JSON.stringify(during.body));
    assert.deepEqual([during2.status, during2.body.database], [503, 'down']);
    assert.ok(during.ms < 3000 && during2.ms < 3000, `/readyz took ${during.ms} / ${during2.ms} ms during the outage`);
    assert.ok(recoveredAt > 0, 'the server did not recover after the database came back');
    assert.equal(server.proc.exitCode, null, 'the server process is still running');
    assert.equal(server.proc.pid, pid);

    const inCut = samples.filter((s) => s.t0 >= cutAt && s.t0 + s.ms <= restoredAt);
    const unavailable = inCut.filter((s) => s.status === 503);
    assert.ok(unavailable.length >= 10, `only ${unavailable.length} requests were answered during the outage`);
    for (const s of inCut) {
      assert.ok(s.status === 503 || s.status < 300, `unexpected ${s.status} during the outage: ${s.text.slice(0, 300)}`);
      if (s.status === 503) {
        assertScimError(s.body, 503, s.text);
        assert.ok(Number(s.retryAfter) >= 1, `Retry-After: ${s.retryAfter}`);
      }
    }
    // Started after the cut: answered quickly, not hung (a request in flight at the cut may take a little longer).
    const latencies = samples.filter((s) => s.t0 >= cutAt && s.status === 503).map((s) => s.ms).sort((a, b) => a - b);
    const max = latencies.at(-1) ?? 0;
    const p95 = latencies[Math.floor(latencies.length * 0.95)] ?? 0;
    assert.ok(max <= 5000, `a request took ${max} ms to fail during the outage`);
    // Nothing but 2xx and 503 at any time; nothing answered 2xx was lost.
    for (const s of samples) assert.ok(s.status < 300 || s.status === 503, `${s.status}: ${s.text.slice(0, 300)}`);
    const written = samples.filter((s) => s.kind === 'write' && s.status === 201);
    const k = connect(db.url);
    try {
      const ids = new Set((await k('users').select('id')).map((r: any) => r.id));
      for (const w of written) assert.ok(ids.has(w.id), `user ${w.id} answered 201 is missing`);
    } finally {
      await k.destroy();
    }
    console.log(`# outage [pg]: ${samples.length} requests, ${unavailable.length} × 503 during a ${restoredAt - cutAt} ms cut (p95 ${p95} ms, max ${max} ms to fail), ` +
      `/readyz ${during.ms}/${during2.ms} ms, recovered ${recoveredAt - restoredAt} ms after restore, ${written.length} writes answered 201 all present`);
  });

  test('a database that goes silent (TCP open, no bytes): 503 SCIM errors with Retry-After within a few seconds, then recovery', async () => {
    const api = client(server);
    const seed = await api.post('/Users', newUser());
    assert.equal(seed.status, 201, seed.text);
    const samples: Sample[] = [];
    let stop = false;
    const loop = async (kind: 'read' | 'write') => {
      while (!stop) {
        const t0 = Date.now();
        const r = await (kind === 'write' ? api.post('/Users', newUser()) : api.get(`/Users/${seed.body.id}`));
        samples.push({ t0, ms: Date.now() - t0, status: r.status, body: r.body, text: r.text, retryAfter: r.headers.get('retry-after'), kind, id: r.body?.id });
        if (r.status === 503) await sleep(50);
      }
    };
    const loops = [...Array.from({ length: 4 }, () => loop('read')), ...Array.from({ length: 4 }, () => loop('write'))];
    await sleep(1000);
    const mutedAt = Date.now();
    proxy.mute();
    await sleep(3000);
    const during = await ready();
    await sleep(4000);
    const restoredAt = Date.now();
    await proxy.restore();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = (await ready()).status === 200 && samples.some((s) => s.t0 > Date.now() - 300 && s.status < 300);
      if (!recovered) await sleep(100);
    }
    await sleep(300);
    stop = true;
    await Promise.all(loops);

    assert.deepEqual([during.status, during.body.database], [503, 'down']);
    assert.ok(during.ms < 3000, `/readyz took ${during.ms} ms`);
    assert.ok(recovered, 'the server did not recover after the database answered again');
    for (const s of samples) assert.ok(s.status < 300 || s.status === 503, `${s.status} (${s.ms} ms): ${s.text.slice(0, 300)}`);
    const failed = samples.filter((s) => s.status === 503 && s.t0 >= mutedAt - 1000);
    assert.ok(failed.length >= 8, `only ${failed.length} requests failed during the silence`);
    for (const s of failed) {
      assertScimError(s.body, 503, s.text);
      assert.ok(Number(s.retryAfter) >= 1, `Retry-After: ${s.retryAfter}`);
    }
    // Every request caught by the silence (in flight at the mute, or started during it) was answered within a few
    // seconds; before, a pooled connection waited for query_timeout (35 s) and answered 500.
    const caught = samples.filter((s) => s.t0 + s.ms >= mutedAt && s.t0 < restoredAt);
    const max = Math.max(...caught.map((s) => s.ms));
    assert.ok(max <= 6000, `a request took ${max} ms to fail while the database was silent`);
    const p50 = caught.map((s) => s.ms).sort((a, b) => a - b)[Math.floor(caught.length / 2)];
    console.log(`# silent database [pg]: ${caught.length} requests during ${restoredAt - mutedAt} ms of silence, ${failed.length} × 503, p50 ${p50} ms, max ${max} ms`);
  });

  test('silence is told from a long statement: a 4 s statement succeeds, a silent database fails the query in seconds', async () => {
    const p2 = new CuttableProxy(Number(new URL(db.url).port || 5432));
    await p2.start();
    const k = openDb({ url: viaPort(db.url, p2.port), poolMax: 2 });
    try {
      const t0 = Date.now();
      const long = await k.raw('select pg_sleep(4) as slept, 1 as one');
      assert.equal(long.rows[0].one, 1);
      assert.ok(Date.now() - t0 >= 4000);
      p2.mute();
      const t1 = Date.now();
      const err = await k.raw('select 1').then(() => undefined, (e: unknown) => e);
      const ms = Date.now() - t1;
      assert.ok(err, 'the query on a silent database did not fail');
      assert.equal(classifyDbError(err).kind, 'unavailable', String(err));
      assert.ok(ms <= 6000, `the query took ${ms} ms to fail`);
      await p2.restore();
      assert.equal((await k.raw('select 1 as one')).rows[0].one, 1);
    } finally {
      await k.destroy();
      await p2.close();
    }
  });
});
