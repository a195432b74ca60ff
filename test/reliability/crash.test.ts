/**
 * Crashes (issue 6 §2): kill -9 the server in the middle of a write load on SQLite; after a restart on the same file
 * every write that was answered 2xx is there and the database passes `PRAGMA integrity_check`.
 * Durability settings and why: docs/reliability.md (WAL, synchronous=FULL, one connection).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, connect, createDatabase, newUser, PATCH_OP, spawnServer, type SpawnedServer, type TestDatabase } from '../helpers/server.ts';
import { sleep } from './util.ts';

describe('kill -9 under write load [sqlite]', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let server: SpawnedServer | undefined;
  before(async () => {
    db = await createDatabase('sqlite');
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  test('every acknowledged write survives two crashes; integrity_check ok', async () => {
    // The production default, stated: the test harness runs everything else at NORMAL.
    const env = { RATE_LIMIT_PER_SECOND: '0', SQLITE_SYNCHRONOUS: 'FULL' };
    const created = new Map<string, string>(); // id -> userName, answered 201
    const titles = new Map<string, number>(); // id -> last title number answered 200
    let attempted = 0;
    let answered = 0;

    for (let round = 0; round < 2; round++) {
      server = await spawnServer('sqlite', db, { env });
      const api = client(server);
      // Each patcher owns one user and raises its title 1, 2, 3... sequentially.
      const own: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await api.post('/Users', newUser());
        assert.equal(r.status, 201, r.text);
        created.set(r.body.id, r.body.userName);
        own.push(r.body.id);
      }
      let dead = false;
      const creator = async () => {
        while (!dead) {
          const body = newUser();
          attempted++;
          try {
            const r = await api.post('/Users', body);
            if (r.status === 201) {
              answered++;
              created.set(r.body.id, body.userName);
            }
          } catch {
            return; // connection reset by the kill
          }
        }
      };
      const patcher = async (id: string) => {
        for (let n = 1; !dead; n++) {
          attempted++;
          try {
            const r = await api.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `t${n}` }] });
            if (r.status === 200) {
              answered++;
              titles.set(id, n);
            }
          } catch {
            return;
          }
        }
      };
      const load = [...Array.from({ length: 6 }, creator), ...own.map(patcher)];
      // Kill once enough writes are in flight and acknowledged.
      const start = Date.now();
      while (answered < 40 * (round + 1) && Date.now() - start < 20_000) await sleep(20);
      server.proc.kill('SIGKILL');
      dead = true;
      await Promise.all(load);
      await new Promise((r) => (server!.proc.exitCode !== null || server!.proc.signalCode !== null ? r(undefined) : server!.proc.once('exit', r)));
      assert.equal(server.proc.signalCode, 'SIGKILL');
    }

    // Restart on the same file: recovery from the WAL, then check every acknowledged write.
    server = await spawnServer('sqlite', db, { env });
    const api = client(server);
    const missing: string[] = [];
    for (const [id, userName] of created) {
      const r = await api.get(`/Users/${id}`);
      if (r.status !== 200 || r.body.userName !== userName) missing.push(`${id} ${r.status}`);
    }
    assert.deepEqual(missing, [], 'users answered 201 but missing after the crash');
    for (const [id, n] of titles) {
      const r = await api.get(`/Users/${id}`);
      const got = Number(String(r.body.title).slice(1));
      // The acknowledged title or the one in flight at the kill: never an older one.
      assert.ok(got === n || got === n + 1, `user ${id}: title t${got}, but t${n} was acknowledged`);
    }

    const k = connect(db.url);
    try {
      assert.deepEqual((await k.raw('PRAGMA integrity_check')).map((r: any) => r.integrity_check), ['ok']);
      assert.deepEqual(await k.raw('PRAGMA foreign_key_check'), []);
      assert.equal((await k.raw('PRAGMA journal_mode'))[0].journal_mode, 'wal');
      // Every created user has its audit row: change and record committed together.
      const audited = new Set((await k('audit_log').where({ operation: 'create_user' }).select('resource_id')).map((r: any) => r.resource_id));
      for (const id of created.keys()) assert.ok(audited.has(id), `no create_user audit row for ${id}`);
    } finally {
      await k.destroy();
    }
    console.log(`# crash [sqlite]: 2 × kill -9, ${attempted} writes attempted, ${answered} answered 2xx (${created.size} users, ${titles.size} patched), all present; integrity_check ok`);
  });
});
