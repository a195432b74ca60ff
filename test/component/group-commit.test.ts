/**
 * SQLite group commit (store/group-commit.ts, SQLITE_GROUP_COMMIT): a transaction, or a write outside one, resolves
 * only after an fsync of the WAL that started after its COMMIT; concurrent commits share fsyncs; `off` is FULL's own
 * fsync in every COMMIT. The power-cut guarantee itself cannot be tested here; what is tested is the order it rests
 * on (no answer before the fsync) and, with kill -9 of a server under write load, that every answered write is there
 * (test/component/users-lifecycle and the reliability suite run with the default, group commit on).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { openDb, migrate } from '../../src/store/db.ts';
import type { WalSync } from '../../src/store/group-commit.ts';
import { createDatabase, type TestDatabase } from '../helpers/server.ts';

describe('SQLite group commit [sqlite]', () => {
  let tdb: TestDatabase;
  let db: Knex;
  let wal: WalSync;
  before(async () => {
    tdb = await createDatabase('sqlite');
    db = openDb({ url: tdb.url });
    await migrate(db);
    await db.raw('CREATE TABLE gc (id integer PRIMARY KEY, v text)');
    wal = (db.client.config as { walSync: WalSync }).walSync;
  });
  after(async () => {
    await db?.destroy();
    await tdb?.drop();
  });

  /** Holds every fsync until `open()`: what resolves meanwhile did not wait for the disk. */
  function gate(): { open: () => void; started: () => number } {
    const real = (wal as any).fsync.bind(wal);
    let release!: () => void;
    const opened = new Promise<void>((r) => { release = r; });
    let n = 0;
    (wal as any).fsync = async () => { n++; await opened; return real(); };
    return { open: () => { release(); (wal as any).fsync = real; }, started: () => n };
  }

  test('the connection commits without its own fsync (NORMAL); FULL is kept by the group fsync', async () => {
    assert.ok(wal, 'group commit is on by default with FULL');
    assert.equal((await db.raw('PRAGMA synchronous'))[0].synchronous, 1);
  });

  for (const kind of ['a transaction', 'an autocommit write'] as const) {
    test(`${kind} resolves only after the fsync that follows it`, async () => {
      const id = kind === 'a transaction' ? 1 : 2;
      const g = gate();
      let done = false;
      const write = (kind === 'a transaction'
        ? db.transaction(async (t) => { await t('gc').insert({ id, v: kind }); })
        : db('gc').insert({ id, v: kind })).then(() => { done = true; });
      try {
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(done, false, `${kind} waits for the disk`);
        assert.equal(g.started(), 1);
      } finally {
        g.open();
        await write;
      }
      assert.equal((await db('gc').where({ id }))[0].v, kind);
    });
  }

  test('concurrent transactions share fsyncs, and every one of them is there', async () => {
    const before = wal.syncs;
    await Promise.all(Array.from({ length: 100 }, (_, i) => db.transaction(async (t) => { await t('gc').insert({ id: 100 + i, v: `c${i}` }); })));
    const used = wal.syncs - before;
    assert.equal(Number((await db('gc').where('id', '>=', 100).count({ n: '*' }))[0]!.n), 100);
    assert.ok(used >= 1 && used < 100, `100 commits took ${used} fsyncs`);
  });

  test('a failed transaction rejects as before and commits nothing', async () => {
    await assert.rejects(db.transaction(async (t) => {
      await t('gc').insert({ id: 5000, v: 'x' });
      throw new Error('boom');
    }), /boom/);
    assert.equal((await db('gc').where('id', 5000)).length, 0);
  });

  test('SQLITE_GROUP_COMMIT=off: FULL fsyncs in each COMMIT, no group fsync', async () => {
    const off = openDb({ url: tdb.url, sqliteGroupCommit: false });
    try {
      assert.equal((await off.raw('PRAGMA synchronous'))[0].synchronous, 2);
      assert.equal((off.client.config as { walSync?: WalSync }).walSync, undefined);
      await off.transaction(async (t) => { await t('gc').insert({ id: 6000, v: 'off' }); });
    } finally {
      await off.destroy();
    }
    const normal = openDb({ url: tdb.url, sqliteSynchronous: 'NORMAL' });
    try {
      assert.equal((normal.client.config as { walSync?: WalSync }).walSync, undefined, 'NORMAL asks for no fsync at all');
    } finally {
      await normal.destroy();
    }
  });
});
