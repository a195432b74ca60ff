/**
 * The member-add race at IdP scale (issue 6 §1): 1,000 concurrent `members` PATCHes to one group, on PostgreSQL over
 * two server processes on one database (as behind a load balancer), on SQLite through its one writer. The shorter
 * burst and the other races run with every `npm test`: test/reliability/races.test.ts.
 */
import { describe, test, before, after } from 'node:test';
import { createDatabase, spawnServer, stores, type TestDatabase, type TestServer } from '../../helpers/server.ts';
import { memberAddRace } from '../member-race.ts';

for (const store of stores()) {
  describe(`races at load [${store}]`, { timeout: 300_000 }, () => {
    let db: TestDatabase;
    let servers: TestServer[] = [];
    before(async () => {
      db = await createDatabase(store);
      // Rate limiting off: a burst of 1,000 requests from one token on purpose.
      const env = { RATE_LIMIT_PER_SECOND: '0' };
      servers = [await spawnServer(store, db, { env })];
      if (store === 'pg') servers.push(await spawnServer(store, db, { env }));
    });
    after(async () => {
      for (const s of servers) await s.stop();
      await db?.drop();
    });

    test(`1000 concurrent member adds to one group over ${store === 'pg' ? 'two processes' : 'one process'}: exactly 1000 members (and team/channel memberships)`, async () => {
      await memberAddRace(servers, db, 1000, store);
    });
  });
}
