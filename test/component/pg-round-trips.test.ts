/**
 * What an IdP's hot requests cost PostgreSQL in round trips: the server reaches the database through a proxy that
 * counts the frontend's Sync and Query messages (PostgreSQL protocol §55.2.3: each extended-protocol statement ends
 * with one Sync, each simple query is one Query; either way one round trip). On PostgreSQL a statement's cost is its
 * round trip, so these counts are what docs/benchmarks.md's create and lookup figures rest on:
 * a `userName eq` lookup is one statement, a create with an externalId five (BEGIN, the externalId read with the
 * username lock, the taken usernames, the inserts with their audit row, COMMIT), a PATCH of a scalar five.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type Server } from 'node:net';
import { client, createDatabase, newUser, PATCH_OP, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';

const pg = stores().includes('pg');

/** A TCP proxy to `target` that counts round trips (Sync 'S' and Query 'Q' messages from the client). */
async function countingProxy(target: URL): Promise<{ port: number; trips(): number; close(): Promise<void> }> {
  let trips = 0;
  const open = new Set<{ destroy(): void }>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    let buf = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk) => {
      upstream.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          // The startup message (and an SSLRequest) has a length but no type byte.
          if (buf.length < 4) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code !== 80877103) started = true; // 80877103: SSLRequest, answered before the real startup message
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) break;
        const type = String.fromCharCode(buf[0]!);
        if (type === 'S' || type === 'Q') trips++;
        buf = buf.subarray(1 + len);
      }
    });
    upstream.on('data', (d) => socket.write(d));
    const end = () => { socket.destroy(); upstream.destroy(); open.delete(socket); };
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as { port: number }).port,
    trips: () => trips,
    close: () => new Promise((ok) => { server.close(() => ok()); for (const s of open) s.destroy(); }),
  };
}

describe('round trips per request [pg]', { skip: pg ? false : 'TEST_DATABASE_URL is not set' }, () => {
  let tdb: TestDatabase;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let server: TestServer;
  before(async () => {
    tdb = await createDatabase('pg');
    const url = new URL(tdb.url);
    proxy = await countingProxy(new URL(tdb.url));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    // Nothing in the background: no request log writer, no rate-limit grants.
    server = await startServer('pg', url.toString(), { env: { REQUEST_LOG_DAYS: '0', RATE_LIMIT_PER_SECOND: '0' } });
  });
  after(async () => {
    await server?.stop();
    await proxy?.close();
    await tdb?.drop();
  });

  /** The fewest round trips `request` took in three tries (a timer's statement may fall into one window). */
  const tripsOf = async (request: (i: number) => Promise<unknown>): Promise<number> => {
    let fewest = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = proxy.trips();
      await request(i);
      fewest = Math.min(fewest, proxy.trips() - t0);
    }
    return fewest;
  };

  test('POST /Users with an externalId: five', async () => {
    const c = client(server);
    await c.post('/Users', newUser()); // warm: connections open, statements prepared
    const trips = await tripsOf(async () => assert.equal((await c.post('/Users', newUser())).status, 201));
    assert.equal(trips, 5);
  });

  test('PATCH /Users/{id} of a scalar: five (the read, then BEGIN, the read in the transaction, the update with its audit row, COMMIT)', async () => {
    const c = client(server);
    const made = await c.post('/Users', newUser());
    const patch = (title: string) => c.patch(`/Users/${made.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: title }] });
    await patch('warm');
    const trips = await tripsOf(async (i) => assert.equal((await patch(`title ${i}`)).status, 200));
    assert.equal(trips, 5);
  });

  test('GET /Users?filter=userName eq: one', async () => {
    const c = client(server);
    const made = await c.post('/Users', newUser());
    const q = `/Users?filter=${encodeURIComponent(`userName eq "${made.body.userName}"`)}`;
    await c.get(q);
    const trips = await tripsOf(async () => assert.equal((await c.get(q)).body.totalResults, 1));
    assert.equal(trips, 1);
  });
});
