/**
 * PostgreSQL prepared statements (store/db.ts prepareStatements, PG_PREPARED_STATEMENTS): each statement text is
 * prepared once per connection and reused; `select *` is never prepared (a migration on another instance would change
 * its row type under the plan); a column added while a plan is cached does not break it; `off` prepares nothing.
 * PostgreSQL only: SQLite's statement cache is better-sqlite3's (store/db.ts cacheStatements).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { openDb } from '../../src/store/db.ts';
import { createDatabase, stores, type TestDatabase } from '../helpers/server.ts';

const pg = stores().includes('pg');

describe('PostgreSQL prepared statements [pg]', { skip: pg ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let tdb: TestDatabase;
  let db: Knex;
  let off: Knex;
  before(async () => {
    tdb = await createDatabase('pg');
    // One connection each, so every statement below runs on the connection whose prepared statements are read.
    db = openDb({ url: tdb.url, poolMax: 1 });
    off = openDb({ url: tdb.url, poolMax: 1, pgPreparedStatements: false });
    await db.raw('CREATE TABLE t (id int PRIMARY KEY, name text)');
    await db('t').insert([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
  });
  after(async () => {
    await db?.destroy();
    await off?.destroy();
    await tdb?.drop();
  });

  const prepared = async (k: Knex): Promise<string[]> =>
    (await k.raw("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'scim\\_%' ORDER BY prepare_time")).rows.map((r: { statement: string }) => r.statement);

  test('a statement is prepared once and reused; select * never is', async () => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await db('t').select('id', 'name').where('id', 1), [{ id: 1, name: 'a' }]);
      assert.equal((await db('t').where('id', 2)).length, 1); // select *
    }
    const texts = await prepared(db);
    assert.equal(texts.filter((t) => /select "id", "name" from "t"/.test(t)).length, 1, texts.join('\n'));
    assert.equal(texts.filter((t) => /select \* from "t"/.test(t)).length, 0, texts.join('\n'));
  });

  test('a column added by a migration does not break a prepared statement', async () => {
    assert.equal((await db('t').select('id', 'name').where('id', 1)).length, 1);
    await off.raw('ALTER TABLE t ADD COLUMN extra text');
    assert.deepEqual(await db('t').select('id', 'name').where('id', 1), [{ id: 1, name: 'a' }]);
    assert.deepEqual(await db('t').where('id', 1).first(), { id: 1, name: 'a', extra: null });
  });

  test('PG_PREPARED_STATEMENTS=off prepares nothing', async () => {
    for (let i = 0; i < 3; i++) await off('t').select('id').where('id', 1);
    assert.deepEqual(await prepared(off), []);
  });
});
