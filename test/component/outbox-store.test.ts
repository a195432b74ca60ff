/**
 * The transactional outbox on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): changes are queued
 * with the audit row and only when a consumer is enabled, a rollback queues nothing, one head per entity is leased at
 * a time, the rows behind a head are settled with it, a parked head stops blocking its entity, and on PostgreSQL
 * concurrent claimers never hold the same entity at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { migrate, openDb } from '../../src/store/db.ts';
import { writeAudit, writeAuditMany } from '../../src/store/audit.ts';
import { claimDue, enableOutbox, listOutbox, outboxStats, park, retryLater, settleDelivered, unpark, enqueueWorkspace, type Delivery } from '../../src/store/outbox.ts';
import { createDatabase, stores, type TestDatabase } from '../helpers/server.ts';

const A = { actor: 'test' };
const userChange = (id: string, operation: 'create_user' | 'update_user' = 'update_user') => ({ ...A, operation, resourceType: 'User' as const, resourceId: id });

for (const store of stores()) {
  describe(`outbox store (${store})`, () => {
    let tdb: TestDatabase;
    let db: Knex;
    let plain: Knex;
    before(async () => {
      tdb = await createDatabase(store);
      db = openDb({ url: tdb.url, poolMax: 6, sqliteSynchronous: 'NORMAL' });
      await migrate(db);
      enableOutbox(db, ['mattermost']);
      plain = openDb({ url: tdb.url, poolMax: 2, sqliteSynchronous: 'NORMAL' });
    });
    after(async () => {
      await db.destroy();
      await plain.destroy();
      await tdb.drop();
    });
    const clear = () => db('outbox').delete();

    test('a change is queued with its audit row, only for enabled consumers, and never when rolled back', async () => {
      await clear();
      await writeAudit(plain, userChange('u-plain'));
      assert.equal((await listOutbox(db, 'mattermost', { limit: 10 })).length, 0, 'no consumer enabled on this connection: nothing queued');
      await writeAudit(db, userChange('u1', 'create_user'));
      await assert.rejects(db.transaction(async (tx) => {
        await writeAudit(tx, userChange('u-rolled-back'));
        throw new Error('abort');
      }));
      await writeAuditMany(db, [
        { ...A, operation: 'team_add', resourceType: 'TeamMember', resourceId: 'u1', after: { teamId: 't1', userId: 'u1' } },
        { ...A, operation: 'channel_remove', resourceType: 'ChannelMember', resourceId: 'u1', before: { channelId: 'c1', userId: 'u1' } },
        { ...A, operation: 'add_group_member', resourceType: 'Group', resourceId: 'g1', after: { userId: 'u1' } },
      ]);
      const rows = await listOutbox(db, 'mattermost', { limit: 10 });
      assert.deepEqual(rows.map((r) => [r.entityKey, r.operation]), [
        ['user:u1', 'create_user'], ['team_member:t1:u1', 'team_add'], ['channel_member:c1:u1', 'channel_remove'],
      ], 'group membership itself is not for Mattermost; the rollback left nothing');
    });

    test('one head per entity is leased; the rows behind it are settled with it', async () => {
      await clear();
      for (const op of ['create_user', 'update_user', 'update_user'] as const) await writeAudit(db, userChange('u1', op));
      await writeAudit(db, userChange('u2', 'create_user'));
      const now = Date.now();
      const first = await claimDue(db, 'mattermost', 'w1', 10, now, 30_000);
      assert.deepEqual(first.map((d) => [d.entityKey, d.ids.length]), [['user:u1', 3], ['user:u2', 1]]);
      assert.deepEqual(first[0]!.operations, ['create_user', 'update_user']);
      assert.equal((await claimDue(db, 'mattermost', 'w2', 10, now, 30_000)).length, 0, 'leased heads are nobody else\'s');
      // A change that arrives while u1 is in flight waits behind the lease, and is not settled by it.
      await writeAudit(db, userChange('u1'));
      await settleDelivered(db, 'mattermost', first[0]!);
      const next = await claimDue(db, 'mattermost', 'w2', 10, Date.now(), 30_000);
      assert.deepEqual(next.map((d) => [d.entityKey, d.ids.length]), [['user:u1', 1]]);
      // A lease that ran out (its instance died) is claimable again.
      const later = await claimDue(db, 'mattermost', 'w3', 10, Date.now() + 31_000, 30_000);
      assert.deepEqual(later.map((d) => d.entityKey).sort(), ['user:u1', 'user:u2']);
      assert.equal(later.find((d) => d.entityKey === 'user:u2')!.attempts, 2);
    });

    test('backoff hides a head until due; a parked head stops blocking its entity and is cleared by a later success', async () => {
      await clear();
      await writeAudit(db, userChange('u1'));
      await writeAudit(db, userChange('u1'));
      const [d] = await claimDue(db, 'mattermost', 'w', 1, Date.now(), 30_000);
      // Claim only the head: park it; the row behind becomes the head.
      const head: Delivery = { ...d!, ids: [d!.id] };
      await retryLater(db, head, Date.now() + 60_000, 'Mattermost did not answer');
      assert.equal((await claimDue(db, 'mattermost', 'w', 5, Date.now(), 30_000)).length, 0, 'the head is backing off and the row behind waits for it');
      await park(db, head, 'create user: Mattermost answered 400');
      const behind = await claimDue(db, 'mattermost', 'w', 5, Date.now(), 30_000);
      assert.equal(behind.length, 1);
      assert.notEqual(behind[0]!.id, head.id);
      assert.equal((await outboxStats(db, 'mattermost')).parked, 1);
      await settleDelivered(db, 'mattermost', behind[0]!);
      const s = await outboxStats(db, 'mattermost');
      assert.deepEqual([s.pending, s.parked], [0, 0], 'the later delivery made the parked change true too');
    });

    test('an unparked row is due again', async () => {
      await clear();
      await writeAudit(db, userChange('u9'));
      const [d] = await claimDue(db, 'mattermost', 'w', 1, Date.now(), 30_000);
      await park(db, d!, 'no');
      assert.equal(await unpark(db, 'mattermost', d!.id, Date.now()), true);
      assert.equal(await unpark(db, 'mattermost', d!.id, Date.now()), false, 'only a parked row can be unparked');
      assert.equal((await claimDue(db, 'mattermost', 'w', 1, Date.now(), 30_000))[0]?.id, d!.id);
    });

    test('the whole workspace is queued set-based', async () => {
      await clear();
      const now = Date.now();
      await db('users').insert({ id: 'uw1', user_name: 'w1', username: 'w1', created_at: now, updated_at: now, active: true });
      await db('teams').insert({ id: 'tw1', name: 'tw1', display_name: 'T', created_at: now, updated_at: now });
      await db('team_members').insert({ team_id: 'tw1', user_id: 'uw1', created_at: now, updated_at: now, added_by: 'test' });
      await enqueueWorkspace(db, 'mattermost', 'adopt');
      const keys = (await listOutbox(db, 'mattermost', { limit: 10 })).map((r) => r.entityKey);
      assert.deepEqual(keys, ['team:tw1', 'user:uw1', 'team_member:tw1:uw1']);
    });

    if (store === 'pg') {
      test('concurrent claimers never hold one entity at once, and every row is settled once (20 rounds)', async () => {
        for (let round = 0; round < 20; round++) {
          await clear();
          const entries = [];
          for (let i = 0; i < 60; i++) entries.push(userChange(`r${i % 15}`));
          await writeAuditMany(db, entries);
          const settled = new Map<number, string>();
          const holding = new Set<string>();
          const worker = async (name: string) => {
            for (;;) {
              const got = await claimDue(db, 'mattermost', name, 3, Date.now(), 30_000);
              if (!got.length) {
                if ((await outboxStats(db, 'mattermost')).pending === 0) return;
                await new Promise((r) => setTimeout(r, 2));
                continue;
              }
              for (const d of got) {
                assert.ok(!holding.has(d.entityKey), `${d.entityKey} claimed twice at once (round ${round})`);
                holding.add(d.entityKey);
              }
              await Promise.all(got.map(async (d) => {
                await new Promise((r) => setTimeout(r, Math.random() * 3));
                await settleDelivered(db, 'mattermost', d);
                holding.delete(d.entityKey);
                for (const id of d.ids) {
                  assert.ok(!settled.has(id), `row ${id} settled by ${settled.get(id)} and ${name}`);
                  settled.set(id, name);
                }
              }));
            }
          };
          await Promise.all(['a', 'b', 'c', 'd'].map(worker));
          assert.equal(settled.size, 60, `round ${round}: every row settled exactly once`);
        }
      });
    }
  });
}
